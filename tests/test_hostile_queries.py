"""Unbounded or mistyped query input (issue 16, classes 5, 6, 10, 11): a bad --batch line gets
its own error object and the batch goes on; numbers out of range, text that is not Unicode,
special files and over-long queries are one-line errors, never an internal error or a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal.pipeline import update
from crossmodal.store import Store

runner = CliRunner()


@pytest.fixture
def indexed(fake_store: Store, collection: Path) -> Store:
    update(fake_store, [collection])
    return fake_store


BAD_LINES = [
    '{"id": "a", "text": "red", "after": 1717200000}',
    '{"id": "b", "text": "red", "k": 1e400}',
    '{"id": "c", "text": "red", "k": 100000000}',
    '{"id": "d", "text": "red", "min_size": "nan"}',
    '{"id": "e", "text": "red", "min_duration": true}',
    '{"id": "f", "text": "\\ud800 red"}',
    "[" * 100_000,
    '{"id": "h", "text": "red", "type": 5}',
    '{"id": "i", "text": "red", "min_score": NaN}',
    '{"id": "j", "text": "red", "before": "2024-13-45"}',
    '{"id": "k", "text": "red", "k": "3"}',
]


def test_each_bad_batch_line_gets_an_error_and_the_batch_goes_on(indexed: Store) -> None:
    lines = ['{"id": "first", "text": "red"}', *BAD_LINES, '{"id": "last", "text": "blue"}']
    result = runner.invoke(
        app, ["search", "--batch", "-", "--store", str(indexed.root)], input="\n".join(lines)
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(lines)
    assert answers[0]["results"] and answers[-1]["results"]
    for answer in answers[1:-1]:
        assert "error" in answer and "internal" not in answer["error"], answer
        assert "Error:" not in answer["error"], answer  # a user error, not a library's
    assert "nested too deep" in answers[7]["error"] or "not JSON" in answers[7]["error"]


def test_an_endless_batch_input_ends(indexed: Store) -> None:
    """`--batch /dev/zero`: refused as a device at once (it was killed for memory)."""
    result = runner.invoke(app, ["search", "--batch", "/dev/zero", "--store", str(indexed.root)])
    assert result.exit_code == 1 and "not a regular file" in result.stderr


def test_an_overlong_line_is_an_error_and_the_next_line_is_read(indexed: Store) -> None:
    text = "x" * (2 << 20) + '\n{"id": "after", "text": "red"}\n'
    result = runner.invoke(
        app, ["search", "--batch", "-", "--store", str(indexed.root)], input=text
    )
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["error"].startswith("line is over") and answers[1]["id"] == "after"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "red", "-k", "0"], "-k must be"),
        (["search", "red", "-k", "99999999"], "-k must be"),
        (["search", "red", "--min-size", "nan"], "--min-size takes a size"),
        (["search", "red", "--min-size", "1e400"], "--min-size takes a size"),
        (["search", "red", "--min-duration", "nan"], "--min-duration must be"),
        (["search", "red", "--min-score", "inf"], "--min-score must be"),
        (["search", "red", "--min-relative", "nan"], "--min-relative"),
        (["search", "red", "--after", "99999-01-01"], "--after takes a date"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors(
    indexed: Store, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*args, "--store", str(indexed.root)])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_query_too_long_for_a_path_is_text(indexed: Store) -> None:
    long_query = "a red picture of something " * 20  # 540 bytes: not a file name
    result = runner.invoke(app, ["search", long_query, "--store", str(indexed.root), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["query"]["parts"][0]["modality"] == "text"


def test_a_non_utf8_argument_is_a_one_line_error(indexed: Store) -> None:
    """A command-line argument that is not UTF-8 reaches Python with surrogate escapes."""
    argument = os.fsdecode(b"caf\xe9 red")  # what sys.argv holds for those bytes
    result = runner.invoke(app, ["search", argument, "--store", str(indexed.root)])
    assert result.exit_code == 1, result.output
    assert "not valid Unicode" in result.stderr and "internal error" not in result.stderr


def test_a_fifo_query_file_is_refused_without_blocking(indexed: Store, tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    for args in (["search", "--image", str(fifo)], ["search", str(fifo)]):
        result = runner.invoke(app, [*args, "--store", str(indexed.root)])
        assert result.exit_code == 1 and "FIFO" in result.stderr, result.output


@pytest.mark.parametrize("command", ["recommend --history", "eval"])
def test_input_files_that_never_end_or_block_are_refused(
    indexed: Store, tmp_path: Path, command: str
) -> None:
    fifo = tmp_path / "seen.txt"
    os.mkfifo(fifo)
    for source in ("/dev/zero", str(fifo)):
        args = [*command.split(), source] if command == "eval" else [*command.split(), source]
        result = runner.invoke(app, [*args, "--store", str(indexed.root)])
        assert result.exit_code == 1 and "not a regular file" in result.stderr, result.output


def test_labels_nested_too_deep_are_one_line(indexed: Store, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text("[" * 100_000 + "\n")
    result = runner.invoke(app, ["eval", str(labels), "--store", str(indexed.root)])
    assert result.exit_code == 1 and "bad labelled query" in result.stderr, result.output


def test_a_search_after_embed_without_index_answers(fake_store: Store, collection: Path) -> None:
    from crossmodal.pipeline import embed, ingest

    ingest(fake_store, [collection])
    embed(fake_store)  # no index run
    result = runner.invoke(app, ["search", "red", "--store", str(fake_store.root), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"]  # found exactly, not an unexplained []
