"""Corpus cases for the formats of issue 15: bad HEIC, M4A, PDF, Office, EPUB, RAW and e-mail
files, bombs and XXE, legacy encodings, and containers recognised as video. Called by
make_corpus.py (which owns `add` and the manifest)."""

from __future__ import annotations

import base64
import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent.parent / "sample_data"
sys.path.insert(0, str(SAMPLES))

import make_formats as formats  # noqa: E402  (sample_data/make_formats.py: the same writers)

Add = Callable[..., None]


def _src(rel: str, how: str) -> str:
    return f"sample_data/{rel} ({how})"


def docx_with(document_xml: bytes) -> bytes:
    return formats.docx_bytes([], "case", document_xml.decode("utf-8"))


def pdf_bytes(pages: list[str], encrypt: str | None = None, image: Path | None = None) -> bytes:
    from reportlab.lib.pagesizes import A6
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A6, encrypt=encrypt, invariant=1)
    for text in pages:
        pdf.drawString(20, 300, text)
        pdf.showPage()
    if image is not None:
        pdf.drawImage(str(image), 10, 10, width=250, height=125)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make(add: Add) -> None:
    caption = (SAMPLES / "text" / "cat_chelsea.txt").read_text().strip()
    # --- PDF
    add(
        "formats/encrypted.pdf",
        pdf_bytes([caption], encrypt="secret"),
        "failed",
        "PDF encrypted with a user password (RC4, reportlab): 'encrypted PDF: password needed'",
        _src("text/cat_chelsea.txt", "drawn into a one-page PDF, encrypted"),
    )
    add(
        "formats/scanned_only.pdf",
        pdf_bytes([], image=SAMPLES / "images" / "scanned_page.png"),
        "failed",
        "PDF whose only page is a picture (no text layer): without --ocr 'scanned PDF: no text "
        "layer (use --ocr)'",
        _src("images/scanned_page.png", "placed on a PDF page"),
    )
    add(
        "formats/two_pages.pdf",
        pdf_bytes([caption, "The second page names a harbour and its boats."]),
        "text",
        "valid two-page PDF with a text layer",
        _src("text/cat_chelsea.txt", "drawn into a PDF, plus a generated second page"),
    )
    add(
        "formats/garbage.pdf",
        b"%PDF-1.7\n" + np.random.default_rng(15).bytes(3000),
        "failed",
        "'%PDF-' then random bytes: sniffs as PDF, PDFium cannot load it",
    )
    good = pdf_bytes([caption])
    add(
        "formats/truncated_half.pdf",
        good[: len(good) // 2],
        "failed",
        "real PDF cut in half (no cross-reference table or trailer)",
        _src("text/cat_chelsea.txt", "drawn into a PDF, first half of the bytes"),
    )
    # --- Office and zip containers
    paragraphs = [caption]
    add(
        "formats/report.docx",
        formats.docx_bytes(paragraphs, "Chelsea"),
        "text",
        "valid minimal DOCX (content types, relationships, document.xml)",
        _src("text/cat_chelsea.txt", "as a DOCX paragraph"),
    )
    add(
        "formats/protected.docx",
        _encrypted_docx(formats.docx_bytes(paragraphs, "Chelsea")),
        "failed",
        "password-protected DOCX (an OLE compound file holding EncryptedPackage, "
        "msoffcrypto-tool, password 'secret'): 'encrypted Office document: password needed'",
        _src("text/cat_chelsea.txt", "as a DOCX, encrypted"),
    )
    add(
        "formats/xxe.docx",
        docx_with(
            b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            b'main"><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>'
        ),
        "failed",
        "DOCX whose document.xml declares an external entity (file:///etc/passwd): refused, "
        "never resolved",
    )
    add(
        "formats/billion_laughs.docx",
        docx_with(
            b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(
                f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                for i in range(8)
            )
            + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
            b'2006/main"><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>'
        ),
        "failed",
        "DOCX with nested internal entities (billion laughs, 10^9 characters): refused",
    )
    add(
        "formats/bomb_ratio.docx",
        _bomb_docx(),
        "failed",
        "zip bomb: document.xml inflates 24 MB from about 24 kB (ratio ~1000): refused before "
        "inflating",
    )
    add(
        "formats/bomb_lying_size.docx",
        _lying_docx(),
        "failed",
        "zip bomb with a lying header: document.xml declares 40 bytes but inflates 8 MB; the "
        "reader stops at the declared size and the CRC check fails",
    )
    add(
        "formats/not_really.docx",
        b"PK\x03\x04" + np.random.default_rng(16).bytes(600),
        "unsupported",
        "zip magic then random bytes: no central directory, not an Office file",
    )
    add(
        "formats/legacy_word97.doc",
        _legacy_cfb(),
        "unsupported",
        "an OLE compound file without EncryptedPackage (as Word 97-2003 writes): not read",
    )
    add(
        "formats/epub_no_container.epub",
        _zip_bytes({"mimetype": "application/epub+zip", "OEBPS/a.xhtml": "<html/>"}),
        "failed",
        "EPUB mimetype but no META-INF/container.xml: 'EPUB without a package document'",
    )
    add(
        "formats/sheet.ods",
        _zip_bytes(
            {
                "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                "content.xml": '<?xml version="1.0"?><office:document-content xmlns:office="'
                'urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:'
                'names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:'
                'opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table '
                'table:name="pets"><table:table-row><table:table-cell><text:p>cat</text:p>'
                "</table:table-cell><table:table-cell><text:p>tabby</text:p></table:table-cell>"
                "</table:table-row></table:table></office:spreadsheet></office:body>"
                "</office:document-content>",
            }
        ),
        "text",
        "valid minimal ODS spreadsheet (one sheet 'pets')",
    )
    # --- images
    heic = (SAMPLES / "phone" / "IMG_0001.HEIC").read_bytes()
    damaged = bytearray(heic)
    damaged[40:400] = np.random.default_rng(17).bytes(360)
    add(
        "formats/corrupt.heic",
        bytes(damaged),
        "failed",
        "real HEIC whose meta box (item info and locations) is random bytes: libheif cannot "
        "find the picture",
        "sample_data/phone/IMG_0001.HEIC (bytes 40-400 overwritten)",
    )
    add(
        "formats/truncated.heic",
        heic[: len(heic) * 6 // 10],
        "failed",
        "real HEIC cut to 60% (the coded picture ends early)",
        "sample_data/phone/IMG_0001.HEIC (first 60% of the bytes)",
    )
    small = Image.open(SAMPLES / "images" / "grass.png").convert("RGB").resize((96, 64))
    buffer = io.BytesIO()
    small.save(buffer, format="AVIF", quality=60)
    add(
        "formats/small.avif",
        buffer.getvalue(),
        "image",
        "valid AVIF (Pillow's encoder)",
        _src("images/grass.png", "downscaled, AVIF"),
    )
    add(
        "formats/no_preview.dng",
        _dng(small, preview=False),
        "image",
        "DNG with a sensor mosaic and no preview: demosaiced at half size",
        _src("images/grass.png", "downscaled, as an RGGB mosaic in a DNG"),
    )
    tiff = io.BytesIO()
    small.save(tiff, format="TIFF")
    add(
        "formats/unknown_camera.nef",
        tiff.getvalue(),
        "failed",
        "a plain RGB TIFF named .nef: a RAW suffix on a TIFF container with no camera LibRaw "
        "knows ('RAW file from an unknown camera')",
        _src("images/grass.png", "downscaled, TIFF, named .nef"),
    )
    add(
        "formats/cr2_magic_only.cr2",
        b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 64,
        "failed",
        "a Canon CR2 header and nothing after it",
    )
    # --- sound and video containers
    m4a = (SAMPLES / "phone" / "Recording_001.m4a").read_bytes()
    add(
        "formats/truncated.m4a",
        m4a[: int(len(m4a) * 0.4)],
        "failed",
        "real M4A (moov atom at the end, as FFmpeg writes) cut to 40%: no moov, no track table",
        "sample_data/phone/Recording_001.m4a (first 40% of the bytes)",
    )
    add(
        "formats/ftyp_only.m4a",
        m4a[:32],
        "failed",
        "only the ftyp box of an M4A",
        "sample_data/phone/Recording_001.m4a (first 32 bytes)",
    )
    add(
        "formats/memo.amr",
        (SAMPLES / "phone" / "call_0003.amr").read_bytes(),
        "audio",
        "valid AMR-NB voice recording (phone call recorders)",
        "sample_data/phone/call_0003.amr (copied)",
    )
    add(
        "formats/clip.mp4",
        (SAMPLES / "phone" / "VID_0001.mp4").read_bytes(),
        "video",
        "valid MP4 with a video track: indexed as video",
        "sample_data/phone/VID_0001.mp4 (copied)",
    )
    add(
        "formats/video_named.m4a",
        (SAMPLES / "phone" / "VID_0002.mov").read_bytes(),
        "video",
        "a QuickTime movie named .m4a: its video track, not the suffix, decides",
        "sample_data/phone/VID_0002.mov (copied, renamed)",
    )
    # --- text in other encodings, markup and mail
    add(
        "formats/gb18030.txt",
        "一只猫在沙发上睡了一下午。\n猫的名字叫切尔西 (Chelsea)。\n".encode("gb18030") * 4,
        "text",
        "Chinese text encoded in GB18030 (no BOM): decoded through charset detection",
    )
    add(
        "formats/shift_jis.txt",
        "猫はソファの上で午後ずっと寝ていました。\n名前はチェルシー (Chelsea) です。\n".encode(
            "shift_jis"
        )
        * 4,
        "text",
        "Japanese text encoded in Shift-JIS (no BOM): decoded through charset detection",
    )
    add(
        "formats/cp1252.txt",
        "\u201cCaf\u00e9 cr\u00e8me\u201d \u2014 na\u00efve r\u00e9sum\u00e9 of the "
        "cat\u2019s day.\n".encode("cp1252")
        * 6,
        "text",
        "English with curly quotes, dashes and accents in Windows-1252",
    )
    add(
        "formats/empty_text.rtf",
        b"{\\rtf1\\ansi{\\fonttbl{\\f0 Times;}}{\\*\\generator Writer;}\\pard\\par}",
        "failed",
        "an RTF file with a font table and an empty paragraph: no text in this document",
    )
    bomb = _bomb_docx()
    mail = (
        b"From: someone@example.org\r\nTo: you@example.org\r\nSubject: the cat photos\r\n"
        b"Date: Tue, 05 Mar 2024 09:30:00 +0000\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + caption.encode()
        + b"\r\n--b1\r\nContent-Type: application/zip\r\n"
        b'Content-Disposition: attachment; filename="photos.docx"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(bomb) + b"\r\n--b1--\r\n"
    )
    add(
        "formats/attachment_bomb.eml",
        mail,
        "text",
        "e-mail whose attachment is a zip bomb: the body is indexed, the attachment only named "
        "(never opened)",
        _src("text/cat_chelsea.txt", "as the mail body"),
    )


def _zip_bytes(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, body, compress_type=method)
    return buffer.getvalue()


def _bomb_docx() -> bytes:
    body = b"<w:p/>" * (4 * 1024 * 1024)  # 24 MB of empty paragraphs
    xml = (
        b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body>' + body + b"</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


def _lying_docx() -> bytes:
    """A member whose headers declare 40 bytes while its deflate stream holds 8 MB."""
    import zlib

    real = b"<w:p/>" * (8 * 1024 * 1024 // 6)
    packed = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packed.compress(real) + packed.flush()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_STORED
        archive.writestr(info, data)
    raw = bytearray(buffer.getvalue())
    # Rewrite the member as deflated with a declared size of 40 in both headers.
    for signature, method_at, size_at in ((b"PK\x03\x04", 8, 22), (b"PK\x01\x02", 10, 24)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            name_len = int.from_bytes(
                raw[start + (26 if signature == b"PK\x03\x04" else 28) :][:2], "little"
            )
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at : name_at + name_len] == b"word/document.xml":
                raw[start + method_at : start + method_at + 2] = (8).to_bytes(2, "little")
                raw[start + size_at : start + size_at + 4] = (40).to_bytes(4, "little")
            start += 4
    return bytes(raw)


def _encrypted_docx(plain: bytes) -> bytes:
    import msoffcrypto.format.ooxml as ooxml

    out = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(plain)).encrypt("secret", out)
    return out.getvalue()


def _legacy_cfb() -> bytes:
    """A compound file with a 'WordDocument' stream and no EncryptedPackage, via olefile's
    writer-free route: msoffcrypto's encrypted file with the stream name changed."""
    data = bytearray(_encrypted_docx(formats.docx_bytes(["legacy"], "legacy")))
    name = "EncryptedPackage".encode("utf-16-le")
    at = data.find(name)
    data[at : at + len(name)] = "WordDocumentXXXX".encode("utf-16-le")
    return bytes(data)


def _dng(image: Image.Image, preview: bool) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.dng"
        formats.write_dng(image, path, preview=preview)
        return path.read_bytes()
