from pathlib import Path

import pytest

from crossmodal.errors import UserError
from crossmodal.pipeline import update
from crossmodal.recommend import read_history, recommend
from crossmodal.search import SearchEngine
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


def test_read_history_comments_and_timestamps(tmp_path: Path) -> None:
    from crossmodal.recommend import history_weights

    history = tmp_path / "h.txt"
    history.write_text("# seen\n/a.png\t2024-01-01\n\n/b.png\n/c.png\t1704412800\n")
    entries = read_history(history)
    assert [path for path, _ in entries] == ["/a.png", "/b.png", "/c.png"]
    assert entries[1][1] is None and entries[2][1] == 1704412800.0
    with pytest.raises(UserError):
        read_history(tmp_path / "missing.txt")
    history.write_text("/a.png\tyesterday\n")
    with pytest.raises(UserError, match="h.txt:1"):
        read_history(history)
    # By time: 30 days older counts half; without times: by position (10 back counts half).
    dated = history_weights([("/a", 0.0), ("/b", 30 * 86400.0)])
    assert dated == pytest.approx([0.5, 1.0])
    ordered = history_weights([(f"/{n}", None) for n in range(11)])
    assert ordered[0] == pytest.approx(0.5) and ordered[-1] == 1.0


def test_dislike_and_avoid_push_down(engine: SearchEngine, collection: Path) -> None:
    liked = str(collection / "notes" / "red.txt")
    plain, _ = recommend(engine, [liked], type="all", k=3, diversity=0.0)
    top = plain[0].item
    disliked, profile = recommend(
        engine, [liked], dislikes=[top.path], type="all", k=3, diversity=0.0
    )
    assert top.path not in [hit.item.path for hit in disliked]
    assert profile["dislikes"] == [top.path]
    # Avoiding the top result's own description lowers it below the rest.
    words = "red"  # the colour the fake encoder sees in a.png
    avoided, profile = recommend(engine, [liked], avoid=[words], type="all", k=3, diversity=0.0)
    assert avoided[0].item.path != top.path and profile["avoid"] == [words]
    before = {hit.item.path: hit.fused for hit in plain}
    after = {hit.item.path: hit.fused for hit in avoided}
    assert top.path not in after or after[top.path] < before[top.path]
    with pytest.raises(UserError, match="--dislike"):
        recommend(engine, [liked], dislikes=["/not/indexed.png"])
    with pytest.raises(UserError, match="diversity"):
        recommend(engine, [liked], diversity=2.0)


def test_because_names_the_closest_interest(engine: SearchEngine, collection: Path) -> None:
    red, sea = str(collection / "notes" / "red.txt"), str(collection / "notes" / "sea.md")
    hits, profile = recommend(engine, [red, sea], prefer=["green trees"], type="all", k=8)
    assert profile["interest_centres"] == 3 and profile["likes"] == [red, sea]
    by_name = {Path(hit.item.path).name: hit.because for hit in hits}
    assert by_name["c.webp"] == sea  # the blue photo comes from the blue sea
    assert by_name["forest.txt"] == "prefer: green trees"
    assert all(hit.to_dict(1)["because"] for hit in hits)


def test_diversity_reorders_near_identical_results(fake_store: Store, tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "shades"
    root.mkdir()
    # Four reds close to the liked colour (cosine 0.968-0.983, under the near-copy bar) and two
    # further off (0.84-0.87).
    shades = {
        "red0": (220, 40, 110),
        "red1": (200, 30, 90),
        "red2": (230, 100, 100),
        "red3": (180, 20, 20),
        "olive": (150, 150, 60),
        "violet": (150, 60, 160),
        "liked": (220, 60, 50),
    }
    for name, colour in shades.items():
        Image.new("RGB", (40, 30), colour).save(root / f"{name}.png")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    liked = [str(root / "liked.png")]
    focused, _ = recommend(engine, liked, type="image", k=3, diversity=0.0)
    varied, _ = recommend(engine, liked, type="image", k=3, diversity=0.9)
    assert all(Path(h.item.path).name.startswith("red") for h in focused), focused
    assert {"olive.png", "violet.png"} & {Path(h.item.path).name for h in varied}
