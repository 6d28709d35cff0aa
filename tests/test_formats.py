"""The formats of real collections (issue 15): sniffing by content, each reader's text and the
part labels its passages carry, metadata (orientation, capture date, tags), and the caps."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from crossmodal.errors import MediaError
from crossmodal.media.audio import load_audio, probe_audio
from crossmodal.media.documents import locate, read_document
from crossmodal.media.documents.archive import SafeZip
from crossmodal.media.image import load_image, probe_image
from crossmodal.media.sniff import sniff_head, sniff_modality
from crossmodal.media.text import passage_spans, probe_text

ROOT = Path(__file__).resolve().parent.parent
PHONE = ROOT / "sample_data" / "phone"
DOCS = ROOT / "sample_data" / "documents"
FORMATS = Path(__file__).parent / "corpus" / "files" / "formats"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PHONE / "IMG_0001.HEIC", ("image", "heif")),
        (PHONE / "IMG_0003.avif", ("image", "avif")),
        (PHONE / "DSC_0005.DNG", ("image", "raw")),
        (PHONE / "Recording_001.m4a", ("audio", "m4a")),
        (PHONE / "Voice_002.opus", ("audio", "opus")),
        (PHONE / "call_0003.amr", ("audio", "amr")),
        (PHONE / "doorbell.wma", ("audio", "asf")),
        (PHONE / "wake_up.webm", ("audio", "matroska")),
        (PHONE / "VID_0001.mp4", ("video", "mp4")),
        (PHONE / "VID_0002.mov", ("video", "mp4")),
        (DOCS / "wine_dataset.pdf", ("text", "pdf")),
        (DOCS / "iris_dataset.docx", ("text", "docx")),
        (DOCS / "olivetti_faces.pptx", ("text", "pptx")),
        (DOCS / "iris_measurements.xlsx", ("text", "xlsx")),
        (DOCS / "breast_cancer_dataset.odt", ("text", "odt")),
        (DOCS / "twenty_newsgroups.epub", ("text", "epub")),
        (DOCS / "labeled_faces.html", ("text", "html")),
        (DOCS / "reuters_corpus.rtf", ("text", "rtf")),
        (DOCS / "kddcup99_mail.eml", ("text", "eml")),
        (DOCS / "memos.srt", ("text", "srt")),
        (DOCS / "memos.vtt", ("text", "vtt")),
        (DOCS / "hubble_note_utf16.txt", ("text", "text:utf_16")),
        (DOCS / "grace_hopper_cp1252.txt", ("text", "text:cp1252")),
    ],
)
def test_each_format_is_sniffed_by_content_under_any_name(
    path: Path, expected: tuple[str, str], tmp_path: Path
) -> None:
    assert sniff_modality(path) == expected
    if expected[1] in ("html", "srt", "vtt", "eml") or expected[1].startswith("text:"):
        return  # text formats without magic numbers need a text-like name, as plain text does
    renamed = tmp_path / "renamed.bin"
    shutil.copyfile(path, renamed)
    assert sniff_modality(renamed) == expected


def test_brands_and_magic_numbers() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body

    assert sniff_head(ftyp(b"heic", b"mif1", b"heic"), "") == ("image", "heif")
    assert sniff_head(ftyp(b"mif1", b"avif"), "") == ("image", "avif")
    assert sniff_head(ftyp(b"crx ", b"isom"), "") == ("image", "raw")
    assert sniff_head(ftyp(b"M4A ", b"isom"), "") == ("audio", "m4a")
    assert sniff_head(ftyp(b"isom", b"mp41"), "") == ("tracks", "mp4")
    assert sniff_head(b"RIFF\x00\x00\x00\x00AVI LIST", "") == ("video", "avi")
    assert sniff_head(b"#!AMR\n\x3c", "") == ("audio", "amr")
    assert sniff_head(b"FUJIFILMCCD-RAW 0201", "") == ("image", "raw")
    assert sniff_head(b"II*\x00\x08\x00\x00\x00", ".nef") == ("image", "raw")
    assert sniff_head(b"II*\x00\x08\x00\x00\x00", ".tif") == ("image", "tiff")
    assert sniff_head(b"%PDF-1.4\n", ".txt") == ("text", "pdf")
    assert sniff_head(b"{\\rtf1\\ansi hello}", ".doc") == ("text", "rtf")
    assert sniff_head(b"<!DOCTYPE html><p>x</p>", ".txt") == ("text", "html")
    assert sniff_head(b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi", ".txt") == ("text", "vtt")
    mail = b"From: a@b.c\nTo: d@e.f\nSubject: hi\n\nbody"
    assert sniff_head(mail, "") == ("text", "eml")
    assert sniff_head(b"Subject: notes\n\nI wrote this.", ".txt") == ("text", "utf-8")
    assert sniff_head(b"<p>html fragment</p>", ".csv") is None


def test_heic_and_jpeg_orientation_and_capture_date() -> None:
    for name in ("IMG_0002.HEIC", "IMG_0004.JPG"):
        width, height = load_image(PHONE / name).size
        assert width > height  # stored sideways, shown upright
    meta = probe_image(PHONE / "IMG_0001.HEIC")
    assert meta["format"] == "HEIF" and meta["exif_date"] == "2023-07-14T10:11:12"
    assert probe_image(PHONE / "IMG_0003.avif")["exif_date"] == "2024-05-20T08:00:00"


def test_raw_uses_its_preview_and_demosaics_without_one() -> None:
    with_preview = probe_image(PHONE / "DSC_0005.DNG")
    assert (
        with_preview["raw_preview"] is True and with_preview["exif_date"] == "2022-09-10T16:20:00"
    )
    assert probe_image(PHONE / "DSC_0006.DNG")["raw_preview"] is False
    source = Image.open(ROOT / "sample_data/images/dahlia_flower.jpg")
    assert load_image(PHONE / "DSC_0005.DNG").size == (
        source.width // 2 * 2,
        source.height // 2 * 2,
    )
    pagoda = load_image(PHONE / "DSC_0006.DNG")
    assert pagoda.size[0] > 224 and pagoda.mode == "RGB"  # demosaiced at half size


def test_ffmpeg_audio_formats_decode_to_the_same_sound() -> None:
    reference = load_audio(ROOT / "sample_data/audio/memo_01.flac")
    lossless = load_audio(PHONE / "memo_01_lossless.m4a")
    assert abs(len(lossless) - len(reference)) < 50
    n = min(len(lossless), len(reference))
    assert float(abs(lossless[:n] - reference[:n]).max()) < 1e-3  # ALAC is lossless
    for name in ("Recording_001.m4a", "Voice_002.opus", "call_0003.amr", "wake_up.webm"):
        meta, _ = probe_audio(PHONE / name)
        samples = load_audio(PHONE / name)
        assert meta["duration"] > 1 and abs(len(samples) / 22050 - meta["duration"]) < 0.5, name
    meta, side = probe_audio(PHONE / "doorbell.wma")
    assert meta["tags"]["title"] == "Door bell" and side.startswith("Door bell")
    assert load_audio(PHONE / "wake_up.webm", max_seconds=1.0).size == 22050


def test_pdf_pages_and_scanned_page() -> None:
    meta, text = probe_text(DOCS / "wine_dataset.pdf")
    assert meta["pages"] == 3 and meta["scanned_pages"] == [3]
    assert meta["title"] == "Wine recognition dataset"
    assert meta["note"] == "1 scanned page(s) without text (use --ocr)"
    assert [label for _, label in meta["sections"]] == ["p. 1", "p. 2"]
    page_two = meta["sections"][1][0]
    assert text[page_two - 1] == "\f"
    spans = passage_spans(text)
    assert all("\f" not in text[a:b] for a, b, _ in spans)  # no passage straddles a page
    assert {locate(meta["sections"], a) for a, _, _ in spans} == {"p. 1", "p. 2"}
    assert locate(meta["sections"], 0) == "p. 1" and locate([], 5) is None


def test_office_epub_html_mail_and_subtitles_read_their_text() -> None:
    cases = {
        "iris_dataset.docx": ("Iris plants dataset", "sepal length", None),
        "olivetti_faces.pptx": ("The Olivetti faces dataset", "AT&T Laboratories", "slide 1"),
        "iris_measurements.xlsx": (None, "Iris virginica", "sheet iris flowers"),
        "breast_cancer_dataset.odt": (None, "Wisconsin", None),
        "twenty_newsgroups.epub": ("The 20 newsgroups text dataset", "newsgroups", "ch. 1"),
        "labeled_faces.html": ("Labeled Faces in the Wild", "Face Verification", None),
        "reuters_corpus.rtf": (None, "newswire stories", None),
        "kddcup99_mail.eml": ("KDD Cup 99 intrusion detection data", "DARPA", None),
        "memos.srt": (None, "The cat slept on the sofa", "@ 0:00"),
        "memos.vtt": (None, "new tyres", "@ 0:40"),
    }
    for name, (title, words, first_label) in cases.items():
        meta, text = probe_text(DOCS / name)
        assert words in text, name
        assert meta.get("title") == title or title is None, (name, meta.get("title"))
        labels = [label for _, label in meta.get("sections", [])]
        assert first_label is None or first_label in labels, (name, labels)
    html = read_document(DOCS / "labeled_faces.html", "html").text
    assert "document.title" not in html and "Home" not in html and "Copyright" not in html
    mail = read_document(DOCS / "kddcup99_mail.eml", "eml")
    assert mail.meta["attachments"] == ["kddcup_sample.csv"] and "From: Data Librarian" in mail.text
    srt = read_document(DOCS / "memos.srt", "srt").text
    assert "-->" not in srt and "00:00" not in srt


def _zip(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_zip_caps_and_xml_entities(tmp_path: Path) -> None:
    many = _zip({f"m{i}": b"" for i in range(10_001)}, tmp_path / "many.zip")
    with pytest.raises(MediaError, match="10001 members"):
        SafeZip(many)
    dense = _zip({"word/document.xml": b" " * (3 << 20)}, tmp_path / "dense.zip")
    with SafeZip(dense) as archive, pytest.raises(MediaError, match="zip bomb guard"):
        archive.read("word/document.xml")  # ratio ~1000: refused before inflating
    with SafeZip(dense) as archive, pytest.raises(MediaError, match="Bad CRC"):
        archive.infos["word/document.xml"].file_size = 10  # a lying header: read stops at 10
        archive.read("word/document.xml")
    noise = _zip({"big.bin": os.urandom(2 << 20)}, tmp_path / "noise.zip")  # ratio ~1
    with SafeZip(noise) as archive, pytest.raises(MediaError, match="past the size cap"):
        archive.read("big.bin", limit=1 << 20)  # inflated in pieces, stopped at the cap
    for case in ("xxe.docx", "billion_laughs.docx"):
        with pytest.raises(MediaError, match="entity declarations refused"):
            read_document(FORMATS / case, "docx")


def test_page_cap_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportlab.lib.pagesizes import A7
    from reportlab.pdfgen import canvas

    path = tmp_path / "ten.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A7)
    for number in range(10):
        pdf.drawString(10, 100, f"page {number + 1} about the harbour")
        pdf.showPage()
    pdf.save()
    monkeypatch.setenv("CROSSMODAL_MAX_PAGES", "4")
    doc = read_document(path, "pdf")
    assert doc.meta["pages_read"] == 4 and doc.meta["note"] == "first 4 of 10 pages read"
    assert "page 4 " in doc.text and "page 5 " not in doc.text
    monkeypatch.setenv("CROSSMODAL_MAX_PAGES", "nonsense")
    assert "pages_read" not in read_document(path, "pdf").meta  # the default (1000) applies


def test_encrypted_and_damaged_files_say_why() -> None:
    with pytest.raises(MediaError, match="encrypted PDF: password needed"):
        probe_text(FORMATS / "encrypted.pdf")
    with pytest.raises(MediaError, match="encrypted Office document: password needed"):
        probe_text(FORMATS / "protected.docx")
    with pytest.raises(MediaError, match=r"scanned PDF: no text layer \(use --ocr\)"):
        probe_text(FORMATS / "scanned_only.pdf")
    meta, text = probe_text(FORMATS / "scanned_only.pdf", ocr=True)  # OCR will read it
    assert text == "" and meta["chars"] == 0 and meta["scanned_pages"] == [1]
    with pytest.raises(MediaError):
        probe_image(FORMATS / "corrupt.heic")
    with pytest.raises(MediaError, match="unknown camera"):
        probe_image(FORMATS / "unknown_camera.nef")
    with pytest.raises(MediaError):
        probe_audio(FORMATS / "truncated.m4a")
    assert sniff_modality(FORMATS / "legacy_word97.doc") is None


def test_new_formats_render_in_previews_and_pages() -> None:
    """HEIC, AVIF and RAW go through the decoder every photo does: page thumbnails and terminal
    previews show them."""
    from cli.preview import thumbnail
    from crossmodal.gallery import thumbnail_uri

    for name in ("IMG_0001.HEIC", "DSC_0005.DNG", "DSC_0006.DNG", "IMG_0003.avif"):
        uri = thumbnail_uri(str(PHONE / name))
        assert uri and uri.startswith("data:image/"), name
        assert thumbnail(str(PHONE / name), 40, 20) is not None, name


def _docx_bytes_with(xml: bytes) -> bytes:
    import sys

    sys.path.insert(0, str(ROOT / "sample_data"))
    import make_formats

    return make_formats.docx_bytes([], "case", xml.decode())


def test_library_failures_on_bad_files_are_media_errors(tmp_path: Path) -> None:
    """What a reader's library raises on hostile bytes (zlib.error, NotImplementedError,
    RecursionError, IndexError) is that file's MediaError, never an escape that stops a run."""
    good = _docx_bytes_with(
        b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>' + b"cat " * 400
        + b"</w:t></w:r></w:p></w:body></w:document>"
    )  # fmt: skip
    at = good.find(b"word/document.xml") + len(b"word/document.xml") + 40
    broken = good[:at] + bytes(b ^ 0x5A for b in good[at : at + 60]) + good[at + 60 :]
    (tmp_path / "deflate.docx").write_bytes(broken)
    with pytest.raises(MediaError):
        probe_text(tmp_path / "deflate.docx")
    # A zip asking for a newer extract version: not an Office file, and no exception.
    data = bytearray(good)
    central = data.find(b"PK\x01\x02")
    data[central + 6] = 67
    (tmp_path / "future.zip").write_bytes(bytes(data))
    assert sniff_modality(tmp_path / "future.zip") is None
    # 5,000 nested runs in one paragraph: read without recursion.
    deep = (
        b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p>' + b"<w:r>" * 5000 + b"<w:t>deep cat</w:t>"
        + b"</w:r>" * 5000 + b"</w:p></w:body></w:document>"
    )  # fmt: skip
    (tmp_path / "deep.docx").write_bytes(_docx_bytes_with(deep))
    assert "deep cat" in probe_text(tmp_path / "deep.docx")[1]
    # A Content-Disposition that makes the e-mail package raise IndexError.
    mail = (
        b"From: a@b.c\nTo: d@e.f\nSubject: broken header\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="x"\n\n--x\nContent-Type: text/plain\n\n'
        b"the body about a cat\n--x\n"
        b"Content-Disposition: a\xc2\x80)\xc2\x80;\xc2\x80\t;\x00*\n\nzzz\n--x--\n"
    )
    (tmp_path / "bad.eml").write_bytes(mail)
    meta, text = probe_text(tmp_path / "bad.eml")
    assert "the body about a cat" in text


