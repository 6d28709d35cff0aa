"""The Milvus backend through sync, on a real SQLite catalog and a real Milvus Lite folder (in
this process): what it uploads, deletes and re-uploads, what a search pushes down, and how a
killed sync or a changed collection is noticed. Also the `--vectors` parsing, and the Ray
runner's regrouping of per-row results (pure)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog
from crossmodal.errors import UserError
from crossmodal.spaces.sync import rebuild, sync
from crossmodal.spaces.target import HNSWLIB, parse_target

DIM = 4
needs_milvus = pytest.mark.skipif(
    not (importlib.util.find_spec("pymilvus") and importlib.util.find_spec("milvus_lite")),
    reason="crossmodal[scale] is not installed",
)


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """A photo and its copy (one content), a clip with words (text key), a document, and a
    vector no item owns."""
    opened = Catalog(tmp_path / "catalog.sqlite")
    with opened.transaction():
        add = opened.insert_item
        add(path="/m/b.png", modality="image", size=1, mtime_ns=1, content_hash="img", status="ok")
        add(path="/m/a.png", modality="image", size=1, mtime_ns=1, content_hash="img", status="ok")
        add(path="/m/clip.wav", modality="audio", size=1, mtime_ns=1, content_hash="wav",
            text_side="a bell", text_key="t:bell", status="ok")  # fmt: skip
        add(path="/m/doc.txt", modality="text", size=1, mtime_ns=1, content_hash="doc",
            status="ok")  # fmt: skip
        opened.add_vectors("s", ["img", "t:bell", "doc", "nobody"], np.stack(
            [unit(1, 0, 0, 0), unit(0, 0, 1, 0), unit(0, 0, 0, 1), unit(1, 1, 0, 0)]
        ))  # fmt: skip
    yield opened
    opened.close()


@pytest.fixture
def backend(catalog: Catalog, tmp_path: Path):  # type: ignore[no-untyped-def]
    from crossmodal.spaces.milvus import MilvusBackend, close_clients

    target = parse_target(f"milvus-lite:{tmp_path / 'v.db'}")

    def make() -> MilvusBackend:
        return MilvusBackend(catalog, "s", DIM, target, "t1")

    yield make
    close_clients()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(target.uri)


def vid(catalog: Catalog, key: str) -> int:
    return catalog.vector_ids_for_keys("s", [key])[key]


@needs_milvus
def test_sync_uploads_live_vectors_with_what_they_were_made_from(catalog, backend) -> None:  # type: ignore[no-untyped-def]
    report = sync(catalog, backend())
    assert report.rebuilt and report.size == 3  # "nobody" owns no vector: not uploaded
    reader = backend()
    assert reader.count() == 3 and reader.stored_count() == 3
    img, bell, doc = vid(catalog, "img"), vid(catalog, "t:bell"), vid(catalog, "doc")
    stored = reader.stored_vectors([img, bell, doc])
    assert np.allclose(stored[img], unit(1, 0, 0, 0))
    labels, sims = reader.search(unit(1, 0.1, 0, 0), 3)
    assert labels.tolist()[0] == img and sims[0] == pytest.approx(float(unit(1, 0.1, 0, 0)[0]))
    assert sims.tolist() == sorted(sims.tolist(), reverse=True)
    # --type audio: the clip's words (made from text) stay; the photo and only it goes.
    audio, _ = reader.search(unit(1, 0.1, 0, 0), 3, ["audio"])
    assert set(audio.tolist()) == {bell, doc}
    assert catalog.vector_made_from("s", [img, bell, doc]) == {
        img: "image",
        bell: "text",
        doc: "text",
    }
    assert sync(catalog, backend()).rebuilt is False  # in line: nothing to do


@needs_milvus
def test_deletes_and_revivals_follow_the_catalog(catalog, backend) -> None:  # type: ignore[no-untyped-def]
    sync(catalog, backend())
    doc = vid(catalog, "doc")
    item = catalog.item_by_path("/m/doc.txt")
    with catalog.transaction():
        catalog.update_item(item.id, status="deleted")
    report = sync(catalog, backend())
    assert (report.deleted, report.rebuilt) == (1, False)
    assert backend().stored_count() == 2
    assert doc not in backend().search(unit(0, 0, 0, 1), 3)[0].tolist()
    assert doc not in catalog.index_members("s")
    with catalog.transaction():
        catalog.update_item(item.id, status="ok")
    report = sync(catalog, backend())
    assert (report.added, report.rebuilt) == (1, False)  # re-added, not restored from a mark
    assert backend().search(unit(0, 0, 0, 1), 1)[0].tolist() == [doc]
    state = catalog.index_state("s")
    assert state is not None and state.n_deleted == 0 and state.n_labels == 3


@needs_milvus
def test_a_killed_sync_and_a_changed_collection_are_uploaded_again(catalog, backend) -> None:  # type: ignore[no-untyped-def]
    sync(catalog, backend())
    generation = catalog.index_state("s").generation
    # Killed after the marker, before the commit: the marker stays, the next sync rebuilds.
    writer = backend()
    assert writer.members() is not None
    writer.delete([vid(catalog, "img")])
    marked = catalog.index_state("s")
    assert marked.generation == -generation - 1
    assert backend().members() is None
    assert sync(catalog, backend()).rebuilt
    assert catalog.index_state("s").generation == generation + 1
    assert backend().stored_count() == 3
    # A row removed behind our back: the count differs, the space is uploaded again.
    backend().client.delete(backend().collection, ids=[vid(catalog, "doc")])
    assert backend().members() is None
    assert sync(catalog, backend()).rebuilt and backend().stored_count() == 3


@needs_milvus
def test_rebuild_replaces_the_collection(catalog, backend) -> None:  # type: ignore[no-untyped-def]
    sync(catalog, backend())
    report = rebuild(catalog, backend())
    assert report.rebuilt and report.size == 3
    assert backend().stored_count() == 3
    assert set(catalog.index_members("s")) == catalog.live_vector_ids("s")
    # A rebuild uploads beside the published collection: readers see it whole until commit.
    writer = backend()
    writer.rebuild([vid(catalog, "img")])
    assert backend().stored_count() == 3
    assert backend().search(unit(0, 0, 0, 1), 3)[0].tolist()[0] == vid(catalog, "doc")
    writer.commit(None)
    assert backend().stored_count() == 1
    client, alias = writer.client, writer.collection
    assert client.describe_alias(alias)["collection_name"] == f"{alias}_g3"
    # The previous generation is kept one round for searches that had just resolved it.
    assert sorted(n for n in client.list_collections() if n.startswith(alias)) == [
        f"{alias}_g2",
        f"{alias}_g3",
    ]


def test_collection_names_are_milvus_names() -> None:
    from crossmodal.spaces.milvus import collection_name

    name = collection_name("ab12", "openclip:ViT-B-32/laion2b")
    assert name.startswith("crossmodal_ab12_openclip_ViT_B_32_laion2b_")
    assert name.replace("_", "").isalnum() and len(name) <= 255
    assert collection_name("ab12", "a-b") != collection_name("ab12", "a_b")
    assert collection_name("", "s").startswith("crossmodal_store_s_")


def test_type_filters_are_supersets_of_the_owners() -> None:
    from crossmodal.spaces.milvus import made_from_filter

    assert made_from_filter(None) is None
    assert made_from_filter(["image", "text", "audio", "video"]) is None
    assert made_from_filter(["text"]) == 'made_from in ["text"]'
    assert made_from_filter(["image"]) == 'made_from in ["image", "text"]'
    assert made_from_filter(["audio"]) == 'made_from in ["audio", "text"]'
    assert made_from_filter(["image", "audio"]) == 'made_from in ["audio", "image", "text"]'
    assert made_from_filter(["video"]) is None  # its scenes are pictures, its sound audio
    assert made_from_filter(["nothing"]) is None


def test_vectors_values(tmp_path: Path) -> None:
    assert parse_target("hnswlib").kind == HNSWLIB
    assert parse_target("").kind == HNSWLIB
    lite = parse_target("milvus-lite:v.db", base=tmp_path)
    assert (lite.kind, lite.uri, lite.lite) == ("milvus", str(tmp_path / "v.db"), True)
    assert lite.spec == f"milvus-lite:{tmp_path / 'v.db'}"
    server = parse_target("milvus://db.internal:19530/")
    assert (server.uri, server.spec, server.lite) == (
        "http://db.internal:19530",
        "milvus://db.internal:19530",
        False,
    )
    assert parse_target("milvus+https://[::1]:443").uri == "https://[::1]:443"
    for bad in (
        "milvus-lite:v.sqlite",
        "milvus-lite:/.db",
        "milvus://host",
        "milvus://host:0",
        "milvus://host:70000",
        "milvus://ho st:1",
        "faiss",
        f"milvus-lite:{tmp_path}/no/v.db",
    ):
        with pytest.raises(UserError):
            parse_target(bad, base=tmp_path)


def test_ray_rows_regroup_into_one_batch() -> None:
    """Per-row payloads (in any order Ray returns them) become one Encoded: a row lacking a
    space, or with its vector of another size, is unusable; passages keep their rows."""
    from crossmodal.pipeline.ray_embed import regroup

    rows = [
        ("a", {"vectors": {"s": unit(1, 0), "t": unit(0, 1, 0)}, "usable": True}),
        ("b", {"vectors": {"s": unit(0, 1)}, "usable": True}),  # lacks t
        ("c", {"vectors": {"s": unit(1, 1), "t": unit(1, 0, 0)}, "usable": False}),
        ("d", {"vectors": {"s": unit(1, 0, 0), "t": unit(0, 0, 1)}, "usable": True}),  # s: 3-d
    ]
    rows.insert(0, ("z", {"vectors": {"s": unit(1, 0), "t": unit(1, 1, 0)}, "usable": True}))
    encoded = regroup(rows)  # type: ignore[arg-type]
    assert encoded.usable.tolist() == [True, True, False, False, False]
    assert encoded.vectors["s"].shape == (5, 2) and encoded.vectors["t"].shape == (5, 3)
    assert np.allclose(encoded.vectors["t"][1], unit(0, 1, 0))
    assert encoded.passages is None
    spans = [(0, 3, "one")]
    with_passages = regroup(
        [
            (
                "p",
                {
                    "vectors": {"s": unit(1, 0)},
                    "usable": True,
                    "passages": (spans, {"s": np.stack([unit(1, 0)])}),
                },
            ),  # fmt: skip
            ("q", {"vectors": {"s": unit(0, 1)}, "usable": True}),
        ]
    )
    assert with_passages.passages is not None
    got_spans, per_space = with_passages.passages
    assert got_spans == [spans, []]
    assert len(per_space["s"]) == 2 and per_space["s"][1].shape[0] == 0
