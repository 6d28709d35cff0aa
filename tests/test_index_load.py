"""Loading an index file through hnswlib's state API (spaces.hnsw.load_index): the memory-mapped,
checked file becomes the same index hnswlib's own stream reader makes (same links, labels,
deleted marks, capacity; writable after), a damaged file is a StoreError in a fresh process (never
a signal), and the level-0 link check runs once per state of the file."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import hnswlib
import numpy as np
import pytest

from crossmodal import hnsw_file
from crossmodal.errors import StoreError
from crossmodal.spaces import hnsw as hnsw_mod
from crossmodal.spaces.hnsw import load_index

ROOT = Path(__file__).resolve().parent.parent
DIM = 16
N = 3000


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(8, DIM))[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, DIM))
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def _saved(folder: Path, n: int = N, capacity: int | None = None, deleted: int = 40) -> Path:
    """A store-like layout (STORE/indexes/s.g1.hnsw beside STORE/cache) holding n vectors labelled
    10 + 3 i, the first `deleted` of them marked deleted."""
    (folder / "indexes").mkdir(parents=True, exist_ok=True)
    (folder / "cache").mkdir(exist_ok=True)
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=max(capacity or n, 16), ef_construction=100, M=16)
    if n:
        index.add_items(_vectors(n), np.arange(n) * 3 + 10)
    for label in range(deleted):
        index.mark_deleted(10 + 3 * label)
    path = folder / "indexes" / "s.g1.hnsw"
    index.save_index(str(path))
    return path


def _hnswlib_load(path: Path, capacity: int = 0) -> hnswlib.Index:
    index = hnswlib.Index(space="ip", dim=DIM)
    index.load_index(str(path), max_elements=capacity)
    return index


def _same_state(ours: hnswlib.Index, theirs: hnswlib.Index) -> None:
    mine, reference = ours.__getstate__()[0], theirs.__getstate__()[0]
    assert mine.keys() == reference.keys()
    for key, value in reference.items():
        if key == "seed":  # hnswlib's reader leaves it unset
            continue
        if key.startswith("label_lookup"):  # a hash map's order
            assert np.array_equal(np.sort(mine[key]), np.sort(value)), key
        elif isinstance(value, np.ndarray):
            assert np.array_equal(mine[key], value), key
        else:
            assert mine[key] == value, key


@pytest.mark.parametrize("deleted", [0, 40])
def test_the_state_load_makes_the_index_hnswlib_reads(tmp_path: Path, deleted: int) -> None:
    path = _saved(tmp_path, deleted=deleted)
    ours, theirs = load_index(path, DIM, elements=N), _hnswlib_load(path)
    _same_state(ours, theirs)
    queries = _vectors(50, seed=1)
    for index in (ours, theirs):
        index.set_ef(64)
    found, distances = ours.knn_query(queries, k=10)
    expected, expected_distances = theirs.knn_query(queries, k=10)
    assert np.array_equal(found, expected) and np.array_equal(distances, expected_distances)
    if deleted:
        assert not set(found.ravel().tolist()) & {10 + 3 * i for i in range(deleted)}
        with pytest.raises(RuntimeError):  # check.py relies on deleted labels not reading back
            ours.get_items([10])


def test_load_uses_the_state_api_not_the_stream_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hnswlib's load_index seeks through every element and reads each one's links apart: at
    1M vectors that was 2.4 s of a 2.6 s cold search. The file must reach hnswlib as a state."""
    path = _saved(tmp_path)
    made: list[tuple] = []
    real = hnswlib.Index

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(hnswlib, "Index", spy)
    index = load_index(path, DIM, elements=N)
    assert len(made) == 1 and isinstance(made[0][0][0], dict)
    assert index.get_current_count() == N


def test_a_loaded_index_stays_writable(tmp_path: Path) -> None:
    """members() loads the file to add to it: resize, add, delete, save, and read back."""
    path = _saved(tmp_path)
    index = load_index(path, DIM, elements=N)
    extra = _vectors(100, seed=2)
    index.resize_index(N + 100)
    index.add_items(extra, np.arange(100) + 10**6)
    index.mark_deleted(10**6)
    index.unmark_deleted(10)
    target = tmp_path / "indexes" / "s.g2.hnsw"
    index.save_index(str(target))
    again = load_index(target, DIM, elements=N + 100)
    _same_state(again, _hnswlib_load(target))
    again.set_ef(64)
    found, _ = again.knn_query(extra[1:2], k=1)
    assert found[0, 0] == 10**6 + 1


