"""The catalog's vectors and the one rule of who owns a vector (content hash, text key, or a
document's passage), on a real SQLite catalog with hand-made items and vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog, IndexState
from crossmodal.catalog.vectors import owned_exists, owner_union

DIM = 4


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """A photo and its copy (one content), a deleted photo, a clip with words (text key), a
    document split into two passages, and one vector no item owns."""
    opened = Catalog(tmp_path / "catalog.sqlite")
    with opened.transaction():
        add = opened.insert_item
        add(path="/m/b.png", modality="image", size=1, mtime_ns=1, content_hash="img", status="ok")
        add(path="/m/a.png", modality="image", size=1, mtime_ns=1, content_hash="img", status="ok")
        add(path="/m/gone.png", modality="image", size=1, mtime_ns=1, content_hash="old",
            status="deleted")  # fmt: skip
        add(path="/m/clip.wav", modality="audio", size=1, mtime_ns=1, content_hash="wav",
            text_side="a bell", text_key="t:bell", status="ok")  # fmt: skip
        add(path="/m/doc.txt", modality="text", size=1, mtime_ns=1, content_hash="doc",
            status="ok")  # fmt: skip
        space = "s"
        opened.add_vectors(space, ["img", "old", "t:bell", "doc", "nobody"], np.stack(
            [unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 1, 0), unit(0, 0, 0, 1),
             unit(1, 1, 0, 0)]))  # fmt: skip
        opened.add_passages(
            space,
            "doc",
            [(0, 5, "first"), (6, 12, "second")],
            np.stack([unit(1, 0, 1, 0), unit(0, 1, 0, 1)]),
        )
        opened.add_vectors("other", ["img"], unit(1, 1, 1, 1)[None, :])
    return opened


def ids(catalog: Catalog, *keys: str) -> list[int]:
    found = catalog.vector_ids_for_keys("s", keys)
    return [found[key] for key in keys]


def test_each_way_of_owning_and_only_live_items(catalog: Catalog) -> None:
    img, old, bell, doc, nobody, first, second = ids(
        catalog, "img", "old", "t:bell", "doc", "nobody", "doc#0", "doc#1"
    )
    assert catalog.live_vector_ids("s") == {img, bell, doc, first, second}
    owners = catalog.items_for_vector_ids("s", [img, old, bell, doc, nobody, first, second])
    names = {vid: [item.path for item in items] for vid, items in owners.items()}
    assert names == {
        img: ["/m/a.png", "/m/b.png"],  # both copies, by path
        bell: ["/m/clip.wav"],
        doc: ["/m/doc.txt"],
        first: ["/m/doc.txt"],
        second: ["/m/doc.txt"],
    }
    assert catalog.items_for_vector_ids("other", [img]) == {}  # ids are per space
    assert catalog.live_vector_ids("other") == set(catalog.vector_ids("other"))


def test_what_each_vector_was_made_from(catalog: Catalog) -> None:
    vector_ids, made_from = catalog.vector_modalities("s")
    by_id = dict(zip(vector_ids.tolist(), made_from.tolist(), strict=True))
    img, bell, doc, first, second = ids(catalog, "img", "t:bell", "doc", "doc#0", "doc#1")
    assert by_id == {img: "image", bell: "text", doc: "text", first: "text", second: "text"}
    assert vector_ids.tolist() == sorted(by_id)


def test_vector_hits_answers_a_fetch_round_in_one_call(catalog: Catalog) -> None:
    img, bell, first, nobody = ids(catalog, "img", "t:bell", "doc#0", "nobody")
    with catalog.transaction():
        catalog.save_hubness("s", 1, {"text": (np.array([img]), np.array([0.25]))})
    hits = catalog.vector_hits("s", [img, bell, first, nobody], "text")
    assert set(hits) == {img, bell, first}  # no live owner: absent
    assert hits[img][1] == 0.25 and hits[bell][1] == 0.0
    assert hits[first][2] == {"n": 0, "start": 0, "end": 5, "text": "first", "modality": "text"}
    assert hits[img][2] is None and hits[bell][2] is None
    assert catalog.vector_hits("s", [img], None)[img][1] == 0.0  # no source: no penalty
    assert catalog.vector_hits("s", [img], "image")[img][1] == 0.0  # penalties are per source


def test_purge_keeps_what_an_item_or_a_live_index_member_holds(catalog: Catalog) -> None:
    img, old, nobody, first = ids(catalog, "img", "old", "nobody", "doc#0")
    with catalog.transaction():
        catalog.save_index_state(IndexState("s", DIM, 1, 0, 1), {nobody: False})
        catalog.save_hubness("s", 1, {"image": (np.array([old, img]), np.array([0.1, 0.2]))})
        # A deleted item still owns its vector until the item itself is purged.
        assert catalog.purge_vectors() == 0
        assert catalog.purge_items(older_than=float("inf")) == 1
        assert catalog.purge_vectors() == 1  # "old"; "nobody" is alive in the index
    assert "old" not in catalog.has_vector_keys("s", ["old", "nobody", "img"])
    assert catalog.hubness_penalties("s", "image", [old, img]) == {img: 0.2}
    with catalog.transaction():
        catalog.save_index_state(IndexState("s", DIM, 1, 1, 2), {nobody: True})
        assert catalog.purge_vectors() == 1  # marked deleted in the index: no longer held
        catalog.update_item(catalog.item_by_path("/m/doc.txt").id, status="deleted")
        catalog.purge_items(older_than=float("inf"))
        assert catalog.purge_vectors() == 3  # the document and both passages
    assert catalog.passages_for_vector_ids("s", [first]) == {}
    with catalog.transaction():  # passages rows go with their document
        assert catalog.conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 0


def test_the_owner_sql_has_one_branch_per_way_of_owning() -> None:
    union = owner_union("v.id", "1=1")
    assert union.count("UNION") == 2 and union.count("CROSS JOIN") == 4
    assert "i.content_hash = v.key" in union and "i.text_key = v.key" in union
    assert "p.key = v.key AND i.content_hash = p.owner" in union
    live = owned_exists("x.key", live_only=True)
    assert live.count("EXISTS") == 3 and live.count("i.status = 'ok'") == 3
    assert "status" not in owned_exists("x.key", live_only=False)


def test_vectors_by_key_and_by_id(catalog: Catalog) -> None:
    img, bell = ids(catalog, "img", "t:bell")
    assert catalog.has_vector_keys("s", ["img", "t:bell", "missing"]) == {"img", "t:bell"}
    found = catalog.vectors_for_keys("s", ["img", "missing"])
    assert list(found) == ["img"] and np.allclose(found["img"], unit(1, 0, 0, 0))
    with catalog.transaction():
        catalog.add_vectors("s", ["img"], unit(0, 0, 0, 1)[None, :])  # a key keeps its first
    assert np.allclose(catalog.vector_for_key("s", "img"), unit(1, 0, 0, 0))
    assert catalog.vector_for_key("s", "missing") is None
    copy = catalog.vector_for_key("s", "img")
    copy[0] = 5.0  # a copy: the caller may change it
    assert np.allclose(catalog.vector_for_key("s", "img"), unit(1, 0, 0, 0))
    labels, matrix, keys = catalog.load_vectors("s", ids=[bell, img, img])
    assert labels.tolist() == sorted([img, bell]) and keys == ["img", "t:bell"]
    assert matrix.shape == (2, DIM) and matrix.dtype == np.float32
    after, _, later = catalog.load_vectors("s", after_id=img)
    assert after.tolist() == sorted(catalog.vector_ids("s") - {img}) and "img" not in later
    empty, nothing, none = catalog.load_vectors("s", ids=[])
    assert empty.size == 0 and nothing.shape == (0, 0) and none == []
    blobs = dict(catalog.vector_blobs("s"))
    assert len(blobs) == 7 and blobs[img] == unit(1, 0, 0, 0).tobytes()


def test_spaces_counts_deletes_and_drops(catalog: Catalog) -> None:
    assert catalog.spaces_with_vectors() == {"s": 7, "other": 1}
    assert catalog.vector_count("s") == 7 and catalog.vector_count("none") == 0
    (img,) = ids(catalog, "img")
    with catalog.transaction():
        catalog.delete_vectors([img])
    assert catalog.vector_count("s") == 6
    with catalog.transaction():
        catalog.save_index_state(IndexState("other", DIM, 1, 0, 1), {1: False})
        assert catalog.drop_space("other") == 1
    assert catalog.index_state("other") is None and catalog.spaces_with_vectors() == {"s": 6}
    assert catalog.passages_for_vector_ids("s", ids(catalog, "doc#1"))  # passages stay


def test_many_ids_are_read_in_chunks(catalog: Catalog) -> None:
    """More ids than SQLite's parameter limit: every one is answered, once."""
    many = [*range(10_000, 12_000), *ids(catalog, "img")]
    assert list(catalog.items_for_vector_ids("s", many)) == ids(catalog, "img")
    assert len(catalog.load_vectors("s", ids=many)[0]) == 1


