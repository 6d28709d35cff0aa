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
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..catalog import Catalog, IndexState
from ..errors import StoreError
from ..fsutil import atomic_write_with
from ..hnsw_file import (
    IndexLayout,
    checked_before,
    file_stamp,
    read_index_file,
    remember_checked,
)

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
    """The index in the file, after checking its structure (hnswlib trusts its file: a garbled
    header crashed the process). StoreError when it is damaged.

    hnswlib's own load_index reads the file through a stream, first seeking through every
    element to check its sizes and then reading each element's links apart: at 1M vectors that
    is 1.6-2.0 s. Instead the file is memory-mapped, checked here (which yields every element's
    level and its upper links), and handed to hnswlib's state API (Index(dict), what unpickling
    uses), which copies level 0 in one memcpy (1.2-1.5 s: most of it is faulting in 1.7 GB of
    fresh memory). Searches do not load at all (MappedGraph); writes and `check` do. Same
    index, same file format; hnswlib's own reader remains the fallback for an hnswlib whose
    state differs."""
    layout = checked_layout(path, dim, elements, recheck=recheck, populate=True)
    return _from_layout(path, layout, dim, capacity)


def checked_layout(
    path: Path,
    dim: int,
    elements: int | None,
    recheck: bool = False,
    populate: bool = False,
) -> IndexLayout:
    """The file's checked layout. The level-0 links are checked once per state of the file (the
    stamps live in the store's cache folder); `recheck` (crossmodal check) always checks the
    whole structure again."""
    record = None if recheck else path.parent.parent / "cache" / "index-checks.json"
    known = record is not None and checked_before(path, dim, elements, record)
    stamp = None if known else file_stamp(path, dim, elements)
    layout = read_index_file(path, dim, elements, level0_links=not known, populate=populate)
    if record is not None and not known:
        remember_checked(path, dim, elements, record, stamp)
    return layout


def _from_layout(path: Path, layout: IndexLayout, dim: int, capacity: int):  # type: ignore[no-untyped-def]
    import hnswlib

    # As hnswlib's load_index: a capacity below the count means the file's own.
    max_elements = capacity if capacity >= layout.count else layout.max_elements
    levels = np.zeros(max_elements, dtype=np.int32)
    levels[: layout.count] = layout.levels
    records = layout.records
    state = {
        "ser_version": 1,
        "space": "ip",
        "dim": dim,
        "index_inited": True,
        "ep_added": True,
        "normalize": False,
        "num_threads": os.cpu_count() or 1,
        "seed": 100,
        "ef": 10,
        "offset_level0": 0,
        "max_elements": max_elements,
        "cur_element_count": layout.count,
        "size_data_per_element": layout.size_per_element,
        "label_offset": layout.label_offset,
        "offset_data": layout.offset_data,
        "max_level": layout.max_level,
        "enterpoint_node": layout.entry_point,
        "max_M": layout.max_m,
        "max_M0": layout.max_m0,
        "M": layout.m,
        "mult": layout.mult,
        "ef_construction": layout.ef_construction,
        # hnswlib then counts the elements marked deleted itself (none: it counts 0)
        "has_deletions": True,
        "size_links_per_element": layout.max_m * 4 + 4,
        "allow_replace_deleted": False,
        "label_lookup_external": _labels(layout),
        "label_lookup_internal": np.arange(layout.count, dtype=np.uint32),
        "element_levels": levels,
        "data_level0": records.reshape(-1).view(np.int8),  # no copy: hnswlib's memcpy reads it
        "link_lists": layout.upper.view(np.int8),
    }
    try:
        return hnswlib.Index(state)
    except (RuntimeError, ValueError, TypeError, KeyError):
        pass  # an hnswlib with another state layout: its own reader (the file was checked)
    del state, records, layout
    index = hnswlib.Index(space="ip", dim=dim)
    try:
        index.load_index(str(path), max_elements=capacity)
    except (RuntimeError, OSError, ValueError) as exc:
        raise StoreError(f"index {path} is unreadable ({exc}); run crossmodal index") from exc
    return index


