"""Result filters (--under, --glob, --after/--before, --min/--max-size, --min/--max-duration) on
hand-made catalog items: every bound is checked on both sides and at its edge."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crossmodal.catalog import Item
from crossmodal.errors import UserError
from crossmodal.filters import Filters, item_time, parse_date, parse_filters, parse_size

MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z


def item(path: str = "/media/photos/a.png", **fields: Any) -> Item:
    values: dict[str, Any] = {
        "id": 1,
        "path": path,
        "modality": "image",
        "size": 1000,
        "mtime_ns": MTIME * 10**9,
        "content_hash": "h",
        "text_side": None,
        "text_key": None,
        "meta": {},
        "status": "ok",
        "error": None,
    }
    values.update(fields)
    return Item(**values)


def clip(seconds: float | None, path: str = "/media/sounds/a.wav") -> Item:
    return item(path, modality="audio", meta={} if seconds is None else {"duration": seconds})


def test_no_filter_is_falsy_and_accepts_everything() -> None:
    assert not Filters()
    assert Filters().accepts(item())
    assert Filters().describe() == {}
    # Any one condition makes it truthy, also a zero bound.
    assert Filters(globs=("*.png",))
    assert Filters(min_size=0)
    assert Filters(after=0.0)
    assert Filters(globs=("*.jpg",), min_size=5).describe() == {"globs": ("*.jpg",), "min_size": 5}


def test_under_matches_whole_folder_names() -> None:
    photos = Filters(under=("/media/photos",))
    assert photos.accepts(item("/media/photos/a.png"))
    assert photos.accepts(item("/media/photos/2024/b.png"))
    assert photos.accepts(item("/media/photos"))  # the folder itself
    assert not photos.accepts(item("/media/photos-old/a.png"))  # a prefix is not a parent
    assert not photos.accepts(item("/media/a.png"))
    # A folder named X holds neither Xmas.jpg beside it nor its siblings.
    x = Filters(under=("/media/X",))
    assert x.accepts(item("/media/X/a.png"))
    assert not x.accepts(item("/media/Xmas.jpg")) and not x.accepts(item("/media/Y.jpg"))
    # The root holds everything; a trailing slash changes nothing.
    assert Filters(under=("/",)).accepts(item("/media/a.png"))
    assert Filters(under=("/media/photos/",)).accepts(item("/media/photos/a.png"))
    # Several folders: any of them.
    both = Filters(under=("/media/notes", "/media/photos"))
    assert both.accepts(item("/media/photos/a.png")) and both.accepts(item("/media/notes/n.txt"))
    assert not both.accepts(item("/media/sounds/s.wav"))


def test_globs_match_the_path_or_the_file_name() -> None:
    path = "/media/photos/a.png"
    assert Filters(globs=("*.png",)).accepts(item(path))
    assert Filters(globs=("a*",)).accepts(item(path))  # the file name only
    assert Filters(globs=("/media/*/a.png",)).accepts(item(path))  # the whole path only
    assert not Filters(globs=("*.jpg",)).accepts(item(path))
    assert not Filters(globs=("b*",)).accepts(item(path))
    assert Filters(globs=("*.jpg", "*.png")).accepts(item(path))  # any pattern


def test_dates_after_is_inclusive_before_is_exclusive() -> None:
    at = item(mtime_ns=MTIME * 10**9)
    assert Filters(after=MTIME).accepts(at)
    assert not Filters(after=MTIME + 1).accepts(at)
    assert Filters(after=MTIME - 1).accepts(at)
    assert not Filters(before=MTIME).accepts(at)
    assert Filters(before=MTIME + 1).accepts(at)
    assert not Filters(before=MTIME - 1).accepts(at)
    assert Filters(after=MTIME - 1, before=MTIME + 1).accepts(at)
    assert not Filters(after=MTIME + 1, before=MTIME + 2).accepts(at)


def test_item_time_is_the_exif_date_else_the_mtime() -> None:
    exif = "2019-07-01T12:00:00"
    taken = item(meta={"exif_date": exif})
    assert item_time(taken) == datetime.fromisoformat(exif).timestamp()
    # The file's mtime, to the nanosecond (not rounded to seconds).
    precise = item(mtime_ns=1_700_000_000_123_456_789)
    assert item_time(precise) == pytest.approx(1_700_000_000.123456789, abs=1e-6)
    assert item_time(item(meta={"exif_date": "not a date"})) == MTIME  # unreadable: mtime
    assert item_time(item(meta={"exif_date": ""})) == MTIME
    assert item_time(item(meta=None)) == MTIME
    # The date filter reads the EXIF date, not the mtime.
    old = datetime.fromisoformat("2020-01-01").timestamp()
    assert Filters(before=old).accepts(taken)
    assert not Filters(after=old).accepts(taken)


def test_size_bounds_are_inclusive() -> None:
    file = item(size=1000)
    assert Filters(min_size=1000).accepts(file) and Filters(max_size=1000).accepts(file)
    assert not Filters(min_size=1001).accepts(file)
    assert not Filters(max_size=999).accepts(file)
    assert Filters(min_size=999, max_size=1001).accepts(file)
    assert not Filters(max_size=999, under=("/media",)).accepts(file)


def test_duration_bounds_are_inclusive_and_mean_audio() -> None:
    # Clips on both sides of each bound (a bound every clip is within tests nothing).
    short, mid, long = clip(0.5), clip(3.0), clip(12.0)
    at_most_3 = Filters(max_duration=3.0)
    assert at_most_3.accepts(short) and at_most_3.accepts(mid)
    assert not at_most_3.accepts(long)
    at_least_3 = Filters(min_duration=3.0)
    assert at_least_3.accepts(mid) and at_least_3.accepts(long)
    assert not at_least_3.accepts(short)
    window = Filters(min_duration=1.0, max_duration=10.0)
    assert [window.accepts(c) for c in (short, mid, long)] == [False, True, False]
    # Only audio has a duration: a duration filter drops photos and texts.
    assert not Filters(max_duration=3.0).accepts(item())
    assert not Filters(min_duration=0.0).accepts(clip(None))


def test_parse_size_units_and_bounds() -> None:
    assert parse_size("0", "--min-size") == 0
    assert parse_size("1234", "--min-size") == 1234
    assert parse_size(" 500k ", "--min-size") == 500 * 1024
    assert parse_size("0.5k", "--min-size") == 512
    assert parse_size("10MB", "--min-size") == 10 * 1024**2
    assert parse_size("1.5g", "--min-size") == int(1.5 * 1024**3)
    assert parse_size("2gb", "--min-size") == 2 * 1024**3
    assert parse_size("7b", "--min-size") == 7
    largest = 2**62 - 1024  # the largest float below 2**62
    assert parse_size(str(largest), "--min-size") == largest
    for raw in ("ten", "-1", "-5k", "nan", "inf", "1e300", str(2**62), "10kk", "5bm", "k", ""):
        with pytest.raises(UserError, match=r"^--max-size takes a size like 500k or 10MB, not '"):
            parse_size(raw, "--max-size")


def test_parse_date_is_local_time_and_names_the_flag() -> None:
    assert parse_date("2024-06-01", "--after") == datetime(2024, 6, 1).timestamp()
    assert parse_date("2024-06-01T18:30", "--after") == datetime(2024, 6, 1, 18, 30).timestamp()
    with pytest.raises(UserError, match=r"^--before takes a date like 2024-06-01 .*'yesterday'"):
        parse_date("yesterday", "--before")
    with pytest.raises(UserError, match=r"^--after takes a date"):
        parse_date(20240601, "--after")  # type: ignore[arg-type]  # a JSON number in --batch


def test_parse_filters_fills_every_field(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    filters = parse_filters(
        under=[str(tmp_path / "photos")],
        globs=["*.jpg"],
        after="2024-01-01",
        before="2024-02-01",
        min_size="1k",
        max_size="2m",
        min_duration=1.5,
        max_duration=9.0,
    )
    assert filters == Filters(
        under=(str((tmp_path / "photos").resolve()),),
        globs=("*.jpg",),
        after=datetime(2024, 1, 1).timestamp(),
        before=datetime(2024, 2, 1).timestamp(),
        min_size=1024,
        max_size=2 * 1024**2,
        min_duration=1.5,
        max_duration=9.0,
    )
    assert parse_filters() == Filters() and not parse_filters()
    assert parse_filters(min_size=0).min_size == 0  # a number (from --batch) is read as text


def test_parse_filters_resolves_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "photos").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = (str((tmp_path / "photos").resolve()),)
    assert parse_filters(under=["photos"]).under == expected
    assert parse_filters(under=["~/photos"]).under == expected
    with pytest.raises(UserError, match=r"^--under nowhere: no such folder$"):
        parse_filters(under=["nowhere"])
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(UserError, match="no such folder"):
        parse_filters(under=["file.txt"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_duration": math.nan}, r"^--min-duration must be a finite number of seconds$"),
        ({"max_duration": math.inf}, r"^--max-duration must be a finite number of seconds$"),
        ({"after": "soon"}, r"^--after takes a date like"),
        ({"before": "later"}, r"^--before takes a date like"),
        ({"min_size": "big"}, r"^--min-size takes a size like"),
        ({"max_size": "-3"}, r"^--max-size takes a size like"),
    ],
)
def test_parse_filters_errors_name_the_flag(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_filters(**kwargs)
