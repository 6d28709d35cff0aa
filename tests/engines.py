"""Real engines for the scale-out tests, on loopback only: a Ray head (`ray start --head`) and a
`milvus-lite server`, each started in its own session and stopped by its process group (never
`ray stop`, which kills Ray processes machine-wide by name). Both write only under the test's
temporary folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
# Ray: no token auth (it would write ~/.ray), no usage report, and loopback for its node
# address (on Linux it otherwise rewrites 127.0.0.1 to the machine's outward address).
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def session_pids(sid: int) -> list[int]:
    """Processes of the session an engine was started in (Ray's workers set their own process
    group, but stay in the session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
    return pids


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


LOOPBACK = ("127.0.0.1", "::1")
WILDCARD = ("*", "0.0.0.0", "::")


def _host(address: str) -> str:
    host = address.rsplit(":", 1)[0].strip("[]").split("%", 1)[0]
    return host[len("::ffff:") :] if host.startswith("::ffff:") else host


def non_loopback(pids: list[int]) -> list[str]:
    """Sockets of these processes (ss) bound to, or talking to, anything but loopback: every
    local address must be loopback, every peer loopback (or a listener's wildcard)."""
    listing = subprocess.run(
        ["ss", "-Htuanp"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    bad = []
    for line in listing.splitlines():
        fields = line.split()
        owner = next((pid for pid in pids if f"pid={pid}," in line), None)
        if owner is None or len(fields) < 6:
            continue
        local, peer = _host(fields[4]), _host(fields[5])
        if local not in LOOPBACK or peer not in LOOPBACK + WILDCARD:
            bad.append(f"{fields[1]} {fields[4]} -> {fields[5]} ({cmdline(owner)[:80]})")
    return bad


class Engine:
    """A session started here (start_new_session) and stopped by its processes' ids."""

    pgid = 0  # the session's id: the pid of the process that started it

    def pids(self) -> list[int]:
        return session_pids(self.pgid) if self.pgid else []

    def stop(self) -> None:
        if not self.pgid:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 15
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.pids():
                break
        self.pgid = 0


class RayHead(Engine):
    """A one-node Ray cluster bound to 127.0.0.1 (`cpus` logical CPUs)."""

    def __init__(self, cpus: int = 3) -> None:
        # Short: Ray's socket paths under it must fit in 107 bytes.
        self.temp = tempfile.mkdtemp(prefix="cmray", dir="/tmp")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, **RAY_ENV}
        started = subprocess.Popen(
            [
                str(BIN / "ray"),
                "start",
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={self.port}",
                f"--num-cpus={cpus}",
                "--include-dashboard=false",
                "--dashboard-host=127.0.0.1",
                f"--ray-client-server-port={free_port()}",
                f"--temp-dir={self.temp}",
                "--disable-usage-stats",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.pgid = started.pid
        output, _ = started.communicate(timeout=120)
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed: {output[-2000:]}")

    def actor_pids(self, name: str = "EncodeActor") -> list[int]:
        return [pid for pid in self.pids() if name in cmdline(pid)]

    def stop(self) -> None:
        super().stop()
        subprocess.run(["rm", "-rf", self.temp], check=False)


class MilvusLiteServer(Engine):
    """`milvus-lite server` on 127.0.0.1, its data in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.uri = f"milvus://127.0.0.1:{self.port}"
        started = subprocess.Popen(
            [
                str(BIN / "milvus-lite"),
                "server",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pgid = started.pid
        self.proc = started
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe, contextlib.suppress(OSError):
                probe.connect(("127.0.0.1", self.port))
                return
            if started.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("milvus-lite server did not start")

    def stop(self) -> None:
        super().stop()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
