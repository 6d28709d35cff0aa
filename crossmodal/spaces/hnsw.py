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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..catalog import Catalog, IndexState
from ..errors import StoreError
from ..fsutil import atomic_write_with
from ..hnsw_file import check_index_file_once

if TYPE_CHECKING:
    from .backend import IndexReport

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH_MIN = 128
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


class HnswBackend:
    """A space's hnswlib file (the VectorBackend of this store): exact for small spaces, HNSW
    otherwise.

    A search sees the last committed index state. When a large space's index file is missing or
    unreadable it falls back to exact search over the same vectors (slower, same answers) and says
    so in `degraded`, so a damaged file never stops a search; `update` or `check --repair`
    rebuilds it. Writes go to the next generation's file, published by `commit`."""

    def __init__(self, catalog: Catalog, space: str, dim: int, index_dir: Path) -> None:
        self.catalog, self.space, self.dim, self.index_dir = catalog, space, dim, index_dir
        self._opened = False
        self._degraded: str | None = None
        self._exact: tuple[np.ndarray, np.ndarray] | None = None
        self._graph = None  # the graph searches read
        self._size = 0
        self._writing = None  # the graph being changed, and what it holds
        self._members: dict[int, bool] = {}
        self._state: IndexState | None = None

    # -- reading -------------------------------------------------------------------------
    @property
    def degraded(self) -> str | None:
        self._open()
        return self._degraded

    def count(self) -> int:
        self._open()
        return self._size

    def _open(self) -> None:
        if self._opened:
            return
        self._opened = True
        catalog, space = self.catalog, self.space
        with catalog.read_snapshot():
            state = catalog.index_state(space)
            stored = catalog.vector_count(space)
            indexed = 0 if state is None else state.n_labels
            self._size = 0 if state is None else state.n_labels - state.n_deleted
            not_indexed = (
                f"{stored - indexed} vectors are not indexed yet and are not searched; "
                "run crossmodal index"
            )
            if state is not None and self._size > EXACT_SEARCH_MAX:
                if stored > indexed:  # embedded since the last index run: not in the graph
                    self._degraded = not_indexed
                try:
                    path = index_file(self.index_dir, space, state.generation)
                    self._graph = load_index(path, self.dim, elements=state.n_labels)
                    return
                except StoreError as exc:
                    self._degraded = f"{exc}; searching exactly"
            if stored - indexed > EXACT_UNINDEXED_MAX:
                # Too many never indexed to read on every query: the indexed ones, and a note.
                self._degraded = not_indexed
                alive = sorted(v for v, dead in catalog.index_members(space).items() if not dead)
            else:
                # Exactly, over every live vector: also those embedded but not indexed yet (a
                # search after `embed` without `index` finds them instead of answering nothing).
                alive = sorted(catalog.live_vector_ids(space))
            labels, matrix, _ = catalog.load_vectors(space, ids=alive)
        self._exact = (labels, matrix)
        self._size = len(labels)

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosine similarities), best first, at most k."""
        k = min(k, self.count())
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._exact is not None:
            labels, matrix = self._exact
            sims = matrix @ vector.astype(np.float32)
            order = np.argsort(-sims, kind="stable")[:k]
            return labels[order], sims[order]
        assert self._graph is not None
        self._graph.set_ef(max(EF_SEARCH_MIN, 2 * k))
        try:
            found, distances = self._graph.knn_query(vector[None, :], k=k)
        except RuntimeError:
            found, distances = self._graph.knn_query(vector[None, :], k=max(1, k // 2))
        return found[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)

    # -- writing -------------------------------------------------------------------------
    def members(self) -> dict[int, bool] | None:
        """What the committed file holds; None when there is none of this dimension, or it is
        missing, damaged, or not what the catalog says it holds."""
        state = self._state = self.catalog.index_state(self.space)
        if state is None or state.dim != self.dim:
            return None
        path = index_file(self.index_dir, self.space, state.generation)
        if not path.is_file():
            return None
        try:
            graph = load_index(path, self.dim, elements=state.n_labels)
        except StoreError:
            return None
        members = self.catalog.index_members(self.space)
        if graph.get_current_count() != len(members) or set(graph.get_ids_list()) != members.keys():
            return None
        self._writing, self._members = graph, dict(members)
        return dict(members)

    def add(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        assert self._writing is not None
        self._writing.resize_index(
            max(len(self._members) + len(ids), self._writing.get_max_elements())
        )
        self._add_from_catalog(list(ids))

    def _add_from_catalog(self, ids: list[int]) -> None:
        """Add vectors chunk by chunk: a 100k x 1280-d space would otherwise sit in memory
        twice (SQLite rows and the stacked matrix) beside the graph being built."""
        for start in range(0, len(ids), ADD_CHUNK):
            labels, matrix, _ = self.catalog.load_vectors(
                self.space, ids=ids[start : start + ADD_CHUNK]
            )
            if len(labels):
                self._writing.add_items(matrix, labels)  # type: ignore[union-attr]
        self._members.update((int(v), False) for v in ids)

    def delete(self, ids: Iterable[int]) -> None:
        for label in ids:
            self._writing.mark_deleted(int(label))  # type: ignore[union-attr]
            self._members[int(label)] = True

    def restore(self, ids: Iterable[int]) -> None:
        for label in ids:
            self._writing.unmark_deleted(int(label))  # type: ignore[union-attr]
            self._members[int(label)] = False

    def rebuild(self, ids: Sequence[int]) -> None:
        self._state = self.catalog.index_state(self.space)
        self._writing, self._members = _new_index(self.dim, len(ids)), {}
        self._add_from_catalog(list(ids))

    def commit(self, changed: set[int] | None) -> None:
        """Write the next generation's file, then commit the catalog rows that point at it."""
        generation = 1 if self._state is None else self._state.generation + 1
        deleted = sum(self._members.values())
        state = IndexState(self.space, self.dim, len(self._members), deleted, generation)
        path = index_file(self.index_dir, self.space, generation)
        atomic_write_with(path, lambda tmp: self._writing.save_index(str(tmp)))  # type: ignore[union-attr]
        with self.catalog.transaction():
            self.catalog.save_index_state(state, self._members, changed)
        self._state = state
        self.tidy()

    def tidy(self) -> None:
        generation = 0 if self._state is None else self._state.generation
        for stray in stray_index_files(self.index_dir, self.space, generation):
            with contextlib.suppress(OSError):
                stray.unlink()


def update_space(catalog: Catalog, space: str, dim: int, index_dir: Path) -> IndexReport:
    """Bring a space's hnswlib file in line with the catalog (see sync.sync)."""
    from .sync import sync  # writing only: a search never loads it

    return sync(catalog, HnswBackend(catalog, space, dim, index_dir))


def rebuild_space(catalog: Catalog, space: str, dim: int, index_dir: Path) -> IndexReport:
    """Build a space's hnswlib file from scratch with its live vectors only."""
    from .sync import rebuild

    return rebuild(catalog, HnswBackend(catalog, space, dim, index_dir))
