"""The vector backend interface: where one space's vectors are searched.

The catalog holds every vector; a backend is a copy built from them and always rebuildable.
hnswlib (hnsw.py) is the default; Milvus (milvus.py) is another implementation of the same few
calls, chosen per store (target.py). `sync` (sync.py) brings any backend in line with the catalog through them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class IndexReport:
    """What one sync did to a space's backend."""

    space: str
    added: int
    deleted: int
    restored: int
    rebuilt: bool
    size: int


class VectorBackend(Protocol):
    """One space's searchable copy of its vectors, labelled by catalog vector id.

    Reading: `search` and `count` see the last committed state. Writing (under the store's write
    lock): `members` says what the copy holds, `add`/`delete`/`restore` change it, `rebuild`
    starts over from the given vectors, and `commit` publishes the changes atomically."""

    space: str
    degraded: str | None  # why searches are slower or partial (a damaged file), else None
    # True: a delete only marks (hnswlib), so sync rebuilds once a quarter is marked; False: a
    # delete removes the vector (Milvus), nothing accumulates.
    marks_deletions: bool

    def search(
        self, vector: np.ndarray, k: int, types: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(vector ids, cosine similarities), best first, at most k. `types` are the item types
        the caller keeps: a backend that can filter may skip vectors no such item owns (a hint;
        the caller filters the owners itself)."""
        ...

    def count(self) -> int:
        """How many vectors a search can return."""
        ...

    def members(self) -> dict[int, bool] | None:
        """{vector id: deleted?} of the committed copy; None when it must be rebuilt."""
        ...

    def add(self, ids: Sequence[int]) -> None: ...

    def delete(self, ids: Iterable[int]) -> None: ...

    def restore(self, ids: Iterable[int]) -> None: ...

    def rebuild(self, ids: Sequence[int]) -> None: ...

    def commit(self, changed: set[int] | None) -> None:
        """Publish the changes (`changed`: the ids whose membership changed; None: all)."""
        ...

    def tidy(self) -> None:
        """Remove what earlier generations left behind (nothing changed this time)."""
        ...
