"""A folder of N real text documents, copied from text that is already on this machine.

Sources, with their share of the corpus (a short source's shortfall is filled with Python source):
  man      20%  English man pages (/usr/share/man/man1-8), rendered to plain text by `man -l`
                (MANWIDTH=80): command and library manuals, mostly long;
  cmake    15%  CMake's reStructuredText manual (/usr/share/cmake-*/Help);
  debian   20%  /usr/share/doc: Debian changelogs and NEWS (gzip, decompressed), copyright files,
                READMEs;
  awscli   10%  the AWS CLI's command reference (.rst in the pyenv Python's awscli package);
  pydocs   10%  Python package documentation: dist-info METADATA (the project's README), licences,
                and .md/.rst/.txt files in site-packages;
  python   25%  Python source with its docstrings and comments (the pyenv standard library and
                site-packages).
Within a source, files are taken in an order fixed by a hash of their path, so the same machine
gives the same corpus. A file is kept when it is UTF-8 plain text that crossmodal reads as plain
text whatever the suffix (`sniff_head(head, ".txt") == ("text", "utf-8")`: not HTML, e-mail
headers or binary), has at least 200 characters, at most 1,000,000 bytes (crossmodal's read
cap), and its text differs from every other kept file's (both tools skip duplicate contents).
Each is written as SOURCE/NNNNN-NAME.txt (DIR.origin.json names its original), so both tools find every file by one glob,
`**/*.txt`. A long document is kept whole: crossmodal splits it into passages of ~1,000
characters (at most 32), while a sentence encoder given the whole file reads its first 256 word
pieces.

Usage: python bench/text_corpus.py DIR [--files 10000]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crossmodal.media.sniff import sniff_head
from crossmodal.media.text import TEXT_MAX_CHUNKS, passage_spans

MIN_CHARS = 200
MAX_BYTES = 1_000_000
PYENV = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
MAIN_SITE = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages"
SHARES = {"man": 20, "cmake": 15, "debian": 20, "awscli": 10, "pydocs": 10, "python": 25}
ORIGIN_SUFFIX = ".origin.json"  # beside the folder, not in it: only the documents are indexed


def _ordered(paths: Iterator[Path]) -> list[Path]:
    """Regular files (no links) in an order fixed by a hash of the path."""
    unique = {p for p in paths if p.is_file() and not p.is_symlink()}
    return sorted(unique, key=lambda p: hashlib.sha1(str(p).encode()).hexdigest())


def _files(root: Path, pattern: str) -> Iterator[Path]:
    return root.glob(pattern) if root.is_dir() else iter(())


def candidates() -> dict[str, list[Path]]:
    cmake_help = sorted(Path("/usr/share").glob("cmake-*/Help"))
    doc = Path("/usr/share/doc")
    debian_names = re.compile(r"^(changelog.*\.gz|NEWS.*|copyright|README.*|AUTHORS.*|TODO.*)$")
    sites = [PYENV / "site-packages", MAIN_SITE]
    return {
        "man": _ordered(
            p for n in range(1, 9) for p in _files(Path("/usr/share/man"), f"man{n}/*")
        ),
        "cmake": _ordered(p for h in cmake_help for p in h.rglob("*.rst")),
        "debian": _ordered(p for p in _files(doc, "**/*") if debian_names.match(p.name)),
        "awscli": _ordered(_files(PYENV / "site-packages/awscli", "**/*.rst")),
        "pydocs": _ordered(
            p
            for site in sites
            for pattern in (
                "*.dist-info/METADATA",
                "*.dist-info/LICENSE*",
                "*.dist-info/licenses/*",
                "**/*.md",
                "**/*.rst",
                "**/*.txt",
            )  # fmt: skip
            for p in _files(site, pattern)
            if "awscli" not in p.parts  # a source of its own
        ),
        "python": _ordered(
            p
            for root in [PYENV, MAIN_SITE]
            for p in _files(root, "**/*.py")
            if "test" not in p.name
        ),
    }


def _render_man(path: Path) -> bytes:
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
    done = subprocess.run(
        ["nice", "-n", "19", "man", "-l", "-E", "UTF-8", str(path)],
        capture_output=True,
        env=env,
        timeout=60,
    )
    return done.stdout if done.returncode == 0 else b""


def _read(source: str, path: Path) -> bytes:
    if source == "man":
        return _render_man(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw


def _usable(raw: bytes) -> str | None:
    if not raw or len(raw) > MAX_BYTES or sniff_head(raw[:8192], ".txt") != ("text", "utf-8"):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if len(text.strip()) >= MIN_CHARS else None


def _safe_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name.removesuffix(".gz"))[:60]
    return name or "file"


def build(root: Path, files: int, log: Callable[[str], None] = print) -> list[Path]:
    """Write the corpus under `root` (which must not exist yet); returns the written paths. It is
    written beside, then renamed: an interrupted build leaves no folder that looks complete."""
    final, root = root, root.with_name(root.name + ".partial")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pools = candidates()
    quotas = {source: files * share // 100 for source, share in SHARES.items()}
    quotas["python"] += files - sum(quotas.values())
    seen: set[bytes] = set()
    written: list[Path] = []
    origin: list[dict[str, str]] = []
    shortfall = 0
    for source in list(SHARES):
        want = quotas[source] + (shortfall if source == "python" else 0)
        pool, taken = pools[source], 0
        # Man pages render in a subprocess each: two at a time, in the pool's order.
        reader = ThreadPoolExecutor(2) if source == "man" else None
        chunk = 64
        for start in range(0, len(pool), chunk):
            if taken >= want:
                break
            part = pool[start : start + chunk]
            raws = (
                list(reader.map(_safe_read, [source] * len(part), part))
                if reader
                else [_safe_read(source, p) for p in part]
            )
            for path, raw in zip(part, raws, strict=True):
                if taken >= want:
                    break
                text = _usable(raw)
                digest = hashlib.sha1(text.encode()).digest() if text else b""
                if text is None or digest in seen:
                    continue
                seen.add(digest)
                out = root / source / f"{len(written):05d}-{_safe_name(path)}.txt"
                out.parent.mkdir(exist_ok=True)
                out.write_text(text, encoding="utf-8")
                written.append(out)
                origin.append({"file": str(out.relative_to(root)), "from": str(path)})
                taken += 1
        if reader:
            reader.shutdown()
        log(f"  {source}: {taken} of {want} wanted ({len(pool)} candidates)")
        if source != "python":
            shortfall += want - taken
    if len(written) < files:
        log(f"  only {len(written)} usable files found (wanted {files})")
    origin_file(final).write_text(json.dumps(origin, indent=0) + "\n", encoding="utf-8")
    root.rename(final)
    return [final / p.relative_to(root) for p in written]


def _safe_read(source: str, path: Path) -> bytes:
    try:
        return _read(source, path)
    except (OSError, EOFError, subprocess.SubprocessError, gzip.BadGzipFile):
        return b""


def origin_file(root: Path) -> Path:
    """Which file each document was copied from."""
    return root.with_name(root.name + ORIGIN_SUFFIX)


def corpus_files(root: Path) -> list[Path]:
    return sorted(root.glob("**/*.txt"))


def describe(root: Path, tokenizer_json: Path | None = None) -> dict[str, float]:
    """Files, MB, chars (mean/median/max), crossmodal's passages, and how many documents are
    longer than MiniLM's 256-word-piece window (when a tokenizer file is given)."""
    paths = corpus_files(root)
    texts = [p.read_text(encoding="utf-8") for p in paths]
    chars = [len(t) for t in texts]
    pieces = [len(passage_spans(t)) for t in texts]
    stats: dict[str, float] = {
        "files": len(paths),
        "mb": sum(p.stat().st_size for p in paths) / 1e6,
        "mean_chars": statistics.fmean(chars),
        "median_chars": statistics.median(chars),
        "max_chars": max(chars),
        "passages": sum(pieces),
        "multi_passage_docs": sum(1 for n in pieces if n > 1),
        "capped_docs": sum(1 for n in pieces if n == TEXT_MAX_CHUNKS),
    }
    if tokenizer_json and tokenizer_json.is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_json))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        heads = [t[:6000] for t in texts]  # enough to tell whether a text passes 256 word pieces
        lengths = [len(e.ids) for e in tokenizer.encode_batch(heads)]
        stats["over_256_tokens"] = sum(1 for n in lengths if n > 256)
    return stats


def stats_line(stats: dict[str, float]) -> str:
    line = (
        f"{stats['files']:.0f} files, {stats['mb']:.1f} MB, chars mean {stats['mean_chars']:,.0f} / "
        f"median {stats['median_chars']:,.0f} / max {stats['max_chars']:,.0f}; crossmodal "
        f"passages {stats['passages']:,.0f} ({stats['multi_passage_docs']:,.0f} documents of "
        f"several, {stats['capped_docs']:,.0f} cut at 32)"
    )
    if "over_256_tokens" in stats:
        line += (
            f"; {stats['over_256_tokens']:,.0f} documents "
            f"({100 * stats['over_256_tokens'] / stats['files']:.0f}%) exceed MiniLM's "
            "256 word pieces (a whole-file embedding reads only their beginning)"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    if args.dir.exists():
        sys.exit(f"{args.dir} exists")
    build(args.dir, args.files)
    print(stats_line(describe(args.dir)))


if __name__ == "__main__":
    main()
