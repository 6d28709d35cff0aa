"""The CLI contract through Typer's runner, on the fake encoder set (no torch)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal.store import Store

runner = CliRunner()


@pytest.fixture
def store(fake_store: Store, collection: Path) -> Path:
    result = runner.invoke(app, ["update", str(collection), "--store", str(fake_store.root)])
    assert result.exit_code == 0, result.output
    assert "8 added" in result.output
    return fake_store.root


def test_search_json_contract(store: Path) -> None:
    result = runner.invoke(
        app, ["search", "blue picture", "--store", str(store), "--json", "-k", "2"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"query", "results"}
    first = payload["results"][0]
    assert first["rank"] == 1 and first["modality"] == "image" and first["path"].endswith("c.webp")
    assert isinstance(first["score"], float) and first["spaces"] == ["fake-semantic"]


def test_table_output(store: Path) -> None:
    result = runner.invoke(
        app, ["search", "--text", "red", "--type", "text", "--store", str(store)]
    )
    assert result.exit_code == 0 and "red.txt" in result.output


def test_batch_search_one_line_per_request(store: Path, collection: Path, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text(
        json.dumps({"id": "q1", "text": "blue picture", "k": 1})
        + "\n"
        + json.dumps({"id": "q2", "image": str(collection / "photos" / "a.png"), "type": "text"})
        + "\n"
        + "not json\n"
        + json.dumps({"id": "q4", "text": "", "k": 1})
        + "\n"
        + json.dumps({"id": "q5", "text": "x", "k": "two"})
        + "\n"
        + json.dumps({"id": "q6", "text": 5})
        + "\n"
    )
    with batch.open("ab") as handle:
        handle.write(b'{"id": "q7", "text": "caf\xe9"}\n')  # Latin-1, not UTF-8
    result = runner.invoke(app, ["search", "--batch", str(batch), "--store", str(store)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", 3, "q4", "q5", "q6", 7]
    assert "utf-8" in lines[6]["error"]
    assert lines[0]["results"][0]["path"].endswith("c.webp")
    assert lines[1]["results"][0]["path"].endswith("red.txt")
    assert "error" in lines[2] and "empty text" in lines[3]["error"]
    assert "k must be a whole number" in lines[4]["error"] and "strings" in lines[5]["error"]
    stdin = runner.invoke(
        app, ["search", "--batch", "-", "--store", str(store)], input='{"text": "red picture"}\n'
    )
    assert json.loads(stdin.stdout)["results"][0]["path"].endswith("a.png")


def test_recommend_json(store: Path, collection: Path, tmp_path: Path) -> None:
    history = tmp_path / "h.txt"
    history.write_text(str(collection / "notes" / "red.txt") + "\n/not/in/store.png\n")
    result = runner.invoke(
        app,
        [
            "recommend",
            "--like",
            str(collection / "photos" / "a.png"),
            "--history",
            str(history),
            "--store",
            str(store),
            "--json",
            "-k",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    paths = [r["path"] for r in payload["results"]]
    assert len(paths) == 3 and not any(p.endswith(("a.png", "red.txt")) for p in paths)
    assert payload["profile"]["history_unknown"] == ["/not/in/store.png"]


def test_fused_search_with_negatives_filters_and_fusion(store: Path, collection: Path) -> None:
    photos = collection / "photos"
    result = runner.invoke(
        app,
        [
            "search",
            "--image",
            str(photos / "a.png"),
            "--text",
            "blue::2",
            "--not-image",
            str(photos / "b.jpg"),
            "--fusion",
            "attention",
            "--glob",
            "*.webp",
            "--type",
            "image",
            "--store",
            str(store),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"]["fusion"] == "attention"
    assert payload["query"]["filters"] == {"globs": ["*.webp"]}
    assert [p["weight"] for p in payload["query"]["parts"]] == [2.0, 1.0, -1.0]
    assert [r["path"].rsplit("/", 1)[-1] for r in payload["results"]] == ["c.webp"]
    assert "fused" in payload["results"][0]


def test_recommend_dislike_avoid_and_because(store: Path, collection: Path) -> None:
    liked = str(collection / "notes" / "red.txt")
    args = ["recommend", "--like", liked, "--dislike", str(collection / "photos" / "b.jpg")]
    args += ["--avoid", "sea", "--diversity", "0.5", "--store", str(store), "-k", "4"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["profile"]["avoid"] == ["sea"] and payload["profile"]["diversity"] == 0.5
    assert all(r["because"] == liked for r in payload["results"])
    assert not any(r["path"].endswith(("b.jpg", "red.txt")) for r in payload["results"])
    table = runner.invoke(app, [*args, "--format", "table"])
    assert table.exit_code == 0 and "because" in table.output


def test_table_says_when_the_order_is_the_fusions(store: Path, collection: Path) -> None:
    photos = collection / "photos"
    args = ["search", "--image", str(photos / "a.png"), "--text", "blue", "--type", "all"]
    fused = runner.invoke(app, [*args, "--store", str(store), "--format", "table"])
    single = runner.invoke(
        app,
        ["search", "blue", "--type", "all", "--hubness", "none", "--store", str(store)]
        + ["--format", "table"],
    )
    assert fused.exit_code == 0 and single.exit_code == 0
    assert "ranked by 'fused'" not in single.output  # one list: ordered by its score
    payload = json.loads(runner.invoke(app, [*args, "--store", str(store), "--json"]).stdout)
    scores = [r["score"] for r in payload["results"]]
    reordered = scores != sorted(scores, reverse=True)
    assert ("ranked by 'fused'" in fused.output) == reordered
    header = next(line for line in fused.output.splitlines() if "┃" in line and "#" in line)
    assert ("fused" in header) == reordered  # the ordering value has its own column
    values = [r["fused"] for r in payload["results"]]
    assert values == sorted(values, reverse=True)  # the list is ordered by what is shown
    if reordered:
        assert f"{values[0]:.4g}" in fused.output


def test_index_and_embed_are_idempotent(store: Path) -> None:
    assert runner.invoke(app, ["embed", "--store", str(store)]).exit_code == 0
    result = runner.invoke(app, ["index", "--store", str(store), "--json"])
    assert result.exit_code == 0
    assert all(r["added"] == 0 for r in json.loads(result.stdout)["index"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["search", "x", "--store", "{missing}"], 1, "no crossmodal store"),
        (["search", "", "--store", "{store}"], 1, "empty text"),
        (["search", "--image", "/no/such.png", "--store", "{store}"], 1, "not found"),
        (["search", "x", "--type", "movie", "--store", "{store}"], 1, "unknown --type"),
        (["search", "--store", "{store}"], 1, "give a QUERY"),
        (["search", "--batch", "/no/file", "--store", "{store}"], 1, "cannot read batch"),
        (["recommend", "--like", "/no/such.png", "--store", "{store}"], 1, "not an indexed item"),
        (["recommend", "--history", "/no/h.txt", "--store", "{store}"], 1, "history file"),
        (["update", "/no/such/folder", "--store", "{store}"], 1, "no such file"),
        (["search", "x", "--fusion", "magic", "--store", "{store}"], 1, "unknown --fusion"),
        (["search", "x", "--after", "someday", "--store", "{store}"], 1, "--after takes a date"),
        (["search", "x", "--under", "{missing}", "--store", "{store}"], 1, "no such folder"),
        (["search", "x", "--min-relative", "2", "--store", "{store}"], 1, "--min-relative"),
        (["search", "x", "--not-image", "/no/such.png", "--store", "{store}"], 1, "not found"),
        (["recommend", "--like", "/no/such.png", "--store", "{store}"], 1, "not an indexed item"),
        (
            ["recommend", "--prefer", "red", "--diversity", "3", "--store", "{store}"],
            1,
            "diversity",
        ),
        (["search", "x", "-k", "many", "--store", "{store}"], 2, ""),
        (["frobnicate"], 2, ""),
    ],
)
def test_bad_input_is_one_line_and_exit_code(
    store: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    def snapshot() -> tuple[list[str], dict]:
        from crossmodal.catalog import Catalog

        catalog = Catalog(store / "catalog.sqlite", readonly=True)
        try:
            files = sorted(p.name for p in store.iterdir() if not p.name.endswith(("-shm", "-wal")))
            return files, catalog.counts()
        finally:
            catalog.close()

    before = snapshot()
    args = [a.format(store=store, missing=tmp_path / "missing") for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if message:
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot() == before  # nothing lost or added
    ok = runner.invoke(app, ["search", "red picture", "--store", str(store), "--json"])
    assert json.loads(ok.stdout)["results"]


def test_bad_path_does_not_create_a_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["update", str(tmp_path / "nope"), "--store", str(tmp_path / "s")])
    assert result.exit_code == 1 and "no such file" in result.stderr
    assert not (tmp_path / "s").exists()


def test_help_is_fast_path_without_torch() -> None:
    import subprocess
    import sys

    code = "import sys; from cli.main import app; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "search" in result.output


def test_stages_without_paths_use_the_recorded_roots(store: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "--store", str(store), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["unchanged"] == 8
    checked = runner.invoke(app, ["check", "--store", str(store), "--json"])
    report = json.loads(checked.stdout)
    assert checked.exit_code == 0 and report["ok"] and report["problems"] == []
    assert report["counts"]["items"]["ok"] == {"audio": 2, "image": 3, "text": 3}
    Store.open_or_create(tmp_path / "empty", encoder_set="fake")
    empty = runner.invoke(app, ["update", "--store", str(tmp_path / "empty")])
    assert empty.exit_code == 1 and "has no folders yet" in empty.output


def test_every_output_format_and_an_undecorated_default_in_a_pipe(
    store: Path, collection: Path
) -> None:
    base = ["search", "blue picture", "--store", str(store), "-k", "3"]
    as_json = json.loads(runner.invoke(app, [*base, "--format", "json"]).stdout)
    expected = [r["path"] for r in as_json["results"]]
    assert len(expected) == 3 and as_json["query"]["parts"][0]["value"] == "blue picture"
    ndjson = runner.invoke(app, [*base, "--format", "ndjson"]).stdout.splitlines()
    assert [json.loads(line)["path"] for line in ndjson] == expected
    assert [json.loads(line)["rank"] for line in ndjson] == [1, 2, 3]
    paths = runner.invoke(app, [*base, "--format", "paths"]).stdout.splitlines()
    assert paths == expected
    piped = runner.invoke(app, base)  # CliRunner's stdout is not a terminal: tsv, no table
    lines = piped.stdout.splitlines()
    assert lines[0] == "rank\tscore\tmodality\tpath" and "┃" not in piped.stdout
    assert [line.split("\t")[3] for line in lines[1:]] == expected
    assert runner.invoke(app, [*base, "--format", "tsv"]).stdout == piped.stdout
    table = runner.invoke(app, [*base, "--format", "table"]).stdout
    assert "┃" in table and "score" in table
    liked = str(collection / "notes" / "red.txt")
    rec = runner.invoke(
        app, ["recommend", "--like", liked, "--store", str(store), "--format", "paths"]
    )
    assert rec.exit_code == 0 and all(line.startswith("/") for line in rec.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "unknown --format 'xml'"),
        (["--json", "--format", "tsv"], "--json and --format tsv disagree"),
    ],
)
def test_bad_format_is_a_one_line_error(store: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["search", "blue", "--store", str(store), *args])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_stats_reports_what_the_store_holds(store: Path) -> None:
    result = runner.invoke(app, ["stats", "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["items"] == {"audio": 2, "image": 3, "text": 3}
    assert report["spaces"]["fake-visual"] == {
        "vectors": 3,
        "indexed": 3,
        "index_bytes": report["spaces"]["fake-visual"]["index_bytes"],
    }
    assert report["read"]["passages"] == 2 and report["failed"] == 0
    assert report["last_update"] is not None and report["options"] == {
        "ocr": False,
        "vectors": "hnswlib",
    }
    table = runner.invoke(app, ["stats", "--store", str(store)])
    assert table.exit_code == 0 and "fake-semantic" in table.stdout and "3 image" in table.stdout
    missing = runner.invoke(app, ["stats", "--store", str(store.parent / "nope")])
    assert missing.exit_code == 1 and "no crossmodal store" in missing.output
