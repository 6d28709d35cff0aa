"""Text items: plain text in any encoding and documents (PDF, Office, EPUB, HTML, RTF, e-mail,
subtitles), read by crossmodal.media.documents into text plus the parts it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MediaError
from .documents import Document, read_document
from .documents.plain import MAX_TEXT_BYTES

__all__ = ["MAX_TEXT_BYTES", "SNIPPET_CHARS", "document_of", "load_text", "probe_text"]

SNIPPET_CHARS = 300


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
    if meta.get("scanned_pages") and not ocr:
        count = len(meta["scanned_pages"])
        meta["note"] = "; ".join(
            filter(None, [meta.get("note"), f"{count} scanned page(s) without text (use --ocr)"])
        )
    return meta, text