def test_capacity_as_hnswlib_reads_it(tmp_path: Path) -> None:
    """A file with spare capacity keeps it; a larger capacity asked for is given."""
    path = _saved(tmp_path, capacity=N + 500)
    _same_state(load_index(path, DIM, elements=N), _hnswlib_load(path))
    assert load_index(path, DIM, N + 2000, elements=N).get_max_elements() == N + 2000
    _same_state(load_index(path, DIM, N + 2000, elements=N), _hnswlib_load(path, N + 2000))


def test_an_empty_index_loads_and_takes_vectors(tmp_path: Path) -> None:
    path = _saved(tmp_path, n=0, deleted=0)
    index = load_index(path, DIM, elements=0)
    _same_state(index, _hnswlib_load(path))
    index.resize_index(10)
    index.add_items(_vectors(5), np.arange(5))
    assert sorted(index.get_ids_list()) == [0, 1, 2, 3, 4]


def test_an_hnswlib_with_another_state_falls_back_to_its_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _saved(tmp_path)
    real = hnswlib.Index

    def refuses_states(*args, **kwargs):  # type: ignore[no-untyped-def]
        if args and isinstance(args[0], dict):
            raise RuntimeError("Invalid serialization version!")
        return real(*args, **kwargs)

    monkeypatch.setattr(hnswlib, "Index", refuses_states)
    _same_state(load_index(path, DIM, elements=N), _hnswlib_load(path))


def test_level0_links_are_checked_once_per_state_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The expensive level-0 link check is cached by the file's stamp; the header, the sizes and
    the upper levels (the state is built from them) are read and checked on every load."""
    path = _saved(tmp_path)
    where: list[str] = []
    real = hnsw_file._check_links

    def counting(path, lists, most, count, at):  # type: ignore[no-untyped-def]
        where.append(at)
        return real(path, lists, most, count, at)

    monkeypatch.setattr(hnsw_file, "_check_links", counting)
    load_index(path, DIM, elements=N)
    assert where == ["level 0", "upper"]
    assert (tmp_path / "cache" / "index-checks.json").is_file()
    load_index(path, DIM, elements=N)
    assert where == ["level 0", "upper", "upper"]
    load_index(path, DIM, elements=N, recheck=True)  # crossmodal check: everything again
    assert where[-2:] == ["level 0", "upper"]
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(raw))  # rewritten: a new change time, checked again
    where.clear()
    load_index(path, DIM, elements=N)
    assert where == ["level 0", "upper"]


def test_a_read_only_store_checks_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _saved(tmp_path)
    (tmp_path / "cache").rmdir()  # nowhere to keep the stamp
    where: list[str] = []
    real = hnsw_file._check_links
    monkeypatch.setattr(
        hnsw_file,
        "_check_links",
        lambda p, lists, most, count, at: (where.append(at), real(p, lists, most, count, at)),
    )
    load_index(path, DIM, elements=N)
    load_index(path, DIM, elements=N)
    assert where.count("level 0") == 2


# Garbled files loaded in a fresh process: a crash would be a signal, not an exception.
PROBE = """
import sys
from pathlib import Path
from crossmodal.errors import StoreError
from crossmodal.spaces.hnsw import load_index
try:
    load_index(Path(sys.argv[1]), 16, elements=int(sys.argv[2]))
except StoreError as exc:
    print("StoreError", exc)
else:
    print("loaded")
