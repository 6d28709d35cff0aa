import os
from pathlib import Path

import numpy as np
import pytest

from crossmodal.errors import StoreError, UserError
from crossmodal.pipeline import update
from crossmodal.query import build_query, parse_weights
from crossmodal.search import SearchEngine
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
    vectors = {ql.space: ql.vector for ql in engine.early_lists(fused)}
    red = engine.parts.embed(fused.parts[0])["fake-semantic"]
    blue = engine.parts.embed(fused.parts[1])["fake-semantic"]
    expected = (red + blue) / np.linalg.norm(red + blue)
    assert np.allclose(vectors["fake-semantic"], expected, atol=1e-6)
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
        ({"positional": "x", "type": "movie"}, "unknown --type"),
        ({"positional": "x", "k": 0}, "from 1 to"),
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


# -- issue 5: weights, negatives, fusion modes, cutoffs, filters ---------------------------------


def test_part_weights_after_double_colon(collection: Path) -> None:
    from crossmodal.query import split_weight

    assert split_weight("sunset::2") == ("sunset", 2.0)
    assert split_weight("a::b") == ("a::b", None)  # not a number: plain text
    assert split_weight("::3") == ("::3", None)
    with pytest.raises(UserError, match="finite"):
        split_weight("x::nan")
    query = build_query(
        "red::2",
        images=[f"{collection / 'photos' / 'c.webp'}::0.5"],
        negative_images=[str(collection / "photos" / "b.jpg")],
        weights={"image": 2.0},
    )
    assert [(p.modality, p.weight) for p in query.parts] == [
        ("text", 2.0),
        ("image", 1.0),
        ("image", -2.0),
    ]
    assert query.parts[1].value.endswith("c.webp")


def test_negative_image_steers_away(engine: SearchEngine, collection: Path) -> None:
    plain = engine.search(build_query(str(collection / "photos" / "a.png"), type="image", k=2))
    # The semantic space ties them ("a green picture" and "a blue picture" both share two of
    # "a red picture"'s three words: equal cosines, equal ranks), so the visual space decides:
    # the green's mean colour is a little closer to the red's (cosine 0.299 vs 0.285).
    assert names(plain) == ["b.jpg", "c.webp"]
    assert plain[0].scores["fake-semantic"] == plain[1].scores["fake-semantic"]
    assert plain[0].scores["fake-visual"] > plain[1].scores["fake-visual"]
    steered = engine.search(
        build_query(
            str(collection / "photos" / "a.png"),
            negative_images=[str(collection / "photos" / names(plain)[0])],
            type="image",
            k=2,
            fusion="rrf",
        )
    )
    assert names(steered)[0] != names(plain)[0]


@pytest.mark.parametrize("mode", ["auto", "rrf", "score", "attention", "early"])
def test_every_fusion_mode_ranks_a_two_part_query(engine: SearchEngine, mode: str) -> None:
    hits = engine.search(
        build_query(None, texts=["blue picture", "blue sea"], type="all", fusion=mode, k=4)
    )
    # c.webp's caption "a blue picture" shares two words with "blue picture" (cosine 0.82) and
    # one with "blue sea" (0.41); sea.md matches "blue sea" (0.64 as a whole) but "blue picture"
    # only by "blue" (0.21), below the red caption and the green photo there. So the photo is
    # the better answer to the pair in every mode, with the sea note second.
    assert names(hits)[:2] == ["c.webp", "sea.md"] and len(hits) == 4
    assert all(hit.fused != 0 for hit in hits)
    assert build_query("x", fusion=mode).describe()["fusion"] == mode
    with pytest.raises(UserError, match="unknown --fusion"):
        build_query("x", fusion="magic")


def test_relative_and_z_cutoffs(engine: SearchEngine) -> None:
    everything = engine.search(build_query("blue", type="all", k=10))
    best = everything[0].score
    relative = engine.search(build_query("blue", type="all", k=10, min_relative=0.9))
    assert relative and all(hit.score >= 0.9 * best for hit in relative)
    assert len(relative) < len(everything)
    strict = engine.search(build_query("blue", type="all", k=10, min_z=1.5))
    scores = np.array([hit.score for hit in everything])
    assert len(strict) < len(everything)
    assert all(hit.score >= scores.mean() + 1.5 * scores.std() - 1e-9 for hit in strict)
    with pytest.raises(UserError, match="min-relative"):
        build_query("x", min_relative=1.5)


