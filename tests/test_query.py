from pathlib import Path

import numpy as np
import pytest

from crossmodal.errors import StoreError, UserError
from crossmodal.pipeline import update
from crossmodal.query import SearchEngine, build_query, parse_weights
from crossmodal.store import Store


@pytest.fixture
def engine(fake_store: Store, collection: Path) -> SearchEngine:
    update(fake_store, [collection])
    return SearchEngine(fake_store)


def names(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(hit.item.path).name for hit in hits]


def test_text_query_finds_media_by_default_and_text_on_request(engine: SearchEngine) -> None:
    hits = engine.search(build_query("blue picture", k=3))
    assert names(hits)[0] == "c.webp" and {h.item.modality for h in hits} <= {"image", "audio"}
    docs = engine.search(build_query("blue sea", type="text", k=3))
    assert names(docs)[0] == "sea.md"
    everything = engine.search(build_query("red", type="all", k=10))
    assert {"a.png", "red.txt"} <= set(names(everything)[:2])


def test_text_to_audio_through_tags(engine: SearchEngine) -> None:
    hits = engine.search(build_query("low hum", type="audio", k=2))
    assert names(hits)[0] == "low.wav" and hits[0].spaces == ["fake-semantic"]


def test_image_query_excludes_itself_and_merges_spaces(
    engine: SearchEngine, collection: Path
) -> None:
    hits = engine.search(build_query(str(collection / "photos" / "a.png"), k=5))
    assert "a.png" not in names(hits)
    assert "red.txt" in names(hits)  # the caption, found through the semantic space
    captions = engine.search(build_query(str(collection / "photos" / "a.png"), type="text", k=1))
    assert names(captions) == ["red.txt"]
    visual = [h for h in hits if "fake-visual" in h.scores]
    assert visual, "image queries also reach the visual space"


def test_audio_query_finds_similar_audio(engine: SearchEngine, collection: Path) -> None:
    hits = engine.search(build_query(str(collection / "sounds" / "low.wav"), k=1))
    assert names(hits) == ["high.wav"] and hits[0].spaces == ["fake-audio"]


def test_early_fusion_and_negative_parts(engine: SearchEngine) -> None:
    fused = build_query(None, texts=["red picture", "blue picture"], type="image", k=3)
    vectors = engine.space_vectors(fused)
    red = engine.embed_part(fused.parts[0])["fake-semantic"]
    blue = engine.embed_part(fused.parts[1])["fake-semantic"]
    expected = (red + blue) / np.linalg.norm(red + blue)
    assert np.allclose(vectors["fake-semantic"][0], expected, atol=1e-6)
    steered = engine.search(build_query("picture", negatives=["red"], type="image", k=3))
    assert names(steered)[-1] == "a.png"


def test_min_score_and_k(engine: SearchEngine) -> None:
    assert engine.search(build_query("blue picture", min_score=0.99)) == []
    assert len(engine.search(build_query("picture", type="all", k=2))) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"positional": "   "}, "empty text"),
        ({"images": ["/no/such.png"]}, "not found"),
        ({"positional": "x", "type": "video"}, "unknown --type"),
        ({"positional": "x", "k": 0}, "at least 1"),
        ({"negatives": ["only negative"]}, "nothing to search"),
    ],
)
def test_bad_queries_are_user_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build_query(**kwargs)


def test_wrong_file_kind_and_weights(collection: Path) -> None:
    with pytest.raises(UserError, match="not an image"):
        build_query(images=[str(collection / "sounds" / "low.wav")])
    assert parse_weights("1,0.5,0") == {"text": 1.0, "image": 0.5, "audio": 0.0}
    with pytest.raises(UserError):
        parse_weights("1,2")


def test_empty_store_is_a_clear_error(fake_store: Store, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    update(fake_store, [tmp_path / "empty"])
    with pytest.raises(StoreError, match="no indexed items"):
        SearchEngine(fake_store).search(build_query("x"))
