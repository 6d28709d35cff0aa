"""HNSW (the index crossmodal uses) against exact numpy search, measured in the same run.

Vectors are structured like real embeddings (a mixture over a 24-d latent space, projected to the
embedding dimension, plus noise): uniform random vectors are a worst case that says nothing about
real collections (`--data uniform` shows it). Prints build time, file size, load time, p50/p99
query latency, recall@10 and the speed-up over exact search, for each M / ef_construction / ef.

Usage: python bench/bench_index.py [N ...] [--dims 384,512] [--m 8,16,32] [--efc 100,200]
                                   [--ef 32,64,128,256] [--data structured|uniform]
Defaults: 10000 50000, 384-d, the store's own M / ef_construction / ef.
1M vectors take 15-20 minutes per build on 2 cores: pass 1000000 explicitly.
"""

from __future__ import annotations

import os
import tempfile
import time

import hnswlib
import numpy as np

from crossmodal.spaces.hnsw import EF_CONSTRUCTION, EF_SEARCH_MIN, M

QUERIES = 200
K = 10


def structured(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    latent = rng.normal(size=(64, 24))[rng.integers(0, 64, n)] + 0.35 * rng.normal(size=(n, 24))
    matrix = latent @ rng.normal(size=(24, dim)) + 0.6 * rng.normal(size=(n, dim))
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def uniform(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def exact_baseline(base: np.ndarray, queries: np.ndarray) -> tuple[list[set[int]], float]:
    """Ground truth and the p50 latency of the brute force that rclip-style tools run."""
    truths, times = [], []
    for query in queries:
        started = time.perf_counter()
        truth = np.argpartition(-(base @ query), K)[:K]
        times.append(time.perf_counter() - started)
        truths.append(set(truth.tolist()))
    return truths, float(np.percentile(times, 50) * 1e3)


def build(base: np.ndarray, m: int, efc: int) -> tuple[hnswlib.Index, float, float, float]:
    """Build, save and reload the index as the store does; (index, build s, file MB, load s)."""
    n, dim = base.shape
    started = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=efc, M=m)
    index.add_items(base, np.arange(n))
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.hnsw")
        index.save_index(path)
        size_mb = os.path.getsize(path) / 1e6
        del index
        started = time.perf_counter()
        index = hnswlib.Index(space="ip", dim=dim)
        index.load_index(path)
        load_s = time.perf_counter() - started
    return index, build_s, size_mb, load_s


def measure(index: hnswlib.Index, queries: np.ndarray, truths: list[set[int]], ef: int):
    """(p50 ms, p99 ms, recall@10) of single-query knn at this ef."""
    index.set_ef(ef)
    index.knn_query(queries[:5], k=K)  # warm caches
    times, recalls = [], []
    for query, truth in zip(queries, truths, strict=True):
        started = time.perf_counter()
        found, _ = index.knn_query(query[None, :], k=K)
        times.append(time.perf_counter() - started)
        recalls.append(len(set(found[0].tolist()) & truth) / K)
    return np.percentile(times, 50) * 1e3, np.percentile(times, 99) * 1e3, float(np.mean(recalls))


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    import argparse

    from bench_update import machine_line

    parser = argparse.ArgumentParser(description="HNSW against exact numpy search.")
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 50_000])
    parser.add_argument("--dims", default="384", help="comma-separated, e.g. 384,512")
    parser.add_argument("--m", default=str(M), help=f"comma-separated M values (store: {M})")
    parser.add_argument(
        "--efc",
        default=str(EF_CONSTRUCTION),
        help=f"ef_construction values (store: {EF_CONSTRUCTION})",
    )
    parser.add_argument(
        "--ef", default=str(EF_SEARCH_MIN), help=f"query ef values (store: {EF_SEARCH_MIN})"
    )
    parser.add_argument("--data", choices=["structured", "uniform"], default="structured")
    args = parser.parse_args()
    make = structured if args.data == "structured" else uniform
    rng = np.random.default_rng(0)
    print(machine_line())
    print(
        f"{args.data} vectors, {QUERIES} single-vector queries, k={K}, hnswlib build threads={os.cpu_count()}"
    )
    print(
        f"{'dim':>4} {'n':>8} {'M':>3} {'efC':>4} {'ef':>4} {'build s':>8} {'file MB':>8} {'load s':>7} "
        f"{'exact p50 ms':>13} {'hnsw p50 ms':>12} {'hnsw p99 ms':>12} {'recall@10':>10} {'speed-up':>9}"
    )
    for dim in ints(args.dims):
        for n in args.sizes:
            data = make(n + QUERIES, dim, rng)
            base, queries = data[:n], data[n:]
            truths, exact_p50 = exact_baseline(base, queries)
            for m in ints(args.m):
                for efc in ints(args.efc):
                    index, build_s, size_mb, load_s = build(base, m, efc)
                    for ef in ints(args.ef):
                        p50, p99, recall = measure(index, queries, truths, ef)
                        print(
                            f"{dim:>4} {n:>8} {m:>3} {efc:>4} {ef:>4} {build_s:>8.1f} {size_mb:>8.1f} "
                            f"{load_s:>7.2f} {exact_p50:>13.3f} {p50:>12.3f} {p99:>12.3f} "
                            f"{recall:>10.3f} {exact_p50 / p50:>8.1f}x",
                            flush=True,
                        )
                    del index


if __name__ == "__main__":
    main()