class MappedGraph:
    """hnswlib's search (searchKnn) run in numpy over the memory-mapped, checked file: a cold
    search at 1M vectors reads a few thousand records from the page cache instead of copying
    the whole 1.7 GB file into hnswlib's memory first (1.2-1.8 s). Same algorithm, same
    neighbour order and tie-breaks as hnswlib 0.8.0; distances are summed by numpy, so a near
    tie may rarely order differently. A garbled link is an IndexError here, never a crash."""

    def __init__(self, path: Path, layout: IndexLayout, dim: int, deletions: bool) -> None:
        self.path, self.layout, self.dim = path, layout, dim
        records = layout.records
        self.links = records[:, : layout.offset_data].view("<u4")
        self.vectors = records[:, layout.offset_data : layout.offset_data + 4 * dim].view("<f4")
        self.upper = layout.upper.view("<u4").reshape(-1, layout.max_m + 1)
        self.first_row = np.cumsum(layout.levels) - layout.levels
        self.bare = not deletions  # hnswlib's bare-bone search when nothing is marked deleted

    def knn(self, query: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels, distances 1 - dot), nearest first, at most k."""
        layout, vectors = self.layout, self.vectors
        query = np.ascontiguousarray(query, dtype=np.float32)
        if layout.count == 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
        current = layout.entry_point
        best = 1.0 - float(vectors[current] @ query)
        for level in range(layout.max_level, 0, -1):
            changed = True
            while changed:
                changed = False
                row = self.upper[self.first_row[current] + level - 1]
                ids = row[1 : 1 + (int(row[0]) & 0xFFFF)]
                for node, distance in zip(
                    ids.tolist(), (1.0 - vectors[ids] @ query).tolist(), strict=True
                ):
                    if distance < best:
                        best, current, changed = distance, node, True
        found = self._base_layer(current, query, max(ef, k))
        nearest = sorted(found)[:k]  # hnswlib pops the largest (distance, node) pairs first
        nodes = np.array([node for _, node in nearest], dtype=np.int64)
        labels = layout.records[nodes, layout.label_offset : layout.label_offset + 8]
        distances = np.array([distance for distance, _ in nearest], dtype=np.float32)
        return np.ascontiguousarray(labels).view("<u8").reshape(-1), distances

    def _base_layer(self, entry: int, query: np.ndarray, ef: int) -> list[tuple[float, int]]:
        """searchBaseLayerST: (distance, node) of the ef nearest found at level 0."""
        from heapq import heappop, heappush

        links, vectors, records, bare = self.links, self.vectors, self.layout.records, self.bare
        visited = np.zeros(self.layout.count, dtype=bool)
        top: list[tuple[float, int]] = []  # max-heap of (-distance, -node)
        candidates: list[tuple[float, int]] = []  # min-heap of (distance, -node)
        if bare or not records[entry, 2] & 1:
            distance = 1.0 - float(vectors[entry] @ query)
            bound = distance
            heappush(top, (-distance, -entry))
            heappush(candidates, (distance, -entry))
        else:
            bound = float("inf")
            heappush(candidates, (bound, -entry))
        visited[entry] = True
        while candidates:
            distance, node = candidates[0]
            if distance > bound and (bare or len(top) == ef):
                break
            heappop(candidates)
            row = links[-node]
            ids = row[1 : 1 + (int(row[0]) & 0xFFFF)]
            ids = ids[~visited[ids]]
            if not ids.size:
                continue
            visited[ids] = True
            dead = (records[ids, 2] & 1).tolist() if not bare else None
            for at, (candidate, distance) in enumerate(
                zip(ids.tolist(), (1.0 - vectors[ids] @ query).tolist(), strict=True)
            ):
                if len(top) < ef or bound > distance:
                    heappush(candidates, (distance, -candidate))
                    if bare or not dead[at]:  # type: ignore[index]
                        heappush(top, (-distance, -candidate))
                    while len(top) > ef:
                        heappop(top)
                    if top:
                        bound = -top[0][0]
        return [(-distance, -node) for distance, node in top]


def open_mapped(path: Path, dim: int, elements: int, deletions: bool) -> MappedGraph:
    """The file mapped for MappedGraph, after load_index's checks (StoreError when damaged)."""
    return MappedGraph(path, checked_layout(path, dim, elements), dim, deletions)


def _checked_labels(path: Path, dim: int, elements: int) -> np.ndarray:
    """The labels of the index in the file, after the same checks load_index makes."""
    return _labels(checked_layout(path, dim, elements))


def _labels(layout: IndexLayout) -> np.ndarray:
    """Each element's label (uint64, after its vector in its level-0 record)."""
    at = layout.label_offset
    return np.ascontiguousarray(layout.records[:, at : at + 8]).view("<u8").reshape(-1)


