"""Decide a file's modality and format from its bytes, not its name.

The table only routes a file to a decoder; the decoder (Pillow, libheif, LibRaw, libsndfile, FFmpeg,
PDFium, the zip readers) has the last word at ingest, so a file that merely starts like a JPEG but
does not decode is recorded as failed. A suffix never overrides content: it only chooses between two
readings of the same bytes (a TIFF container that is a camera RAW, bare MPEG frames, plain text).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

# "video" is recognised (and reported as not indexed yet), never embedded.
MODALITIES = ("image", "text", "audio", "video")

# Extensions that may hold plain-text documents. Other text files (source code, JSON, CSV) are not
# documents a person searches by meaning, so they are left out rather than indexed as noise.
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".text", ".org", ".adoc", ".lrc", ""}
SUBTITLE_EXTENSIONS = {".srt", ".vtt"}
HTML_EXTENSIONS = {".html", ".htm", ".xhtml", ".xht"}
MAIL_EXTENSIONS = {".eml"}
# TIFF-structured camera RAW files: the container is a TIFF, the content a sensor mosaic.
RAW_TIFF_EXTENSIONS = {".cr2", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".pef", ".erf"}

_SNIFF_BYTES = 4096

# ISO base media (ftyp) brands. HEIF/AVIF still images; CR3 raw; everything else is a movie
# container whose tracks decide between audio (M4A, a voice memo) and video.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1"}
_HEIF_BRANDS |= {b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_EBML = b"\x1a\x45\xdf\xa3"
_CFB = bytes.fromhex("d0cf11e0a1b11ae1")
_MAIL_HEADERS = re.compile(
    rb"^(from|to|subject|date|message-id|mime-version|received|return-path|delivered-to|"
    rb"reply-to|cc|content-type|x-[a-z0-9-]+):",
    re.IGNORECASE,
)


def _image_kind(head: bytes, suffix: str) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26 and _dib_header(head):
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"II*\x00" and head[8:11] == b"CR\x02":
        return "raw"  # Canon CR2
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00"):
        return "raw"  # Olympus ORF, Panasonic RW2
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "raw"  # Fujifilm RAF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "raw" if suffix in RAW_TIFF_EXTENSIONS or _is_dng(head) else "tiff"
    return None


def _dib_header(head: bytes) -> bool:
    """A BMP's info header has one of a few sizes; 'BMW...' text does not."""
    return int.from_bytes(head[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124)


def _is_dng(head: bytes) -> bool:
    """A TIFF whose first IFD holds the DNGVersion tag (0xC612), read from the head."""
    order = "little" if head[:2] == b"II" else "big"
    offset = int.from_bytes(head[4:8], order)
    if offset + 2 > len(head):
        return False
    count = int.from_bytes(head[offset : offset + 2], order)
    for index in range(min(count, (len(head) - offset - 2) // 12)):
        at = offset + 2 + 12 * index
        if int.from_bytes(head[at : at + 2], order) == 0xC612:
            return True
    return False


def _ftyp_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO base media file ('ftyp' box first)."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return set()
    size = int.from_bytes(head[:4], "big")
    end = min(max(size, 16), len(head), 256)
    return {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}


def _container_kind(head: bytes) -> tuple[str, str] | None:
    """Containers that may hold sound or pictures: the brand, or later the tracks, decide."""
    brands = _ftyp_brands(head)
    if brands:
        major = head[8:12]
        if major == b"crx ":
            return "image", "raw"  # Canon CR3
        if major in _AVIF_BRANDS or (major in (b"mif1", b"msf1") and brands & _AVIF_BRANDS):
            return "image", "avif"
        if major in _HEIF_BRANDS:
            return "image", "heif"
        if major in _AUDIO_BRANDS:
            return "audio", "m4a"
        return "tracks", "mp4"  # mp4, isom, qt, 3gp, M4V: by its tracks
    if head.startswith(_EBML):
        return "tracks", "matroska"
    if head.startswith(_ASF_GUID):
        return "tracks", "asf"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    return None


def _audio_kind(head: bytes, suffix: str) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        # libsndfile reads Vorbis and FLAC in Ogg fastest; FFmpeg decodes Opus 1.6x faster.
        return "opus" if b"OpusHead" in head[:80] else "ogg"
    if head.startswith(b"ID3"):
        return "mp3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return "amr"
    if head.startswith(b"caff\x00\x01"):
        return "caf"
    # Bare MPEG audio or ADTS (AAC) frame sync is only 12 bits; trust it when the name agrees.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF0) == 0xF0 and suffix == ".aac":
        return "aac"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and suffix == ".mp3":
        return "mp3"
    return None


def _zip_kind(path: Path, head: bytes) -> str | None:
    """OOXML by [Content_Types].xml, ODF and EPUB by their stored 'mimetype' first entry."""
    if head[30:38] == b"mimetype":
        mimetype = head[38:120].split(b"PK", 1)[0]
        for prefix, kind in (
            (b"application/epub+zip", "epub"),
            (b"application/vnd.oasis.opendocument.text", "odt"),
            (b"application/vnd.oasis.opendocument.presentation", "odp"),
            (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
        ):
            if mimetype.startswith(prefix):
                return kind
    from .documents.archive import MAX_MEMBERS, member_count

    count = member_count(path)
    if count is None or count > MAX_MEMBERS or count == 0xFFFF:
        return None  # no document has that many parts: a big archive is not listed every run
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except Exception:  # BadZipFile, NotImplementedError (a newer zip version), OSError...
        return None
    if "[Content_Types].xml" in names:
        for folder, kind in (("word/", "docx"), ("ppt/", "pptx"), ("xl/", "xlsx")):
            if any(name.startswith(folder) for name in names):
                return kind
        return None
    if "mimetype" in names and "META-INF/container.xml" in names:
        return "epub"  # an EPUB whose mimetype entry is not stored first
    return None


def _markup_kind(head: bytes, suffix: str) -> str | None:
    """Text formats recognised by their content: RTF by its magic; HTML, e-mail and subtitles
    only in files named like text or like the format: a .php page or a .patch mail is source."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    texty = suffix in TEXT_EXTENSIONS
    if start.startswith(b"{\\rtf"):
        return "rtf"  # a magic number of its own: whatever the name
    if not (texty or suffix in HTML_EXTENSIONS | SUBTITLE_EXTENSIONS | MAIL_EXTENSIONS):
        return None
    if start.startswith((b"<!doctype html", b"<html")) or (
        start.startswith(b"<?xml") and b"<html" in head[:1024].lower()
    ):
        return "html"
    if suffix in HTML_EXTENSIONS and start.startswith(b"<"):
        return "html"
    if start.startswith(b"webvtt"):
        return "vtt"
    if re.match(rb"\d+\r?\n\d\d:\d\d:\d\d[,.]\d{3} --> ", start):
        return "srt"
    lines = head.split(b"\n", 8)[:8]
    headers = sum(bool(_MAIL_HEADERS.match(line)) for line in lines)
    first_is_header = bool(_MAIL_HEADERS.match(lines[0])) or lines[0].startswith(b"From ")
    return "eml" if first_is_header and (suffix in MAIL_EXTENSIONS or headers >= 3) else None


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


def text_encoding(head: bytes) -> str | None:
    """'utf-8', or an encoding charset detection is sure of (UTF-16 behind a BOM, CP1252...); None when
    the bytes are not text (binary data, or no encoding fits)."""
    if _looks_like_text(head):
        return "utf-8"
    bom = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not bom:
        return None
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    if controls > len(head) // 100 and not bom:
        return None
    from .documents.plain import detect_encoding

    found = detect_encoding(head)
    if found is None or found[0] in ("utf_8", "ascii") or found[1] > 0.2:
        return None
    if bom and not found[0].startswith("utf_16"):
        return None  # a UTF-16 BOM in front of bytes that are not UTF-16 text
    return found[0]


def sniff_head(head: bytes, suffix: str) -> tuple[str, str] | None:
    """(modality, format) for a file's first bytes and lower-case suffix, or None if unsupported.
    Modality "tracks" means a movie container that only its tracks can classify (see
    sniff_modality); "video" is recognised but not indexed yet."""
    image = _image_kind(head, suffix)
    if image:
        return "image", image
    container = _container_kind(head)
    if container:
        return container
    audio = _audio_kind(head, suffix)
    if audio:
        return "audio", audio
    if head.startswith(b"%PDF-"):
        return "text", "pdf"
    if head.startswith(_CFB):
        return "text", "cfb"  # an encrypted OOXML file or a legacy Office file: refused by name
    markup = _markup_kind(head, suffix)
    if markup:
        return "text", markup
    if suffix in TEXT_EXTENSIONS | SUBTITLE_EXTENSIONS:
        encoding = text_encoding(head)
        if encoding:
            return "text", "utf-8" if encoding == "utf-8" else f"text:{encoding}"
    return None


VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mts", ".wmv"})


def _tracks(path: Path, container: str) -> tuple[str, str] | None:
    """Audio or video by the streams FFmpeg finds (a cover picture is not a video)."""
    try:
        import av

        with av.open(str(path), metadata_errors="ignore") as opened:
            video = [
                s
                for s in opened.streams.video
                if not (s.disposition & av.stream.Disposition.attached_pic)
            ]
            has_audio = bool(opened.streams.audio)
    except Exception:
        # Unreadable container (no moov atom, cut short): the name says what it was meant to
        # be, and that decoder gives the reason it fails.
        return ("video" if path.suffix.lower() in VIDEO_SUFFIXES else "audio"), container
    if video:
        return "video", container
    return ("audio", container) if has_audio else None


def sniff_modality(path: Path) -> tuple[str, str] | None:
    """Read the head of `path` and classify it; OSError propagates to the caller to record."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    found = sniff_head(head, path.suffix.lower())
    if found == ("audio", "mp3"):
        found = _behind_id3(path, head) or found
    if found is None and head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(path, head)
        return ("text", kind) if kind else None
    if found is not None and found[0] == "tracks":
        return _tracks(path, found[1])
    if found == ("text", "cfb") and not _encrypted_office(path):
        return None  # a legacy .doc/.xls/.ppt or an Outlook message: not read
    return found


def audio_format(path: Path) -> str | None:
    """The sniffed format of a sound file without probing tracks: which decoder reads it."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    found = sniff_head(head, path.suffix.lower())
    if found == ("audio", "mp3"):
        found = _behind_id3(path, head) or found
    return found[1] if found else None


def _behind_id3(path: Path, head: bytes) -> tuple[str, str] | None:
    """What an ID3 tag stands in front of: ADTS AAC is FFmpeg's, not libsndfile's."""
    if not head.startswith(b"ID3") or len(head) < 10:
        return None
    size = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(head[6:10]))
    with open(path, "rb") as handle:
        handle.seek(size)
        after = handle.read(2)
    if len(after) == 2 and after[0] == 0xFF and (after[1] & 0xF6) == 0xF0:
        return "audio", "aac"  # ADTS sync with layer bits 00 (MPEG audio frames have 01-11)
    return None


def _encrypted_office(path: Path) -> bool:
    """A password-protected OOXML file is a compound file holding an 'EncryptedPackage'."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            return bool(ole.exists("EncryptedPackage"))
    except Exception:
        return False
