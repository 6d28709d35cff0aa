"""The maths of combining ranked lists and picking results: pure functions on numbers, so each is
tested on hand-made inputs with known answers.

- Reciprocal-rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): sum of w / (K + rank).
- Score fusion: each list's scores standardised (z-scores against that list's own candidates),
  because cosines from different spaces live on different scales (a 0.3 in a cross-modal space
  can be a better match than a 0.8 in an image-image space).
- Attention fusion: per candidate, the parts it matches well get more weight (softmax over the
  part-to-candidate similarities with a temperature), so one strongly matched part is not buried
  by a part the candidate ignores.
- Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998) for diverse result lists.
- Relevance cutoffs: absolute, relative to the best score, or a z-score against the candidates.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

RRF_K = 60
ATTENTION_TEMPERATURE = 0.5  # in standard deviations of a list's scores (0.25-1 measure alike)


def competition_ranks(scores: Sequence[float], decimals: int = 6) -> list[int]:
    """1-based ranks of descending scores where equal scores (to `decimals`) share the best rank,
    so duplicate files or identical vectors never get an order from storage details."""
    rounded = [round(float(score), decimals) for score in scores]
    ranks = []
    for position, score in enumerate(rounded):
        rank = position + 1
        while rank > 1 and rounded[rank - 2] == score:
            rank -= 1
        ranks.append(rank)
    return ranks


def rrf(
    lists: Sequence[tuple[float, Mapping[Hashable, int]]], k: int = RRF_K
) -> dict[Hashable, float]:
    """{candidate: sum of weight / (k + rank)} over (weight, {candidate: rank from 1}) lists."""
    fused: dict[Hashable, float] = {}
    for weight, ranks in lists:
        for candidate, rank in ranks.items():
            fused[candidate] = fused.get(candidate, 0.0) + weight / (k + rank)
    return fused


def standardise(scores: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """z-scores of one list's scores; a list of one (or of equal scores) maps to 0."""
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    spread = float(values.std())
    mean = float(values.mean())
    if spread < 1e-9:
        return {candidate: 0.0 for candidate in scores}
    return {candidate: (score - mean) / spread for candidate, score in scores.items()}


def score_fusion(
    lists: Sequence[tuple[float, Mapping[Hashable, float]]], missing: float = -1.0
) -> dict[Hashable, float]:
    """Weighted sum of standardised scores. A candidate absent from a list gets `missing`
    standard deviations there (below the list's mean: it was not retrieved, so it is not a match)."""
    standardised = [(weight, standardise(scores)) for weight, scores in lists]
    candidates = set().union(*(scores.keys() for _, scores in standardised)) if lists else set()
    return {
        candidate: sum(weight * scores.get(candidate, missing) for weight, scores in standardised)
        for candidate in candidates
    }


def attention_weights(
    similarities: np.ndarray, part_weights: np.ndarray, temperature: float
) -> np.ndarray:
    """(candidates, parts) similarities -> per-candidate part weights: the part weights reshaped by
    softmax(similarity / temperature) across parts, each row summing to 1. NaN marks a part that
    cannot be compared with that candidate (no vector in its spaces): it gets no weight.
    A large temperature gives back the fixed weights; a small one follows the best part."""
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    known = ~np.isnan(similarities)
    logits = np.where(known, similarities / temperature, -np.inf)
    top = logits.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    attention = np.where(known, np.exp(logits - top), 0.0) * part_weights[None, :]
    totals = attention.sum(axis=1, keepdims=True)
    return np.divide(attention, totals, out=np.zeros_like(attention), where=totals > 0)


def attention_scores(
    similarities: np.ndarray, part_weights: np.ndarray, temperature: float
) -> np.ndarray:
    """Each candidate's score: its similarities weighted by its own attention over the parts
    (a convex combination, so scores stay on the similarities' scale)."""
    weights = attention_weights(similarities, part_weights, temperature)
    return (weights * np.nan_to_num(similarities)).sum(axis=1)


def weighted_mean(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row, the weighted mean of the known (non-NaN) columns; NaN where none is known."""
    known = ~np.isnan(z)
    totals = (known * weights).sum(axis=1)
    means = np.nansum(z * weights, axis=1) / np.maximum(totals, 1e-12)
    return np.where(totals > 0, means, np.nan)


def fuse_score(
    z: np.ndarray, weights: np.ndarray, parts: Sequence[int], part_weights: np.ndarray
) -> np.ndarray:
    """Score fusion of a (candidates, lists) matrix of standardised similarities (NaN: the
    candidate has no vector in that list's space): the weighted mean over the known lists."""
    return np.nan_to_num(weighted_mean(z, weights), nan=0.0)


def fuse_attention(
    z: np.ndarray,
    weights: np.ndarray,
    parts: Sequence[int],
    part_weights: np.ndarray,
    temperature: float = ATTENTION_TEMPERATURE,
) -> np.ndarray:
    """Attention fusion: a part's z is the weighted mean over its lists (`parts[column]` names
    the part of each column, `part_weights` is indexed by the sorted distinct parts); then each
    candidate weights the parts by its own softmax over them."""
    order = sorted(set(parts))
    per_part = np.full((z.shape[0], len(order)), np.nan)
    for index, part in enumerate(order):
        columns = [c for c, owner in enumerate(parts) if owner == part]
        per_part[:, index] = weighted_mean(z[:, columns], weights[columns])
    return attention_scores(per_part, part_weights, temperature)


# Fusion of standardised similarities, by mode: f(z, list weights, list parts, part weights).
Z_FUSION = {"score": fuse_score, "attention": fuse_attention}


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Indices of k candidates chosen greedily by (1 - diversity) * relevance - diversity * (max
    similarity to those already chosen). diversity 0 is the relevance order; 1 ignores relevance
    after the first pick. `vectors` are unit rows, one per candidate."""
    if not 0.0 <= diversity <= 1.0:
        raise ValueError("diversity must be between 0 and 1")
    count = len(relevance)
    chosen: list[int] = []
    if count == 0 or k <= 0:
        return chosen
    closest = np.full(count, -np.inf)
    available = np.ones(count, dtype=bool)
    while len(chosen) < min(k, count):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = (1.0 - diversity) * relevance - diversity * penalty
        value[~available] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        available[best] = False
        closest = np.maximum(closest, vectors @ vectors[best])
    return chosen


def intra_list_similarity(vectors: np.ndarray) -> float:
    """Mean pairwise cosine of a result list (lower = more diverse); 0 for fewer than two."""
    count = len(vectors)
    if count < 2:
        return 0.0
    gram = vectors @ vectors.T
    return float((gram.sum() - np.trace(gram)) / (count * (count - 1)))


def score_threshold(
    scores: Sequence[float],
    min_score: float | None = None,
    relative: float | None = None,
    z: float | None = None,
) -> float:
    """The lowest score to keep among candidate `scores` (-inf: keep all).

    min_score: absolute. relative: that fraction of the best score. z: that many standard
    deviations above the candidates' mean, so a query with nothing relevant (a flat score
    distribution) returns little or nothing instead of k arbitrary results."""
    values = np.asarray(scores, dtype=np.float64)
    threshold = -np.inf if min_score is None else float(min_score)
    if relative is not None and len(values):
        threshold = max(threshold, relative * float(values.max()))
    if z is not None and len(values) > 1:
        spread = float(values.std())
        # A flat distribution: nothing stands out, so nothing passes.
        bar = float(values.mean()) + z * spread if spread > 1e-9 else np.inf
        threshold = max(threshold, bar)
    return threshold
