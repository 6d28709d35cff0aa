"""EPUB (chapters in reading order), RTF (striprtf, BSD), e-mail (the standard library) and
subtitles (SRT, WebVTT)."""

from __future__ import annotations

import email
import email.policy
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ...errors import MediaError
from .archive import SafeZip, iter_xml, local
from .base import Document, max_pages, read_capped, readable
from .markup import MAX_HTML_BYTES, html_text
from .plain import decode_bytes

MAX_MAIL_BYTES = 32 * 1024 * 1024
MAX_RTF_BYTES = 16 * 1024 * 1024
MAX_SUBTITLE_BYTES = 8 * 1024 * 1024
MAX_MAIL_PARTS = 10_000


def read_epub(path: Path) -> Document:
    doc = Document(meta={"format": "epub"})
    with SafeZip(path) as archive:
        rootfile = next(
            (
                element.get("full-path")
                for element in iter_xml(archive.read("META-INF/container.xml", 1 << 20))
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
        for element in iter_xml(archive.read(rootfile, 8 << 20)):
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
            part = posixpath.normpath(posixpath.join(folder, unquote(href.split("#")[0])))
            if not archive.has(part):
                continue
            _, text = html_text(decode_bytes(archive.read(part, MAX_HTML_BYTES)))
            if not doc.add(text, f"ch. {number}"):
                break
    return doc


def read_rtf(path: Path) -> Document:
    from striprtf.striprtf import rtf_to_text

    doc = Document(meta={"format": "rtf"})
    raw, cut = read_capped(path, MAX_RTF_BYTES)
    if cut:
        doc.meta["note"] = f"first {MAX_RTF_BYTES // (1024 * 1024)} MB read"
    try:
        text = rtf_to_text(raw.decode("latin-1"), errors="ignore")
    except Exception as exc:
        raise MediaError(f"RTF does not decode: {exc}") from exc
    if not readable(text):
        raise MediaError("RTF holds no readable text (binary data?)")
    doc.add(text)
    return doc


def _decoded(value: Any) -> str | None:
    """A header value decoded from RFC 2047 words, whitespace folded; None when absent or
    malformed (left out: the rest of the mail is read)."""
    from email.header import decode_header, make_header

    if value is None:
        return None
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:
        return None
    return " ".join(text.split())[:300] or None


def _header(message: Any, name: str) -> str | None:
    try:
        return _decoded(message.get(name))
    except Exception:  # the mail package's own parser can fail on a broken header
        return None


def read_mail(path: Path) -> Document:
    """Subject, sender, recipients, date and body; attachments by name only (never opened).
    Parsed with the compat32 policy, which is linear in the number of parts (the default policy
    took 22 s for 80,000 parts); a mail of more than 10,000 parts is refused before parsing."""
    doc = Document(meta={"format": "eml"})
    raw, cut = read_capped(path, MAX_MAIL_BYTES)
    if cut:
        doc.meta["note"] = f"first {MAX_MAIL_BYTES // (1024 * 1024)} MB read"
    if raw.count(b"\n--") > MAX_MAIL_PARTS:
        raise MediaError(f"e-mail with more than {MAX_MAIL_PARTS:,} MIME parts")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    head = []
    for field in ("subject", "from", "to", "date"):
        value = _header(message, field)
        if value:
            head.append(f"{field.capitalize()}: {value}")
    subject = _header(message, "subject")
    if subject:
        doc.meta["title"] = subject
    bodies: list[str] = []
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()
            attached = filename or part.get_content_disposition() == "attachment"
        except Exception:  # a malformed Content-Disposition: treat the part as an attachment
            filename, attached = None, True
        if attached:
            attachments.append((_decoded(filename) or "unnamed")[:200])
            continue
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and not bodies:
            payload = part.get_payload(decode=True) or b""
            text = decode_bytes(payload[:MAX_HTML_BYTES], _codec(part.get_content_charset()))
            body = html_text(text)[1] if kind == "text/html" else text
            if body.strip():
                bodies.append(body)
    if attachments:
        doc.meta["attachments"] = attachments[:100]
        head.append("Attachments: " + ", ".join(attachments[:100]))
    doc.add("\n".join(head) + "\n\n" + (bodies[0] if bodies else ""))
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
    """Cue text without numbers, timings or styling. Each minute of cues is a part of its own
    (passages never straddle one: a passage is a minute of speech or less, so one sentence is
    not diluted by ten minutes of others), and each cue labels the passages that start in it
    with its time ("@ 1:20")."""
    doc = Document(meta={"format": kind})
    raw, cut = read_capped(path, MAX_SUBTITLE_BYTES)
    if cut:
        doc.meta["note"] = f"first {MAX_SUBTITLE_BYTES // (1024 * 1024)} MB read"
    text = decode_bytes(raw)
    lines: list[str] = []
    label: str | None = None
    minute = previous = -1
    for line in [*text.splitlines(), "00:00:00.000 -->"]:  # a last timing flushes the last cue
        line = line.strip()
        timing = _CUE_TIME.match(line)
        if timing:
            if lines and not doc.add(" ".join(lines), label, separate=minute != previous):
                break
            if lines:
                previous = minute
            seconds = int(timing.group(1) or 0) * 3600 + int(timing.group(2)) * 60
            seconds += int(timing.group(3))
            lines, label, minute = [], f"@ {seconds // 60}:{seconds % 60:02d}", seconds // 60
            continue
        if not line or line.isdigit() or line.upper().startswith(("WEBVTT", "NOTE", "STYLE")):
            continue
        lines.append(_TAG.sub("", line))
    return doc
