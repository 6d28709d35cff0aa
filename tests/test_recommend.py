from pathlib import Path

import pytest

from crossmodal.errors import UserError
from crossmodal.pipeline import update
from crossmodal.query import QueryPart
from crossmodal.recommend import read_history, recommend
from crossmodal.search import SearchEngine
from crossmodal.store import Store

from .conftest import write_image, write_text


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
    with pytest.raises(UserError, match=r"^cannot read history file .*missing.txt: no such file$"):
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


# -- issue 17: tests that fail when the code is wrong ------------------------------------------


def _png(root: Path, name: str, colour: tuple[int, int, int]) -> str:
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(root / name)
    return str(root / name)


def _names(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(hit.item.path).name for hit in hits]


def test_near_copies_of_liked_seen_or_disliked_are_never_returned(
    fake_store: Store, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "shades"
    liked = _png(root, "liked.png", (220, 60, 50))
    shutil.copy(liked, root / "liked_copy.png")  # the same bytes: the same content hash
    _png(root, "near_liked.png", (223, 58, 52))  # other bytes, visual cosine 0.9999
    _png(root, "red0.png", (220, 40, 110))  # alike but not copies: cosine 0.968 and 0.983
    _png(root, "red3.png", (180, 20, 20))
    seen = _png(root, "seen.png", (150, 150, 60))
    shutil.copy(seen, root / "seen_copy.png")
    disliked = _png(root, "disliked.png", (30, 40, 220))
    _png(root, "near_disliked.png", (34, 44, 214))  # cosine 0.9995
    note = str(write_text(root / "note.txt", "a note about the harbour"))
    shutil.copy(note, root / "note_copy.txt")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    # The liked note comes first: the photos' copies are still found (seeds of another modality
    # are skipped, not the end of the search for copies).
    hits, _ = recommend(
        engine,
        [note, liked],
        history=[seen],
        dislikes=[disliked],
        type="image",
        k=10,
        diversity=0.0,
    )
    assert sorted(_names(hits)) == ["red0.png", "red3.png"]
    # Nothing left once the copies are gone: an empty list, and the profile all the same.
    hits, profile = recommend(
        engine,
        [note],
        history=["/nowhere/gone.png", seen],
        prefer=["harbour"],
        avoid=["sea"],
        type="text",
        diversity=0.2,
    )
    assert hits == []
    assert profile == {
        "likes": [note],
        "dislikes": [],
        "history_used": 1,
        "history_unknown": ["/nowhere/gone.png"],
        "prefer": ["harbour"],
        "avoid": ["sea"],
        "diversity": 0.2,
        "interest_centres": 3,
    }


# Two liked colours, a photo near each (cosine 0.979 and 0.978: not copies) and a purple between
# them (0.78 to red, 0.82 to blue), plus unrelated colours.
PALETTE = {
    "red": (220, 30, 30),
    "blue": (30, 40, 220),
    "nearred": (200, 70, 40),
    "nearblue": (60, 70, 200),
    "purple": (150, 30, 160),
    "green": (30, 200, 40),
    "yellow": (200, 200, 30),
    "cyan": (30, 200, 200),
}


def test_each_liked_item_is_an_interest_centre(fake_store: Store, tmp_path: Path) -> None:
    """Attention over the seeds (SEED_TEMPERATURE 0.5): a photo very close to one liked photo
    outranks one halfway between both. With a mean of the seeds (a temperature 100 times larger
    is nearly that) the purple in between would come first."""
    for name, colour in PALETTE.items():
        _png(tmp_path / "palette", f"{name}.png", colour)
    update(fake_store, [tmp_path / "palette"])
    engine = SearchEngine(fake_store)
    likes = [str(tmp_path / "palette" / f"{name}.png") for name in ("red", "blue")]
    hits, _ = recommend(engine, likes, type="image", k=6, diversity=0.0)
    names = _names(hits)
    assert set(names[:2]) == {"nearred.png", "nearblue.png"}, names
    assert names.index("purple.png") > 1
    assert {hit.because for hit in hits[:2]} == set(likes)


def _oracle(engine: SearchEngine, hits, positives, negatives) -> list[float]:  # type: ignore[no-untyped-def]
    """The documented score, from the stored vectors: per seed, each candidate's cosine z-scored
    over the candidates in each of the seed's spaces (a flat list stays flat) and averaged over
    them; attention (softmax
    of z / SEED_TEMPERATURE, times the seed weights) over the positive seeds; minus each negative
    seed's z where it is above the mean."""
    import numpy as np

    from crossmodal.recommend import SEED_TEMPERATURE

    items = [hit.item for hit in hits]

    def z_scores(vectors: dict) -> np.ndarray:
        total, count = np.zeros(len(items)), np.zeros(len(items))
        for space, seed_vector in vectors.items():
            found = engine.space(space).vectors_of(items)
            rows = [r for r, item in enumerate(items) if item.id in found]
            if len(rows) < 2:
                continue
            sims = np.array([float(found[items[r].id] @ seed_vector) for r in rows])
            spread = sims.std() if sims.std() > 1e-6 else 1.0
            total[rows] += (sims - sims.mean()) / spread
            count[rows] += 1
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    attract = np.stack([z_scores(v) for _, v in positives], axis=1)
    weights = np.array([w for w, _ in positives])
    logits = np.where(np.isnan(attract), -np.inf, attract / SEED_TEMPERATURE)
    share = np.exp(logits - logits.max(axis=1, keepdims=True)) * weights
    share /= share.sum(axis=1, keepdims=True)
    fused = (share * np.nan_to_num(attract)).sum(axis=1)
    for weight, vectors in negatives:
        fused -= weight * np.maximum(np.nan_to_num(z_scores(vectors)), 0.0)
    return fused.tolist()


def test_scores_follow_the_documented_formula(fake_store: Store, collection: Path) -> None:
    """A like and a --prefer weigh 1, a history item 0.5 per 30 days of age; a dislike and an
    --avoid subtract a candidate's z-score where it is above the mean (0 where it cannot be
    compared: a sound without words, 0001.wav, and an --avoid text)."""
    from .conftest import write_tone

    write_tone(collection / "sounds" / "0001.wav", 660.0)  # no tags, no speech, no words
    update(fake_store, [collection])
    engine = SearchEngine(fake_store)
    liked = collection / "photos" / "a.png"
    sea, low = collection / "notes" / "sea.md", collection / "sounds" / "low.wav"
    disliked = collection / "photos" / "c.webp"
    day = 86400.0
    history = [(str(sea), 1000 * day), (str(low), 1030 * day)]  # sea.md is 30 days older
    hits, profile = recommend(
        engine,
        [str(liked)],
        history=history,
        prefer=["green trees"],
        dislikes=[str(disliked)],
        avoid=["hum"],
        type="all",
        k=10,
        diversity=0.0,
    )
    assert sorted(_names(hits)) == ["0001.wav", "b.jpg", "forest.txt", "high.wav", "red.txt"]
    assert profile == {
        "likes": [str(liked)],
        "dislikes": [str(disliked)],
        "history_used": 2,
        "history_unknown": [],
        "prefer": ["green trees"],
        "avoid": ["hum"],
        "diversity": 0.0,
        "interest_centres": 4,
    }

    def stored(path: Path) -> dict:
        item = engine.catalog.item_by_path(str(path))
        return {
            space: vector
            for space in engine.encoder.spaces
            if (vector := engine.space(space).vectors_of([item]).get(item.id)) is not None
        }

    positives = [
        (1.0, stored(liked)),
        (0.5, stored(sea)),
        (1.0, stored(low)),
        (1.0, engine.parts.embed(QueryPart("text", "green trees"))),
    ]
    negatives = [(1.0, stored(disliked)), (1.0, engine.parts.embed(QueryPart("text", "hum")))]
    expected = _oracle(engine, hits, positives, negatives)
    assert [hit.fused for hit in hits] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert [hit.fused for hit in hits] == sorted((hit.fused for hit in hits), reverse=True)
    # Each candidate's score per space is its best cosine to any liked or seen item there.
    for hit in hits:
        item_vectors = {
            s: engine.space(s).vectors_of([hit.item]).get(hit.item.id) for s in hit.scores
        }
        for space, score in hit.scores.items():
            best = max(
                float(item_vectors[space] @ vectors[space])
                for _, vectors in positives
                if space in vectors
            )
            assert score == pytest.approx(best, abs=1e-6), (hit.item.path, space)
        assert hit.score == max(hit.scores.values())


def test_ties_go_to_the_closer_match_and_k_defaults_to_10(
    fake_store: Store, tmp_path: Path
) -> None:
    root = tmp_path / "words"
    # One word from each preferred text: z-scores mirror each other, so the fused scores are
    # exactly equal; "cherry" matches its text fully (cosine 1), the other only half (0.5).
    write_text(root / "half.txt", "apple banana grape kiwi")
    write_text(root / "full.txt", "cherry")
    for number, words in enumerate(["elder fig", "lemon mango", "olive pear", "plum quince"]):
        for copy in range(3):
            write_text(root / f"other{number}{copy}.txt", f"{words} {'fjord ' * (copy + 1)}")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    hits, _ = recommend(engine, [], prefer=["apple", "cherry"], type="text", diversity=0.0)
    assert len(hits) == 10  # of 14 candidates
    assert _names(hits)[:2] == ["full.txt", "half.txt"]
    assert hits[0].fused == hits[1].fused and hits[0].score > hits[1].score


def test_photos_compare_with_whole_documents_texts_with_passages(
    fake_store: Store, tmp_path: Path
) -> None:
    """A liked photo is compared with a document's whole text; a --prefer text with its best
    passage (as in search: passages answer text queries)."""
    import numpy as np

    from crossmodal.encoders import l2_normalize

    from .conftest import words_vector

    root = tmp_path / "docs"
    blue = str(write_image(root / "blue.png", "blue"))
    lines = "a blue picture\nriver glacier fjord"
    write_text(root / "doc.md", lines)
    write_text(root / "other.txt", "harbour island")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)

    def cosine(a: str, b: str) -> float:
        vectors = l2_normalize(np.stack([words_vector(a), words_vector(b)]))
        return float(vectors[0] @ vectors[1])

    photo, _ = recommend(engine, [blue], type="text", diversity=0.0)
    assert _names(photo)[0] == "doc.md"
    assert photo[0].score == pytest.approx(cosine("a blue picture", lines), abs=1e-6)
    text, _ = recommend(engine, [], prefer=["blue picture"], type="text", diversity=0.0)
    assert _names(text)[0] == "doc.md"
    assert text[0].score == pytest.approx(cosine("blue picture", "a blue picture"), abs=1e-6)


