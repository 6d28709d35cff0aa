"""The SQLite catalog: items, their metadata and failures, the vectors of every space, and what
each space's index holds. One database file, so catalog and vectors never disagree.

Every SQL statement of crossmodal lives in this package, split by concern: `items` (files,
roots, runs), `vectors` (vectors, passages, and the one rule of who owns a vector),
`index_state` (index files and hubness penalties), `migrations` (the schema), `connection`
(opening, transactions, the batching helper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .connection import Connection, Steps, chunks
from .index_state import IndexRows, IndexState
from .items import Item, ItemRows, catalog_path
from .migrations import MIGRATIONS, SCHEMA_VERSION
from .vectors import VectorRows


class Catalog(ItemRows, VectorRows, IndexRows, Connection):
    """Thin, typed access to the SQLite file. Writers wrap batches in `transaction()`."""

    def purge_deleted(self, older_than: float) -> tuple[int, int]:
        """Forget items deleted before `older_than` and vectors no item refers to any more.
        Returns (items, vectors) removed. Index members pointing at purged vectors stay marked
        deleted until the next rebuild drops them."""
        return self.purge_items(older_than), self.purge_vectors()

    def vector_hits(
        self, space: str, vector_ids: Sequence[int], penalty_source: str | None = None
    ) -> dict[int, tuple[list[Item], float, dict[str, Any] | None]]:
        """What a search needs about the vectors it retrieved, in one call: {vector id: (its live
        owners by path, its CSLS penalty for queries of `penalty_source` (0 without), the passage
        it is, or None)}. Vectors no live item owns are absent."""
        owners = self.items_for_vector_ids(space, vector_ids)
        penalties = (
            self.hubness_penalties(space, penalty_source, list(owners)) if penalty_source else {}
        )
        # Only documents and videos have parts: a search for photos never reads their table.
        documents = [
            vid
            for vid, items in owners.items()
            if any(i.modality in ("text", "video") for i in items)
        ]
        passages = self.passages_for_vector_ids(space, documents) if documents else {}
        return {
            vid: (items, penalties.get(vid, 0.0), passages.get(vid))
            for vid, items in owners.items()
        }


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Catalog",
    "IndexState",
    "Item",
    "Steps",
    "catalog_path",
    "chunks",
]
