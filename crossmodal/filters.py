"""Filters on results (folder, name pattern, date, size, duration) and their parsing from
command-line style strings. A search applies them before k is cut, over-fetching as needed."""

from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .catalog import Item
from .errors import UserError
from .media.language import language_code


@dataclass(frozen=True)
class Filters:
    """Conditions on results, applied before k is cut (the search over-fetches as needed)."""

    under: tuple[str, ...] = ()  # absolute folders
    globs: tuple[str, ...] = ()  # fnmatch patterns on the path or the file name
    after: float | None = None  # epoch seconds, on the EXIF date, else the file's mtime
    before: float | None = None
    min_size: int | None = None  # bytes
    max_size: int | None = None
    min_duration: float | None = None  # seconds (audio, video)
    max_duration: float | None = None
    langs: tuple[str, ...] = ()  # detected languages (media/language.py): documents, speech

    def __bool__(self) -> bool:
        return any(value not in (None, ()) for value in self.__dict__.values())

    def accepts(self, item: Item) -> bool:
        path = item.path
        if self.under and not any(
            path == u or path.startswith(u.rstrip("/") + "/") for u in self.under
        ):
            return False
        if self.globs and not any(
            fnmatch.fnmatch(path, g) or fnmatch.fnmatch(os.path.basename(path), g)
            for g in self.globs
        ):
            return False
        if self.after is not None or self.before is not None:
            when = item_time(item)
            if self.after is not None and when < self.after:
                return False
            if self.before is not None and when >= self.before:
                return False
        if self.min_size is not None and item.size < self.min_size:
            return False
        if self.max_size is not None and item.size > self.max_size:
            return False
        if self.min_duration is not None or self.max_duration is not None:
            duration = (item.meta or {}).get("duration")
            if duration is None:
                return False  # only sound and video last: a duration filter means them
            if self.min_duration is not None and duration < self.min_duration:
                return False
            if self.max_duration is not None and duration > self.max_duration:
                return False
        # Undetected (pictures, short texts) never passes a language filter.
        return not self.langs or (item.meta or {}).get("lang") in self.langs

    def describe(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value not in (None, ())}


def item_time(item: Item) -> float:
    """When a photo was taken (EXIF) or a video recorded (its container's creation time), else
    when the file was last modified."""
    taken = (item.meta or {}).get("exif_date") or (item.meta or {}).get("captured")
    if taken:
        try:
            return datetime.fromisoformat(taken).timestamp()
        except ValueError:
            pass
    return item.mtime_ns / 1e9


def parse_date(raw: str, flag: str) -> float:
    """'2024-06-01' or '2024-06-01T18:30' (local time) -> epoch seconds."""
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return datetime.fromisoformat(raw).timestamp()
    except (ValueError, OverflowError, OSError) as exc:
        raise UserError(
            f"{flag} takes a date like 2024-06-01 or 2024-06-01T18:30, not '{raw}'"
        ) from exc


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}


def parse_size(raw: str, flag: str) -> int:
    """'500k', '10MB', '1.5g' or plain bytes -> bytes (binary units)."""
    text = raw.strip().lower()
    number = text.rstrip("kmgb")
    unit = text[len(number) :]
    try:
        value = float(number)
    except ValueError as exc:
        raise UserError(f"{flag} takes a size like 500k or 10MB, not '{raw}'") from exc
    if unit not in _SIZE_UNITS or not math.isfinite(value) or not 0 <= value < 2**62:
        raise UserError(f"{flag} takes a size like 500k or 10MB, not '{raw}'")
    return int(value * _SIZE_UNITS[unit])


def parse_filters(
    under: list[str] | None = None,
    globs: list[str] | None = None,
    after: str | None = None,
    before: str | None = None,
    min_size: str | None = None,
    max_size: str | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    langs: list[str] | None = None,
) -> Filters:
    for name, value in (("--min-duration", min_duration), ("--max-duration", max_duration)):
        if value is not None and not math.isfinite(value):
            raise UserError(f"{name} must be a finite number of seconds")
    folders = []
    for raw in under or []:
        folder = Path(raw).expanduser()
        if not folder.is_dir():
            raise UserError(f"--under {raw}: no such folder")
        folders.append(str(folder.resolve()))
    return Filters(
        under=tuple(folders),
        globs=tuple(globs or ()),
        after=None if after is None else parse_date(after, "--after"),
        before=None if before is None else parse_date(before, "--before"),
        min_size=None if min_size is None else parse_size(str(min_size), "--min-size"),
        max_size=None if max_size is None else parse_size(str(max_size), "--max-size"),
        min_duration=min_duration,
        max_duration=max_duration,
        langs=tuple(dict.fromkeys(language_code(code) for code in langs or ())),
    )
