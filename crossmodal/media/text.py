"""Text documents: strict UTF-8 (a BOM is allowed), with a size cap so a huge log cannot stall a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MediaError

MAX_TEXT_BYTES = 1_000_000
SNIPPET_CHARS = 300


def load_text(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror}") from exc
    truncated = len(raw) > MAX_TEXT_BYTES
    raw = raw[:MAX_TEXT_BYTES]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(raw) - 4:
            text = raw[: exc.start].decode("utf-8-sig")
        else:
            raise MediaError(f"not valid UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        raise MediaError("binary data in a text file")
    if not text.strip():
        raise MediaError("empty text file")
    return text


def probe_text(path: Path) -> tuple[dict[str, Any], str]:
    text = load_text(path)
    snippet = " ".join(text.split())[:SNIPPET_CHARS]
    return {"chars": len(text), "lines": text.count("\n") + 1, "snippet": snippet}, text
