"""One hnswlib index per space, on disk, always rebuildable from the vectors in the catalog.

Labels are vector ids from the catalog. Deleted content is marked deleted in the index (so it
disappears from results at once) and the index is rebuilt when the deleted share grows large.
Tiny spaces are searched exactly: for a few thousand vectors a matrix product is both exact and
faster than loading a graph.

Crash safety: a changed index is written to a new file, `SPACE.gN.hnsw` (N = generation + 1), and
only the catalog transaction that records generation N publishes it. A run killed before that
commit leaves the catalog pointing at the previous, complete file; the orphan is removed later. The
previous generation is kept one round so a search that just read the old state can still open it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import Catalog, IndexState
from .errors import StoreError
from .fsutil import atomic_write_with
from .hnsw_file import check_index_file_once

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH_MIN = 128
REBUILD_DELETED_SHARE = 0.25
EXACT_SEARCH_MAX = 5000
# Vectors never indexed that a search still reads exactly (beyond: a note says to index).
EXACT_UNINDEXED_MAX = 20_000
ADD_CHUNK = 8192  # vectors read from the catalog per add_items call: bounds memory on big spaces


def _new_index(dim: int, capacity: int):  # type: ignore[no-untyped-def]
    import hnswlib

    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION, M=M)
    index.set_num_threads(2)
    return index


def index_file(index_dir: Path, space: str, generation: int) -> Path:
    """Generation 0 is the name schema-1 stores used, so their files stay valid."""
    name = f"{space}.hnsw" if generation == 0 else f"{space}.g{generation}.hnsw"
    return index_dir / name


def _generation_of(path: Path, space: str) -> int | None:
    if path.name == f"{space}.hnsw":
        return 0
    match = re.fullmatch(re.escape(space) + r"\.g(\d+)\.hnsw", path.name)
    return int(match.group(1)) if match else None


def stray_index_files(index_dir: Path, space: str, generation: int) -> list[Path]:
    """Files of `space` other than the current and the previous generation."""
    if not index_dir.is_dir():
        return []
    keep = {generation, generation - 1}
    return sorted(
        path
        for path in index_dir.iterdir()
        if (found := _generation_of(path, space)) is not None and found not in keep
    )


def _publish(  # type: ignore[no-untyped-def]
    catalog: Catalog,
    index,
    state: IndexState,
    members: dict[int, bool],
    index_dir: Path,
    changed: set[int] | None = None,
) -> None:
    """Write the next generation's file, then commit the catalog rows that point at it."""
    path = index_file(index_dir, state.space, state.generation)
    atomic_write_with(path, lambda tmp: index.save_index(str(tmp)))
    with catalog.transaction():
        catalog.save_index_state(state, members, changed)
    for stray in stray_index_files(index_dir, state.space, state.generation):
        with contextlib.suppress(OSError):
            stray.unlink()


def load_index(  # type: ignore[no-untyped-def]
    path: Path, dim: int, capacity: int = 0, elements: int | None = None, recheck: bool = False
):
    """The index file loaded by hnswlib, after checking its structure (hnswlib trusts its file:
    a garbled header crashed the process). StoreError when it is damaged."""
    import hnswlib

    # Checked once per state of the file (the stamps live in the store's cache folder);
    # `recheck` (crossmodal check) always reads the whole structure again.
    record = None if recheck else path.parent.parent / "cache" / "index-checks.json"
    check_index_file_once(path, dim, elements, record)
    index = hnswlib.Index(space="ip", dim=dim)
    try:
        index.load_index(str(path), max_elements=capacity)
    except (RuntimeError, OSError, ValueError) as exc:
        raise StoreError(f"index {path} is unreadable ({exc}); run crossmodal index") from exc
    return index


@dataclass(frozen=True)
class IndexReport:
    space: str
    added: int
    deleted: int
    restored: int
    rebuilt: bool
    size: int


