"""Scale-out figures, each against its one-machine baseline measured in the same run.

embed: the same photos (sample_data's, perturbed so each has its own content) embedded by
    `crossmodal update` locally and by `update --ray` on a one-node Ray cluster started here on
    loopback with this machine's CPUs; wall time, photos/s, the ratio, and the vectors' worst
    cosine between the two stores.
milvus: N random unit vectors (384-d, clustered) in one space, behind the two backends through
    the backend interface: upload/build time, query latency p50/p95 over 200 queries (k=10)
    and recall@10 against exact search, hnswlib against Milvus Lite.

Usage: python bench/bench_scale.py [--photos 2000] [--vectors 100000] [--only embed|milvus]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_embed import make_photos  # noqa: E402
from bench_update import machine_line  # noqa: E402

from tests.engines import RAY_ENV, RayHead  # noqa: E402


def timed_update(folder: Path, store: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crossmodal",
            "update",
            str(folder),
            "--store",
            str(store),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return seconds, json.loads(result.stdout)


def vectors(store: Path) -> dict[tuple[str, str], np.ndarray]:
    with sqlite3.connect(store / "catalog.sqlite") as conn:
        rows = conn.execute("SELECT space, key, vector FROM vectors").fetchall()
    return {(s, k): np.frombuffer(v, dtype=np.float32) for s, k, v in rows}


def bench_embed(count: int, work: Path) -> None:
    photos = work / "photos"
    make_photos(photos, count, 1.0)
    cpus = os.cpu_count() or 1
    local_s, _ = timed_update(photos, work / "local")
    head = RayHead(cpus=cpus)
    try:
        ray_s, summary = timed_update(photos, work / "ray", "--ray", head.address)
    finally:
        head.stop()
    a, b = vectors(work / "local"), vectors(work / "ray")
    worst = min(float(a[k] @ b[k]) for k in a)
    print(f"embed {count} photos, {cpus} CPUs, one node")
    print(f"  local update      {local_s:7.1f} s  {count / local_s:6.1f} photos/s")
    print(
        f"  update --ray      {ray_s:7.1f} s  {count / ray_s:6.1f} photos/s "
        f"(x{local_s / ray_s:.2f} of local; {max(1, cpus // 3)} encode actors)"
    )
    print(
        f"  vectors: {len(a)} local, {len(b)} ray, same keys {a.keys() == b.keys()}, "
        f"worst cosine {worst:.7f}; failed {summary['embed']['failed']}"
    )


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((max(1, n // 100), dim)).astype(np.float32)
    matrix = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim)).astype(
        np.float32
    )
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def bench_milvus(count: int, work: Path) -> None:
    from crossmodal.catalog import Catalog
    from crossmodal.spaces.hnsw import HnswBackend
    from crossmodal.spaces.milvus import MilvusBackend, close_clients
    from crossmodal.spaces.target import parse_target

    dim, space = 384, "bench-space"
    rng = np.random.default_rng(0)
    matrix = clustered(count, dim, rng)
    catalog = Catalog(work / "catalog.sqlite")
    with catalog.transaction():
        for start in range(0, count, 10_000):
            keys = [f"k{i}" for i in range(start, min(count, start + 10_000))]
            catalog.add_vectors(space, keys, matrix[start : start + len(keys)])
    labels, stored, _ = catalog.load_vectors(space)
    ids = labels.tolist()
    queries = clustered(200, dim, np.random.default_rng(1))
    exact = [set(labels[np.argsort(-(stored @ q))[:10]].tolist()) for q in queries]
    print(f"milvus: {count} vectors x {dim}, 200 queries, k=10")
    backends = {
        "hnswlib": lambda: HnswBackend(catalog, space, dim, work / "indexes"),
        "milvus-lite": lambda: MilvusBackend(
            catalog, space, dim, parse_target(f"milvus-lite:{work / 'bench.db'}"), "bench"
        ),
    }
    (work / "indexes").mkdir()
    for name, make in backends.items():
        backend = make()
        started = time.perf_counter()
        backend.rebuild(ids)
        backend.commit(None)
        built = time.perf_counter() - started
        backend = make()  # a fresh reader, as a search process opens it
        backend.search(queries[0], 10)
        latencies, recalls = [], []
        for query, truth in zip(queries, exact, strict=True):
            started = time.perf_counter()
            found, _ = backend.search(query, 10)
            latencies.append(time.perf_counter() - started)
            recalls.append(len(set(found.tolist()) & truth) / 10)
        ms = np.array(latencies) * 1000
        print(
            f"  {name:12s} build/upload {built:7.1f} s  query p50 {np.percentile(ms, 50):7.2f} ms"
            f"  p95 {np.percentile(ms, 95):7.2f} ms  recall@10 {np.mean(recalls):.3f}"
        )
    close_clients()
    catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--only", choices=("embed", "milvus"))
    args = parser.parse_args()
    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-scale-"))
    try:
        if args.only in (None, "embed"):
            (work / "embed").mkdir()
            bench_embed(args.photos, work / "embed")
        if args.only in (None, "milvus"):
            (work / "milvus").mkdir()
            bench_milvus(args.vectors, work / "milvus")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