def test_hostile_markup_and_mail_stay_bounded(tmp_path: Path) -> None:
    from crossmodal.media.documents.markup import html_text, too_deep

    nested = "<html><body>" + "<div>" * 100_000 + "a cat" + "</div>" * 100_000
    assert too_deep(nested.encode())
    assert html_text(nested)[1] == "a cat"  # tags stripped, not parsed (quadratic in Lexbor)
    assert not too_deep(b"<html><body>" + b"<p>a" * 5000 + b"<br><img src=x></body></html>")
    parts = b"".join(b"--b\nContent-Type: text/plain\n\npart\n" for _ in range(10_001))
    (tmp_path / "parts.eml").write_bytes(
        b"From: a@b.c\nSubject: many\nContent-Type: multipart/mixed; boundary=b\n\n" + parts
    )
    with pytest.raises(MediaError, match="more than 10,000 MIME parts"):
        probe_text(tmp_path / "parts.eml")


def test_text_encodings_are_not_garbled(tmp_path: Path) -> None:
    stray = tmp_path / "stray.txt"
    stray.write_bytes(("x" * 5000 + " café crème ").encode() + b"\xe9 end")
    assert "café crème" in probe_text(stray)[1]  # one CP1252 byte does not recode the file
    short = tmp_path / "menu.txt"
    short.write_bytes("Café menu".encode("cp1252"))
    assert probe_text(short)[1] == "Café menu"
    russian = tmp_path / "ru.txt"
    russian.write_bytes("Привет, как дела? Всё хорошо.".encode("koi8_r"))
    assert probe_text(russian)[1] == "Привет, как дела? Всё хорошо."


