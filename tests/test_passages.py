"""Long documents: passages with offsets into the file, a document scored by its best passage for
text queries (and named in the result), whole documents for image queries, passages leaving with
their document."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crossmodal.catalog import Catalog
from crossmodal.check import check
from crossmodal.encoders import l2_normalize
from crossmodal.media.text import TEXT_CHUNK_CHARS, TEXT_MAX_CHUNKS, passage_spans
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store
from tests.conftest import words_vector, write_image, write_text

LONG = (
    "the harbour ferry timetable for the islands\n"
    "\n"
    "  knead the bread dough and bake the loaf  \n"
    "snow and wind in the mountains tomorrow\n"
)


def test_spans_point_into_the_text_and_respect_the_window() -> None:
    text = ("alpha beta gamma delta " * 400) + "\n\n  omega"
    spans = passage_spans(text)
    assert len(spans) > 1 and all(len(piece) <= TEXT_CHUNK_CHARS for _, _, piece in spans)
    for start, end, piece in spans:
        assert " ".join(text[start:end].split()) == piece
    assert spans[-1][2].endswith("omega") and spans[0][0] == 0
    assert len(passage_spans("word " * 100_000)) == TEXT_MAX_CHUNKS
    assert passage_spans("short text") == [(0, 10, "short text")]
    assert passage_spans(" \n ") == []


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    write_text(root / "long.txt", LONG)
    write_text(root / "bread.txt", "a short note about the baker's shop")
    write_text(root / "ferry.txt", "ferry tickets and boats")
    write_image(root / "red.png", "red")
    return root


def test_a_text_query_finds_the_best_passage_and_names_it(
    fake_store: Store, documents: Path
) -> None:
    update(fake_store, [documents])
    engine = SearchEngine(fake_store, cache_queries=False)
    hits = engine.search(build_query("knead dough bake loaf", type="text", k=3))
    first = hits[0]
    assert Path(first.item.path).name == "long.txt" and first.passage is not None
    start, end = first.passage["start"], first.passage["end"]
    assert LONG[start:end] == "knead the bread dough and bake the loaf"
    assert first.passage["n"] == 1 and first.to_dict(1)["passage"]["text"] == LONG[start:end]
    # The document scores by its best passage, not by its whole vector (three topics mixed).
    query = l2_normalize(words_vector("knead dough bake loaf")[None])[0]
    passage = l2_normalize(words_vector(LONG[start:end])[None])[0]
    whole = l2_normalize(words_vector(LONG)[None])[0]
    assert first.score == pytest.approx(float(query @ passage), abs=1e-5)
    assert first.score > float(query @ whole) + 0.2
    # An image query compares whole documents: no passage is reported.
    image = engine.search(build_query(str(documents / "red.png"), type="text", k=3))
    assert all(hit.passage is None for hit in image)


def test_passages_leave_with_their_document(fake_store: Store, documents: Path) -> None:
    update(fake_store, [documents])
    catalog = Catalog(fake_store.catalog_path)
    assert catalog.conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 3
    before = catalog.live_vector_ids("fake-semantic")
    catalog.close()
    write_text(documents / "long.txt", LONG + "a fourth line about trains\n")
    update(fake_store)
    catalog = Catalog(fake_store.catalog_path)
    after = catalog.live_vector_ids("fake-semantic")
    assert len(after) == len(before) + 1  # new document: one vector + 4 passages, old: 1 + 3 gone
    with catalog.transaction():
        catalog.conn.execute("UPDATE items SET updated = 0 WHERE status = 'deleted'")
        catalog.purge_deleted(time.time())
    assert catalog.conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 4
    catalog.close()
    (documents / "long.txt").unlink()
    update(fake_store)
    engine = SearchEngine(fake_store, cache_queries=False)
    hits = engine.search(build_query("knead dough bake loaf", type="text", k=3))
    assert all(Path(hit.item.path).name != "long.txt" for hit in hits)
    assert check(fake_store).ok


@pytest.mark.parametrize("fusion", ["attention", "score", "rrf"])
def test_fusion_scores_a_document_by_the_passage_its_list_found(
    fake_store: Store, documents: Path, fusion: str
) -> None:
    update(fake_store, [documents])
    engine = SearchEngine(fake_store, cache_queries=False)
    query = build_query(
        None, texts=["knead dough bake loaf", "bread loaf"], type="text", k=3, fusion=fusion
    )
    assert Path(engine.search(query)[0].item.path).name == "long.txt"
