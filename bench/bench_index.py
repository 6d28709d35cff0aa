"""HNSW (the index crossmodal uses) against exact numpy search, measured in the same run.

Vectors are structured like real embeddings (a mixture over a 24-d latent space, projected to the
embedding dimension, plus noise): uniform random vectors are a worst case that says nothing about
real collections. Prints build time, p50/p99 query latency, recall@10 and the speed-up ratio.

Usage: python bench/bench_index.py [N ...] [--dims 384,512]   (default 10000 50000, 384)
1M vectors take 15-20 minutes to build on 2 cores: pass 1000000 explicitly.
"""

from __future__ import annotations

import platform
import time

import hnswlib
import numpy as np

from crossmodal.index import EF_CONSTRUCTION, EF_SEARCH_MIN, M

DIM = 384
QUERIES = 200
K = 10


def structured(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    latent = rng.normal(size=(64, 24))[rng.integers(0, 64, n)] + 0.35 * rng.normal(size=(n, 24))
    matrix = latent @ rng.normal(size=(24, dim)) + 0.6 * rng.normal(size=(n, dim))
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    import argparse
    import os
    import tempfile

    parser = argparse.ArgumentParser(description="HNSW against exact numpy search.")
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 50_000])
    parser.add_argument("--dims", default="384", help="comma-separated, e.g. 384,512")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}; M={M}, ef_construction={EF_CONSTRUCTION}, "
        f"ef={EF_SEARCH_MIN}, {QUERIES} queries, k={K}"
    )
    print(
        f"{'dim':>4} {'n':>8} {'build s':>8} {'file MB':>8} {'load s':>7} {'exact p50 ms':>13} "
        f"{'hnsw p50 ms':>12} {'hnsw p99 ms':>12} {'recall@10':>10} {'speed-up':>9}"
    )
    for dim in [int(d) for d in args.dims.split(",")]:
        for n in args.sizes:
            data = structured(n + QUERIES, dim, rng)
            base, queries = data[:n], data[n:]
            started = time.perf_counter()
            index = hnswlib.Index(space="ip", dim=dim)
            index.init_index(max_elements=n, ef_construction=EF_CONSTRUCTION, M=M)
            index.add_items(base, np.arange(n))
            build = time.perf_counter() - started
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "bench.hnsw")
                index.save_index(path)
                size_mb = os.path.getsize(path) / 1e6
                started = time.perf_counter()
                index = hnswlib.Index(space="ip", dim=dim)
                index.load_index(path)
                load = time.perf_counter() - started
            index.set_ef(EF_SEARCH_MIN)
            exact_times, hnsw_times, recalls = [], [], []
            for query in queries:
                t0 = time.perf_counter()
                truth = np.argpartition(-(base @ query), K)[:K]
                exact_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                found, _ = index.knn_query(query[None, :], k=K)
                hnsw_times.append(time.perf_counter() - t0)
                recalls.append(len(set(found[0].tolist()) & set(truth.tolist())) / K)
            exact_p50 = np.percentile(exact_times, 50) * 1e3
            hnsw_p50 = np.percentile(hnsw_times, 50) * 1e3
            print(
                f"{dim:>4} {n:>8} {build:>8.1f} {size_mb:>8.1f} {load:>7.2f} {exact_p50:>13.3f} "
                f"{hnsw_p50:>12.3f} {np.percentile(hnsw_times, 99) * 1e3:>12.3f} "
                f"{np.mean(recalls):>10.3f} {exact_p50 / hnsw_p50:>8.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
