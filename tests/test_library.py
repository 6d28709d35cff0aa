"""The library face: `from crossmodal import Store`, as a Python user (and the CLI) calls it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import crossmodal
from crossmodal import Hit, Recommendation, Store, UpdateSummary
from crossmodal.errors import CrossmodalError, StoreError, UserError
from crossmodal.store import Store as StoreFolder

REPO = Path(__file__).resolve().parent.parent


def names(hits: list[Hit]) -> list[str]:
    return [Path(hit.item.path).name for hit in hits]


@pytest.fixture
def library(fake_store: StoreFolder, collection: Path) -> Store:
    with Store.open(fake_store.root) as store:
        summary = store.update([collection])
        assert isinstance(summary, UpdateSummary) and summary.ingest.added == 8
        yield store


def test_search_returns_the_hits_the_cli_renders(library: Store, collection: Path) -> None:
    hits = library.search("red picture", type="image", k=2)
    assert names(hits) == ["a.png", "b.jpg"] and all(isinstance(hit, Hit) for hit in hits)
    assert hits[0].to_dict(1)["path"] == str(collection / "photos" / "a.png")
    # A file is a query of its own modality; filters by keyword.
    similar = library.search(str(collection / "photos" / "a.png"), type="image", k=1)
    assert names(similar) == ["b.jpg"]  # the query file itself is never its own result
    only_notes = library.search("red", type="text", filters={"globs": ["*.md"]})
    assert names(only_notes) == ["sea.md"]


def test_search_options_are_checked(library: Store) -> None:
    with pytest.raises(UserError, match="unknown search option: colour"):
        library.search("red", colour="blue")
    with pytest.raises(UserError, match="-k must be"):
        library.search("red", k=0)


def test_recommend_returns_hits_and_a_profile_a_page_can_show(
    library: Store, collection: Path
) -> None:
    liked = str(collection / "photos" / "a.png")
    found = library.recommend(like=[liked], prefer=["blue sea"], type="image", k=2)
    assert isinstance(found, Recommendation)
    assert liked not in [hit.item.path for hit in found.hits] and len(found.hits) == 2
    described = found.describe()
    assert (
        described["parts"]
        == [
            {"modality": "file", "value": liked, "weight": 1.0},
            {"modality": "text", "value": "prefer: blue sea", "weight": 1.0},
        ]
        or described["parts"][0]["value"] == liked
    )
    assert described["profile"]["likes"] == [liked]


def test_batch_answers_each_line_and_survives_bad_ones(library: Store) -> None:
    lines = b'{"text": "red picture", "type": "image", "k": 1, "id": "q1"}\nnot json\n{"k": 3}\n'
    answers = list(library.batch(io.BytesIO(lines)))
    assert answers[0]["id"] == "q1" and answers[0]["results"][0]["path"].endswith("a.png")
    assert answers[1] == {"id": 2, "error": answers[1]["error"]}
    assert answers[1]["error"].startswith("line is not JSON")
    assert answers[2]["error"] == "nothing to search for: give a query text or a media file"


def test_for_update_never_creates_a_store_for_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        Store.for_update(tmp_path / "store", [tmp_path / "typo"])
    assert not (tmp_path / "store").exists()
    with pytest.raises(StoreError, match="no crossmodal store"):
        Store.for_update(tmp_path / "store", None)
    (tmp_path / "media").mkdir()
    made = Store.for_update(tmp_path / "store", [tmp_path / "media"])
    assert StoreFolder.exists(made.root) and made.root == (tmp_path / "store").resolve()


def test_open_if_present_names_a_missing_store(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CROSSMODAL_STORE", str(tmp_path / "default"))
    assert Store.open_if_present(None) is None
    with pytest.raises(StoreError, match="no crossmodal store"):
        Store.open_if_present(tmp_path / "elsewhere")


def test_update_after_search_sees_the_new_files(library: Store, collection: Path) -> None:
    assert "forest.txt" in names(library.search("green trees", type="text"))
    (collection / "notes" / "forest.txt").unlink()
    library.update()
    assert "forest.txt" not in names(library.search("green trees", type="text"))


def test_importing_crossmodal_and_help_load_no_library_module() -> None:
    """`crossmodal --help` and `import crossmodal` load neither numpy nor the library."""
    script = (
        "import sys\n"
        "import crossmodal\n"
        "before = sorted(m for m in sys.modules if m.startswith('crossmodal.') or m == 'numpy')\n"
        "sys.argv = ['crossmodal', '--help']\n"
        "from cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "after = sorted(m for m in sys.modules if m.startswith('crossmodal.') or m == 'numpy')\n"
        "print(); print(__import__('json').dumps([before, after]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == [] and after == ["crossmodal.errors"]
    assert crossmodal.Store is Store


def test_a_batch_whose_model_cannot_load_fails_once_with_exit_1(
    library: Store, tmp_path: Path
) -> None:
    """The store's models load before the first line: an unknown --model is one error line and
    exit 1, not an error object per request and exit 0."""
    from typer.testing import CliRunner

    from cli.main import app

    requests = tmp_path / "q.jsonl"
    requests.write_text('{"text": "red"}\n{"text": "blue"}\n')
    args = ["search", "--batch", str(requests), "--store", str(library.root)]
    done = CliRunner().invoke(app, [*args, "--model", "nosuch"])
    assert done.exit_code == 1 and done.stdout == ""
    assert done.stderr.count("crossmodal: error:") == 1 and "nosuch" in done.stderr
    assert CliRunner().invoke(app, args).stdout.count('"results"') == 2
    # The same from Python: the first answer raises instead of one error object per line.
    with Store.open(library.root, models=["nosuch"]) as broken, pytest.raises(CrossmodalError):
        next(broken.batch(io.BytesIO(requests.read_bytes())))


def test_notes_speak_only_of_spaces_a_search_read(library: Store, collection: Path) -> None:
    """A damaged index of a space the query never searched is neither opened nor reported."""
    from crossmodal.spaces.hnsw import index_file

    state = library.engine.catalog.index_state("fake-audio")
    index_file(library.folder.index_dir, "fake-audio", state.generation).write_bytes(b"\0" * 64)
    liked = str(collection / "photos" / "a.png")
    library.recommend(like=[liked], type="image", k=2)
    library.search("red picture", type="image")
    assert library.notes == []
    opened = [s.name for s in library.engine._spaces.values() if s.backend._opened]
    assert "fake-audio" not in opened
