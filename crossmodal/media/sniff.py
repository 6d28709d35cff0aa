"""Decide a file's modality from its first bytes, not its name.

The table only routes a file to a decoder; the decoder (Pillow, libsndfile, UTF-8) has the last word
at ingest, so a file that merely starts like a JPEG but does not decode is recorded as failed.
"""

from __future__ import annotations

from pathlib import Path

MODALITIES = ("image", "text", "audio")

# Extensions that may hold plain-text documents. Other text files (source code, JSON, CSV) are not
# documents a person searches by meaning, so they are left out rather than indexed as noise.
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".text", ".org", ".adoc", ".lrc", ""}

_SNIFF_BYTES = 4096


def _image_kind(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _audio_kind(head: bytes, suffix: str) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3"):
        return "mp3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    # A bare MPEG audio frame sync is only two bytes; trust it when the name agrees.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and suffix == ".mp3":
        return "mp3"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still text.
        if exc.start < len(head) - 4:
            return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls <= len(head) // 100


def sniff_head(head: bytes, suffix: str) -> tuple[str, str] | None:
    """(modality, format) for a file's first bytes and lower-case suffix, or None if unsupported."""
    image = _image_kind(head)
    if image:
        return "image", image
    audio = _audio_kind(head, suffix)
    if audio:
        return "audio", audio
    if suffix in TEXT_EXTENSIONS and _looks_like_text(head):
        return "text", "utf-8"
    return None


def sniff_modality(path: Path) -> tuple[str, str] | None:
    """Read the head of `path` and classify it; OSError propagates to the caller to record."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    return sniff_head(head, path.suffix.lower())