"""


def _garbled_copy(path: Path, tmp_path: Path, name: str, at: int, data: bytes) -> Path:
    folder = tmp_path / name
    (folder / "indexes").mkdir(parents=True)
    (folder / "cache").mkdir()
    raw = bytearray(path.read_bytes())
    raw[at : at + len(data)] = data
    target = folder / "indexes" / "s.g1.hnsw"
    target.write_bytes(bytes(raw))
    return target


def _upper_size_word(path: Path) -> int:
    """The byte offset of the first element's upper-level size word that is not zero."""
    raw = path.read_bytes()
    count, size = struct.unpack_from("<QQ", raw, 16)
    tail = np.frombuffer(raw, dtype="<u4", offset=96 + count * size)
    return 96 + count * size + 4 * int(np.flatnonzero(tail)[0])


def test_damaged_files_are_store_errors_in_a_fresh_process(tmp_path: Path) -> None:
    path = _saved(tmp_path / "good")
    size = struct.unpack_from("<Q", path.read_bytes(), 24)[0]
    garbage = b"\xa7\x13\xfe\x99\x42\x81\x07\xee"
    cases = {f"header{at}": (at, garbage) for at in range(0, 96, 8)}
    cases["entry"] = (52, b"\xa7\x13\xfe\x59")
    cases["link0"] = (96 + 100 * size + 4, struct.pack("<I", 10**9))
    cases["count0"] = (96 + 100 * size, struct.pack("<H", 999))
    cases["upper_size"] = (_upper_size_word(path), struct.pack("<I", 7))
    cases["upper_link"] = (_upper_size_word(path) + 8, struct.pack("<I", 10**9))
    for name, (at, data) in cases.items():
        target = _garbled_copy(path, tmp_path, name, at, data)
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(target), str(N)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert done.returncode == 0, (name, done.returncode, done.stderr[-2000:])
        assert done.stdout.startswith("StoreError"), (name, done.stdout)
    short = tmp_path / "short" / "indexes" / "s.g1.hnsw"
    short.parent.mkdir(parents=True)
    for cut in (0, 50, len(path.read_bytes()) - 8):
        short.write_bytes(path.read_bytes()[:cut])
        with pytest.raises(StoreError):
            load_index(short, DIM, elements=N)


def test_a_search_through_the_backend_matches_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_index import _catalog_with

    monkeypatch.setattr(hnsw_mod, "EXACT_SEARCH_MAX", 0)
    catalog, matrix = _catalog_with(tmp_path, 2000, DIM)
    hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    backend = hnsw_mod.HnswBackend(catalog, "s", DIM, tmp_path / "indexes")
    labels, sims = backend.search(matrix[7], 5)
    assert backend.degraded is None and backend._graph is not None
    assert sims[0] == pytest.approx(1.0, abs=1e-5)
    _, found, _ = catalog.load_vectors("s", ids=labels.tolist())
    best = np.sort(matrix @ matrix[7])[::-1][:5]
    assert np.allclose(np.sort(found @ matrix[7])[::-1], best, atol=1e-5)
    assert np.allclose(np.sort(sims)[::-1], best, atol=1e-5)
    catalog.close()


def test_a_no_op_sync_reads_labels_without_loading_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """members() compares the file's labels with the catalog's from the mapped file: a no-op
    update of a 1M-vector space built a 1.7 GB graph (2.5 s) just to list its labels."""
    from .test_index import _add_items, _catalog_with

    catalog, _ = _catalog_with(tmp_path, 1000, DIM)
    hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    loads: list[Path] = []
    real = hnsw_mod.load_index

    def counting(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        loads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hnsw_mod, "load_index", counting)
    report = hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    assert (report.added, report.rebuilt, report.size, loads) == (0, False, 1000, [])
    _add_items(catalog, 1000, _vectors(10, seed=3))  # a change: now the graph is loaded once
    report = hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    assert (report.added, report.rebuilt, report.size, len(loads)) == (10, False, 1010, 1)
    state = catalog.index_state("s")
    assert state is not None and state.generation == 2
    graph = real(hnsw_mod.index_file(tmp_path / "indexes", "s", 2), DIM, elements=1010)
    assert sorted(graph.get_ids_list()) == sorted(catalog.index_members("s"))
    catalog.close()


