"""Experiment (issue 8): per-collection standardisation or PCA whitening of the builtin audio
descriptors, on an existing store's vectors: MRR and nDCG@10 of the labelled audio->audio
queries under plain cosine, z-scored dimensions, and PCA whitening (shrunk eigenvalues).

Usage: python bench/xp_audio_whitening.py STORE QUERIES
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main() -> None:
    from crossmodal.catalog import Catalog
    from crossmodal.evaluate import load_queries, query_metrics

    catalog = Catalog(Path(sys.argv[1]) / "catalog.sqlite", readonly=True)
    items = [i for i in catalog.items(modality="audio")]
    vectors = catalog.vectors_for_keys("builtin-audio", [i.content_hash for i in items])
    paths = [i.path for i in items]
    matrix = np.stack([vectors[i.content_hash] for i in items]).astype(np.float64)
    queries = [q for q in load_queries(Path(sys.argv[2])) if q.kind == "audio->audio"]

    def unit(m: np.ndarray) -> np.ndarray:
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    mean, std = matrix.mean(axis=0), matrix.std(axis=0) + 1e-6
    centred = matrix - mean
    u, s, vt = np.linalg.svd(centred, full_matrices=False)

    def whiten(shrink: float) -> np.ndarray:
        scale = 1.0 / np.sqrt(s**2 / len(matrix) + shrink * (s**2).mean() / len(matrix))
        return unit(centred @ vt.T * scale)

    variants = {
        "cosine (now)": unit(matrix),
        "centred": unit(centred),
        "z-scored dims": unit(centred / std),
        "PCA whiten, shrink 1": whiten(1.0),
        "PCA whiten, shrink 0.1": whiten(0.1),
    }
    print(f"{len(items)} clips, {len(queries)} queries")
    for name, space in variants.items():
        rows = []
        for q in queries:
            qi = paths.index(q.audio)
            sims = space @ space[qi]
            order = [paths[j] for j in np.argsort(-sims, kind="stable") if j != qi]
            ranks = [order.index(p) + 1 for p in q.relevant]
            rows.append(query_metrics(ranks, len(q.relevant), len(order)))
        mrr = np.mean([r["mrr"] for r in rows])
        ndcg = np.mean([r["ndcg@10"] for r in rows])
        r1 = np.mean([r["recall@1"] for r in rows])
        print(f"{name:24} MRR {mrr:.3f}  nDCG@10 {ndcg:.3f}  R@1 {r1:.3f}")


if __name__ == "__main__":
    main()
