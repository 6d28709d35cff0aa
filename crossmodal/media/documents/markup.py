"""HTML and XHTML: the title and the readable text, without scripts, styles, navigation or
forms. Parsed by Lexbor (selectolax, MIT); nothing is fetched (no image, link or frame)."""

from __future__ import annotations

from pathlib import Path

from ...errors import MediaError
from .base import Document
from .plain import decode_bytes

# Bytes of markup read from one file; the rest is left (a note says so).
MAX_HTML_BYTES = 16 * 1024 * 1024
_DROP = "script, style, noscript, template, nav, header, footer, aside, form, svg, iframe, object"
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "section", "article")


def html_text(markup: str) -> tuple[str | None, str]:
    """(title, readable text) of an HTML document."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node is not None else None
    for node in tree.css(_DROP):
        node.decompose()
    body = tree.body or tree.root
    if body is None:
        return title or None, ""
    for node in body.css(", ".join(_BLOCKS)):
        node.insert_after("\n")
    text = body.text(separator=" ", strip=False)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return title or None, "\n".join(line for line in lines if line)


def read_html(path: Path) -> Document:
    doc = Document(meta={"format": "html"})
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_HTML_BYTES + 1)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_HTML_BYTES:
        raw = raw[:MAX_HTML_BYTES]
        doc.meta["note"] = f"first {MAX_HTML_BYTES // (1024 * 1024)} MB of markup read"
    title, text = html_text(decode_bytes(raw))
    if title:
        doc.meta["title"] = title[:300]
        if title not in text[:1000]:
            text = f"{title}\n{text}"
    doc.add(text)
    return doc
