"""The `--batch` protocol's input side: lines read with a length cap (and a total cap, so
/dev/zero ends), each decoded to one request object or that line's UserError."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from .errors import UserError

MAX_LINE_BYTES = 1 << 20  # one request: a query and its options, never a megabyte
MAX_BATCH_BYTES = 1 << 30  # the whole input; past it the batch stops with a one-line error


def batch_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | UserError]]:
    """(line number, bytes) per non-blank line, or (number, UserError) for a line over the cap
    (the rest of it is skipped). UserError once the input passes MAX_BATCH_BYTES."""
    total = 0
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        total += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip to the next line, bounded by total
                raw = stream.readline(1 << 20)
                total += len(raw)
                if total > MAX_BATCH_BYTES:
                    raise UserError(f"batch input is over {MAX_BATCH_BYTES >> 20} MB: stopped")
            yield number, UserError(f"line is over {MAX_LINE_BYTES >> 10} kB")
            continue
        if total > MAX_BATCH_BYTES:
            raise UserError(f"batch input is over {MAX_BATCH_BYTES >> 20} MB: stopped")
        if raw.strip():
            yield number, raw


def batch_request(raw: bytes | UserError) -> dict[str, Any]:
    """One line's request object; UserError for anything that is not a JSON object."""
    if isinstance(raw, UserError):
        raise raw
    try:
        request = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"line is not utf-8 text (byte {exc.start})") from exc
    except RecursionError as exc:
        raise UserError("line is nested too deep") from exc
    except ValueError as exc:
        raise UserError(f"line is not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise UserError("each batch line must be a JSON object")
    return request


def open_batch(source: str) -> IO[bytes]:
    """The batch input: stdin for '-', else the file (never a FIFO or device: they block or
    never end), read as bytes so each line is decoded on its own."""
    import sys
    from pathlib import Path

    from .fsutil import refuse_special

    if source == "-":
        return sys.stdin.buffer
    refuse_special(Path(source), "batch file")
    try:
        return open(source, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise UserError(f"cannot read batch file {source}: {exc.strerror}") from exc
