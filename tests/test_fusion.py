"""Fusion maths on hand-made numbers with answers worked out by hand."""

import numpy as np
import pytest

from crossmodal.fusion import (
    ATTENTION_TEMPERATURE,
    Z_FUSION,
    attention_scores,
    attention_weights,
    competition_ranks,
    fuse_attention,
    fuse_score,
    intra_list_similarity,
    mmr,
    rrf,
    score_fusion,
    score_threshold,
    standardise,
    weighted_mean,
)


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf([(1.0, {"a": 1, "b": 2, "c": 3}), (2.0, {"b": 1, "d": 2})], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 2 / 61)
    assert fused["d"] == pytest.approx(2 / 62)
    assert max(fused, key=fused.get) == "b"
    assert competition_ranks([0.9, 0.8, 0.8, 0.7, 0.7, 0.7]) == [1, 2, 2, 4, 4, 4]


def test_competition_ranks_ties_at_the_top_and_to_six_decimals() -> None:
    assert competition_ranks([0.9, 0.9, 0.8]) == [1, 1, 3]
    assert competition_ranks([0.5, 0.5]) == [1, 1]
    assert competition_ranks([0.7]) == [1] and competition_ranks([]) == []
    # Equal to six decimals is equal (float noise between duplicate vectors); 1e-6 apart is not.
    assert competition_ranks([0.5000001, 0.5]) == [1, 1]
    assert competition_ranks([0.500001, 0.5]) == [1, 2]
    assert competition_ranks([0.5000001, 0.5], decimals=7) == [1, 2]


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
    with pytest.raises(ValueError, match="^temperature must be positive$"):
        attention_weights(sims, weights, 0.0)
    with pytest.raises(ValueError, match="^temperature must be positive$"):
        attention_weights(sims, weights, -1.0)


def test_attention_is_per_candidate_and_numerically_stable() -> None:
    weights = np.array([1.0, 1.0])
    # Each candidate's softmax is its own: a row of small similarities is not flattened to zero
    # by another row's large ones.
    rows = attention_weights(np.array([[100.0, 99.0], [0.0, -1.0]]), weights, 0.1)
    expected = np.array([1.0, np.exp(-10.0)]) / (1.0 + np.exp(-10.0))
    np.testing.assert_allclose(rows, [expected, expected], rtol=1e-12)
    # A tiny temperature follows the best part without overflowing, also beside a NaN.
    sharp = attention_weights(np.array([[0.9, 0.1], [np.nan, 0.9]]), weights, 1e-3)
    np.testing.assert_array_equal(sharp, [[1.0, 0.0], [0.0, 1.0]])
    # A candidate comparable with no part gets no weights and a score of 0 (not NaN).
    none = attention_weights(np.array([[np.nan, np.nan], [0.2, 0.4]]), weights, 0.5)
    np.testing.assert_array_equal(none[0], [0.0, 0.0])
    assert none[1].sum() == pytest.approx(1.0)
    scores = attention_scores(np.array([[np.nan, np.nan], [0.2, 0.4]]), weights, 0.5)
    assert scores[0] == 0.0 and np.isfinite(scores).all()
    # So does one whose comparable parts all weigh 0.
    zero = attention_weights(np.array([[0.2, 0.4], [0.9, 0.1]]), np.array([0.0, 0.0]), 0.5)
    np.testing.assert_array_equal(zero, np.zeros((2, 2)))
    # Part weights scale the softmax: (1 * e^0, 3 * e^0) -> (1/4, 3/4) on equal similarities.
    np.testing.assert_allclose(
        attention_weights(np.array([[0.3, 0.3]]), np.array([1.0, 3.0]), 0.5), [[0.25, 0.75]]
    )


def test_mmr_trades_relevance_for_diversity() -> None:
    vectors = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    relevance = np.array([0.9, 0.89, 0.5])
    assert mmr(relevance, vectors, 2, 0.0) == [0, 1]  # pure relevance: two near-copies
    assert mmr(relevance, vectors, 2, 0.5) == [0, 2]  # the copy is penalised by ~0.999
    assert mmr(relevance, vectors, 5, 0.3) == [0, 2, 1]
    assert intra_list_similarity(vectors[[0, 1]]) > 0.99
    assert intra_list_similarity(vectors[[0, 2]]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="^diversity must be between 0 and 1$"):
        mmr(relevance, vectors, 2, 1.5)
    with pytest.raises(ValueError, match="^diversity must be between 0 and 1$"):
        mmr(relevance, vectors, 2, -0.1)


def test_mmr_edges() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    relevance = np.array([0.9, 0.8, 0.1])
    # diversity 1: relevance only picks the first; then the least similar to what is chosen.
    assert mmr(relevance, vectors, 3, 1.0) == [0, 2, 1]
    assert mmr(np.array([0.5]), vectors[:1], 3, 0.3) == [0]  # one candidate
    assert mmr(relevance, vectors, 0, 0.3) == [] and mmr(np.array([]), vectors[:0], 3, 0.3) == []
    # An exact copy of a chosen result is never picked twice over a new one.
    assert mmr(relevance, vectors, 2, 0.5) == [0, 2]


