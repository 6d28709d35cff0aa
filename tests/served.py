"""A real `crossmodal serve` process for the tests (the CLI in a subprocess, on 127.0.0.1 only,
stopped by its PID), and a keep-alive HTTP client to it."""

from __future__ import annotations

import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cli.main"]
START_SECONDS = 120


class Served:
    """A `crossmodal serve` process and a keep-alive client to it."""

    def __init__(self, store: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--store", str(store), "--port", "0", *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = ""
        with selectors.DefaultSelector() as wait:  # a server that never starts fails, not hangs
            assert self.proc.stdout is not None
            wait.register(self.proc.stdout, selectors.EVENT_READ)
            if wait.select(timeout=START_SECONDS):
                line = self.proc.stdout.readline()
        if " at http://127.0.0.1:" not in line:
            self.stop()
            raise AssertionError(f"server did not start: {line!r} {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.url = line.rsplit(" at ", 1)[1].strip()
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        self.host = f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        own = conn is None
        conn = conn or self.connection()
        sent = {"Host": self.host, **(headers or {})}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def json(
        self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data)

    def search(self, **request: Any) -> dict[str, Any]:
        status, answer = self.json("POST", "/search", request)
        assert status == 200, answer
        return answer
