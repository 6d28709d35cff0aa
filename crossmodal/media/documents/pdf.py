"""PDF through PDFium (pypdfium2, BSD/Apache): text per page, pages without a text layer found
so OCR can read them. PDFium runs no JavaScript and fetches nothing; its calls are serialised
because PDFium is not thread-safe."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ...errors import MediaError
from .base import Document, max_pages

_LOCK = threading.Lock()
# A page with fewer characters than this but with a picture on it is a scanned page.
_SCANNED_MAX_CHARS = 16
# Scanned pages rendered for OCR per document, and their longer side in pixels.
MAX_OCR_PAGES = 20
_OCR_LONG_SIDE = 1600
# Why a PDF of scanned pages only is failed without --ocr; it is read again once OCR is on.
SCANNED_REASON = "scanned PDF: no text layer (use --ocr)"


def _open(path: Path):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise MediaError("encrypted PDF: password needed") from exc
        raise MediaError(f"not a readable PDF: {message}") from exc
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}") from exc


def _has_picture(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def read_pdf(path: Path) -> Document:
    doc = Document(meta={"format": "pdf"})
    with _LOCK:
        pdf = _open(path)
        try:
            total = len(pdf)
            cap = max_pages()
            doc.meta["pages"] = total
            scanned: list[int] = []
            read = 0
            for number in range(min(total, cap)):
                page = pdf[number]
                try:
                    textpage = page.get_textpage()
                    text = textpage.get_text_bounded().replace("\r\n", "\n")
                    textpage.close()
                    if len(text.strip()) < _SCANNED_MAX_CHARS and _has_picture(page):
                        scanned.append(number + 1)
                finally:
                    page.close()
                read = number + 1
                if not doc.add(text, f"p. {number + 1}"):
                    break
            title = pdf.get_metadata_dict(skip_empty=True).get("Title")
        except MediaError:
            raise
        except Exception as exc:  # a damaged page tree or object
            raise MediaError(f"PDF does not decode: {exc}") from exc
        finally:
            pdf.close()
    if title:
        doc.meta["title"] = " ".join(str(title).split())[:300]
    if read < total:
        doc.meta["pages_read"] = read
        doc.meta["note"] = f"first {read} of {total} pages read"
    if scanned:
        doc.meta["scanned_pages"] = scanned
        if not doc.text.strip():
            doc.meta["empty_reason"] = SCANNED_REASON
    elif total == 0:
        doc.meta["empty_reason"] = "PDF has no pages"
    return doc


def render_pages(path: Path, pages: list[int]) -> list[Any]:
    """RGB pictures of the given 1-based pages (at most MAX_OCR_PAGES), for OCR."""
    images = []
    with _LOCK:
        pdf = _open(path)
        try:
            for number in pages[:MAX_OCR_PAGES]:
                if not 1 <= number <= len(pdf):
                    continue
                page = pdf[number - 1]
                try:
                    width, height = page.get_size()
                    scale = _OCR_LONG_SIDE / max(width, height, 1.0)
                    bitmap = page.render(scale=scale)
                    try:  # a copy, then the bitmap freed under the lock (PDFium owns it)
                        images.append(bitmap.to_pil().convert("RGB"))
                    finally:
                        bitmap.close()
                finally:
                    page.close()
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(f"PDF page does not render: {exc}") from exc
        finally:
            pdf.close()
    return images
