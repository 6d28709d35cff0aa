"""Vectors: every space's float32 unit vectors, keyed by what they were made from, and the one
rule of who owns a vector.

A vector belongs to an item in one of three ways, and only these:
- its key is the item's content hash (the file's own content: a photo, a sound, a document);
- its key is the item's text key (the words about it: tags, a transcript, words read by OCR);
- its key is `OWNER#N`, a part of the item whose content hash is OWNER: a document's passage,
  or a video's scene (made from its frame) or words (speech, subtitles), with times in seconds.
`owner_union` writes that rule as SQL once; every query about owners is built from it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .connection import Connection, chunks, marks
from .items import Item

# How each way of owning meets a vector's key `{key}`: the tables (items as `i`) and the condition,
# and what the vector was made from (`i.modality` for content; words are text). CROSS JOIN pins the
# join order: the few vector ids first, then items by their hash index (left to itself SQLite
# scanned every 'ok' item, 0.5 s per search on 20k).
_OWNERSHIP = (
    ("items i", "i.content_hash = {key}", "i.modality"),
    ("items i", "i.text_key = {key}", "'text'"),
    ("passages p CROSS JOIN items i", "p.key = {key} AND i.content_hash = p.owner", "p.modality"),
)


def owner_union(select: str, where: str, group: str = "") -> str:
    """The three ways of owning as one UNION over `vectors v`: `select` may use v, i and
    `{made_from}`; `where` is applied in each branch (so each keeps its index), `group` too."""
    return "\nUNION\n".join(
        f"SELECT {select.format(made_from=made)} FROM vectors v CROSS JOIN {tables} "
        f"WHERE {condition.format(key='v.key')} AND {where} {group}"
        for tables, condition, made in _OWNERSHIP
    )


def owned_exists(key: str, live_only: bool) -> str:
    """SQL that is true when some item (a live one, with `live_only`) owns the vector whose key
    is the column `key`."""
    status = " AND i.status = 'ok'" if live_only else ""
    return " OR ".join(
        f"EXISTS (SELECT 1 FROM {tables} WHERE {condition.format(key=key)}{status})"
        for tables, condition, _ in _OWNERSHIP
    )


def _matrix(rows: Sequence[Any]) -> np.ndarray:
    return np.vstack([np.frombuffer(row["vector"], dtype=np.float32) for row in rows])


class VectorRows(Connection):
    # -- by key --------------------------------------------------------------------------
    def has_vector_keys(self, space: str, keys: Iterable[str]) -> set[str]:
        query = "SELECT key FROM vectors WHERE space = ? AND key IN ({marks})"
        return {row["key"] for row in self.rows_in(query, keys, before=[space])}

    def vectors_for_keys(self, space: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """{key: vector} for the keys that have one in the space."""
        query = "SELECT key, vector FROM vectors WHERE space = ? AND key IN ({marks})"
        return {
            row["key"]: np.frombuffer(row["vector"], dtype=np.float32)
            for row in self.rows_in(query, keys, before=[space])
        }

    def vector_ids_for_keys(self, space: str, keys: Iterable[str]) -> dict[str, int]:
        query = "SELECT key, id FROM vectors WHERE space = ? AND key IN ({marks})"
        return {row[0]: row[1] for row in self.rows_in(query, keys, before=[space])}

    def vector_for_key(self, space: str, key: str) -> np.ndarray | None:
        row = self.conn.execute(
            "SELECT vector FROM vectors WHERE space = ? AND key = ?", (space, key)
        ).fetchone()
        return None if row is None else np.frombuffer(row["vector"], dtype=np.float32).copy()

    def add_vectors(self, space: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store float32 vectors; a key already present keeps its first vector."""
        now = time.time()
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self.conn.executemany(
            "INSERT OR IGNORE INTO vectors (space, key, vector, created) VALUES (?, ?, ?, ?)",
            [(space, key, matrix[i].tobytes(), now) for i, key in enumerate(keys)],
        )

    # -- by id ---------------------------------------------------------------------------
    def load_vectors(
        self, space: str, after_id: int = 0, ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(vector ids, float32 matrix, keys) of a space, in id order."""
        if ids is not None:
            query = "SELECT id, key, vector FROM vectors WHERE space = ? AND id IN ({marks})"
            rows = sorted(self.rows_in(query, ids, before=[space]), key=lambda row: row["id"])
        else:
            rows = list(
                self.conn.execute(
                    "SELECT id, key, vector FROM vectors WHERE space = ? AND id > ? ORDER BY id",
                    (space, after_id),
                )
            )
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), []
        labels = np.fromiter((row["id"] for row in rows), dtype=np.int64, count=len(rows))
        return labels, _matrix(rows), [row["key"] for row in rows]

    def vector_blobs(self, space: str) -> Iterator[tuple[int, bytes]]:
        """(id, raw bytes) of every vector of a space, as stored: `check` inspects them."""
        rows = self.conn.execute("SELECT id, vector FROM vectors WHERE space = ?", (space,))
        for vector_id, blob in rows:
            yield int(vector_id), bytes(blob)

    def delete_vectors(self, vector_ids: Iterable[int]) -> None:
        self.conn.executemany("DELETE FROM vectors WHERE id = ?", [(v,) for v in vector_ids])

    def vector_ids(self, space: str) -> set[int]:
        rows = self.conn.execute("SELECT id FROM vectors WHERE space = ?", (space,))
        return {row[0] for row in rows}

    # -- spaces --------------------------------------------------------------------------
    def spaces_with_vectors(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT space, count(*) AS n FROM vectors GROUP BY space")
        return {row["space"]: row["n"] for row in rows}

    def vector_count(self, space: str) -> int:
        """Vectors stored for a space (through the (space, key) index: no row is read)."""
        row = self.conn.execute("SELECT count(*) FROM vectors WHERE space = ?", (space,)).fetchone()
        return int(row[0])

    def drop_space(self, space: str) -> int:
        """Forget a space (its model left the store): vectors, index bookkeeping, penalties.
        Passage rows stay: they describe documents, and other spaces' passage vectors use them."""
        removed = self.conn.execute("DELETE FROM vectors WHERE space = ?", (space,)).rowcount
        for table in ("index_members", "index_state", "hubness", "hubness_state"):
            self.conn.execute(f"DELETE FROM {table} WHERE space = ?", (space,))
        return removed

    # -- owners --------------------------------------------------------------------------
    def live_vector_ids(self, space: str) -> set[int]:
        """Vectors that some item with status ok still owns."""
        rows = self.conn.execute(
            f"SELECT v.id FROM vectors v WHERE v.space = ? AND ({owned_exists('v.key', True)})",
            (space,),
        )
        return {row["id"] for row in rows}

    def items_for_vector_ids(self, space: str, vector_ids: Sequence[int]) -> dict[int, list[Item]]:
        """Live items behind each vector id (several when files share content), by path.
        `+v.space` keeps the rowid lookup on the few vector ids."""
        query = owner_union(
            "v.id AS vector_id, i.*", "+v.space = ? AND v.id IN ({marks}) AND i.status = 'ok'"
        )
        out: dict[int, list[Item]] = {}
        rows = self.rows_in(query + " ORDER BY path", vector_ids, before=[space], repeat=3)
        for row in rows:
            out.setdefault(row["vector_id"], []).append(Item.from_row(row))
        return out

    def vector_modalities(self, space: str) -> tuple[np.ndarray, np.ndarray]:
        """(live vector ids, the modality each was made from): an item's content gives its own
        modality, its words (text side, passages) give 'text'."""
        query = owner_union(
            "v.id, min({made_from})", "+v.space = ? AND i.status = 'ok'", "GROUP BY v.id"
        )
        rows = self.conn.execute(query + " ORDER BY 1", (space, space, space)).fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return ids, np.array([row[1] for row in rows], dtype=object)

    def vector_made_from(self, space: str, vector_ids: Sequence[int]) -> dict[int, str]:
        """{vector id: what it was made from} (see vector_modalities), for these vectors."""
        query = owner_union(
            "v.id AS id, min({made_from}) AS made",
            "+v.space = ? AND v.id IN ({marks})",
            "GROUP BY v.id",
        )
        rows = self.rows_in(query, [int(v) for v in vector_ids], before=[space], repeat=3)
        found: dict[int, str] = {}
        for row in rows:  # a vector owned two ways appears once per way: keep the least
            made = str(row["made"] or "text")
            found[row["id"]] = min(found.get(row["id"], made), made)
        return found

    def purge_vectors(self) -> int:
        """Forget vectors no item owns any more (deleted items included, until purged) and
        that no index holds alive; then their penalties and orphaned passages."""
        removed = self.conn.execute(
            f"""DELETE FROM vectors WHERE NOT ({owned_exists("vectors.key", False)})
            AND NOT EXISTS (
                SELECT 1 FROM index_members m
                WHERE m.space = vectors.space AND m.vector_id = vectors.id AND m.deleted = 0)"""
        ).rowcount
        self.conn.execute(
            "DELETE FROM hubness WHERE NOT EXISTS "
            "(SELECT 1 FROM vectors v WHERE v.id = hubness.vector_id)"
        )
        self.conn.execute(  # by owner: items_hash is indexed, vectors.key alone is not
            "DELETE FROM passages WHERE NOT EXISTS "
            "(SELECT 1 FROM items i WHERE i.content_hash = passages.owner)"
        )
        return removed

    # -- passages ------------------------------------------------------------------------
    def add_passages(
        self,
        space: str,
        owner: str,
        spans: Sequence[tuple[float, float, str]],
        vectors: np.ndarray,
        modality: str = "text",
        ordinals: Sequence[int] | None = None,
        tag: str = "",
    ) -> None:
        """An item's parts (start, end, text) and their vectors, keyed OWNER#N (OWNER#<tag>N
        for a video's words, the tag naming which words): a document's passages (character
        offsets), a video's scenes or words (seconds)."""
        numbers = list(range(len(spans))) if ordinals is None else list(ordinals)
        keys = [f"{owner}#{tag}{n}" for n in numbers]
        self.conn.executemany(
            'INSERT OR REPLACE INTO passages (key, owner, ordinal, start, "end", text, modality)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (key, owner, n, a, b, text, modality)
                for n, key, (a, b, text) in zip(numbers, keys, spans, strict=True)
            ],
        )
        self.add_vectors(space, keys, vectors)

    def drop_parts(self, owner: str, tag: str) -> int:
        """Forget an item's parts of one tag (a video's words, written down again): their
        vectors, in every space, are then no item's and are purged with the others."""
        return self.conn.execute(
            "DELETE FROM passages WHERE owner = ? AND substr(key, 1, ?) = ?",
            (owner, len(owner) + 1 + len(tag), f"{owner}#{tag}"),
        ).rowcount

    def parts_of(self, space: str, owner: str) -> tuple[list[dict[str, Any]], np.ndarray]:
        """(parts, their vectors in the space) of one item, in order: a video's scenes and words."""
        rows = self.conn.execute(
            """SELECT p.ordinal, p.start, p."end", p.text, p.modality, v.vector
            FROM passages p JOIN vectors v ON v.space = ? AND v.key = p.key
            WHERE p.owner = ? ORDER BY p.ordinal""",
            (space, owner),
        ).fetchall()
        parts = [
            {"n": r[0], "start": r[1], "end": r[2], "text": r[3], "modality": r[4]} for r in rows
        ]
        return parts, (_matrix(rows) if rows else np.zeros((0, 0), dtype=np.float32))

    def passages_for_vector_ids(
        self, space: str, vector_ids: Iterable[int]
    ) -> dict[int, dict[str, Any]]:
        """{vector id: {"n", "start", "end", "text", "modality"}} for the ids that are parts."""
        query = """SELECT v.id, p.ordinal, p.start, p."end", p.text, p.modality FROM vectors v
            JOIN passages p ON p.key = v.key WHERE +v.space = ? AND v.id IN ({marks})"""
        rows = self.rows_in(query, (int(v) for v in vector_ids), before=[space])
        return {
            row[0]: {
                "n": row[1],
                "start": row[2],
                "end": row[3],
                "text": row[4],
                "modality": row[5],
            }
            for row in rows
        }


__all__ = ["VectorRows", "chunks", "marks", "owned_exists", "owner_union"]