def test_sniffing_does_not_take_text_or_source_for_media(tmp_path: Path) -> None:
    assert sniff_head(b"caffeine and other stimulants", ".txt") == ("text", "utf-8")
    assert sniff_head(b"<!DOCTYPE html><?php echo 1; ?>", ".php") is None
    patch = b"From 1234abcd Mon Sep 17 00:00:00 2001\nFrom: a@b.c\nDate: x\nSubject: [PATCH]"
    assert sniff_head(patch, ".patch") is None
    assert sniff_head(patch, ".eml") == ("text", "eml")
    image = Image.new("L", (64, 8), 0x12)
    image.putpixel((0, 0), 0xC6)
    image.save(tmp_path / "pixels.tif")  # bytes 12 C6 in its pixel data, no DNG tag
    assert sniff_modality(tmp_path / "pixels.tif") == ("image", "tiff")


def test_aac_behind_an_id3_tag_goes_to_ffmpeg(tmp_path: Path) -> None:
    import sys

    import av
    import numpy as np

    sys.path.insert(0, str(ROOT / "sample_data"))
    import make_formats

    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    make_formats.encode_audio(tone, 22050, tmp_path / "t.aac", "adts", "aac", 22050)
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10  # a 10-byte empty tag body
    (tmp_path / "tagged.aac").write_bytes(tag + (tmp_path / "t.aac").read_bytes())
    assert sniff_modality(tmp_path / "tagged.aac") == ("audio", "aac")
    meta, _ = probe_audio(tmp_path / "tagged.aac")
    assert 0.5 < meta["duration"] < 1.5 and av is not None


