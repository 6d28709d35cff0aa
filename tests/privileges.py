"""Running test code where file permissions apply, even when the suite runs as root."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _drop_file_override_capabilities() -> None:
    """Make this (root) process subject to file modes: drop CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH with capset(2). It stays uid 0, so it can still read the venv it owns."""
    import ctypes

    status = Path("/proc/self/status").read_text()
    effective = int(
        next(line for line in status.splitlines() if line.startswith("CapEff")).split()[1], 16
    )
    keep = effective & ~((1 << 1) | (1 << 2))

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)(
        Data(keep & 0xFFFFFFFF, keep & 0xFFFFFFFF, 0), Data(keep >> 32, keep >> 32, 0)
    )
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def run_unprivileged(func: Callable[[], Any]) -> Any:
    """Run `func` where file permissions apply. Root ignores file modes, so as root the call runs
    in a forked child without the override capabilities; the result comes back as JSON."""
    if os.geteuid() != 0:
        return func()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            _drop_file_override_capabilities()
            payload = json.dumps({"ok": func()})
        except BaseException as exc:  # report anything to the parent, never run its tests
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
            code = 1
        with os.fdopen(write_fd, "w") as out:
            out.write(payload)
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as incoming:
        answer = json.loads(incoming.read() or '{"error": "no answer"}')
    os.waitpid(pid, 0)
    assert "error" not in answer, answer.get("error")
    return answer["ok"]
