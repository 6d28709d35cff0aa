"""One entry point from a sniffed format to its reader."""

from __future__ import annotations

from pathlib import Path

from ...errors import MediaError
from .base import Document


def _read(path: Path, fmt: str) -> Document:
    from . import office, other, pdf
    from .markup import read_html
    from .plain import read_plain

    if fmt == "utf-8":
        doc = read_plain(path)
    elif fmt.startswith("text:"):
        doc = read_plain(path, fmt.split(":", 1)[1])
    elif fmt == "cfb":
        raise MediaError("encrypted Office document: password needed")
    else:
        readers = {
            "pdf": pdf.read_pdf,
            "docx": office.read_docx,
            "pptx": office.read_pptx,
            "xlsx": office.read_xlsx,
            "epub": other.read_epub,
            "html": read_html,
            "rtf": other.read_rtf,
            "eml": other.read_mail,
        }
        if fmt in readers:
            doc = readers[fmt](path)
        elif fmt in ("odt", "odp", "ods"):
            doc = office.read_odf(path, fmt)
        elif fmt in ("srt", "vtt"):
            doc = other.read_subtitles(path, fmt)
        else:
            raise MediaError(f"no reader for {fmt} documents")
    if "\x00" in doc.text:
        doc.text = doc.text.replace("\x00", " ")
    return doc


def read_document(path: Path, fmt: str) -> Document:
    """The text of a document of sniffed format `fmt` ('utf-8', 'text:ENCODING', 'pdf', ...).
    Any failure of a reader's library on a bad file (zlib.error, RecursionError, an e-mail
    header parser's IndexError...) is that file's MediaError: one file never stops a run."""
    try:
        return _read(path, fmt)
    except MediaError:
        raise
    except OSError as exc:
        if exc.errno is None:  # raised by a decoder about its data, not by the file system
            raise MediaError(f"{fmt} document does not decode: {exc}") from exc
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise MediaError(f"{fmt} document does not decode: {type(exc).__name__}: {reason}") from exc