def test_intra_list_similarity_is_the_mean_pairwise_cosine() -> None:
    assert intra_list_similarity(np.array([[1.0, 0.0]])) == 0.0  # fewer than two
    assert intra_list_similarity(np.zeros((0, 2))) == 0.0
    pair = np.array([[1.0, 0.0], [0.6, 0.8]])
    assert intra_list_similarity(pair) == pytest.approx(0.6)
    # Three: the pairs' cosines are 0.6, 0 and 0.8, mean 1.4 / 3.
    three = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    assert intra_list_similarity(three) == pytest.approx(1.4 / 3)


def test_score_thresholds() -> None:
    scores = [0.62, 0.60, 0.41, 0.40, 0.39, 0.38]
    assert score_threshold(scores) == -np.inf
    assert score_threshold(scores, min_score=0.4) == 0.4
    assert score_threshold(scores, relative=0.9) == pytest.approx(0.558)
    # mean 0.4667, population std 0.1019: keep >= 0.5686, i.e. the two that stand out
    assert score_threshold(scores, z=1.0) == pytest.approx(0.5686, abs=1e-4)
    assert score_threshold(scores, min_score=0.6, relative=0.5) == 0.6  # the stricter wins
    assert score_threshold([0.3, 0.3, 0.3], z=0.5) == np.inf  # nothing stands out
    # Two scores are enough to measure a spread; one is not (it is kept).
    assert score_threshold([0.2, 0.6], z=1.0) == pytest.approx(0.6)
    assert score_threshold([0.5], z=1.0) == -np.inf
    assert score_threshold([], z=1.0, relative=0.5) == -np.inf


def test_standardise_and_score_fusion_edges() -> None:
    assert standardise({}) == {}
    assert standardise({"a": 0.4, "b": 0.4}) == {"a": 0.0, "b": 0.0}
    assert standardise({"a": 1.0, "b": 0.0}) == {"a": 1.0, "b": -1.0}
    assert score_fusion([]) == {}
    # Weights multiply a list's z-scores, also the missing penalty.
    fused = score_fusion([(2.0, {"a": 1.0, "b": 0.0}), (0.5, {"b": 1.0, "c": 0.0})], missing=-3.0)
    assert fused == {"a": 2.0 + 0.5 * -3.0, "b": -2.0 + 0.5, "c": 2.0 * -3.0 - 0.5}


def test_weighted_mean_of_the_known_columns() -> None:
    nan = np.nan
    z = np.array([[1.0, nan, 3.0], [nan, nan, nan], [2.0, 4.0, nan]])
    weights = np.array([1.0, 2.0, 3.0])
    means = weighted_mean(z, weights)
    assert means[0] == pytest.approx((1 * 1 + 3 * 3) / (1 + 3))
    assert np.isnan(means[1])  # nothing known: NaN, not 0
    assert means[2] == pytest.approx((2 * 1 + 4 * 2) / (1 + 2))
    # Weights below 1 in all (total 0.75) are a mean all the same, not a shrunk sum.
    small = weighted_mean(np.array([[1.0, 4.0]]), np.array([0.25, 0.5]))
    assert small[0] == pytest.approx((0.25 * 1 + 0.5 * 4) / 0.75)


def test_score_and_attention_fusion_of_z_matrices() -> None:
    nan = np.nan
    # Three lists: two from part 0 (e.g. its semantic and visual spaces), one from part 1.
    z = np.array([[1.0, 3.0, 0.0], [nan, nan, nan], [nan, 2.0, nan]])
    weights = np.array([1.0, 1.0, 2.0])
    parts = [0, 0, 1]
    part_weights = np.array([3.0, 1.0])
    assert {"score": fuse_score, "attention": fuse_attention} == Z_FUSION
    # score: the weighted mean over every known list; 0 for a candidate no list can compare.
    np.testing.assert_allclose(
        fuse_score(z, weights, parts, part_weights), [(1 + 3 + 0 * 2) / 4, 0.0, 2.0]
    )
    # attention: a part's z is the mean over its lists (part 0: 2, part 1: 0), then the parts
    # weigh 3 and 1: nearly fixed weights at a huge temperature.
    flat = fuse_attention(z, weights, parts, part_weights, temperature=1e9)
    assert flat[0] == pytest.approx((3 * 2.0 + 1 * 0.0) / 4)
    assert flat[1] == 0.0 and flat[2] == pytest.approx(2.0)  # only part 0 known
    # The default temperature is ATTENTION_TEMPERATURE.
    per_part = np.array([[2.0, 0.0], [nan, nan], [2.0, nan]])
    np.testing.assert_allclose(
        fuse_attention(z, weights, parts, part_weights),
        attention_scores(per_part, part_weights, ATTENTION_TEMPERATURE),
    )
