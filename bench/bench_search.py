"""Cold-start `search` and `search --batch` throughput on a large store, measured in the same run
against `python -c "import torch"` (the floor any torch-based search pays).

The store holds N items whose `builtin-semantic` vectors are structured like real embeddings (the
mixture generator of bench_index.py), indexed with the store's own HNSW code; queries are real
text embedded by the builtin model, so the whole query path runs: process start, imports, model,
index load, search, JSON.

Usage: python bench/bench_search.py [--items 100000] [--queries 1000] [--store DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import structured  # noqa: E402
from bench_update import machine_line  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
VENV_BIN = Path(sys.executable).parent
WORDS = [
    "dog",
    "cat",
    "beach",
    "winter",
    "city",
    "night",
    "sunset",
    "forest",
    "river",
    "car",
    "bird",
    "flower",
    "coffee",
    "phone",
    "bell",
]


def build_store(store_dir: Path, items: int) -> float:
    """A builtin store with `items` image items in builtin-semantic; returns build seconds."""
    from crossmodal.catalog import Catalog
    from crossmodal.spaces.hnsw import update_space
    from crossmodal.store import Store

    started = time.perf_counter()
    store = Store.open_or_create(store_dir)
    catalog = Catalog(store.catalog_path)
    vectors = structured(items, 384, np.random.default_rng(0))
    with catalog.transaction():
        for start in range(0, items, 10_000):
            stop = min(items, start + 10_000)
            catalog.conn.executemany(
                "INSERT INTO items (path, modality, size, mtime_ns, content_hash, meta, status, "
                "first_seen, updated) VALUES (?, 'image', 1, 1, ?, '{}', 'ok', 0, 0)",
                [(f"/photos/{i // 1000:03d}/img{i:07d}.jpg", f"h{i}") for i in range(start, stop)],
            )
            catalog.add_vectors(
                "builtin-semantic", [f"h{i}" for i in range(start, stop)], vectors[start:stop]
            )
    update_space(catalog, "builtin-semantic", 384, store.index_dir)
    catalog.close()
    return time.perf_counter() - started


def timed(command: list[str], repeat: int) -> tuple[float, list[float], str]:
    times, output = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
        output = done.stdout
    return statistics.median(times), times, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="reuse or keep the store here")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-search-"))
    store = args.store or work / "store"
    try:
        if not (store / "catalog.sqlite").exists():
            seconds = build_store(store, args.items)
            print(f"built a {args.items:,}-item store (HNSW M=16, efC=200) in {seconds:.1f} s")
        crossmodal = str(VENV_BIN / "crossmodal")
        python = sys.executable
        bare, bare_all, _ = timed([python, "-c", "pass"], args.repeat)
        torch_s, torch_all, _ = timed([python, "-c", "import torch"], args.repeat)
        # A new query text each time (the model runs), then one seen before (the store's
        # query-vector cache answers and no model loads).
        fresh = ["a dog on a beach", "a cat asleep on a sofa", "church bells at night"]
        cold_all, out = [], ""
        for text in fresh:
            seconds, _, out = timed(
                [crossmodal, "search", text, "--store", str(store), "--json"], 1
            )
            cold_all.append(seconds)
        cold = statistics.median(cold_all)
        hit, hit_all, _ = timed(
            [crossmodal, "search", fresh[0], "--store", str(store), "--json"], args.repeat
        )
        results = json.loads(out)["results"]
        print(f"\n1. cold-start search on {args.items:,} items (medians of 3)")
        print(f"   python -c pass            {bare:6.2f} s  {[round(t, 2) for t in bare_all]}")
        print(f"   python -c 'import torch'  {torch_s:6.2f} s  {[round(t, 2) for t in torch_all]}")
        print(
            f"   search, new query text    {cold:6.2f} s  {[round(t, 2) for t in cold_all]}"
            f"  ({len(results)} results)"
        )
        print(f"   search, repeated query    {hit:6.2f} s  {[round(t, 2) for t in hit_all]}")
        print(
            f"   new query - import torch: {cold - torch_s:+.2f} s, repeated: {hit - torch_s:+.2f} s"
            " (target <= +1.00 s)"
        )

        rng = np.random.default_rng(1)
        batch = work / "queries.jsonl"
        with batch.open("w") as handle:
            for number in range(args.queries):
                text = " ".join(rng.choice(WORDS, size=3, replace=False))
                handle.write(json.dumps({"id": number, "text": text, "k": 10}) + "\n")
        started = time.perf_counter()
        done = subprocess.run(
            [crossmodal, "search", "--batch", str(batch), "--store", str(store)],
            capture_output=True,
            text=True,
            check=True,
        )
        total = time.perf_counter() - started
        answers = [json.loads(line) for line in done.stdout.splitlines()]
        errors = sum(1 for a in answers if "error" in a)
        print(f"\n2. search --batch, {args.queries} text queries, k=10, one process")
        print(
            f"   {total:.2f} s wall including start-up: {args.queries / total:.0f} queries/s; "
            f"per query after start-up ~{(total - cold) / args.queries * 1e3:.1f} ms; "
            f"{len(answers)} answers, {errors} errors"
        )
        print(
            f"   vs {args.queries} cold processes (estimated {args.queries * cold:.0f} s): "
            f"{args.queries * cold / total:.0f}x"
        )
    finally:
        if not args.keep and args.store is None:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(f"\nkept {work}")


if __name__ == "__main__":
    main()
