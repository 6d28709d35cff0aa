"""Reading text in other scripts (--ocr with CROSSMODAL_OCR=rapidocr): the real RapidOCR models
read sentences this test renders with real fonts (synthetic pictures, not photographs of signs);
the reader is chosen by CROSSMODAL_OCR and named in READER_ID; a missing engine is a clean error."""

from __future__ import annotations

import importlib.util
import sys
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from crossmodal.encoders import ocr
from crossmodal.errors import EncoderError

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # fonts-noto-cjk
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core
PHOTO = Path(__file__).resolve().parents[1] / "sample_data" / "images" / "china_pagoda.jpg"

needs_rapidocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="rapidocr_onnxruntime is not installed",
)


def _font(path: Path, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    if not path.exists():
        pytest.skip(f"font {path} is missing (apt-get install fonts-noto-cjk fonts-dejavu-core)")
    return ImageFont.truetype(str(path), size, index=index)


def _banner(text: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 60, bottom - top + 50), (250, 250, 245))
    ImageDraw.Draw(image).text((30 - left, 25 - top), text, font=font, fill=(20, 20, 20))
    return image


def _on_photo(text: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    image = Image.open(PHOTO).convert("RGB")
    draw = ImageDraw.Draw(image)
    left, top, right, _ = font.getbbox(text)
    x, y = (image.width - (right - left)) // 2 - left, int(image.height * 0.65) - top
    draw.text((x, y), text, font=font, fill="white", stroke_width=3, stroke_fill="black")
    return image


def _cer(truth: str, got: str) -> float:
    a, b = ("".join(unicodedata.normalize("NFKC", s).split()) for s in (truth, got))
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1] / len(a)


@pytest.fixture(scope="module")
def rapid() -> ocr.ImageTextReader:
    reader = ocr.ImageTextReader("rapidocr", threads=2)
    reader.reader()
    return reader


@needs_rapidocr
@pytest.mark.parametrize(
    "sentence",
    ["北京是中华人民共和国的首都。", "本店周五全场八折，欢迎光临。", "请勿在此处停车，违者拖走。"],
)
def test_chinese_sentences_are_read(rapid: ocr.ImageTextReader, sentence: str) -> None:
    font = _font(CJK_FONT, 36, index=2)  # index 2: Noto Sans CJK SC
    assert _cer(sentence, rapid.read(_banner(sentence, font))) <= 0.15
    assert _cer(sentence, rapid.read(_on_photo(sentence, font))) <= 0.15


@needs_rapidocr
def test_english_is_read_too(rapid: ocr.ImageTextReader) -> None:
    sentence = "Please keep the door closed"
    got = rapid.read(_banner(sentence, _font(LATIN_FONT, 36)))
    assert _cer(sentence, got) <= 0.1 and "door" in got


@needs_rapidocr
def test_a_picture_without_text_reads_as_empty(rapid: ocr.ImageTextReader) -> None:
    assert rapid.read(Image.new("RGB", (320, 200), (90, 140, 200))) == ""
    assert not rapid.has_text(Image.new("RGB", (320, 200), (90, 140, 200)))


def test_the_reader_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSMODAL_OCR", "rapidocr")
    assert ocr.READER_ID == ocr.RAPIDOCR_ID == ocr.ImageTextReader().reader_id
    monkeypatch.setenv("CROSSMODAL_OCR", "easyocr")
    assert ocr.READER_ID == ocr.EASYOCR_ID != ocr.RAPIDOCR_ID
    assert ocr.ImageTextReader().name == "easyocr"
    monkeypatch.setenv("CROSSMODAL_OCR", "auto")
    assert ocr.chosen_reader() in (None, "easyocr", "rapidocr")
    monkeypatch.setenv("CROSSMODAL_OCR", "tesseract")
    with pytest.raises(EncoderError, match="CROSSMODAL_OCR"):
        ocr.chosen_reader()


def test_a_missing_engine_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import now fails
    reader = ocr.ImageTextReader("rapidocr")
    with pytest.raises(EncoderError, match="rapidocr"):
        reader.read(Image.new("RGB", (64, 64)))
    monkeypatch.setattr(ocr, "_installed", lambda name: False)
    monkeypatch.setenv("CROSSMODAL_OCR", "rapidocr")
    assert not ocr.reader_available()
    monkeypatch.setenv("CROSSMODAL_OCR", "auto")
    assert not ocr.reader_available()
