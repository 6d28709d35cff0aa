from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog
from crossmodal.spaces import hnsw as index_mod
from crossmodal.spaces.hnsw import HnswBackend, index_file, update_space


def _catalog_with(tmp_path: Path, n: int, dim: int = 16) -> tuple[Catalog, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(8, dim))
    matrix = centres[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, dim))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    catalog = Catalog(tmp_path / "c.sqlite")
    _add_items(catalog, 0, matrix)
    return catalog, matrix


def _add_items(catalog: Catalog, first: int, matrix: np.ndarray) -> None:
    """Items h{first}... with these vectors in space "s", in one transaction."""
    keys = [f"h{i}" for i in range(first, first + len(matrix))]
    with catalog.transaction():
        for i, key in enumerate(keys, first):
            catalog.insert_item(
                path=f"/f{i}", size=1, mtime_ns=1, status="ok", content_hash=key, modality="text"
            )
        catalog.add_vectors("s", keys, matrix)


@pytest.mark.parametrize("exact_max", [0, 10_000])
def test_index_matches_brute_force_and_tracks_deletions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_max: int
) -> None:
    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", exact_max)  # 0: always the HNSW file
    catalog, matrix = _catalog_with(tmp_path, 300)
    path = tmp_path / "indexes"
    report = update_space(catalog, "s", 16, path)
    assert report.rebuilt and report.size == 300 and index_file(path, "s", 1).is_file()
    query = matrix[5]
    labels, sims = HnswBackend(catalog, "s", 16, path).search(query, 10)
    brute = np.argsort(-(matrix @ query))[:10] + 1  # vector ids start at 1
    assert len(set(labels.tolist()) & set(brute.tolist())) >= 9
    assert sims[0] == pytest.approx(1.0, abs=1e-4)

    # Delete 10 items: they leave the index at once (marked), without a rebuild.
    with catalog.transaction():
        catalog.mark_deleted(list(range(1, 11)))
    report = update_space(catalog, "s", 16, path)
    assert not report.rebuilt and report.deleted == 10 and report.size == 290
    labels, _ = HnswBackend(catalog, "s", 16, path).search(matrix[0], 50)
    assert not set(labels.tolist()) & set(range(1, 11))

    # Restore one: unmarked, not re-embedded.
    catalog.conn.execute("UPDATE items SET status = 'ok' WHERE id = 1")
    report = update_space(catalog, "s", 16, path)
    assert report.restored == 1 and report.size == 291

    # Delete most: the deleted share passes the threshold and the index is rebuilt compactly.
    with catalog.transaction():
        catalog.mark_deleted(list(range(1, 200)))
    report = update_space(catalog, "s", 16, path)
    assert report.rebuilt and report.size == 101


def _current_file(catalog: Catalog, index_dir: Path) -> Path:
    state = catalog.index_state("s")
    assert state is not None
    return index_file(index_dir, "s", state.generation)


def test_missing_or_corrupt_index_file_is_rebuilt_from_vectors(tmp_path: Path) -> None:
    catalog, _ = _catalog_with(tmp_path, 50)
    index_dir = tmp_path / "indexes"
    update_space(catalog, "s", 16, index_dir)
    _current_file(catalog, index_dir).write_bytes(b"garbage")
    report = update_space(catalog, "s", 16, index_dir)
    assert report.rebuilt and report.size == 50
    _current_file(catalog, index_dir).unlink()
    assert update_space(catalog, "s", 16, index_dir).rebuilt


def test_a_crash_before_the_commit_leaves_the_published_index_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new generation's file is written first; until the catalog commits it, searches and the
    next run use the previous one, and the orphan is cleaned up."""
    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", 0)
    catalog, matrix = _catalog_with(tmp_path, 100)
    index_dir = tmp_path / "indexes"
    update_space(catalog, "s", 16, index_dir)
    with catalog.transaction():
        catalog.mark_deleted([1, 2, 3])

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # stands in for SIGKILL between the file and the commit

    monkeypatch.setattr(catalog, "save_index_state", crash)
    with pytest.raises(KeyboardInterrupt):
        update_space(catalog, "s", 16, index_dir)
    monkeypatch.undo()
    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", 0)
    assert catalog.index_state("s").generation == 1  # type: ignore[union-attr]
    assert index_file(index_dir, "s", 2).is_file()  # the orphan
    labels, _ = HnswBackend(catalog, "s", 16, index_dir).search(matrix[0], 5)
    assert 1 in labels.tolist()  # the committed state still has item 1

    report = update_space(catalog, "s", 16, index_dir)
    assert report.deleted == 3 and catalog.index_state("s").generation == 2  # type: ignore[union-attr]
    labels, _ = HnswBackend(catalog, "s", 16, index_dir).search(matrix[0], 5)
    assert not {1, 2, 3} & set(labels.tolist())
    update_space(catalog, "s", 16, index_dir)
    assert sorted(p.name for p in index_dir.iterdir()) == ["s.g1.hnsw", "s.g2.hnsw"]


def test_a_damaged_index_file_degrades_search_to_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", 0)
    catalog, matrix = _catalog_with(tmp_path, 60)
    index_dir = tmp_path / "indexes"
    update_space(catalog, "s", 16, index_dir)
    _current_file(catalog, index_dir).write_bytes(b"\x00" * 10)
    searcher = HnswBackend(catalog, "s", 16, index_dir)
    labels, sims = searcher.search(matrix[7], 3)
    assert searcher.degraded and labels[0] == 8 and sims[0] == pytest.approx(1.0, abs=1e-5)


def test_vectors_embedded_but_not_indexed_are_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 class 8: after `embed` without `index` a search found nothing and said nothing.
    A small space is searched exactly over every live vector; a large one says what to run."""
    catalog, matrix = _catalog_with(tmp_path, 300)
    path = tmp_path / "indexes"
    never = HnswBackend(catalog, "s", 16, path)  # never indexed
    labels, sims = never.search(matrix[7], 3)
    assert labels[0] == 8 and sims[0] == pytest.approx(1.0, abs=1e-4) and never.degraded is None
    update_space(catalog, "s", 16, path)
    _add_items(catalog, 300, matrix[:20] * -1)  # 20 more embedded after the index run
    labels, _ = HnswBackend(catalog, "s", 16, path).search(-matrix[3], 1)
    assert labels[0] == 304  # the new vector (-matrix[3]) is found before the next index run
    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", 0)  # as if the space were large
    large = HnswBackend(catalog, "s", 16, path)
    assert large.degraded == (
        "20 vectors are not indexed yet and are not searched; run crossmodal index"
    )
