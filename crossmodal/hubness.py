"""Hubness reduction for cross-modal search: CSLS (Conneau et al., "Word translation without
parallel data", ICLR 2018).

In a space shared by two modalities some items sit close to a great many queries of the other
modality ("hubs": a ConSE image vector made of generic classes, a caption full of common words)
and crowd the top of every list. CSLS scores a query q of modality B against an item x by
2 cos(q, x) - r_B(x) - r_A(q), where r_B(x) is the mean cosine of x to its K nearest vectors of
modality B (itself excluded). r_A(q) is the same for every item of one query, so a ranking needs only
cos(q, x) - r_B(x) / 2 (halved to stay in cosine units). r_B(x) is computed per store when the
index is built and kept in the catalog, so a search pays one lookup per candidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .catalog import Catalog

MAX_NEIGHBOURS = 10  # the paper's K
# Sources beyond this are sampled (seeded, so a rebuild gives the same penalties): the penalty is a
# local density estimate, and exact K-NN against 100k sources would cost minutes per update.
MAX_SOURCES = 5000
CHUNK = 2048


def neighbour_count(sources: int) -> int:
    """K: the paper's 10 on large stores, a tenth of the sources on small ones, so the
    neighbourhood stays local (K = 10 of 35 captions would be a global average)."""
    return max(1, min(MAX_NEIGHBOURS, sources // 10))


def csls_penalty(
    targets: np.ndarray,
    sources: np.ndarray,
    k: int,
    target_ids: np.ndarray | None = None,
    source_ids: np.ndarray | None = None,
) -> np.ndarray:
    """r(x) / 2 for every target row: half its mean cosine to its k most similar source rows,
    never counting a target as its own neighbour (same id in both sets)."""
    if len(targets) == 0 or len(sources) == 0:
        return np.zeros(len(targets), dtype=np.float32)
    out = np.empty(len(targets), dtype=np.float32)
    for start in range(0, len(targets), CHUNK):
        sims = targets[start : start + CHUNK] @ sources.T
        if target_ids is not None and source_ids is not None:
            sims[target_ids[start : start + CHUNK, None] == source_ids[None, :]] = np.nan
        available = np.sum(~np.isnan(sims), axis=1)
        kk = max(1, min(k, int(available.min()) if len(available) else 1))
        sims = np.nan_to_num(sims, nan=-np.inf)
        top = np.partition(sims, sims.shape[1] - kk, axis=1)[:, -kk:]
        top = np.where(np.isfinite(top), top, 0.0)
        out[start : start + CHUNK] = top.mean(axis=1) / 2
    return out


def sample_sources(ids: np.ndarray, limit: int = MAX_SOURCES) -> np.ndarray:
    """At most `limit` of the ids, the same ones every time for the same store contents."""
    if len(ids) <= limit:
        return ids
    chosen = np.random.default_rng(0).choice(len(ids), size=limit, replace=False)
    return np.sort(ids[chosen])


def space_penalties(
    labels: np.ndarray, matrix: np.ndarray, modalities: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{query modality B: (vector ids, their penalties r_B / 2)} for one space shared by several
    modalities, given its live vectors and the modality each was made from. Every vector gets a
    penalty against every modality, its own included (less itself): a list mixing photos and
    captions is then corrected on one scale, not just its cross-modal half."""
    present = sorted(set(modalities.tolist()))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if len(present) < 2:
        return out
    positions = np.arange(len(labels))
    for source in present:
        source_rows = sample_sources(positions[modalities == source])
        penalty = csls_penalty(
            matrix, matrix[source_rows], neighbour_count(len(source_rows)), positions, source_rows
        )
        out[source] = (labels, penalty)
    return out


def refresh_hubness(catalog: Catalog, space: str) -> None:
    """Bring a space's penalties up to its current index generation, recomputing all of them:
    a store then answers the same whatever its history (adding penalties for new vectors only
    made a store that had been updated rank differently from one built fresh from the same
    files, which the kill -9 soak test caught). Cost: about 30 s per changed update at 100k
    vectors of two modalities on 2 cores; nothing when the index did not change."""
    state = catalog.index_state(space)
    generation = catalog.hubness_generation(space)
    if state is None or generation == state.generation:
        return
    ids, modalities = catalog.vector_modalities(space)
    if len(set(modalities.tolist())) < 2:  # one modality: nothing to reduce, nothing to load
        with catalog.transaction():
            catalog.save_hubness(space, state.generation, {})
        return
    labels, matrix, _ = catalog.load_vectors(space, ids=ids.tolist())
    if len(labels) != len(ids):  # a vector vanished in between: keep ids and rows aligned
        keep = np.isin(ids, labels)
        modalities = modalities[keep]
    penalties = space_penalties(labels, matrix, modalities)
    with catalog.transaction():
        catalog.save_hubness(space, state.generation, penalties)