def test_a_graph_hnswlib_refuses_after_the_label_check_is_rebuilt_from_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_index import _add_items, _catalog_with

    catalog, matrix = _catalog_with(tmp_path, 1000, DIM)
    hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")

    def refuses(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreError(f"index {path} is unreadable (refused); run crossmodal index")

    monkeypatch.setattr(hnsw_mod, "load_index", refuses)
    _add_items(catalog, 1000, _vectors(10, seed=4))
    report = hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    assert (report.added, report.size) == (10, 1010)
    monkeypatch.undo()
    graph = hnsw_mod.load_index(
        hnsw_mod.index_file(tmp_path / "indexes", "s", 2), DIM, elements=1010
    )
    assert sorted(graph.get_ids_list()) == sorted(catalog.index_members("s"))
    graph.set_ef(64)
    found, _ = graph.knn_query(matrix[5:6], k=1)
    assert int(found[0, 0]) in catalog.index_members("s")
    catalog.close()


@pytest.mark.parametrize("deleted", [0, 300])
def test_the_mapped_search_answers_as_hnswlib_does(tmp_path: Path, deleted: int) -> None:
    """MappedGraph runs hnswlib's searchKnn over the mapped file: same lists, same order."""
    path = _saved(tmp_path, deleted=deleted)
    mapped = hnsw_mod.open_mapped(path, DIM, N, deletions=deleted > 0)
    reference = _hnswlib_load(path)
    same = 0
    for k, ef in ((10, 128), (1, 128), (50, 100)):
        reference.set_ef(ef)
        for query in _vectors(40, seed=5):
            labels, distances = mapped.knn(query, k, ef)
            expected, expected_distances = reference.knn_query(query[None, :], k=k)
            assert np.allclose(distances, expected_distances[0], atol=1e-5)
            same += np.array_equal(labels, expected[0].astype(np.uint64))
            if deleted:
                assert not set(labels.tolist()) & {10 + 3 * i for i in range(deleted)}
    assert same >= 118  # of 120: a near tie summed in another order may swap two neighbours


def test_a_search_maps_the_file_and_never_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1M vectors loading the file into hnswlib took 1.6-2.5 s of every cold search."""
    from .test_index import _catalog_with

    monkeypatch.setattr(hnsw_mod, "EXACT_SEARCH_MAX", 0)
    catalog, matrix = _catalog_with(tmp_path, 1000, DIM)
    hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")

    def no_hnswlib(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a search built an hnswlib index")

    monkeypatch.setattr(hnswlib, "Index", no_hnswlib)
    backend = hnsw_mod.HnswBackend(catalog, "s", DIM, tmp_path / "indexes")
    labels, sims = backend.search(matrix[3], 5)
    assert backend.degraded is None and isinstance(backend._graph, hnsw_mod.MappedGraph)
    assert len(labels) == 5 and sims[0] == pytest.approx(1.0, abs=1e-5)
    catalog.close()


def test_a_link_garbled_after_its_check_falls_back_to_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were a file garbled without its change time moving (the check's stamp still holds),
    the mapped search meets an id beyond the file: an IndexError, answered exactly, never a
    crash (hnswlib would have read outside its buffer)."""
    from .test_index import _catalog_with

    monkeypatch.setattr(hnsw_mod, "EXACT_SEARCH_MAX", 0)
    catalog, matrix = _catalog_with(tmp_path, 1000, DIM)
    hnsw_mod.update_space(catalog, "s", DIM, tmp_path / "indexes")
    path = hnsw_mod.index_file(tmp_path / "indexes", "s", 1)
    raw = bytearray(path.read_bytes())
    size = struct.unpack_from("<Q", raw, 24)[0]
    for element in range(1000):  # every element's first level-0 link
        struct.pack_into("<I", raw, 96 + element * size + 4, 10**9)
    path.write_bytes(bytes(raw))
    (tmp_path / "cache").mkdir(exist_ok=True)
    record = tmp_path / "cache" / "index-checks.json"
    hnsw_file.remember_checked(path, DIM, 1000, record)  # as if checked before the damage
    backend = hnsw_mod.HnswBackend(catalog, "s", DIM, tmp_path / "indexes")
    labels, sims = backend.search(matrix[3], 5)
    assert backend.degraded is not None and "searching exactly" in backend.degraded
    assert len(labels) == 5 and sims[0] == pytest.approx(1.0, abs=1e-5)
    catalog.close()