def _add_from_catalog(catalog: Catalog, index, space: str, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Add vectors chunk by chunk: a 100k x 1280-d space would otherwise sit in memory twice
    (SQLite rows and the stacked matrix) beside the graph being built."""
    for start in range(0, len(ids), ADD_CHUNK):
        labels, matrix, _ = catalog.load_vectors(space, ids=ids[start : start + ADD_CHUNK])
        if len(labels):
            index.add_items(matrix, labels)


def _next_generation(catalog: Catalog, space: str) -> int:
    state = catalog.index_state(space)
    return 1 if state is None else state.generation + 1


def rebuild_space(catalog: Catalog, space: str, dim: int, index_dir: Path) -> IndexReport:
    """Build the space's index from scratch with its live vectors only."""
    live = sorted(catalog.live_vector_ids(space))
    index = _new_index(dim, len(live))
    _add_from_catalog(catalog, index, space, live)
    state = IndexState(space, dim, len(live), 0, _next_generation(catalog, space))
    _publish(catalog, index, state, {int(v): False for v in live}, index_dir)
    return IndexReport(space, len(live), 0, 0, True, len(live))


def update_space(catalog: Catalog, space: str, dim: int, index_dir: Path) -> IndexReport:
    """Bring the index in line with the catalog: add new live vectors, mark dead ones deleted,
    unmark restored ones; rebuild when the deleted share passes REBUILD_DELETED_SHARE or the
    file does not match what the catalog says it holds."""
    state = catalog.index_state(space)
    if state is None or state.dim != dim:
        return rebuild_space(catalog, space, dim, index_dir)
    path = index_file(index_dir, space, state.generation)
    if not path.is_file():
        return rebuild_space(catalog, space, dim, index_dir)
    try:
        index = load_index(path, dim, elements=state.n_labels)
    except StoreError:
        return rebuild_space(catalog, space, dim, index_dir)
    members = catalog.index_members(space)
    if index.get_current_count() != len(members) or set(index.get_ids_list()) != members.keys():
        # The file is not what the catalog says it holds (damaged or replaced): start over.
        return rebuild_space(catalog, space, dim, index_dir)
    live = catalog.live_vector_ids(space)
    to_add = sorted(live - members.keys())
    to_mark = {v for v, dead in members.items() if not dead and v not in live}
    to_unmark = {v for v, dead in members.items() if dead and v in live}
    total_after = len(members) + len(to_add)
    deleted_after = sum(members.values()) - len(to_unmark) + len(to_mark)
    if total_after and deleted_after / total_after > REBUILD_DELETED_SHARE:
        return rebuild_space(catalog, space, dim, index_dir)
    if not (to_add or to_mark or to_unmark):
        for stray in stray_index_files(index_dir, space, state.generation):
            with contextlib.suppress(OSError):
                stray.unlink()
        return IndexReport(space, 0, 0, 0, False, total_after - deleted_after)
    if to_add:
        index.resize_index(max(total_after, index.get_max_elements()))
        _add_from_catalog(catalog, index, space, to_add)
    for label in to_unmark:
        index.unmark_deleted(int(label))
    for label in to_mark:
        index.mark_deleted(int(label))
    for label in to_add:
        members[label] = False
    for label in to_unmark:
        members[label] = False
    for label in to_mark:
        members[label] = True
    new_state = IndexState(space, dim, total_after, deleted_after, state.generation + 1)
    _publish(catalog, index, new_state, members, index_dir, set(to_add) | to_mark | to_unmark)
    return IndexReport(
        space, len(to_add), len(to_mark), len(to_unmark), False, total_after - deleted_after
    )


class SpaceSearcher:
    """Nearest neighbours in one space: exact for small spaces, HNSW otherwise.

    It sees the last committed index state. When a large space's index file is missing or
    unreadable it falls back to exact search over the same vectors (slower, same answers) and says
    so in `degraded`, so a damaged file never stops a search; `update` or `check --repair` rebuilds it.
    """

    def __init__(self, catalog: Catalog, space: str, dim: int, index_dir: Path) -> None:
        self.space = space
        self.degraded: str | None = None
        self._exact: tuple[np.ndarray, np.ndarray] | None = None
        self._index = None
        with catalog.read_snapshot():
            state = catalog.index_state(space)
            stored = catalog.vector_count(space)
            indexed = 0 if state is None else state.n_labels
            self.size = 0 if state is None else state.n_labels - state.n_deleted
            if state is not None and self.size > EXACT_SEARCH_MAX:
                if stored > indexed:  # embedded since the last index run: not in the graph
                    self.degraded = (
                        f"{stored - indexed} vectors are not indexed yet and are not searched; "
                        "run crossmodal index"
                    )
                try:
                    path = index_file(index_dir, space, state.generation)
                    self._index = load_index(path, dim, elements=state.n_labels)
                    return
                except StoreError as exc:
                    self.degraded = f"{exc}; searching exactly"
            if stored - indexed > EXACT_UNINDEXED_MAX:
                # Too many never indexed to read on every query: the indexed ones, and a note.
                self.degraded = (
                    f"{stored - indexed} vectors are not indexed yet and are not searched; "
                    "run crossmodal index"
                )
                members = catalog.index_members(space)
                alive = sorted(v for v, dead in members.items() if not dead)
            else:
                # Exactly, over every live vector: also those embedded but not indexed yet (a
                # search after `embed` without `index` finds them instead of answering nothing).
                alive = sorted(catalog.live_vector_ids(space))
            labels, matrix, _ = catalog.load_vectors(space, ids=alive)
        self._exact = (labels, matrix)
        self.size = len(labels)

    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosine similarities), best first, at most k."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._exact is not None:
            labels, matrix = self._exact
            sims = matrix @ vector.astype(np.float32)
            order = np.argsort(-sims, kind="stable")[:k]
            return labels[order], sims[order]
        assert self._index is not None
        self._index.set_ef(max(EF_SEARCH_MIN, 2 * k))
        try:
            found, distances = self._index.knn_query(vector[None, :], k=k)
        except RuntimeError:
            found, distances = self._index.knn_query(vector[None, :], k=max(1, k // 2))
        return found[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)