class HnswBackend:
    """A space's hnswlib file (the VectorBackend of this store): exact for small spaces, HNSW
    otherwise.

    A search reads the committed file memory-mapped (MappedGraph: no 1.7 GB copy into hnswlib
    at 1M vectors); writes load it into hnswlib. A search sees the last committed index state. When a large space's index file is missing or
    unreadable it falls back to exact search over the same vectors (slower, same answers) and says
    so in `degraded`, so a damaged file never stops a search; `update` or `check --repair`
    rebuilds it. Writes go to the next generation's file, published by `commit`."""

    marks_deletions = True

    def __init__(self, catalog: Catalog, space: str, dim: int, index_dir: Path) -> None:
        self.catalog, self.space, self.dim, self.index_dir = catalog, space, dim, index_dir
        self._opened = False
        self._degraded: str | None = None
        self._exact: tuple[np.ndarray, np.ndarray] | None = None
        self._graph: MappedGraph | None = None  # the mapped file searches read
        self._size = 0
        self._writing = None  # the graph being changed, and what it holds
        self._committed: Path | None = None  # the file it is loaded from on the first change
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
                    deletions = state.n_deleted > 0
                    self._graph = open_mapped(path, self.dim, state.n_labels, deletions)
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

    def search(
        self, vector: np.ndarray, k: int, types: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosine similarities), best first, at most k (`types`: the caller filters)."""
        k = min(k, self.count())
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._exact is not None:
            labels, matrix = self._exact
            sims = matrix @ vector.astype(np.float32)
            order = np.argsort(-sims, kind="stable")[:k]
            return labels[order], sims[order]
        assert self._graph is not None
        try:
            found, distances = self._graph.knn(vector, k, max(EF_SEARCH_MIN, 2 * k))
        except (IndexError, ValueError) as exc:  # a link no check saw: the file changed under us
            path = self._graph.path
            self._graph = None
            self._degraded = f"index {path} is damaged ({exc}); searching exactly"
            with self.catalog.read_snapshot():
                alive = sorted(self.catalog.live_vector_ids(self.space))
                labels, matrix, _ = self.catalog.load_vectors(self.space, ids=alive)
            self._exact, self._size = (labels, matrix), len(labels)
            return self.search(vector, k)
        return found.astype(np.int64), (1.0 - distances).astype(np.float32)

    # -- writing -------------------------------------------------------------------------
    def members(self) -> dict[int, bool] | None:
        """What the committed file holds; None when there is none of this dimension, or it is
        missing, damaged, or not what the catalog says it holds. The labels are read from the
        checked file itself: the graph is loaded only once something is to change (a no-op
        `update` of a 1M-vector space no longer builds a 1.7 GB graph to compare labels)."""
        state = self._state = self.catalog.index_state(self.space)
        self._writing, self._committed = None, None
        if state is None or state.dim != self.dim:
            return None
        path = index_file(self.index_dir, self.space, state.generation)
        if not path.is_file():
            return None
        try:
            labels = _checked_labels(path, self.dim, state.n_labels)
        except StoreError:
            return None
        members = self.catalog.index_members(self.space)
        if len(labels) != len(members) or set(labels.tolist()) != members.keys():
            return None
        self._committed, self._members = path, dict(members)
        return dict(members)

    def _changing(self):  # type: ignore[no-untyped-def]
        """The graph being changed: the committed file's, loaded on the first change (rebuilt
        from the catalog's vectors should hnswlib refuse the file members() checked)."""
        if self._writing is None:
            assert self._committed is not None and self._state is not None
            try:
                self._writing = load_index(self._committed, self.dim, elements=self._state.n_labels)
            except StoreError:
                members = dict(self._members)
                self._writing = _new_index(self.dim, len(members))
                self._add_from_catalog(sorted(members))
                for label in (v for v, dead in members.items() if dead):
                    with contextlib.suppress(RuntimeError):
                        self._writing.mark_deleted(label)
                self._members = members
        return self._writing

    def add(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        graph = self._changing()
        graph.resize_index(max(len(self._members) + len(ids), graph.get_max_elements()))
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
            self._changing().mark_deleted(int(label))
            self._members[int(label)] = True

    def restore(self, ids: Iterable[int]) -> None:
        for label in ids:
            self._changing().unmark_deleted(int(label))
            self._members[int(label)] = False

    def rebuild(self, ids: Sequence[int]) -> None:
        self._state = self.catalog.index_state(self.space)
        self._writing, self._members = _new_index(self.dim, len(ids)), {}
        self._committed = None
        self._add_from_catalog(list(ids))

    def commit(self, changed: set[int] | None) -> None:
        """Write the next generation's file, then commit the catalog rows that point at it."""
        generation = 1 if self._state is None else self._state.generation + 1
        deleted = sum(self._members.values())
        state = IndexState(self.space, self.dim, len(self._members), deleted, generation)
        path = index_file(self.index_dir, self.space, generation)
        graph = self._changing()
        atomic_write_with(path, lambda tmp: graph.save_index(str(tmp)))
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
