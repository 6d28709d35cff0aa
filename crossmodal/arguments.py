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
LIST_OPTIONS = ("texts", "images", "audios", "negatives", "negative_images", "negative_audios")
NUMBER_OPTIONS = ("min_score", "min_relative", "min_z")
TEXT_OPTIONS = ("fusion", "hubness")
FILTER_LISTS = ("under", "globs")
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


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    """build_query's keyword arguments, each of the type it takes."""
    known = {*LIST_OPTIONS, *NUMBER_OPTIONS, *TEXT_OPTIONS, "weights"}
    unknown = set(options) - known
    if unknown:
        raise UserError(f"unknown search option: {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name in LIST_OPTIONS:
            checked[name] = strings(value, name)
        elif name in NUMBER_OPTIONS:
            checked[name] = number(value, name)
        elif name in TEXT_OPTIONS:
            checked[name] = text(value, name)
        else:
            checked[name] = weights(value)
    return checked


def filter_options(options: dict[str, Any]) -> dict[str, Any]:
    """parse_filters' keyword arguments ("glob" is "globs", as in --batch lines)."""
    options = {("globs" if name == "glob" else name): value for name, value in options.items()}
    known = {*FILTER_LISTS, *FILTER_TEXTS, *FILTER_SIZES, *FILTER_NUMBERS}
    unknown = set(options) - known
    if unknown:
        raise UserError(f"unknown filter: {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name in FILTER_LISTS:
            checked[name] = strings(value, name)
        elif name in FILTER_TEXTS:
            checked[name] = text(value, name)
        elif name in FILTER_SIZES:
            checked[name] = None if value is None else str(value)
        else:
            checked[name] = number(value, name)
    return checked


def _kind(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"