def test_more_errors_and_edges(engine: SearchEngine, collection: Path) -> None:
    liked = str(collection / "photos" / "a.png")
    with pytest.raises(UserError, match=r"^-k must be a whole number from 1 to 10,000$"):
        recommend(engine, [liked], k=0)
    with pytest.raises(UserError, match=r"^--diversity must be between 0 and 1$"):
        recommend(engine, [liked], diversity=-0.5)
    with pytest.raises(UserError, match=r"^nothing to recommend from: give --like, --history"):
        recommend(engine, [], prefer=["  "])
    hits, profile = recommend(engine, [liked], diversity=1.0, k=3)  # 1 is allowed
    assert len(hits) == 3 and profile["diversity"] == 1.0
    # --type keeps its modality only; no --type means everything.
    for kind in ("image", "text", "audio"):
        typed, _ = recommend(engine, [liked], type=kind, k=10)
        assert typed and {hit.item.modality for hit in typed} == {kind}
    untyped, _ = recommend(engine, [liked], k=10)
    assert {hit.item.modality for hit in untyped} == {"image", "text", "audio"}


def test_a_failed_file_is_not_an_indexed_item(fake_store: Store, tmp_path: Path) -> None:
    root = tmp_path / "broken"
    write_image(root / "good.png", "red")
    write_image(root / "other.png", "blue")
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    update(fake_store, [root])
    engine = SearchEngine(fake_store)
    assert engine.catalog.item_by_path(str(root / "bad.png")).status == "failed"
    with pytest.raises(UserError, match="--like .*bad.png is not an indexed item"):
        recommend(engine, [str(root / "bad.png")])
    # In a history it is unknown, and the entries after it still count.
    hits, profile = recommend(
        engine, [], history=[str(root / "bad.png"), str(root / "good.png")], k=5
    )
    assert profile["history_unknown"] == [str(root / "bad.png")]
    assert profile["history_used"] == 1 and profile["interest_centres"] == 1
    assert _names(hits) == ["other.png"]


def test_k_is_a_whole_number_up_to_search_s_limit(engine: SearchEngine, collection: Path) -> None:
    liked = str(collection / "photos" / "a.png")
    assert len(recommend(engine, [liked], k=10_000)[0]) == 7  # every other item, no error
    assert len(recommend(engine, [liked], k=1)[0]) == 1
    for bad in (10_001, 0, True, 2.0):
        with pytest.raises(UserError, match=r"^-k must be a whole number from 1 to 10,000$"):
            recommend(engine, [liked], k=bad)  # type: ignore[arg-type]
