"""A running server as a search backend: `crossmodal search --server URL` and `--batch` lines.

Standard library only (a client should not pay for the server's stack), no proxies (the user
named the server), and every failure is one UserError line: unreachable, refused with the
server's own error, or an answer that is not JSON.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import UserError

MAX_UPLOAD_BYTES = 32 << 20


class ServerRefused(UserError):
    """The server answered this request with an error: `reason` is its own one-line message
    (a --batch line gets it as its error; the next line goes on)."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(f"server: {reason} (HTTP {status})")
        self.reason, self.status = reason, status


class RemoteStore:
    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UserError(f"--server takes an http:// or https:// URL, not {url!r}")
        self.base = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("CROSSMODAL_TOKEN") or None
        self.timeout = timeout
        # no proxy (the user named the server) and no redirect (it would carry the token
        # to whatever host it names, and turn the POST into a GET)
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The server's answer object; UserError with its message when it refuses."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                where = exc.headers.get("Location", "elsewhere")
                raise UserError(f"server {self.base} redirects to {where}: not followed") from exc
            raise ServerRefused(_message(exc.read()), exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UserError(f"cannot reach server {self.base}: {reason}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise UserError(f"server {self.base} answered something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise UserError(f"server {self.base} answered something that is not a JSON object")
        return answer

    def search(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.post("/search", request)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError: one line, below


def upload(path: Path) -> dict[str, str]:
    """A local query file as a request's upload (the server may not see this machine's files)."""
    try:
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise UserError(f"query file {path} is over {MAX_UPLOAD_BYTES >> 20} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read query file {path}: {exc.strerror or exc}") from exc
    return {"data": base64.b64encode(data).decode(), "name": path.name}


def _message(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace").strip() or "no answer"
