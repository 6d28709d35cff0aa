"""The committed multilingual eval (eval/multilingual_queries.jsonl) keeps its rules: no models."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parent.parent / "eval"
LANGS = ("zh", "es", "de", "ja", "ru")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _lines(EVAL / "multilingual_queries.jsonl")


@pytest.fixture(scope="module")
def english() -> dict[str, dict]:
    return {q["id"]: q for q in _lines(EVAL / "queries.jsonl")}


def test_shape(rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert set(r) == {"id", "kind", "query", "type", "relevant", "twin", "lang"}
        assert isinstance(r["query"], str) and r["query"].strip()
        assert r["lang"] in {*LANGS, "en"}
        base, lang = r["kind"].rsplit("/", 1)
        assert lang == r["lang"]
        assert base in {"text->image", "text->image-description", "text->audio"}
        assert r["id"].startswith(f"ml-{lang}-{base}-")
        assert r["relevant"] and all(isinstance(p, str) for p in r["relevant"])


def test_twins(rows: list[dict], english: dict[str, dict]) -> None:
    for r in rows:
        twin = english.get(r["twin"])
        assert twin is not None, r["id"]
        assert r["kind"].rsplit("/", 1)[0] == twin["kind"]
        assert r["type"] == twin["type"]
        assert sorted(r["relevant"]) == sorted(twin["relevant"]), r["id"]


def test_counts(rows: list[dict]) -> None:
    per_lang = Counter(r["lang"] for r in rows)
    assert sum(per_lang[lang] for lang in LANGS) >= 300
    for lang in LANGS:
        assert per_lang[lang] >= 50, lang
    # every translated twin has its English copy, in the same form
    english_twins = {r["twin"] for r in rows if r["lang"] == "en"}
    assert {r["twin"] for r in rows} == english_twins


def test_translations(rows: list[dict], english: dict[str, dict]) -> None:
    copies = {r["twin"]: r["query"] for r in rows if r["lang"] == "en"}
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["kind"], r["query"].casefold())
        assert key not in seen, f"{r['id']}: the same query twice in one kind"
        seen.add(key)
        if r["lang"] == "en":
            continue
        if r["lang"] in {"zh", "ja", "ru"}:
            assert r["query"] != english[r["twin"]]["query"], r["id"]
            assert r["query"].casefold() != copies[r["twin"]].casefold(), r["id"]
        if r["lang"] in {"zh", "ja"}:
            assert CJK.search(r["query"]), r["id"]
        if r["lang"] == "ru":
            assert CYRILLIC.search(r["query"]), r["id"]
        if r["lang"] in {"es", "de"}:
            assert not CJK.search(r["query"]) and not CYRILLIC.search(r["query"]), r["id"]
