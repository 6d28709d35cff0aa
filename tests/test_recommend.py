from pathlib import Path

import pytest

from crossmodal.errors import UserError
from crossmodal.pipeline import update
from crossmodal.query import SearchEngine
from crossmodal.recommend import read_history, recommend
from crossmodal.store import Store


@pytest.fixture
def engine(fake_store: Store, collection: Path) -> SearchEngine:
    update(fake_store, [collection])
    return SearchEngine(fake_store)


def test_recommend_never_returns_liked_or_seen(engine: SearchEngine, collection: Path) -> None:
    liked = str(collection / "photos" / "a.png")
    seen = str(collection / "notes" / "red.txt")
    hits, profile = recommend(engine, [liked], history=[seen], k=10)
    paths = [hit.item.path for hit in hits]
    assert liked not in paths and seen not in paths and paths
    assert profile["history_used"] == 1


def test_recommend_type_and_prefer(engine: SearchEngine, collection: Path) -> None:
    hits, _ = recommend(engine, [], prefer=["blue sea"], type="text", k=1)
    assert Path(hits[0].item.path).name == "sea.md"


def test_recommend_errors(engine: SearchEngine, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not an indexed item"):
        recommend(engine, [str(tmp_path / "nope.png")])
    with pytest.raises(UserError, match="nothing to recommend"):
        recommend(engine, [])


def test_read_history_skips_comments_and_timestamps(tmp_path: Path) -> None:
    history = tmp_path / "h.txt"
    history.write_text("# seen\n/a.png\t2024-01-01\n\n/b.png\n")
    assert read_history(history) == ["/a.png", "/b.png"]
    with pytest.raises(UserError):
        read_history(tmp_path / "missing.txt")
