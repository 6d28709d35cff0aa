"""What an adversarial test of the library face and the CLI found (issue 17's review): a Python
caller's wrong type is a one-line UserError and a lone string is one item, never its letters;
--batch refuses per-query flags and writes valid JSON for any id; eval's labelled lines are
checked field by field; check reports a lost catalog."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal import Store
from crossmodal.errors import UserError
from crossmodal.store import Store as StoreFolder

runner = CliRunner()


@pytest.fixture
def library(fake_store: StoreFolder, collection: Path) -> Store:
    with Store.open(fake_store.root) as store:
        store.update([collection])
        yield store


def names(hits: list) -> list[str]:
    return [Path(hit.item.path).name for hit in hits]


def test_a_lone_string_is_one_item(library: Store, collection: Path) -> None:
    assert names(library.search(texts="red picture", type="image", k=1)) == ["a.png"]
    as_list = library.search(texts=["red picture"], negatives=["blue"], type="image")
    assert names(library.search(texts="red picture", negatives="blue", type="image")) == names(
        as_list
    )
    liked = str(collection / "photos" / "a.png")
    one = library.recommend(like=liked, prefer="blue sea", type="image", k=2)
    assert one.profile["likes"] == [liked] and one.profile["prefer"] == ["blue sea"]
    under = library.search("red", type="text", filters={"under": str(collection / "notes")})
    assert names(under) and all(
        hit.item.path.startswith(str(collection / "notes")) for hit in under
    )
    assert names(library.search("sea", type="text", filters={"glob": "*.md"})) == ["sea.md"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.search("red", texts=5),
            "texts takes a string or a list of strings, not int 5",
        ),
        (lambda s: s.search("red", k="3"), "k must be a whole number, not str '3'"),
        (lambda s: s.search("red", min_score="high"), "min_score must be a finite number"),
        (lambda s: s.search("red", min_score=math.nan), "min_score must be a finite number"),
        (
            lambda s: s.search("red", weights=(1, 0.5)),
            "weights takes a dict or a (text, image, audio) triple",
        ),
        (
            lambda s: s.search("red", weights={"smell": 1}),
            "weights are for text, image and audio, not smell",
        ),
        (lambda s: s.search("red", filters={"colour": "red"}), "unknown filter: colour"),
        (lambda s: s.search("red", filters=["*.md"]), "filters takes a Filters or a dict"),
        (
            lambda s: s.search("red", filters={"min_duration": "long"}),
            "min_duration must be a finite number",
        ),
        (lambda s: s.search(42), "query must be a string, not int 42"),
        (lambda s: s.search("red", type=["image"]), "type must be a string"),
        (lambda s: s.recommend(like=[3]), "like takes a string or a list of strings"),
        (lambda s: s.recommend(like="x", k="3"), "k must be a whole number"),
        (lambda s: s.recommend(like="x", diversity="some"), "diversity must be a finite number"),
        (lambda s: list(s.batch("requests.jsonl")), "batch reads a binary stream"),
        (lambda s: list(s.batch(io.StringIO('{"text": "red"}\n'))), "batch reads a binary stream"),
        (lambda s: s.evaluate(["q.jsonl"]), "queries is a file path, not list"),
        (lambda s: s.update(paths=3), "paths takes a string or a list of strings"),
    ],
)
def test_wrong_types_are_one_line_user_errors(library: Store, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError) as raised:
        call(library)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_store_open_checks_its_arguments(library: Store) -> None:
    with pytest.raises(UserError, match="a store is a folder path, not int"):
        Store.open(5)
    with pytest.raises(UserError, match="models takes a string or a list of strings"):
        Store.open(library.root, models=7)
    with Store.open(library.root, models="fake") as one:  # one model, not four letters
        assert names(one.search("red picture", type="image", k=1)) == ["a.png"]


def test_a_batch_id_that_json_cannot_hold_is_an_error_with_the_line_number(
    library: Store,
) -> None:
    lines = b'{"id": 1e400, "text": "red"}\n{"id": "q2", "text": "red", "k": 1}\n'
    answers = [json.dumps(a, allow_nan=False) for a in library.batch(io.BytesIO(lines))]
    first, second = (json.loads(a) for a in answers)
    assert first == {"id": 1, "error": "id must be a string or a finite number"}
    assert second["id"] == "q2" and len(second["results"]) == 1


def test_batch_refuses_per_query_flags_and_takes_k_as_the_default(
    library: Store, tmp_path: Path
) -> None:
    requests = tmp_path / "q.jsonl"
    requests.write_text('{"text": "red picture", "type": "image"}\n')
    store = ["--store", str(library.root)]
    refused = runner.invoke(app, ["search", "--batch", str(requests), "--type", "text", *store])
    assert refused.exit_code == 1 and "--type cannot be combined" in refused.stderr
    refused = runner.invoke(app, ["search", "cats", "--batch", str(requests), *store])
    assert refused.exit_code == 1 and "QUERY cannot be combined" in refused.stderr
    answered = runner.invoke(app, ["search", "--batch", str(requests), "-k", "2", *store])
    assert answered.exit_code == 0 and len(json.loads(answered.stdout)["results"]) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"query": "red", "type": "image", "relevant": []}',
            "'relevant' must be a non-empty list",
        ),
        (
            '{"query": "red", "type": "image", "relevant": "a.png"}',
            "'relevant' must be a non-empty",
        ),
        (
            '{"query": {"text": ["red", 5]}, "type": "image", "relevant": ["a"]}',
            "query 'text' must be a string",
        ),
        ('{"query": 5, "type": "image", "relevant": ["a"]}', "'query' must be a text or an object"),
        ('{"query": "red", "relevant": ["a"]}', "no 'type'"),
        ('["red"]', "each line must be a JSON object"),
    ],
)
def test_eval_names_the_bad_field_of_a_labelled_line(
    library: Store, tmp_path: Path, line: str, message: str
) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(line + "\n")
    done = runner.invoke(app, ["eval", str(labels), "--store", str(library.root)])
    assert done.exit_code == 1, done.output
    assert f"{labels}:1: bad labelled query" in done.stderr and message in done.stderr


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_check_reports_a_lost_catalog(library: Store, how: str) -> None:
    """The catalog gone (or emptied) beside index files is damage, plain or with --repair; a
    store whose first run never committed is only pending work."""
    catalog = library.folder.catalog_path
    library.close()
    for extra in (Path(f"{catalog}-wal"), Path(f"{catalog}-shm")):
        extra.unlink(missing_ok=True)
    catalog.unlink() if how == "missing" else catalog.write_bytes(b"")
    for args in ([], ["--repair"]):
        done = runner.invoke(app, ["check", "--store", str(library.root), *args])
        assert done.exit_code != 0 and "the catalog is missing or empty" in done.output
    assert not catalog.exists() or catalog.stat().st_size == 0  # repair made no empty catalog


def test_weights_must_be_finite(library: Store) -> None:
    done = runner.invoke(
        app, ["search", "red", "--weights", "inf,1,1", "--store", str(library.root)]
    )
    assert done.exit_code == 1 and "--weights must be finite numbers: inf,1,1" in done.stderr
