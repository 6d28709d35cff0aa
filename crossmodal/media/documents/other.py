"""EPUB (chapters in reading order), RTF (striprtf, BSD), e-mail (the standard library) and
subtitles (SRT, WebVTT)."""

from __future__ import annotations

import email
import email.policy
import posixpath
import re
from pathlib import Path

from ...errors import MediaError
from .archive import SafeZip, iter_xml, local
from .base import Document, max_pages, readable
from .markup import MAX_HTML_BYTES, html_text
from .plain import decode_bytes

MAX_MAIL_BYTES = 64 * 1024 * 1024
MAX_RTF_BYTES = 16 * 1024 * 1024
MAX_SUBTITLE_BYTES = 8 * 1024 * 1024
_MAX_MAIL_PARTS = 500


def read_epub(path: Path) -> Document:
    doc = Document(meta={"format": "epub"})
    with SafeZip(path) as archive:
        rootfile = next(
            (
                element.get("full-path")
                for _, element in iter_xml(archive.read("META-INF/container.xml", 1 << 20))
                if local(element.tag) == "rootfile" and element.get("full-path")
            ),
            None,
        )
        if not rootfile:
            raise MediaError("EPUB without a package document (META-INF/container.xml)")
        folder = posixpath.dirname(rootfile)
        manifest: dict[str, str] = {}
        spine: list[str] = []
        title = None
        for _, element in iter_xml(archive.read(rootfile, 8 << 20)):
            name = local(element.tag)
            if name == "item" and element.get("id") and element.get("href"):
                manifest[element.get("id")] = element.get("href")
            elif name == "itemref" and element.get("idref"):
                spine.append(element.get("idref"))
            elif name == "title" and title is None and (element.text or "").strip():
                title = " ".join(element.text.split())[:300]
        if title:
            doc.meta["title"] = title
        chapters = [manifest[ref] for ref in spine if ref in manifest]
        doc.meta["pages"] = len(chapters)
        for number, href in enumerate(chapters[: max_pages()], 1):
            part = posixpath.normpath(posixpath.join(folder, href.split("#")[0]))
            if not archive.has(part):
                continue
            _, text = html_text(decode_bytes(archive.read(part, MAX_HTML_BYTES)))
            if not doc.add(text, f"ch. {number}"):
                break
    return doc


def read_rtf(path: Path) -> Document:
    from striprtf.striprtf import rtf_to_text

    doc = Document(meta={"format": "rtf"})
    raw = _read_capped(path, MAX_RTF_BYTES, doc)
    try:
        text = rtf_to_text(raw.decode("latin-1"), errors="ignore")
    except Exception as exc:
        raise MediaError(f"RTF does not decode: {exc}") from exc
    if not readable(text):
        raise MediaError("RTF holds no readable text (binary data?)")
    doc.add(text)
    return doc


def read_mail(path: Path) -> Document:
    """Subject, sender, recipients, date and body; attachments by name only (never opened)."""
    doc = Document(meta={"format": "eml"})
    raw = _read_capped(path, MAX_MAIL_BYTES, doc)
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:
        raise MediaError(f"e-mail does not parse: {exc}") from exc
    head = []
    for field in ("subject", "from", "to", "date"):
        try:
            value = message.get(field)
        except Exception:  # a malformed header
            value = None
        if value:
            head.append(f"{field.capitalize()}: {' '.join(str(value).split())}")
    subject = message.get("subject")
    if subject:
        doc.meta["title"] = " ".join(str(subject).split())[:300]
    bodies: list[str] = []
    attachments: list[str] = []
    for count, part in enumerate(message.walk()):
        if count > _MAX_MAIL_PARTS:
            break
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            attachments.append(" ".join(str(filename or "unnamed").split())[:200])
            continue
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            text = decode_bytes(payload[:MAX_HTML_BYTES], _codec(charset))
            bodies.append(html_text(text)[1] if kind == "text/html" else text)
    if attachments:
        doc.meta["attachments"] = attachments[:100]
        head.append("Attachments: " + ", ".join(attachments[:100]))
    plain = [b for b in bodies if b.strip()]
    doc.add("\n".join(head) + "\n\n" + (plain[0] if plain else ""))
    return doc


def _codec(charset: str | None) -> str | None:
    import codecs

    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


_CUE_TIME = re.compile(r"^(?:(\d+):)?(\d\d):(\d\d)[,.](\d{3})\s*-->")
_TAG = re.compile(r"<[^>]*>")


def read_subtitles(path: Path, kind: str) -> Document:
    """Cue text without numbers, timings or styling, as running text; each cue labels the
    passages that start in it with its time ("@ 1:20")."""
    doc = Document(meta={"format": kind})
    text = decode_bytes(_read_capped(path, MAX_SUBTITLE_BYTES, doc))
    lines: list[str] = []
    label: str | None = None
    for line in [*text.splitlines(), "00:00:00.000 -->"]:  # a last timing flushes the last cue
        line = line.strip()
        timing = _CUE_TIME.match(line)
        if timing:
            if lines and not doc.add(" ".join(lines), label, separate=False):
                break
            seconds = int(timing.group(1) or 0) * 3600 + int(timing.group(2)) * 60
            seconds += int(timing.group(3))
            lines, label = [], f"@ {seconds // 60}:{seconds % 60:02d}"
            continue
        if not line or line.isdigit() or line.upper().startswith(("WEBVTT", "NOTE", "STYLE")):
            continue
        lines.append(_TAG.sub("", line))
    return doc


def _read_capped(path: Path, cap: int, doc: Document) -> bytes:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(cap + 1)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > cap:
        doc.meta["note"] = f"first {cap // (1024 * 1024)} MB read"
        raw = raw[:cap]
    return raw
