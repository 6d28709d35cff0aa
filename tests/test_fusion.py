"""Fusion maths on hand-made numbers with answers worked out by hand."""

import numpy as np
import pytest

from crossmodal.fusion import (
    attention_scores,
    attention_weights,
    competition_ranks,
    intra_list_similarity,
    mmr,
    rrf,
    score_fusion,
    score_threshold,
    standardise,
)


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf([(1.0, {"a": 1, "b": 2, "c": 3}), (2.0, {"b": 1, "d": 2})], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 2 / 61)
    assert fused["d"] == pytest.approx(2 / 62)
    assert max(fused, key=fused.get) == "b"
    assert competition_ranks([0.9, 0.8, 0.8, 0.7, 0.7, 0.7]) == [1, 2, 2, 4, 4, 4]


def test_standardise_and_score_fusion() -> None:
    z = standardise({"a": 0.9, "b": 0.5, "c": 0.1})
    assert z["a"] == pytest.approx(1.2247, abs=1e-4) and z["b"] == pytest.approx(0.0)
    assert standardise({"only": 0.7}) == {"only": 0.0}
    # Space X scores on a high scale, space Y on a low one: standardising puts them level.
    fused = score_fusion([(1.0, {"a": 0.95, "b": 0.90, "c": 0.85}), (1.0, {"c": 0.30, "a": 0.10})])
    # a: 1.2247 + (-1) = 0.2247; b: 0 + missing(-1) = -1; c: -1.2247 + 1 = -0.2247
    assert fused["a"] == pytest.approx(0.2247, abs=1e-4)
    assert fused["b"] == pytest.approx(-1.0)
    assert fused["c"] == pytest.approx(-0.2247, abs=1e-4)


def test_attention_follows_the_strongly_matched_part() -> None:
    sims = np.array([[0.9, 0.1], [0.5, 0.5]])  # candidate 0 matches part 0 only
    weights = np.array([1.0, 1.0])
    # Huge temperature: fixed weights, plain mean.
    np.testing.assert_allclose(attention_scores(sims, weights, 1e6), [0.5, 0.5], atol=1e-6)
    # Small temperature: candidate 0 is scored mostly by its strong part.
    scores = attention_scores(sims, weights, 0.1)
    e = np.exp(8.0)  # softmax((0.9, 0.1) / 0.1) = (e^8, 1) / (e^8 + 1)
    assert scores[0] == pytest.approx((0.9 * e + 0.1) / (e + 1))
    assert scores[1] == pytest.approx(0.5)
    rows = attention_weights(sims, np.array([2.0, 1.0]), 1e6)
    np.testing.assert_allclose(rows, [[2 / 3, 1 / 3], [2 / 3, 1 / 3]], atol=1e-6)
    # A part the candidate cannot be compared with gets no weight.
    masked = attention_scores(np.array([[np.nan, 0.4]]), weights, 0.5)
    assert masked[0] == pytest.approx(0.4)
    with pytest.raises(ValueError):
        attention_weights(sims, weights, 0.0)


def test_mmr_trades_relevance_for_diversity() -> None:
    vectors = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    relevance = np.array([0.9, 0.89, 0.5])
    assert mmr(relevance, vectors, 2, 0.0) == [0, 1]  # pure relevance: two near-copies
    assert mmr(relevance, vectors, 2, 0.5) == [0, 2]  # the copy is penalised by ~0.999
    assert mmr(relevance, vectors, 5, 0.3) == [0, 2, 1]
    assert intra_list_similarity(vectors[[0, 1]]) > 0.99
    assert intra_list_similarity(vectors[[0, 2]]) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        mmr(relevance, vectors, 2, 1.5)


def test_score_thresholds() -> None:
    scores = [0.62, 0.60, 0.41, 0.40, 0.39, 0.38]
    assert score_threshold(scores) == -np.inf
    assert score_threshold(scores, min_score=0.4) == 0.4
    assert score_threshold(scores, relative=0.9) == pytest.approx(0.558)
    # mean 0.4667, population std 0.1019: keep >= 0.5686, i.e. the two that stand out
    assert score_threshold(scores, z=1.0) == pytest.approx(0.5686, abs=1e-4)
    assert score_threshold(scores, min_score=0.6, relative=0.5) == 0.6  # the stricter wins
    assert score_threshold([0.3, 0.3, 0.3], z=0.5) == np.inf  # nothing stands out
