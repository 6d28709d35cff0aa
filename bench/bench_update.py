"""Incremental `update` against a full first index of the same collection, measured in the same run.

Writes N short English text files (1-2 sentences each, from a fixed word list and seed, spread over
~100 folders) into a temp folder, then times with the builtin encoder set:
  1. full index: the first `update` on a fresh store, in-process (the baseline; includes loading
     the text model, as a first run does);
  2. no-op `update`, in-process (nothing changed): median of --repeat runs;
  3. no-op `crossmodal update ROOT --store S --quiet` as a fresh process (Python start-up included);
  4. 100 changed files among N: the ingest stage alone (detection), then, after 100 other files
     change, a whole `update` (detect + embed 100 + index).
Counters from the summaries show that the no-op embedded and indexed nothing and that exactly the
changed files were found. Fresh interpreters then run a no-op `update` (library call, then the CLI)
and report which heavy modules (torch, sentence_transformers, ...) they imported, and the top imports.

Usage: python bench/bench_update.py [--files 10000] [--changes 100] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import crossmodal  # noqa: E402
from crossmodal.pipeline import UpdateSummary, ingest, update  # noqa: E402
from crossmodal.store import Store  # noqa: E402

FOLDERS = 100
SEED = 20261127
HEAVY_MODULES = (
    "torch",
    "sentence_transformers",
    "transformers",
    "torchvision",
    "open_clip",
    "librosa",
    "hnswlib",
    "PIL",
    "soundfile",
)

DETERMINERS = ("the", "a", "one", "every", "that", "our", "her", "his", "their", "this")
ADJECTIVES = (
    "old", "quiet", "bright", "small", "heavy", "narrow", "wooden", "green", "careful", "distant",
    "broken", "warm", "early", "patient", "silver", "tired", "crowded", "hidden", "gentle", "cold",
    "strange", "familiar", "empty", "noisy", "clever", "red", "northern", "simple", "rare", "local",
)  # fmt: skip
NOUNS = (
    "farmer", "teacher", "river", "train", "garden", "doctor", "village", "letter", "market",
    "child", "boat", "painter", "bridge", "storm", "kitchen", "library", "mountain", "engineer",
    "window", "dog", "orchestra", "harbour", "student", "forest", "lamp", "baker", "road", "cat",
    "sailor", "museum", "clock", "neighbour", "meadow", "engine", "owl", "castle", "festival",
)  # fmt: skip
VERBS = (
    "watched", "repaired", "crossed", "painted", "found", "carried", "followed", "described",
    "opened", "visited", "measured", "photographed", "cleaned", "remembered", "passed", "built",
    "sold", "explored", "guarded", "studied", "ignored", "greeted", "moved", "lit", "wrote about",
)  # fmt: skip
PLACES = (
    "near the station", "after the rain", "before dawn", "in the valley", "by the old mill",
    "during the winter", "at the edge of town", "under a grey sky", "on the far shore",
    "behind the school", "in the morning light", "across the square", "beside the lake",
    "on a long afternoon", "at the harbour wall", "in the back room", "along the canal",
    "before the holidays", "past midnight", "on the hill road",
)  # fmt: skip
ADVERBS = ("slowly", "again", "quickly", "at last", "once more", "with care", "in silence", "")


def sentence(rng: random.Random) -> str:
    adverb = rng.choice(ADVERBS)
    words = [
        rng.choice(DETERMINERS),
        rng.choice(ADJECTIVES),
        rng.choice(NOUNS),
        rng.choice(VERBS),
        rng.choice(DETERMINERS),
        rng.choice(ADJECTIVES),
        rng.choice(NOUNS),
        rng.choice(PLACES),
    ] + ([adverb] if adverb else [])
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def write_collection(root: Path, n: int, rng: random.Random) -> list[Path]:
    """N files with distinct contents (a duplicate would be embedded once and skew the counts)."""
    seen: set[str] = set()
    paths = []
    for number in range(n):
        folder = root / f"d{number % FOLDERS:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            text = " ".join(sentence(rng) for _ in range(rng.choice((1, 2))))
            if text not in seen:
                seen.add(text)
                break
        path = folder / f"note{number:06d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def modify(paths: list[Path], rng: random.Random) -> None:
    """Append a sentence: size and mtime both change, as an edit does."""
    for path in paths:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(sentence(rng) + "\n")


class Stages:
    """Progress callback that splits a run into scan / ingest / embed / index / finish.

    A stage ends at its last progress call; the next stage's time runs from there to its own last
    call (so `embed` includes loading the encoder set and finding what lacks a vector).
    """

    ORDER = ("scan", "ingest", "embed", "index")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.last[stage] = time.perf_counter()

    def split(self, end: float) -> dict[str, float]:
        spans, previous = {}, self.start
        for stage in self.ORDER:
            if stage in self.last:
                spans[stage] = self.last[stage] - previous
                previous = self.last[stage]
        spans["finish"] = end - previous
        return spans


def timed_update(store_dir: Path, root: Path) -> tuple[float, UpdateSummary, dict[str, float]]:
    stages = Stages()
    summary = update(Store.open(store_dir), [root], progress=stages)
    end = time.perf_counter()
    return end - stages.start, summary, stages.split(end)


def counters(summary: UpdateSummary) -> str:
    ing, emb = summary.ingest, summary.embed
    index = "; ".join(
        f"{r.space} +{r.added} -{r.deleted}{' rebuilt' if r.rebuilt else ''}"
        for r in summary.index
        if r.size or r.added or r.deleted
    )
    return (
        f"scanned {ing.scanned}, added {ing.added}, changed {ing.changed}, "
        f"unchanged {ing.unchanged}, deleted {ing.deleted}, failed {summary.failed}; "
        f"embedded {sum(emb.embedded.values())}; index {index or 'untouched'}"
    )


def stage_line(spans: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.3f}" for name, seconds in spans.items())


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "crossmodal"
    if script.is_file():
        return [str(script)]
    found = shutil.which("crossmodal")
    return [found] if found else [sys.executable, "-m", "crossmodal"]


LIBRARY_PROBE = """
import sys
from pathlib import Path
from crossmodal.pipeline import update
from crossmodal.store import Store
update(Store.open(sys.argv[1]), [Path(sys.argv[2])])
"""
CLI_PROBE = """
import sys
from cli.main import run
sys.argv = ["crossmodal", "update", sys.argv[2], "--store", sys.argv[1], "--quiet"]
run()
"""
REPORT_AT_EXIT = """
import atexit, json, sys, time
_started = time.perf_counter()
atexit.register(lambda: print(json.dumps({{"seconds": time.perf_counter() - _started,
    "heavy": [m for m in {heavy!r} if m in sys.modules]}})))
