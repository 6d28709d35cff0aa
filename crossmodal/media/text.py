"""Text items: plain text in any encoding and documents (PDF, Office, EPUB, HTML, RTF, e-mail,
subtitles), read by crossmodal.media.documents into text plus the parts it came from, and split
into passages a sentence encoder can read whole."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import MediaError
from .documents import Document, read_document
from .documents.plain import MAX_TEXT_BYTES
from .language import detect_language

__all__ = [
    "MAX_TEXT_BYTES",
    "SNIPPET_CHARS",
    "TEXT_CHUNK_CHARS",
    "TEXT_MAX_CHUNKS",
    "document_of",
    "load_text",
    "passage_spans",
    "probe_text",
]

SNIPPET_CHARS = 300
TEXT_CHUNK_CHARS = 1000
TEXT_MAX_CHUNKS = 32  # ~32,000 characters: longer documents are indexed by their beginning


def _format(path: Path) -> str:
    from .sniff import sniff_modality

    try:
        found = sniff_modality(path)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
    if found is None or found[0] != "text":
        raise MediaError("not a text document any more")
    return found[1]


def document_of(path: Path, fmt: str | None = None) -> Document:
    """The document at `path`; `fmt` when the caller sniffed it already (ingest does)."""
    return read_document(path, fmt or _format(path))


def load_text(path: Path) -> str:
    """The text to embed: a document's parts joined by form feeds (passages never cross one)."""
    doc = document_of(path)
    doc.require_text()
    return doc.text


def probe_text(path: Path, ocr: bool = False, fmt: str | None = None) -> tuple[dict[str, Any], str]:
    """Catalog metadata of a text item and its text. A scanned PDF with no text layer is kept
    (with no text) only when `ocr` will read its pages; otherwise it fails with the reason."""
    doc = document_of(path, fmt)
    if not (ocr and doc.meta.get("scanned_pages")):
        doc.require_text()
    doc.meta.pop("empty_reason", None)
    text = doc.text
    snippet = " ".join(text.split())[:SNIPPET_CHARS]
    meta: dict[str, Any] = {"chars": len(text), "lines": text.count("\n") + 1, "snippet": snippet}
    meta |= doc.meta
    if meta.get("format") == "text":
        del meta["format"]  # plain text keeps its old metadata shape
    if doc.sections:
        meta["sections"] = [[start, label] for start, label in doc.sections]
    meta["lang"] = detect_language(text)  # None: too short to tell (and not asked again)
    if meta.get("scanned_pages") and not ocr:
        count = len(meta["scanned_pages"])
        meta["note"] = "; ".join(
            filter(None, [meta.get("note"), f"{count} scanned page(s) without text (use --ocr)"])
        )
    return meta, text


def passage_spans(text: str) -> list[tuple[int, int, str]]:
    """Split a document into pieces MiniLM can read whole (it truncates at 256 word pieces):
    (start, end, text) with character offsets into `text`, cut between words, at most
    TEXT_MAX_CHUNKS pieces of about TEXT_CHUNK_CHARS (whitespace collapsed in the piece's text).
    A piece never crosses a form feed: documents put one between pages, slides and chapters, so
    each passage lies on one page and can say which."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    spans: list[tuple[int, int, str]] = []
    first = 0
    while first < len(words) and len(spans) < TEXT_MAX_CHUNKS:
        last, length = first, words[first][1] - words[first][0]
        while last + 1 < len(words):
            if "\f" in text[words[last][1] : words[last + 1][0]]:
                break
            grown = length + 1 + words[last + 1][1] - words[last + 1][0]
            if grown > TEXT_CHUNK_CHARS:
                break
            last, length = last + 1, grown
        piece = " ".join(text[a:b] for a, b in words[first : last + 1])
        spans.append((words[first][0], words[last][1], piece[:TEXT_CHUNK_CHARS]))
        first = last + 1
    return spans
