"""Files the user asks for (--html, gallery -o, --log) never land in the store folder or over a
file crossmodal did not write (without --force), and a log event is always one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal.outputs import PAGE_MARK
from crossmodal.pipeline import update
from crossmodal.store import Store

runner = CliRunner()


@pytest.fixture
def indexed(fake_store: Store, collection: Path) -> Store:
    update(fake_store, [collection])
    return fake_store


def _still_sound(store: Store) -> None:
    result = runner.invoke(app, ["search", "red", "--store", str(store.root), "--json"])
    assert result.exit_code == 0 and '"results"' in result.stdout, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["gallery", "-o", "{store}/catalog.sqlite"],
        ["gallery", "-o", "{store}/indexes/new.html"],
        ["search", "red", "--html", "{store}/settings.json"],
        ["recommend", "--prefer", "red", "--html", "{store}/page.html"],
        ["update", "--log", "{store}/catalog.sqlite"],
        ["update", "--log", "{store}/catalog.sqlite", "--force"],  # --force never reaches in
    ],
)
def test_no_output_lands_in_the_store(indexed: Store, args: list[str]) -> None:
    before = {p: p.read_bytes() for p in indexed.root.rglob("*") if p.is_file()}
    argv = [a.format(store=indexed.root) for a in args]
    result = runner.invoke(app, [*argv, "--store", str(indexed.root)])
    assert result.exit_code == 1, result.output
    assert "is inside the store folder" in result.stderr and result.stderr.count("\n") == 1
    after = {p: p.read_bytes() for p in indexed.root.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    assert after[indexed.catalog_path] == before[indexed.catalog_path]
    _still_sound(indexed)


def test_a_link_into_the_store_is_refused_too(indexed: Store, tmp_path: Path) -> None:
    link = tmp_path / "innocent.html"
    link.symlink_to(indexed.catalog_path)
    result = runner.invoke(app, ["gallery", "-o", str(link), "--store", str(indexed.root)])
    assert result.exit_code == 1 and "inside the store folder" in result.stderr
    _still_sound(indexed)


def test_a_page_replaces_only_its_own_files(indexed: Store, tmp_path: Path) -> None:
    notes = tmp_path / "notes.html"
    notes.write_text("<html>my own notes</html>")
    args = ["gallery", "-o", str(notes), "--store", str(indexed.root)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "pass --force" in refused.stderr
    assert notes.read_text() == "<html>my own notes</html>"
    ours = tmp_path / "gallery.html"
    assert (
        runner.invoke(app, ["gallery", "-o", str(ours), "--store", str(indexed.root)]).exit_code
        == 0
    )
    assert PAGE_MARK in ours.read_text()
    again = runner.invoke(app, ["gallery", "-o", str(ours), "--store", str(indexed.root)])
    assert again.exit_code == 0, again.output  # a page of ours is replaced as is
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0 and PAGE_MARK in notes.read_text()


def test_a_log_appends_only_to_its_own_files(indexed: Store, tmp_path: Path) -> None:
    store = ["--store", str(indexed.root)]
    diary = tmp_path / "diary.txt"
    diary.write_text("dear diary\n")
    refused = runner.invoke(app, ["update", "--log", str(diary), *store])
    assert refused.exit_code == 1 and "pass --force" in refused.stderr
    assert diary.read_text() == "dear diary\n"
    log = tmp_path / "cm.log"
    log.touch()  # an empty file made for the log
    for _ in range(2):  # then a file of our own lines
        assert runner.invoke(app, ["update", "--log", str(log), *store]).exit_code == 0
    assert len(log.read_text().splitlines()) == 2
    forced = runner.invoke(app, ["update", "--log", str(diary), "--force", *store])
    assert forced.exit_code == 0 and diary.read_text().startswith("dear diary\n")


def test_one_event_is_one_log_line(fake_store: Store, collection: Path, tmp_path: Path) -> None:
    odd = collection / "photos" / "broken\nFORGED 2026-01-01T00:00:00+00:00 all good.jpg"
    odd.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    log = tmp_path / "cm.log"
    result = runner.invoke(
        app, ["update", str(collection), "--store", str(fake_store.root), "--log", str(log)]
    )
    assert result.exit_code == 3
    lines = log.read_text().splitlines()
    assert len(lines) == 2  # the run and its one failed file
    assert "broken\\nFORGED" in lines[1] and not any(line.startswith("FORGED") for line in lines)
    assert os.path.exists(odd)


def test_a_fifo_no_one_reads_is_an_error_not_a_hang(indexed: Store, tmp_path: Path) -> None:
    """A page or log aimed at a FIFO without a reader used to block in open() for ever (a cron
    `update --log FIFO` never ended): now a page is a one-line error and a log a warning."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    store = ["--store", str(indexed.root)]
    page = runner.invoke(app, ["gallery", "-o", str(fifo), *store, "--force"])
    assert page.exit_code == 1
    assert (
        page.stderr.strip()
        == f"crossmodal: error: cannot write {fifo}: no process is reading it (a FIFO)"
    )
    logged = runner.invoke(app, ["update", *store, "--log", str(fifo), "--force", "--quiet"])
    assert logged.exit_code == 0 and "cannot write log" in logged.stderr
