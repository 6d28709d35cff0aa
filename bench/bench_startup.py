"""`crossmodal --help` and a cold search, this tree against another commit, interleaved.

Each round runs every command once per tree in a fresh process, alternating which tree goes
first, so both trees see the same machine load; the medians are printed with the ratio. The other tree is a git worktree
(`git worktree add DIR COMMIT`) put first on PYTHONPATH; the store is bench_search.py's
(structured 384-d vectors, HNSW), so the whole query path runs: start, imports, model, index,
search, JSON.

Usage: python bench/bench_startup.py --baseline DIR [--items 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import build_store  # noqa: E402
from bench_update import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(tree: Path, args: list[str]) -> float:
    """Seconds for one fresh `crossmodal ARGS` process whose code comes from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both trees run from their compiled .pyc files
    code = "import sys; from cli.main import run; sys.argv = ['crossmodal', *sys.argv[1:]]; run()"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=tree, capture_output=True, check=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, required=True, help="worktree of the old commit")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        print(f"built a {args.items:,}-item store in {build_store(store, args.items):.1f} s")
        commands = {
            "--help": ["--help"],
            "search (cached query)": [
                "search",
                "a dog on a beach",
                "--store",
                str(store),
                "--json",
            ],
            "search (new query)": None,
        }
        trees = {"baseline": args.baseline.resolve(), "this tree": ROOT}
        times: dict[tuple[str, str], list[float]] = {}
        for tree in trees.values():  # compile each tree's modules once, as an install would
            run(tree, ["search", "warm up", "--store", str(store), "--json"])
        for number in range(args.rounds):
            for name, command in commands.items():
                order = list(trees.items())
                for label, tree in order if number % 2 else order[::-1]:  # no order bias
                    if command is None:  # a text the query cache has not seen: the model runs
                        argv = ["search", f"query {number} {label[0]}", "--store", str(store)]
                        argv.append("--json")
                    else:
                        argv = command
                    times.setdefault((name, label), []).append(run(tree, argv))
    print(f"medians of {args.rounds} fresh processes each, alternating trees:")
    for name in commands:
        old = statistics.median(times[(name, "baseline")])
        new = statistics.median(times[(name, "this tree")])
        print(f"  {name:22s} baseline {old:.3f} s   this tree {new:.3f} s   ratio {new / old:.2f}")


if __name__ == "__main__":
    main()
