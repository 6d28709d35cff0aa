"""Atomic file replacement: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync it and rename it over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_with(target: Path, writer: Callable[[Path], None]) -> None:
    """Let `writer` fill a temporary file (e.g. a library's save(path)), then publish it atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)


def content_hash(path: str, limit: int | None = None) -> str:
    """BLAKE2b of the whole file: moved and duplicate files are recognised by it. With `limit`,
    of the first `limit` bytes and the size only, for content of which crossmodal reads no more
    (a plain-text file's first megabyte): a 20 GB log is not read whole to name it."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        if limit is not None:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                digest.update(b"head:%d:" % size)
                digest.update(handle.read(limit))
                return digest.hexdigest()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def refuse_special(path: Path, what: str) -> None:
    """UserError unless `path` (after symlinks) is a regular file: opening a FIFO would block,
    a device (/dev/zero) would never end, a socket cannot be read."""
    import stat as statmod

    from .errors import UserError

    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise UserError(f"cannot read {what} {path}: no such file") from exc
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if statmod.S_ISDIR(info.st_mode):
        raise UserError(f"{what} {path} is a folder, not a file")
    if not statmod.S_ISREG(info.st_mode):
        kind = "a FIFO" if statmod.S_ISFIFO(info.st_mode) else "a device or socket"
        raise UserError(f"{what} {path} is {kind}, not a regular file")


MAX_INPUT_BYTES = 64 * 1024 * 1024  # a history, labels or list file read whole


def read_input_text(path: Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """A small UTF-8 file the user names (history, labelled queries), read whole: a regular
    file under `max_bytes`, else a one-line UserError (never a block on a FIFO or a read of
    /dev/zero until memory runs out)."""
    from .errors import UserError

    refuse_special(path, what)
    if os.stat(path).st_size > max_bytes:
        raise UserError(f"{what} {path} is over {max_bytes >> 20} MB")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise UserError(f"{what} {path} is over {max_bytes >> 20} MB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from exc


def open_special_for_writing(path: Path | str, append: bool = False) -> int:
    """A file descriptor for writing to an existing non-regular file (a terminal, a pipe, a
    FIFO). It is opened without blocking, so a FIFO no process reads is an OSError at once
    instead of a run that never ends (a cron `update --log FIFO`); writes then block as usual."""
    import errno
    import fcntl

    flags = os.O_WRONLY | os.O_NONBLOCK | (os.O_APPEND if append else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "no process is reading it (a FIFO)", str(path)) from exc
        raise
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd
