"""CSLS hubness reduction: the maths on hand-made vectors, penalties kept per index generation,
and a hub demoted in a real store (fake encoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog
from crossmodal.errors import UserError
from crossmodal.hubness import csls_penalty, neighbour_count, sample_sources, space_penalties
from crossmodal.pipeline import update
from crossmodal.query import Query, build_query, query_from_request
from crossmodal.search import SearchEngine
from crossmodal.store import Store
from tests.conftest import write_image, write_text

SQRT_HALF = float(np.sqrt(0.5))


def test_penalty_is_half_the_mean_of_the_k_nearest_sources() -> None:
    targets = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    sources = np.array([[1.0, 0.0], [SQRT_HALF, SQRT_HALF], [-1.0, 0.0]], dtype=np.float32)
    assert csls_penalty(targets, sources, 1) == pytest.approx([0.5, SQRT_HALF / 2])
    assert csls_penalty(targets, sources, 2) == pytest.approx(
        [(1 + SQRT_HALF) / 4, (SQRT_HALF + 0.0) / 4]
    )
    assert csls_penalty(targets, sources, 99) == pytest.approx(  # k capped at the sources
        [(1 + SQRT_HALF - 1) / 6, (SQRT_HALF) / 6]
    )
    assert csls_penalty(targets, sources[:0], 3).tolist() == [0.0, 0.0]


def test_neighbourhood_stays_local_and_sampling_is_repeatable() -> None:
    assert [neighbour_count(n) for n in (1, 9, 35, 100, 5000)] == [1, 1, 3, 10, 10]
    ids = np.arange(20_000)
    first, second = sample_sources(ids, 500), sample_sources(ids, 500)
    assert len(first) == 500 and np.array_equal(first, second) and len(set(first)) == 500
    assert np.array_equal(sample_sources(ids[:10], 500), ids[:10])


def test_every_vector_gets_a_penalty_per_query_modality_never_counting_itself() -> None:
    labels = np.array([10, 11, 12])
    matrix = np.array([[1, 0], [0, 1], [SQRT_HALF, SQRT_HALF]], dtype=np.float32)
    modalities = np.array(["image", "text", "text"], dtype=object)
    penalties = space_penalties(labels, matrix, modalities)
    assert set(penalties) == {"image", "text"}
    ids, text_query = penalties["text"]  # K = 1 nearest caption, itself excluded
    assert ids.tolist() == [10, 11, 12]
    assert text_query == pytest.approx([SQRT_HALF / 2] * 3)
    _, image_query = penalties["image"]  # the only photo has no other photo: no penalty
    assert image_query == pytest.approx([0.0, 0.0, SQRT_HALF / 2])
    assert space_penalties(labels, matrix, np.array(["text"] * 3, dtype=object)) == {}


def test_csls_applies_to_cross_modal_and_mixed_lists_only(hub_store: Store) -> None:
    engine = SearchEngine(hub_store)
    space = "fake-semantic"
    text_to_media = build_query("x", k=1)  # images and audio (their words): mixed

    def penalises(name: str, source: str, query: Query) -> bool:
        return engine.space(name).penalises(source, query.types, query.hubness)

    assert penalises(space, "text", text_to_media)
    assert penalises(space, "text", build_query("x", type="image"))
    assert not penalises(space, "text", build_query("x", type="text"))
    assert not penalises(space, "text", build_query("x", type="audio"))
    assert not penalises(space, "image", build_query("x", type="image"))
    assert penalises(space, "image", build_query("x", type="text"))
    assert not penalises("fake-visual", "image", build_query("x", type="text"))
    assert not penalises(space, "text", build_query("x", hubness="none"))


@pytest.fixture
def hub_store(fake_store: Store, tmp_path: Path) -> Store:
    """Two images; the red one is a hub: many captions in the store are about red things."""
    root = tmp_path / "media"
    write_image(root / "a_red.png", "red")
    write_image(root / "b_green.png", "green")
    for number in range(6):
        write_text(root / f"red{number}.txt", f"a red picture of barn number {number}")
    write_text(root / "green.txt", "green trees in a forest")
    update(fake_store, [root])
    return fake_store


def _first(engine: SearchEngine, text: str, hubness: str) -> str:
    hits = engine.search(build_query(text, type="image", k=2, hubness=hubness))
    return Path(hits[0].item.path).name


def test_a_hub_is_demoted_for_text_queries_and_scores_stay_cosines(hub_store: Store) -> None:
    engine = SearchEngine(hub_store)
    query = "a picture red green"  # equally close to both images; the path breaks the tie
    plain = engine.search(build_query(query, type="image", k=2, hubness="none"))
    csls = engine.search(build_query(query, type="image", k=2))
    assert plain[0].score == pytest.approx(plain[1].score)
    assert _first(engine, query, "none") == "a_red.png"
    assert _first(engine, query, "csls") == "b_green.png"
    assert {round(h.score, 6) for h in csls} == {round(h.score, 6) for h in plain}
    # Image -> image never uses penalties: same-modality lists are left alone.
    image = str(Path(hub_store.root).parent / "media" / "b_green.png")
    same = engine.search(build_query(image, type="image", k=1))
    assert Path(same[0].item.path).name == "a_red.png"


def test_penalties_follow_the_index_generation(hub_store: Store, tmp_path: Path) -> None:
    catalog = Catalog(hub_store.catalog_path)
    state = catalog.index_state("fake-semantic")
    assert state is not None and catalog.hubness_generation("fake-semantic") == state.generation
    assert catalog.hubness_generation("fake-visual") is None  # one modality: nothing to reduce
    before = catalog.conn.execute("SELECT count(*) FROM hubness").fetchone()[0]
    catalog.close()
    write_image(tmp_path / "media" / "blue.png", "blue")
    update(hub_store)
    catalog = Catalog(hub_store.catalog_path)
    state = catalog.index_state("fake-semantic")
    assert state is not None and catalog.hubness_generation("fake-semantic") == state.generation
    assert catalog.conn.execute("SELECT count(*) FROM hubness").fetchone()[0] > before
    catalog.close()


def test_hubness_option_is_validated_and_a_batch_key() -> None:
    with pytest.raises(UserError, match="--hubness"):
        build_query("x", hubness="magic")
    assert query_from_request({"text": "x", "hubness": "none"}).hubness == "none"
    assert build_query("x").describe().get("hubness") is None
