"""What each space's index file holds (published by the commit that records it), and the
hubness penalties computed for that index generation."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .connection import Connection


@dataclass(frozen=True)
class IndexState:
    space: str
    dim: int
    n_labels: int
    n_deleted: int
    generation: int = 0


class IndexRows(Connection):
    def index_state(self, space: str) -> IndexState | None:
        row = self.conn.execute("SELECT * FROM index_state WHERE space = ?", (space,)).fetchone()
        if row is None:
            return None
        return IndexState(
            row["space"], row["dim"], row["n_labels"], row["n_deleted"], row["generation"]
        )

    def index_members(self, space: str) -> dict[int, bool]:
        """{vector id: marked deleted?} for the vectors the space's index file holds."""
        rows = self.conn.execute(
            "SELECT vector_id, deleted FROM index_members WHERE space = ?", (space,)
        )
        return {row[0]: bool(row[1]) for row in rows}

    def live_members(self, space: str, vector_ids: Iterable[int]) -> set[int]:
        """Which of these vectors the space's committed index holds alive (what a search sees)."""
        query = (
            "SELECT vector_id FROM index_members WHERE space = ? AND deleted = 0 "
            "AND vector_id IN ({marks})"
        )
        return {row[0] for row in self.rows_in(query, vector_ids, before=[space])}

    def save_index_state(
        self, state: IndexState, members: dict[int, bool], changed: set[int] | None = None
    ) -> None:
        """Record what the index file now holds; call inside a transaction, after the file.
        With `changed`, only those members' rows are written (the rest are as recorded)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO index_state "
            "(space, dim, n_labels, n_deleted, built, generation) VALUES (?, ?, ?, ?, ?, ?)",
            (
                state.space,
                state.dim,
                state.n_labels,
                state.n_deleted,
                time.time(),
                state.generation,
            ),
        )
        if changed is None:
            self.conn.execute("DELETE FROM index_members WHERE space = ?", (state.space,))
            rows = members.items()
        else:
            rows = ((v, members[v]) for v in changed)
        self.conn.executemany(
            "INSERT OR REPLACE INTO index_members VALUES (?, ?, ?)",
            [(state.space, int(v), int(dead)) for v, dead in rows],
        )

    def forget_index_states(self) -> None:
        """Every space's index as never built (a store moving its vectors to another backend);
        inside a transaction."""
        self.conn.execute("DELETE FROM index_members")
        self.conn.execute("DELETE FROM index_state")
        self.conn.execute("DELETE FROM hubness_state")

    def replace_index_members(self, space: str, present: dict[int, bool]) -> None:
        """Members as a backend without deletion marks keeps them: True adds the vector (alive),
        False removes its row; inside a transaction."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO index_members VALUES (?, ?, 0)",
            [(space, int(v)) for v, there in present.items() if there],
        )
        self.conn.executemany(
            "DELETE FROM index_members WHERE space = ? AND vector_id = ?",
            [(space, int(v)) for v, there in present.items() if not there],
        )

    # -- hubness -------------------------------------------------------------------------
    def hubness_generation(self, space: str) -> int | None:
        row = self.conn.execute(
            "SELECT generation FROM hubness_state WHERE space = ?", (space,)
        ).fetchone()
        return None if row is None else int(row[0])

    def save_hubness(
        self, space: str, generation: int, penalties: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Replace the space's penalties with those of this generation; inside a transaction."""
        self.conn.execute("DELETE FROM hubness WHERE space = ?", (space,))
        for source, (ids, values) in penalties.items():
            self.conn.executemany(
                "INSERT OR REPLACE INTO hubness VALUES (?, ?, ?, ?)",
                [(space, source, int(i), float(v)) for i, v in zip(ids, values, strict=True)],
            )
        self.conn.execute(
            "INSERT OR REPLACE INTO hubness_state VALUES (?, ?)", (space, int(generation))
        )

    def hubness_penalties(
        self, space: str, source: str, vector_ids: Sequence[int]
    ) -> dict[int, float]:
        """{vector id: penalty} for queries of modality `source`; absent ids have none."""
        query = (
            "SELECT vector_id, penalty FROM hubness WHERE space = ? AND source = ? "
            "AND vector_id IN ({marks})"
        )
        rows = self.rows_in(query, (int(v) for v in vector_ids), before=[space, source])
        return {row[0]: row[1] for row in rows}
