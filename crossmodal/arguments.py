"""The library face's arguments, checked as the CLI's are: a Python caller's wrong type is a
one-line UserError, never a TypeError from deep inside, and a lone string where a list is
expected is one item (not its letters)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

from .errors import UserError

# build_query's list-valued options, and its numeric ones.
LIST_OPTIONS = (
    "texts",
    "images",
    "audios",
    "videos",
    "negatives",
    "negative_images",
    "negative_audios",
)
NUMBER_OPTIONS = ("min_score", "min_relative", "min_z")
TEXT_OPTIONS = ("fusion", "hubness")
FILTER_LISTS = ("under", "globs", "langs")
FILTER_TEXTS = ("after", "before")
FILTER_SIZES = ("min_size", "max_size")
FILTER_NUMBERS = ("min_duration", "max_duration")


def strings(value: Any, name: str) -> list[str]:
    """A string or path is one item; an iterable of them a list; None none."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items = list(value)
        if all(isinstance(item, (str, os.PathLike)) for item in items):
            return [os.fspath(item) for item in items]
    raise UserError(f"{name} takes a string or a list of strings, not {_kind(value)}")


def number(value: Any, name: str) -> float | None:
    """A finite int or float, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(f"{name} must be a finite number, not {_kind(value)}")
    return float(value)


def text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UserError(f"{name} must be a string, not {_kind(value)}")
    return value


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{name} must be a whole number, not {_kind(value)}")
    return value


def weights(value: Any) -> dict[str, float] | None:
    """{"text", "image", "audio"} weights, from a dict or a (text, image, audio) triple."""
    if value is None:
        return None
    if isinstance(value, dict):
        unknown = set(value) - {"text", "image", "audio"}
        if unknown:
            raise UserError(
                f"weights are for text, image and audio, not {', '.join(sorted(map(str, unknown)))}"
            )
        return {key: number(weight, f"weight of {key}") or 0.0 for key, weight in value.items()}
    if isinstance(value, (list, tuple)) and len(value) == 3:
        triple = [number(weight, "a weight") or 0.0 for weight in value]
        return dict(zip(("text", "image", "audio"), triple, strict=True))
    raise UserError(f"weights takes a dict or a (text, image, audio) triple, not {_kind(value)}")


def _checked(options: dict[str, Any], checks: dict[str, Any], what: str) -> dict[str, Any]:
    """Each option through its check; an unknown name is a UserError naming it."""
    unknown = set(options) - set(checks)
    if unknown:
        raise UserError(f"unknown {what}: {', '.join(sorted(unknown))}")
    return {name: checks[name](value, name) for name, value in options.items()}


def _size(value: Any, name: str) -> str | None:
    return None if value is None else str(value)  # parse_size says what a size looks like


SEARCH_CHECKS: dict[str, Any] = {
    **dict.fromkeys(LIST_OPTIONS, strings),
    **dict.fromkeys(NUMBER_OPTIONS, number),
    **dict.fromkeys(TEXT_OPTIONS, text),
    "weights": lambda value, name: weights(value),
}
FILTER_CHECKS: dict[str, Any] = {
    **dict.fromkeys(FILTER_LISTS, strings),
    **dict.fromkeys(FILTER_TEXTS, text),
    **dict.fromkeys(FILTER_SIZES, _size),
    **dict.fromkeys(FILTER_NUMBERS, number),
}


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    """build_query's keyword arguments, each of the type it takes."""
    return _checked(options, SEARCH_CHECKS, "search option")


def filter_options(options: dict[str, Any]) -> dict[str, Any]:
    """parse_filters' keyword arguments ("glob" is "globs" and "lang" "langs", as in --batch
    lines)."""
    renamed = {"glob": "globs", "lang": "langs"}
    options = {renamed.get(name, name): value for name, value in options.items()}
    return _checked(options, FILTER_CHECKS, "filter")


def _kind(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"
