"""The per-store query-vector cache: repeated searches need no model, and the cache can only ever
make a search faster, never wrong or failing."""

import sqlite3
from pathlib import Path

import numpy as np

from crossmodal.encoders import load_encoder_set
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.query_cache import FILE_NAME, QueryCache, encoder_identity, text_cache_key
from crossmodal.search import SearchEngine
from crossmodal.store import Store

from .conftest import write_image
from .privileges import run_unprivileged


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_round_trip_identity_and_eviction(tmp_path: Path) -> None:
    cache = QueryCache(tmp_path, "model-a|s:3", max_entries=3)
    assert cache.get("text:x") is None  # no file yet: a miss, and nothing created
    assert not (tmp_path / FILE_NAME).exists()
    cache.put("text:x", {"s": unit(1, 2, 3), "t": unit(0, 1)})
    found = cache.get("text:x")
    assert found is not None and set(found) == {"s", "t"}
    np.testing.assert_array_equal(found["s"], unit(1, 2, 3))
    assert QueryCache(tmp_path, "model-b|s:3").get("text:x") is None  # another model: miss
    for number in range(5):  # beyond max_entries the least recently used go
        cache.put(f"text:{number}", {"s": unit(1, number, 0)})
    rows = sqlite3.connect(tmp_path / FILE_NAME).execute("SELECT key FROM entries").fetchall()
    assert sorted(key for (key,) in rows) == ["text:2", "text:3", "text:4"]


def test_damaged_or_unwritable_cache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not sqlite" * 100)
    cache = QueryCache(tmp_path, "m")
    assert cache.get("text:x") is None
    cache.put("text:x", {"s": unit(1, 0)})  # silently skipped
    cache.close()

    sqlite3.connect(tmp_path / "ok.sqlite").close()
    good = QueryCache(tmp_path / "fresh", "m")
    good.put("k", {"s": unit(1, 0)})
    good.close()
    con = sqlite3.connect(tmp_path / "fresh" / FILE_NAME)
    con.execute("UPDATE entries SET vectors = ?", (b"s\x0099\x00abc",))  # truncated entry
    con.commit()
    con.close()
    assert QueryCache(tmp_path / "fresh", "m").get("k") is None


def test_read_only_store_still_searches(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    fake_store.cache_dir.mkdir(exist_ok=True)
    fake_store.cache_dir.chmod(0o500)

    def search() -> list[str]:
        engine = SearchEngine(fake_store)
        found = [Path(hit.item.path).name for hit in engine.search(build_query("red", k=1))]
        engine.close()
        return found

    try:
        assert run_unprivileged(search) == ["a.png"]
        assert not (fake_store.cache_dir / FILE_NAME).exists()
    finally:
        fake_store.cache_dir.chmod(0o700)


def test_repeated_text_and_file_queries_skip_the_model(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    update(fake_store, [collection])
    outside = write_image(tmp_path / "elsewhere" / "query.png", "blue")  # not in the store
    encoder = load_encoder_set("fake")

    first = SearchEngine(fake_store)
    expected_text = first.search(build_query("red picture", k=3))
    expected_image = first.search(build_query(str(outside), k=3))
    first.close()
    calls = len(encoder.calls)
    assert calls >= 2

    second = SearchEngine(fake_store)  # as a new process would: only the file persists
    assert [h.item.path for h in second.search(build_query("red picture", k=3))] == [
        h.item.path for h in expected_text
    ]
    renamed = outside.rename(outside.with_name("renamed.png"))  # same bytes, same entry
    again = second.search(build_query(str(renamed), k=3))
    assert [h.item.path for h in again] == [h.item.path for h in expected_image]
    assert len(encoder.calls) == calls and second.query_cache.hits == 2
    second.close()

    write_image(renamed, "green")  # new content: new key, the model runs
    third = SearchEngine(fake_store)
    third.search(build_query(str(renamed), k=3))
    assert len(encoder.calls) == calls + 1
    third.close()


def test_entries_of_another_encoder_or_shape_are_ignored(
    fake_store: Store, collection: Path
) -> None:
    update(fake_store, [collection])
    encoder = load_encoder_set("fake")
    identity = encoder_identity(encoder)
    wrong = QueryCache(fake_store.cache_dir, identity)
    wrong.put(text_cache_key("red picture"), {"fake-semantic": unit(1, 0, 0)})  # wrong dim
    wrong.close()
    calls = len(encoder.calls)
    engine = SearchEngine(fake_store)
    hits = engine.search(build_query("red picture", k=1))
    assert Path(hits[0].item.path).name == "a.png" and len(encoder.calls) == calls + 1
