"""What search and recommend write: HTML pages and tables for file names that are not UTF-8, text
that looks like rich markup, raw path bytes in tsv and paths0, a reader that goes away (a pipe
into head), and options that do not combine with --batch. Fake encoder set: no torch."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli import render
from cli.main import app
from crossmodal.outputs import PAGE_MARK
from crossmodal.store import Store
from tests.conftest import write_image, write_text

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent
NOT_UTF8 = b"caf\xff.png"  # 0xff never occurs in UTF-8


def _bytes_path(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


@pytest.fixture
def odd_store(fake_store: Store, collection: Path) -> Path:
    """The standard collection plus files whose names are not UTF-8 or hold a tab, a newline
    and a backslash."""
    write_image(_bytes_path(collection / "photos", NOT_UTF8), "red")
    write_text(collection / "odd" / "tab\there\nnew\\line.txt", "a red picture of a barn")
    result = runner.invoke(app, ["update", str(collection), "--store", str(fake_store.root)])
    assert result.exit_code == 0, result.output
    return fake_store.root


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables 200 columns wide (CliRunner is no terminal: rich would fold at 80)."""
    monkeypatch.setattr(render, "stdout", Console(highlight=False, soft_wrap=True, width=200))


# 1. --html and gallery with names that are not UTF-8 -----------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "paths", "tsv"])
def test_html_page_of_a_name_that_is_not_utf8(odd_store: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "results.html"
    out.write_text(f"<!doctype html>{PAGE_MARK}<p>an earlier page of ours")  # replaced as is
    args = ["search", "red", "--type", "image", "--store", str(odd_store), "-k", "10"]
    result = runner.invoke(app, [*args, "--html", str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "error" not in result.stderr
    assert f"wrote {out}" in result.stderr
    page = out.read_bytes().decode("utf-8")  # strict: the page is valid UTF-8
    assert page.startswith("<!doctype html>") and "caf\\xff.png" in page
    assert "caf%FF.png" in page  # the link opens the real file
    if fmt == "json":  # results were printed too, before the page was written
        paths = [r["path"] for r in json.loads(result.stdout)["results"]]
        assert any(p.endswith("caf\\xff.png") for p in paths)
    else:
        assert b"caf\\xff.png" in result.stdout_bytes or NOT_UTF8 in result.stdout_bytes
    assert not list(tmp_path.glob(".results.html.*"))  # no temporary file left behind


def test_html_query_image_whose_name_is_not_utf8(odd_store: Path, tmp_path: Path) -> None:
    query = _bytes_path(odd_store.parent / "media" / "photos", NOT_UTF8)
    out = tmp_path / "q.html"
    args = ["search", "--image", str(query), "--store", str(odd_store), "--html", str(out)]
    result = runner.invoke(app, [*args, "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "image: " in out.read_text(encoding="utf-8") and "caf\\xff.png" in result.stdout


def test_gallery_of_a_name_that_is_not_utf8(odd_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "gallery.html"
    result = runner.invoke(app, ["gallery", "--store", str(odd_store), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_bytes().decode("utf-8")
    assert "caf\\xff.png" in page and 'alt="caf\\xff.png"' in page


def test_html_page_keeps_the_file_mode_a_plain_write_gives(odd_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    umask = os.umask(0o022)
    try:
        result = runner.invoke(
            app, ["search", "red", "--store", str(odd_store), "--html", str(out), "--json"]
        )
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o644


# 2. rich markup in queries, passages and explanations -----------------------------------------


def test_table_prints_markup_like_text_literally(odd_store: Path, wide: None) -> None:
    args = ["--store", str(odd_store), "--format", "table"]
    result = runner.invoke(app, ["search", "[/x] picture", *args])
    assert result.exit_code == 0, result.output
    assert "text:[/x] picture" in result.stdout
    none = runner.invoke(app, ["search", "[/x] [bold]zebra", "--min-score", "0.99", *args])
    assert none.exit_code == 0, none.output
    assert "[/x] [bold]zebra: no results" in none.stdout
    passage = runner.invoke(app, ["search", "waves", "--type", "text", *args])
    assert passage.exit_code == 0 and "[chars 10-31] waves on the blue sea" in passage.stdout
    because = runner.invoke(app, ["recommend", "--prefer", "[red]red [/x]picture", *args])
    assert because.exit_code == 0, because.output
    assert "prefer: [red]red [/x]picture" in because.stdout


def test_protocol_previews_print_markup_like_text_literally(odd_store: Path) -> None:
    from crossmodal.query import build_query
    from crossmodal.search import SearchEngine

    hits = SearchEngine(Store.open(odd_store)).search(build_query("waves", type="text", k=1))
    console = Console(file=io.StringIO(), width=200)
    render_stdout, render.stdout = render.stdout, console
    try:
        render.hits_table("[/x] waves", hits, "kitty")
    finally:
        render.stdout = render_stdout
    out = console.file.getvalue()
    assert "[/x] waves" in out and "[chars 10-31] waves" in out


def test_table_title_of_a_query_file_that_is_not_utf8_is_printable(odd_store: Path) -> None:
    console = Console(file=io.StringIO(), width=200)
    render_stdout, render.stdout = render.stdout, console
    try:
        render.hits_table("image:" + os.fsdecode(NOT_UTF8), [])
    finally:
        render.stdout = render_stdout
    out = console.file.getvalue()
    out.encode("utf-8")  # no lone surrogates: a strict UTF-8 terminal can show it
    assert "image:caf\\xff.png: no results" in out


# 3. tsv and paths0 carry the real path bytes ------------------------------------------------------


def test_tsv_writes_real_path_bytes_with_copy_text_escapes(odd_store: Path) -> None:
    args = ["search", "red", "--type", "all", "--store", str(odd_store), "-k", "20"]
    result = runner.invoke(app, [*args, "--format", "tsv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.split(b"\n")
    assert lines[0] == b"rank\tscore\tmodality\tpath" and lines[-1] == b""
    rows = [line.split(b"\t") for line in lines[1:-1]]
    assert all(len(row) == 4 for row in rows)  # a tab or newline in a name never splits a row
    paths = [row[3] for row in rows]
    assert os.fsencode(_bytes_path(odd_store.parent / "media" / "photos", NOT_UTF8)) in paths
    odd = os.fsencode(odd_store.parent / "media" / "odd") + b"/tab\\there\\nnew\\\\line.txt"
    assert odd in paths


def _unescape_tsv(field: bytes) -> bytes:
    """The README's reading rule (PostgreSQL COPY text format)."""
    out, chars = bytearray(), iter(field)
    for byte in chars:
        if byte == ord("\\"):
            byte = {ord("t"): 9, ord("n"): 10, ord("r"): 13}.get(
                following := next(chars), following
            )
        out.append(byte)
    return bytes(out)


def test_paths0_round_trips_a_newline_and_agrees_with_tsv(odd_store: Path) -> None:
    args = ["search", "red", "--type", "all", "--store", str(odd_store), "-k", "20"]
    zero = runner.invoke(app, [*args, "--format", "paths0"])
    assert zero.exit_code == 0, zero.output
    assert zero.stdout_bytes.endswith(b"\0")
    paths = zero.stdout_bytes[:-1].split(b"\0")
    odd = odd_store.parent / "media" / "odd" / "tab\there\nnew\\line.txt"
    assert os.fsencode(odd) in paths and all(Path(os.fsdecode(p)).is_file() for p in paths)
    assert os.fsencode(_bytes_path(odd_store.parent / "media" / "photos", NOT_UTF8)) in paths
    tsv = runner.invoke(app, [*args, "--format", "tsv"]).stdout_bytes.split(b"\n")[1:-1]
    assert [_unescape_tsv(line.split(b"\t")[3]) for line in tsv] == paths
    liked = str(odd_store.parent / "media" / "notes" / "red.txt")
    rec = runner.invoke(
        app, ["recommend", "--like", liked, "--store", str(odd_store), "--format", "paths0"]
    )
    assert rec.exit_code == 0 and rec.stdout_bytes.endswith(b"\0")
    assert all(Path(os.fsdecode(p)).is_file() for p in rec.stdout_bytes[:-1].split(b"\0"))


# 4. a reader that goes away ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["paths", "paths0", "tsv", "json", "ndjson", "table"])
def test_closed_pipe_exits_141_quietly(odd_store: Path, fmt: str) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first result is written
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.fakecli", "search", "red", "--type", "all"]
            + ["--format", fmt, "--store", str(odd_store)],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == b"ready\n"  # fakecli's own line, then nothing: no error, no traceback
    assert done.returncode == 141


def test_pipe_into_head_prints_no_error(odd_store: Path) -> None:
    command = (
        f"{sys.executable} -m tests.fakecli search red --type all -k 20 --format paths "
        f"--store '{odd_store}' 2>err | head -c1 >/dev/null; cat err"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        ["sh", "-c", command], cwd=odd_store.parent, env=env, capture_output=True, timeout=60
    )
    assert done.stdout == b"ready\n", done.stdout


# 5.-6. recommend warnings, --batch with per-query options ------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "paths", "paths0", "tsv"])
def test_recommend_warns_about_unknown_history_in_every_format(
    odd_store: Path, tmp_path: Path, fmt: str
) -> None:
    history = tmp_path / "h.txt"
    history.write_text(str(odd_store.parent / "media" / "notes" / "red.txt") + "\n/not/here.png\n")
    args = ["recommend", "--history", str(history), "--store", str(odd_store), "--format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "not in store (ignored): /not/here.png" in result.stderr
    assert "not in store" not in result.stdout


@pytest.mark.parametrize(
    "extra", [["--format", "json"], ["--format", "ndjson"], ["--format", "tsv"], ["--preview"]]
)
def test_batch_with_per_query_output_options_is_a_one_line_error(
    odd_store: Path, extra: list[str]
) -> None:
    args = ["search", "--batch", "-", "--store", str(odd_store), *extra]
    result = runner.invoke(app, args, input='{"text": "red"}\n')
    assert result.exit_code == 1, result.output
    assert "--batch" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and "Traceback" not in result.output


def test_batch_still_accepts_json(odd_store: Path) -> None:
    args = ["search", "--batch", "-", "--store", str(odd_store), "--json"]
    result = runner.invoke(app, args, input='{"text": "red"}\n')
    assert result.exit_code == 0 and json.loads(result.stdout)["results"]


def test_escape_sequences_from_files_never_reach_the_terminal(
    fake_store: Store, collection: Path
) -> None:
    """A file name, a tag and a document holding ESC ]8 (a spoofed link), ESC [2J (clear the
    screen) and ESC ]0 (window title): tables, stats and update's failure lines show them
    escaped; paths output keeps the exact bytes."""
    import numpy as np
    import soundfile as sf

    from .conftest import write_image

    evil = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\x1b[2J\x1b]0;owned\x07"
    named = evil.replace("/", "")  # a file name cannot hold "/"
    photos = collection / "photos"
    write_image(photos / f"red{named}.png", "red")
    (collection / "notes" / "evil.txt").write_text(
        f"{evil} a red note about red. " * 1 + "red " * 600
    )
    tone = (0.2 * np.sin(np.arange(22050) / 5)).astype(np.float32)
    with sf.SoundFile(collection / "sounds" / "tagged.flac", "w", 22050, 1, format="FLAC") as f:
        f.title = f"red song {evil}"
        f.write(tone)
    (photos / f"broken{named}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    store = ["--store", str(fake_store.root)]
    updated = runner.invoke(app, ["update", str(collection), *store])
    assert updated.exit_code == 3, updated.output
    outputs = [updated.output]
    for args in (
        ["search", "red", "--type", "all", "--format", "table", "-k", "20"],
        ["stats"],
        ["recommend", "--prefer", "red", "--format", "table"],
    ):
        result = runner.invoke(app, [*args, *store])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text, text
    assert "broken\\x1b]8;;http:evil.example\\x1b\\click" in updated.output  # the failure line
    assert "\\x1b" in outputs[1]  # the table shows the escapes (of the name, tag, snippet)
    found = runner.invoke(app, ["search", "red", "--type", "all", "--format", "paths", *store])
    assert f"red{named}.png".encode() in found.stdout_bytes  # the exact name, for scripts