"""


def import_probe(
    code: str, store_dir: Path, root: Path
) -> tuple[dict[str, Any], list[tuple[float, str]]]:
    """A no-op update in a fresh interpreter: heavy modules imported, and top imports by time."""
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            REPORT_AT_EXIT.format(heavy=HEAVY_MODULES) + code,
        ]
        + [str(store_dir), str(root)],
        capture_output=True,
        text=True,
        cwd=store_dir.parent,  # `-c` puts the working folder first on sys.path: use the installed package
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    if done.returncode:
        sys.exit(f"import probe failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    top: list[tuple[float, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  ") and name.strip():  # top-level imports only
            top.append((int(cumulative) / 1e6, name.strip()))
    return report, sorted(top, reverse=True)[:5]


def machine_line() -> str:
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return (
        f"date {datetime.datetime.now().isoformat(timespec='seconds')}; "
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"cpu_count {os.cpu_count()}, python {platform.python_version()}"
        + (f", commit {commit}" if commit else "")
        + f"; crossmodal from {Path(crossmodal.__file__).parent}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="text files (default 10000)")
    parser.add_argument("--changes", type=int, default=100, help="files changed (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="no-op runs, median (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if args.files < 2 * args.changes:
        parser.error("--files must be at least twice --changes (two disjoint sets change)")

    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-update-"))
    root, store_dir = work / "files", work / "store"
    rng = random.Random(SEED)
    try:
        t0 = time.perf_counter()
        paths = write_collection(root, args.files, rng)
        print(
            f"wrote {len(paths)} files in {FOLDERS} folders under {root} ({time.perf_counter() - t0:.1f} s)"
        )
        Store.open_or_create(store_dir)

        full, full_summary, full_spans = timed_update(store_dir, root)
        print(f"\n1. full index (first update, in-process): {full:.2f} s")
        print(f"   {counters(full_summary)}")
        print(f"   stages s: {stage_line(full_spans)}")

        runs = [timed_update(store_dir, root) for _ in range(args.repeat)]
        noop = statistics.median(seconds for seconds, _, _ in runs)
        print(
            f"\n2. no-op update, in-process: median {noop:.3f} s of {[round(r[0], 3) for r in runs]}"
        )
        print(f"   {counters(runs[0][1])}")
        print(
            f"   stages s (median run): {stage_line(sorted(runs, key=lambda r: r[0])[len(runs) // 2][2])}"
        )

        command = cli_command() + ["update", str(root), "--store", str(store_dir)]
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        cli_times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(command + ["--quiet"], check=True, env=env)
            cli_times.append(time.perf_counter() - t0)
        cli_noop = statistics.median(cli_times)
        cli_json = json.loads(
            subprocess.run(
                command + ["--json"], check=True, env=env, capture_output=True, text=True
            ).stdout
        )
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare_python = time.perf_counter() - t0
        print(
            f"\n3. no-op update, fresh CLI process: median {cli_noop:.3f} s of "
            f"{[round(t, 3) for t in cli_times]} (bare `python -c pass`: {bare_python:.3f} s)"
        )
        ci, ce = cli_json["ingest"], cli_json["embed"]
        print(
            f"   --json run: changed {ci['changed']}, unchanged {ci['unchanged']}, "
            f"embedded {sum(ce['embedded'].values())}, index added "
            f"{sum(r['added'] for r in cli_json['index'])}, "
            f"rebuilt {any(r['rebuilt'] for r in cli_json['index'])}"
        )

        picked = rng.sample(paths, 2 * args.changes)  # two disjoint sets of files to edit
        changed_a, changed_b = picked[: args.changes], picked[args.changes :]
        modify(changed_a, rng)
        t0 = time.perf_counter()
        detected = ingest(Store.open(store_dir), [root])
        detect = time.perf_counter() - t0
        print(
            f"\n4a. detect {args.changes} changed among {args.files} (ingest alone, in-process): {detect:.3f} s"
        )
        print(
            f"   changed {detected.changed}, unchanged {detected.unchanged}, added {detected.added}, "
            f"deleted {detected.deleted}, failed {detected.failed}"
        )
        settle, settle_summary, _ = timed_update(store_dir, root)  # embed those, untimed in table
        print(f"   (settling update embeds them: {settle:.2f} s; {counters(settle_summary)})")

        modify(changed_b, rng)
        changed_update, changed_summary, changed_spans = timed_update(store_dir, root)
        print(
            f"\n4b. update after {args.changes} other files changed (detect + embed + index): {changed_update:.3f} s"
        )
        print(f"   {counters(changed_summary)}")
        print(f"   stages s: {stage_line(changed_spans)}")

        print("\n5. a no-op update in a fresh interpreter (imports included):")
        for label, code in (("library update()", LIBRARY_PROBE), ("CLI update --quiet", CLI_PROBE)):
            probe, top = import_probe(code, store_dir, root)
            heavy = probe["heavy"]
            print(
                f"   {label}: {probe['seconds']:.3f} s; torch {'YES' if 'torch' in heavy else 'no'}, "
                f"sentence_transformers {'YES' if 'sentence_transformers' in heavy else 'no'}; "
                f"heavy modules imported: {', '.join(heavy) or 'none'}"
            )
            print("     top imports (cumulative s): " + ", ".join(f"{n} {t:.3f}" for t, n in top))

        noop_ok = (
            all(
                sum(s.embed.embedded.values()) == 0
                and s.ingest.changed == 0
                and s.ingest.unchanged == args.files
                and not any(r.added or r.deleted or r.restored or r.rebuilt for r in s.index)
                for _, s, _ in runs
            )
            and sum(ce["embedded"].values()) == 0
            and ci["unchanged"] == args.files
        )
        changes_ok = (
            detected.changed == args.changes
            and changed_summary.ingest.changed == args.changes
            and sum(changed_summary.embed.embedded.values()) == args.changes
        )
        print(
            f"\nchecks: no-op touched nothing: {'ok' if noop_ok else 'FAILED'}; "
            f"exactly {args.changes} changed detected and embedded: {'ok' if changes_ok else 'FAILED'}"
        )

        print(f"\n{'step':<44} {'seconds':>9} {'% of full':>10} {'speed-up':>9}")
        rows = [
            ("full index (first update, in-process)", full),
            ("no-op update, in-process (median)", noop),
            ("no-op update, CLI process (median)", cli_noop),
            (f"detect {args.changes} changes (ingest only)", detect),
            (f"update with {args.changes} changes", changed_update),
        ]
        for name, seconds in rows:
            print(
                f"{name:<44} {seconds:>9.3f} {100 * seconds / full:>9.2f}% {full / seconds:>8.1f}x"
            )
        if not (noop_ok and changes_ok):
            sys.exit(1)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
