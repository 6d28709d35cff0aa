"""The SQLite catalog: items, their metadata and failures, the vectors of every space, and what
each space's index holds. One database file, so catalog and vectors never disagree.

Every SQL statement of crossmodal lives in this package, split by concern: `items` (files,
roots, runs), `vectors` (vectors, passages, and the one rule of who owns a vector),
`index_state` (index files and hubness penalties), `migrations` (the schema), `connection`
(opening, transactions, the batching helper)."""

from __future__ import annotations

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