def test_epub_chapter_names_are_url_decoded(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr(
            "META-INF/container.xml",
            '<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>',
        )
        archive.writestr(
            "content.opf",
            '<package><manifest><item id="a" href="chapter%201.xhtml"/></manifest>'
            '<spine><itemref idref="a"/></spine></package>',
        )
        archive.writestr("chapter 1.xhtml", "<html><body><p>the cat chapter</p></body></html>")
    assert "the cat chapter" in probe_text(path)[1]


def test_an_id3_cover_picture_is_not_counted_as_sound(tmp_path: Path) -> None:
    """Issue 16 class 12: an MP3 without a Xing header behind a 20 MB ID3 cover; libsndfile
    estimates it from the file size (thousands of seconds), the duration comes from the frames."""
    import av
    import numpy as np
    import soundfile as sf
    from mutagen.id3 import APIC, ID3, TIT2

    path = tmp_path / "song.mp3"
    sound = (0.2 * np.sin(np.arange(int(7.3 * 22050)) / 5)).astype(np.float32)
    with av.open(str(path), "w", format="mp3", options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=22050, layout="mono")
        resampler = av.AudioResampler(stream.codec_context.format.name, "mono", 22050)
        frame = av.AudioFrame.from_ndarray(sound.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 22050
        for chunk in resampler.resample(frame):
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Cover test"))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="c", data=os.urandom(20_000_000)))
    tags.save(path)
    estimate = sf.info(str(path))
    assert estimate.frames / estimate.samplerate > 1000  # what libsndfile believes
    meta, side = probe_audio(path)
    assert abs(meta["duration"] - 7.3) < 0.2 and side.startswith("Cover test")
