"""Files a user asks crossmodal to write (`--html`, `gallery -o`, `--log`, and any later one):
never inside the store folder, never over a file crossmodal did not write unless `--force`, and
one event per line in logs. Pages are written through a temporary file and a rename."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import UserError

# Written into every page's head, so a later run knows the file is one of ours.
PAGE_MARK = '<meta name="generator" content="crossmodal">'
# A log line starts with the run's local time, ISO 8601 to the second.
_LOG_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z) ")


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop: not a path to write anyway
        return False


def _ours(path: Path, kind: str) -> bool:
    """Whether an existing regular file is a page or a log this tool wrote."""
    try:
        with open(path, "rb") as handle:
            if kind == "page":
                return PAGE_MARK.encode() in handle.read(4096)
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return True  # an empty log made for us (touch): fine to append to
            handle.seek(max(0, size - 4096))
            last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
            return bool(_LOG_LINE.match(last))
    except OSError:
        return False


def check_output(target: Path, store_root: Path | None, kind: str, force: bool = False) -> None:
    """UserError unless `target` may be written: not inside the store folder (whatever
    `force`), and, when it exists as a regular file, a page or log (`kind`) crossmodal wrote,
    or `force`. Terminals, pipes and devices (`--html /dev/stdout`) are fine."""
    target = Path(target).expanduser()
    if store_root is not None and _inside(target, Path(store_root)):
        raise UserError(
            f"{target} is inside the store folder {store_root}; write it somewhere else"
        )
    try:
        info = target.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc
    if stat.S_ISREG(info.st_mode) and not force and not _ours(target, kind):
        what, verb = ("an HTML page", "replace") if kind == "page" else ("a log", "append to")
        raise UserError(
            f"{target} exists and is not {what} crossmodal wrote; "
            f"pass --force to {verb} it, or choose a new name"
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def one_line(text: str) -> str:
    """An event's text on one line, control characters escaped: a file name with a newline
    cannot forge a log line, nor one with ESC reach the terminal that tails the log."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)