def test_types_of_what_comes_back(catalog: Catalog) -> None:
    """Labels are int64 (hnswlib's labels), vectors float32 (what the index and the maths
    expect), modalities Python strings; a float64 matrix is stored as float32."""
    everything, matrix, _ = catalog.load_vectors("s")  # after_id 0: from the first vector on
    assert len(everything) == 7 and everything.dtype == np.int64 and matrix.dtype == np.float32
    assert everything[0] == min(catalog.vector_ids("s"))
    empty, nothing, _ = catalog.load_vectors("s", ids=[])
    assert empty.dtype == np.int64 and nothing.dtype == np.float32
    vector_ids, made_from = catalog.vector_modalities("s")
    assert vector_ids.dtype == np.int64 and made_from.dtype == object
    with catalog.transaction():
        catalog.add_vectors("s", ["wide"], np.asarray([[0.5, 0.5, 0.5, 0.5]], dtype=np.float64))
    assert len(dict(catalog.vector_blobs("s"))[ids(catalog, "wide")[0]]) == 4 * DIM
    assert np.allclose(catalog.vector_for_key("s", "wide"), 0.5)


def test_a_passage_says_which_it_is_and_where(catalog: Catalog) -> None:
    (second,) = ids(catalog, "doc#1")
    assert catalog.passages_for_vector_ids("s", [second]) == {
        second: {"n": 1, "start": 6, "end": 12, "text": "second", "modality": "text"}
    }
