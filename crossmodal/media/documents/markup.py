"""HTML and XHTML: the title and the readable text, without scripts, styles, navigation or
forms. Parsed by Lexbor (selectolax, MIT); nothing is fetched (no image, link or frame)."""

from __future__ import annotations

import re
from pathlib import Path

from .base import Document, read_capped
from .plain import decode_bytes

# Bytes of markup read from one file; the rest is left (a note says so).
MAX_HTML_BYTES = 4 * 1024 * 1024
_DROP = "script, style, noscript, template, nav, footer, aside, svg, iframe, object"
# Lexbor's tree building is quadratic in nesting depth (100,000 unclosed <div>: 26 s); deeper
# markup than this is read by stripping its tags instead.
MAX_DEPTH = 1000
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
_VOID = {
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
    b"p",
    b"li",
    b"option",
    b"td",
    b"tr",
    b"th",
}
_RAW_BLOCKS = re.compile(rb"(?is)<(script|style|template|noscript)\b.*?</\1\s*>")
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "section", "article")


def too_deep(markup: bytes) -> bool:
    """Whether elements nest deeper than MAX_DEPTH (a linear scan of the tags; elements whose
    end tag HTML lets one omit are not counted)."""
    depth = 0
    for match in _TAG.finditer(markup):
        name = match.group(2).lower()
        if match.group(3) or name in _VOID:
            continue
        depth += -1 if match.group(1) else 1
        if depth > MAX_DEPTH:
            return True
    return False


def stripped_text(markup: str) -> str:
    """Text of markup by removing tags (scripts and styles with their content)."""
    import html

    data = _RAW_BLOCKS.sub(b" ", markup.encode("utf-8", "surrogatepass"))
    text = html.unescape(re.sub(rb"<[^>]*>", b" ", data).decode("utf-8", "replace"))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def html_text(markup: str) -> tuple[str | None, str]:
    """(title, readable text) of an HTML document."""
    from selectolax.lexbor import LexborHTMLParser

    if too_deep(markup.encode("utf-8", "surrogatepass")):
        return None, stripped_text(markup)

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
    raw, cut = read_capped(path, MAX_HTML_BYTES)
    if cut:
        doc.meta["note"] = f"first {MAX_HTML_BYTES // (1024 * 1024)} MB of markup read"
    title, text = html_text(decode_bytes(raw))
    if title:
        doc.meta["title"] = title[:300]
        if title not in text[:1000]:
            text = f"{title}\n{text}"
    doc.add(text)
    return doc
