"""Plain text in any encoding: UTF-8 (a BOM allowed), UTF-16 with a BOM, or a legacy encoding
(CP1252, GB18030, Shift-JIS...) found by charset detection (charset-normalizer, MIT)."""

from __future__ import annotations

from pathlib import Path

from ...errors import MediaError
from .base import Document, read_capped

MAX_TEXT_BYTES = 1_000_000

# The encodings a guess may name: what people's files are written in. Left to itself, charset
# detection names EBCDIC (cp037) or cp1006 for a short CP1252 line.
_CANDIDATES = [
    "utf_8", "utf_16", "cp1252", "iso8859_15", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255",
    "cp1256", "cp1257", "koi8_r", "koi8_u", "iso8859_2", "iso8859_5", "mac_roman", "gb18030",
    "big5", "cp932", "shift_jis", "euc_jp", "iso2022_jp", "cp949", "euc_kr", "cp874", "tis_620",
]  # fmt: skip
# Among encodings that charset detection finds equally likely, the most common one wins.
_PREFERRED = ("cp1252", "iso8859_15", "latin_1")


def detect_encoding(raw: bytes) -> tuple[str, float] | None:
    """(encoding, chaos) of the best guess among common encodings; ties (cp1250/cp1252/cp1257
    read the same bytes as equally plausible) go to the most common Western encoding."""
    from charset_normalizer import from_bytes

    results = from_bytes(raw[:200_000], cp_isolation=_CANDIDATES)
    best = results.best()
    if best is None:
        return None
    tied = {m.encoding for m in results if (m.chaos, m.coherence) == (best.chaos, best.coherence)}
    encoding = next((name for name in _PREFERRED if name in tied), best.encoding)
    return encoding, best.chaos


def _mostly_utf8(raw: bytes) -> str | None:
    """UTF-8 with a few stray bytes (one CP1252 character pasted into a UTF-8 file) keeps its
    real characters: when the file holds valid multi-byte UTF-8, stray bytes become U+FFFD
    instead of the whole file being decoded in a guessed code page."""
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if ord(char) > 127) - bad
    return text if good > 0 and bad <= max(1, len(text) // 1000) else None


def decode_bytes(raw: bytes, encoding: str | None = None) -> str:
    """Text from bytes: the given encoding, else UTF-8/UTF-16 by BOM, else detection; a character
    cut at the end of a capped read is dropped."""
    if encoding is None:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        else:
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                if exc.start >= len(raw) - 4:
                    return raw[: exc.start].decode("utf-8-sig")
            mostly = _mostly_utf8(raw)
            if mostly is not None:
                return mostly
            found = detect_encoding(raw)
            encoding = found[0] if found else "cp1252"
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def load_plain(path: Path, encoding: str | None = None) -> str:
    """A text file's first MAX_TEXT_BYTES, decoded; `encoding` None: UTF-8, or detected when
    the bytes after the sniffed head are in another encoding."""
    raw, truncated = read_capped(path, MAX_TEXT_BYTES)
    if encoding is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if truncated and exc.start >= len(raw) - 4:
                text = raw[: exc.start].decode("utf-8-sig")
            else:
                text = decode_bytes(raw, None)
    else:
        if encoding.startswith("utf_16") or encoding == "utf-16":
            raw = raw[: len(raw) // 2 * 2]
        text = decode_bytes(raw, encoding)
    if "\x00" in text:
        raise MediaError("binary data in a text file")
    if not text.strip():
        raise MediaError("empty text file")
    return text


def read_plain(path: Path, encoding: str | None = None) -> Document:
    doc = Document(meta={"format": "text", **({"encoding": encoding} if encoding else {})})
    doc.text = load_plain(path, encoding)  # as written: offsets and line counts stay the file's
    return doc
