"""The committed cross-lingual eval (eval/crosslingual_queries.jsonl) keeps its rules: no models."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parent.parent / "eval"
LANGS = ("en", "zh", "es", "de", "ja", "ru")
DOC = re.compile(r"crosslingual/docs/(app_\d{3})_([a-z]{2})\.txt")
KIND = re.compile(r"text->text/([a-z]{2})->([a-z]{2})")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    text = (EVAL / "crosslingual_queries.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def test_shape_and_size(rows: list[dict]) -> None:
    assert len(rows) >= 300
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert set(r) == {"id", "kind", "query", "type", "relevant", "filters", "lang"}
        assert r["type"] == "text"
        assert isinstance(r["query"], str) and r["query"].strip()
        assert len(r["relevant"]) == 1


def test_relevant_files_exist_and_match_the_filter(rows: list[dict]) -> None:
    for r in rows:
        (path,) = r["relevant"]
        match = DOC.fullmatch(path)
        assert match, path
        assert (EVAL / path).is_file(), path
        assert r["filters"] == {"lang": match.group(2)}
        query_lang, doc_lang = KIND.fullmatch(r["kind"]).groups()  # type: ignore[union-attr]
        assert query_lang == r["lang"] and doc_lang == match.group(2)


def test_every_language_on_both_sides(rows: list[dict]) -> None:
    assert {r["lang"] for r in rows} == set(LANGS)
    assert {r["filters"]["lang"] for r in rows} == set(LANGS)
    kinds = Counter(r["kind"] for r in rows)
    for lang in LANGS:
        assert kinds[f"text->text/{lang}->{lang}"] > 0
        if lang != "en":
            assert kinds[f"text->text/{lang}->en"] > 0 and kinds[f"text->text/en->{lang}"] > 0


def test_every_app_has_all_six_documents_in_their_script() -> None:
    docs = sorted((EVAL / "crosslingual" / "docs").glob("app_*.txt"))
    apps = Counter(d.name[:7] for d in docs)
    assert apps and set(apps.values()) == {len(LANGS)}
    for doc in docs:
        lang, text = doc.stem[-2:], doc.read_text(encoding="utf-8")
        assert text.strip()
        assert bool(CJK.search(text)) == (lang in ("zh", "ja")), doc.name
        assert bool(KANA.search(text)) == (lang == "ja"), doc.name
        assert bool(CYRILLIC.search(text)) == (lang == "ru"), doc.name


def test_query_is_the_summary_of_its_app_in_its_language(rows: list[dict]) -> None:
    manifest = EVAL / "crosslingual" / "manifest.jsonl"
    summaries = {
        row["app"]: row["summary"]
        for row in map(json.loads, manifest.read_text(encoding="utf-8").splitlines())
    }
    for r in rows:
        app = DOC.fullmatch(r["relevant"][0]).group(1)  # type: ignore[union-attr]
        assert r["query"] == summaries[app][r["lang"]]