def test_filters_apply_before_k(engine: SearchEngine, collection: Path) -> None:
    from crossmodal.query import parse_filters

    only_png = parse_filters(globs=["*.png"])
    hits = engine.search(build_query("blue picture", type="image", k=1, filters=only_png))
    assert names(hits) == ["a.png"]  # the blue photo ranks first but is filtered out
    notes = parse_filters(under=[str(collection / "notes")])
    hits = engine.search(build_query("red", type="all", k=10, filters=notes))
    assert hits and all("/notes/" in hit.item.path for hit in hits)
    # Both clips last 0.5 s: a bound above that keeps them (and only audio), one below drops them.
    short = parse_filters(max_duration=0.6)
    hits = engine.search(build_query("low hum", type="all", k=10, filters=short))
    assert sorted(names(hits)) == ["high.wav", "low.wav"]
    shorter = parse_filters(max_duration=0.4)
    assert engine.search(build_query("low hum", type="all", k=10, filters=shorter)) == []
    longer = parse_filters(min_duration=0.6)
    assert engine.search(build_query("low hum", type="all", k=10, filters=longer)) == []
    big = parse_filters(min_size="1g")
    assert engine.search(build_query("red", type="all", k=10, filters=big)) == []
    with pytest.raises(UserError, match="--under"):
        parse_filters(under=[str(collection / "nowhere")])
    with pytest.raises(UserError, match="--after"):
        parse_filters(after="last tuesday")
    with pytest.raises(UserError, match="--max-size"):
        parse_filters(max_size="ten")


def test_date_filters_use_exif_else_mtime(fake_store: Store, tmp_path: Path) -> None:
    from PIL import Image

    from crossmodal.query import parse_filters

    root = tmp_path / "dated"
    root.mkdir()
    exif = Image.Exif()
    exif[0x0132] = "2019:07:01 12:00:00"  # DateTime
    Image.new("RGB", (32, 32), (200, 30, 30)).save(root / "old_red.jpg", exif=exif)
    Image.new("RGB", (32, 32), (210, 40, 20)).save(root / "new_red.jpg")
    os.utime(root / "new_red.jpg", (1_700_000_000, 1_700_000_000))  # 2023-11-14
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    recent = engine.search(build_query("red", k=5, filters=parse_filters(after="2023-01-01")))
    assert names(recent) == ["new_red.jpg"]
    older = engine.search(build_query("red", k=5, filters=parse_filters(before="2020-01-01")))
    assert names(older) == ["old_red.jpg"]


def test_batch_requests_take_the_new_keys(collection: Path) -> None:
    from crossmodal.query import query_from_request

    query = query_from_request(
        {
            "text": "sunset::2",
            "not_image": str(collection / "photos" / "a.png"),
            "fusion": "score",
            "min_z": 1,
            "glob": "*.jpg",
            "max_size": "2m",
        }
    )
    assert query.fusion == "score" and query.min_z == 1.0
    assert query.filters.globs == ("*.jpg",) and query.filters.max_size == 2 * 1024**2
    assert [p.weight for p in query.parts] == [2.0, -1.0]
    with pytest.raises(UserError, match="min_z must be a finite number"):
        query_from_request({"text": "x", "min_z": "high"})


def test_attention_fusion_follows_the_part_a_candidate_matches(
    fake_store: Store, tmp_path: Path
) -> None:
    """Two example photos, red and blue: attention (ATTENTION_TEMPERATURE 0.5) ranks a photo
    close to one of them above a purple halfway between both; plain score fusion (or attention
    with a temperature 100 times larger, nearly the same) puts the purple first."""
    from PIL import Image

    palette = {
        "red": (220, 30, 30),
        "blue": (30, 40, 220),
        "nearred": (200, 70, 40),  # visual cosine 0.979 to red
        "nearblue": (60, 70, 200),  # 0.978 to blue
        "purple": (150, 30, 160),  # 0.78 to red, 0.82 to blue
        "green": (30, 200, 40),
        "yellow": (200, 200, 30),
        "cyan": (30, 200, 200),
    }
    root = tmp_path / "palette"
    root.mkdir()
    for name, colour in palette.items():
        Image.new("RGB", (40, 30), colour).save(root / f"{name}.png")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    examples = [str(root / "red.png"), str(root / "blue.png")]
    attention = names(engine.search(build_query(None, images=examples, fusion="attention", k=6)))
    assert set(attention[:2]) == {"nearred.png", "nearblue.png"}, attention
    assert attention.index("purple.png") > 1
    score = names(engine.search(build_query(None, images=examples, fusion="score", k=6)))
    assert score[0] == "purple.png", score
