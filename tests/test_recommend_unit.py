"""recommend.py's maths on hand-made candidates and vectors (no store): the per-seed z-scores
that attention combines, and the MMR step that diversifies the list."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crossmodal.catalog import Item
from crossmodal.query import Hit
from crossmodal.recommend import Seed, _diversify, _standardised, history_weights


def hit(item_id: int, score: float = 0.5, spaces: tuple[str, ...] = ()) -> Hit:
    item = Item(
        id=item_id,
        path=f"/media/{item_id}.png",
        modality="image",
        size=1,
        mtime_ns=0,
        content_hash=f"h{item_id}",
        text_side=None,
        text_key=None,
        meta={},
        status="ok",
        error=None,
    )
    return Hit(item, score=score, scores={space: score for space in spaces})


def seed(**vectors: Any) -> Seed:
    return Seed(
        "like", "a seed", 1.0, {space: np.asarray(v, dtype=float) for space, v in vectors.items()}
    )


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=float)
    return vector / np.linalg.norm(vector)


# -- _standardised: (candidates, seeds) z-scores ---------------------------------------------


def test_standardised_z_scores_per_seed_and_space() -> None:
    hits = [hit(1), hit(2), hit(3)]
    # Similarities to the seed in space a: 0.9, 0.5, 0.1 -> z = +1.2247, 0, -1.2247.
    vectors = {"a": {1: np.array([0.9, 0.0]), 2: np.array([0.5, 0.0]), 3: np.array([0.1, 0.0])}}
    z = _standardised(hits, [seed(a=[1.0, 0.0])], vectors)
    np.testing.assert_allclose(z[:, 0], [1.224745, 0.0, -1.224745], atol=1e-6)
    # The z-scores do not depend on the similarities' scale.
    shifted = {"a": {i: v * 0.5 for i, v in vectors["a"].items()}}
    np.testing.assert_allclose(_standardised(hits, [seed(a=[1.0, 0.0])], shifted), z)


def test_standardised_averages_a_seeds_spaces() -> None:
    hits = [hit(1), hit(2), hit(3)]
    vectors = {
        # space a: similarities 1, 0, -1 -> z = 1.2247, 0, -1.2247
        "a": {1: np.array([1.0]), 2: np.array([0.0]), 3: np.array([-1.0])},
        # space b: candidate 2 has no vector there; 0 and 3 -> z = -1, +1
        "b": {1: np.array([0.0]), 3: np.array([3.0])},
    }
    z = _standardised(hits, [seed(a=[1.0], b=[1.0])], vectors)[:, 0]
    # 1 and 3: the mean of their two spaces' z; 2: space a's alone.
    assert z[0] == pytest.approx((1.224745 - 1.0) / 2, abs=1e-6)
    assert z[1] == pytest.approx(0.0, abs=1e-9)
    assert z[2] == pytest.approx((-1.224745 + 1.0) / 2, abs=1e-6)


def test_standardised_needs_two_candidates_and_a_shared_space() -> None:
    hits = [hit(1), hit(2), hit(3)]
    vectors = {
        "a": {1: np.array([1.0])},  # one candidate: nothing to standardise against
        "b": {1: np.array([2.0]), 2: np.array([1.0])},  # two are enough: z = +1, -1
    }
    z = _standardised(hits, [seed(a=[1.0], b=[1.0]), seed(c=[1.0])], vectors)
    np.testing.assert_allclose(z[:2, 0], [1.0, -1.0])
    assert np.isnan(z[2, 0])  # candidate 3 has no vector in the seed's spaces
    assert np.isnan(z[:, 1]).all()  # the second seed shares no space with any candidate
    # Spaces are read in the seed's order: a space with too few candidates does not stop the
    # next one from counting.
    z = _standardised(hits, [seed(b=[1.0], a=[1.0])], vectors)
    np.testing.assert_allclose(z[:2, 0], [1.0, -1.0])


def test_standardised_keeps_a_flat_list_flat() -> None:
    # Similarities that differ by less than the tolerance are not stretched into +-1.
    hits = [hit(1), hit(2)]
    vectors = {"a": {1: np.array([0.5]), 2: np.array([0.5 + 2e-7])}}
    z = _standardised(hits, [seed(a=[1.0])], vectors)[:, 0]
    assert np.abs(z).max() < 1e-6


# -- _diversify: MMR over the best candidates --------------------------------------------------


def diversify(
    hits: list[Hit], scores: list[float], vectors: dict, k: int, diversity: float
) -> list[int]:
    order = sorted(range(len(hits)), key=lambda i: -scores[i])
    return _diversify(hits, order, np.array(scores), vectors, k, diversity)


def test_diversify_scales_relevance_to_the_pool() -> None:
    hits = [hit(1), hit(2), hit(3)]
    # Candidate 2 is nearly a copy of 1; candidate 3 is different but much less relevant.
    vectors = {"v": {1: unit(1, 0), 2: unit(0.995, 0.0998), 3: unit(0, 1)}}
    # Relevance is rescaled to 0..1 over the pool, so the trade-off does not depend on the
    # scores' scale: relevance (1, 0.95, 0) at diversity 0.3 keeps the near-copy second...
    assert diversify(hits, [0.3, 0.295, 0.2], vectors, 2, 0.3) == [0, 1]
    assert diversify(hits, [30.0, 29.5, 20.0], vectors, 2, 0.3) == [0, 1]
    # ... and at diversity 0.8 prefers the different one.
    assert diversify(hits, [0.3, 0.295, 0.2], vectors, 2, 0.8) == [0, 2]
    # Equal scores: relevance is 0 for all, so only diversity decides (no division by zero).
    flat = {"v": {1: unit(1, 0), 2: unit(1, 0), 3: unit(0, 1)}}
    assert diversify(hits, [0.5, 0.5, 0.5], flat, 2, 0.3) == [0, 2]


def test_diversify_uses_the_space_holding_most_candidates() -> None:
    hits = [hit(1, spaces=("a", "z")), hit(2, spaces=("a", "z")), hit(3, spaces=("a", "z"))]
    scores = [0.9, 0.8, 0.1]
    # In space a (all three), 1 and 2 are copies: MMR picks 3 second. Space z holds one of them.
    vectors = {
        "a": {1: unit(1, 0), 2: unit(1, 0), 3: unit(0, 1)},
        "z": {2: unit(1, 0)},
    }
    assert diversify(hits, scores, vectors, 2, 0.5) == [0, 2]
    # A candidate without a vector in that space is compared as a zero vector (no crash).
    vectors["a"] = {1: unit(1, 0), 3: unit(0, 1)}
    vectors["z"] = {}
    assert diversify(hits, scores, vectors, 3, 0.5) == [0, 1, 2]


def test_diversify_ties_prefer_the_narrower_space() -> None:
    # Both spaces hold every candidate; "b" is also in more hits' scores (broader: a shared
    # space), so "a" (the specific one, like visual features beside a semantic space) is used.
    hits = [hit(1, spaces=("a", "b")), hit(2, spaces=("a", "b")), hit(3, spaces=("b",))]
    scores = [0.9, 0.8, 0.1]
    copies_in_a = {1: unit(1, 0), 2: unit(1, 0), 3: unit(0, 1)}
    apart_in_b = {1: unit(1, 0), 2: unit(0, 1), 3: unit(1, 0)}
    assert diversify(hits, scores, {"a": copies_in_a, "b": apart_in_b}, 2, 0.5) == [0, 2]
    # Swapping which space is narrow swaps the answer (not the names' order).
    hits = [hit(1, spaces=("a", "b")), hit(2, spaces=("a", "b")), hit(3, spaces=("a",))]
    assert diversify(hits, scores, {"a": copies_in_a, "b": apart_in_b}, 2, 0.5) == [0, 1]


@pytest.mark.parametrize(
    ("k", "position", "reached"),
    [(2, 49, True), (2, 50, False), (11, 54, True), (11, 55, False)],
)
def test_diversify_pool_is_the_best_max_5k_50(k: int, position: int, reached: bool) -> None:
    # 70 copies of one vector but one different candidate at `position` in the ranking: MMR at
    # diversity 1 takes it second if and only if it is in the pool.
    count = 70
    hits = [hit(i) for i in range(count)]
    scores = [1.0 - i / 100 for i in range(count)]
    vectors = {"v": {i: unit(1, 0) if i != position else unit(0, 1) for i in range(count)}}
    chosen = diversify(hits, scores, vectors, k, 1.0)
    assert len(chosen) == k
    assert (chosen[1] == position) is reached
    assert max(chosen) < max(k * 5, 50)


# -- history_weights -----------------------------------------------------------------------------


def test_history_weights_mixed_and_exact() -> None:
    # The newest dated entry counts exactly 1; a day older, 0.5 ** (1 / 30).
    day = 86400.0
    assert history_weights([("/a", 10 * day), ("/b", 11 * day)]) == [0.5 ** (1 / 30), 1.0]
    # Undated entries beside dated ones are weighted by position (no error).
    weights = history_weights([("/a", None), ("/b", 5 * day)])
    assert weights == [0.5 ** (1 / 10), 1.0]
    assert history_weights([]) == []
    assert history_weights([("/a", 2 * day), ("/b", 1 * day)]) == [1.0, 0.5 ** (1 / 30)]


def test_each_seed_draws_three_times_k_candidates_per_space_at_least_thirty(
    fake_store: Any,
) -> None:
    """The candidate pool per seed and space: max(3k, 30) asked of the space, which fetches 4x
    that plus 10 (Space.search) -- on a 300-item space, 130 for k=1 and 250 for k=20."""
    from crossmodal.catalog import Catalog
    from crossmodal.recommend import _candidates
    from crossmodal.search import SearchEngine
    from crossmodal.spaces.hnsw import update_space

    from .conftest import FAKE_DIM, FakeEncoderSet

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, FAKE_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    catalog = Catalog(fake_store.catalog_path)
    with catalog.transaction():
        for number in range(300):
            catalog.insert_item(
                path=f"/photos/{number:03d}.png",
                modality="image",
                size=1,
                mtime_ns=1,
                content_hash=f"h{number}",
                status="ok",
            )
        catalog.add_vectors("fake-semantic", [f"h{n}" for n in range(300)], vectors)
    update_space(catalog, "fake-semantic", FAKE_DIM, fake_store.index_dir)
    catalog.close()
    engine = SearchEngine(fake_store, FakeEncoderSet(), cache_queries=False)
    wanted = Seed("prefer", "prefer: x", 1.0, {"fake-semantic": vectors[0]}, None)
    try:
        assert len(_candidates(engine, [wanted], ("image",), 1, set())) == 130
        assert len(_candidates(engine, [wanted], ("image",), 20, set())) == 250
        assert len(_candidates(engine, [wanted], ("text",), 20, set())) == 0
    finally:
        engine.close()
