"""What every document reader returns, and the limits they share."""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from typing import Any

from ...errors import MediaError

# The text a document contributes, like a plain-text file's 1 MB cap (only the first ~32
# passages are embedded; the cap bounds memory and time for a huge file).
MAX_TEXT_CHARS = 1_000_000
# Parts (pages, slides, sheets, chapters) a document is read to; CROSSMODAL_MAX_PAGES changes it.
DEFAULT_MAX_PAGES = 1000
# Sections remembered per document (labels for passages); later ones are dropped.
MAX_SECTIONS = 2000
# A page/slide/chapter break inside the text: passages never straddle one.
BREAK = "\f"


def max_pages() -> int:
    """The page cap: CROSSMODAL_MAX_PAGES, else DEFAULT_MAX_PAGES."""
    value = os.environ.get("CROSSMODAL_MAX_PAGES", "")
    try:
        pages = int(value) if value.strip() else DEFAULT_MAX_PAGES
    except ValueError:
        return DEFAULT_MAX_PAGES
    return pages if pages > 0 else DEFAULT_MAX_PAGES


@dataclass
class Document:
    """Text with the offsets where its parts start: [(offset, "p. 3"), ...]. `meta` holds what
    the catalog keeps beside it: title, page counts, scanned pages, a note on what was left."""

    text: str = ""
    sections: list[tuple[int, str]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, text: str, label: str | None = None, separate: bool = True) -> bool:
        """Append one part (a page, a slide; `separate`: passages never cross into it) or one
        labelled piece of running text (a subtitle cue); False once the text cap is reached."""
        text = text.replace(BREAK, " ").strip()
        if not text:
            return len(self.text) < MAX_TEXT_CHARS
        if self.text:
            self.text += BREAK if separate else "\n"
        if label is not None and len(self.sections) < MAX_SECTIONS:
            self.sections.append((len(self.text), label))
        room = MAX_TEXT_CHARS - len(self.text)
        self.text += text[:room]
        return len(self.text) < MAX_TEXT_CHARS

    def require_text(self) -> None:
        if not self.text.strip():
            raise MediaError(self.meta.pop("empty_reason", None) or "no text in this document")


def locate(sections: list[Any] | None, offset: int) -> str | None:
    """The label of the part holding character `offset` ("p. 3"), or None."""
    if not sections:
        return None
    starts = [int(start) for start, _ in sections]
    index = bisect.bisect_right(starts, offset) - 1
    return str(sections[index][1]) if index >= 0 else None


def read_capped(path: Any, cap: int) -> tuple[bytes, bool]:
    """A file's first `cap` bytes and whether there was more; MediaError when unreadable."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(cap + 1)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
    return raw[:cap], len(raw) > cap


def readable(text: str) -> bool:
    """Mostly printable: a decoder that turned binary junk into characters gave no text."""
    sample = text[:20_000]
    if not sample.strip():
        return True  # empty is reported as empty, not as junk
    odd = sum(
        1 for char in sample if (ord(char) < 32 and char not in "\t\n\r\f") or char == "\ufffd"
    )
    return odd <= len(sample) // 50
