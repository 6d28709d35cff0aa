"""The SQLite catalog: items, their metadata and failures, the vectors of every space, and
what each space's index holds. One database file, so catalog and vectors never disagree."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError

SCHEMA_VERSION = 1

_SCHEMA_V1 = """
CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL UNIQUE,
    modality      TEXT,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    content_hash  TEXT,
    text_side     TEXT,
    text_key      TEXT,
    meta          TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'deleted')),
    error         TEXT,
    first_seen    REAL NOT NULL,
    updated       REAL NOT NULL
);
CREATE INDEX items_hash ON items(content_hash);
CREATE INDEX items_text_key ON items(text_key);
CREATE INDEX items_status ON items(status, modality);

CREATE TABLE vectors (
    id       INTEGER PRIMARY KEY,
    space    TEXT NOT NULL,
    key      TEXT NOT NULL,
    vector   BLOB NOT NULL,
    created  REAL NOT NULL,
    UNIQUE (space, key)
);

CREATE TABLE index_state (
    space          TEXT PRIMARY KEY,
    dim            INTEGER NOT NULL,
    n_labels       INTEGER NOT NULL,
    n_deleted      INTEGER NOT NULL,
    built          REAL NOT NULL
);

-- Which vectors each index file holds, and which of those are marked deleted in it.
CREATE TABLE index_members (
    space      TEXT NOT NULL,
    vector_id  INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (space, vector_id)
) WITHOUT ROWID;

CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    started   REAL NOT NULL,
    finished  REAL,
    summary   TEXT
);
"""


@dataclass(frozen=True)
class Item:
    id: int
    path: str
    modality: str | None
    size: int
    mtime_ns: int
    content_hash: str | None
    text_side: str | None
    text_key: str | None
    meta: dict[str, Any]
    status: str
    error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Item:
        return cls(
            id=row["id"],
            path=row["path"],
            modality=row["modality"],
            size=row["size"],
            mtime_ns=row["mtime_ns"],
            content_hash=row["content_hash"],
            text_side=row["text_side"],
            text_key=row["text_key"],
            meta=json.loads(row["meta"] or "{}"),
            status=row["status"],
            error=row["error"],
        )


@dataclass(frozen=True)
class IndexState:
    space: str
    dim: int
    n_labels: int
    n_deleted: int


class Catalog:
    """Thin, typed access to the SQLite file. Writers wrap batches in `transaction()`."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise StoreError(f"store catalog {self.path} is missing")
        try:
            if readonly:
                uri = f"file:{self.path}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                self.conn = sqlite3.connect(self.path, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA busy_timeout=10000")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open catalog {self.path}: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"catalog {self.path} has schema {version}; this crossmodal reads up to "
                f"{SCHEMA_VERSION}: upgrade crossmodal"
            )
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(
                    f"catalog {self.path} is empty or old; run crossmodal update first"
                )
            self._migrate(version)

    def _migrate(self, version: int) -> None:
        """Bring an older catalog up to date inside one transaction (all or nothing)."""
        with self.transaction():
            if version < 1:
                for statement in _SCHEMA_V1.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    # -- transactions --------------------------------------------------------------------
    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> Catalog._Tx:
        return Catalog._Tx(self.conn)

    # -- items ---------------------------------------------------------------------------
    def item_by_path(self, path: str) -> Item | None:
        row = self.conn.execute("SELECT * FROM items WHERE path = ?", (path,)).fetchone()
        return Item.from_row(row) if row else None

    def items_under(self, root: str) -> dict[str, Item]:
        """Items whose path is `root` itself or lies below it, keyed by path."""
        prefix = root.rstrip("/") + "/"
        rows = self.conn.execute(
            "SELECT * FROM items WHERE path = ? OR substr(path, 1, ?) = ?",
            (root, len(prefix), prefix),
        )
        return {row["path"]: Item.from_row(row) for row in rows}

    def items_by_hash(self, content_hash: str) -> list[Item]:
        rows = self.conn.execute("SELECT * FROM items WHERE content_hash = ?", (content_hash,))
        return [Item.from_row(row) for row in rows]

    def items(self, status: str | None = "ok", modality: str | None = None) -> Iterator[Item]:
        sql, args = "SELECT * FROM items WHERE 1=1", []
        if status:
            sql += " AND status = ?"
            args.append(status)
        if modality:
            sql += " AND modality = ?"
            args.append(modality)
        for row in self.conn.execute(sql + " ORDER BY id", args):
            yield Item.from_row(row)

    def items_by_ids(self, ids: Iterable[int]) -> dict[int, Item]:
        ids = list(ids)
        found: dict[int, Item] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT * FROM items WHERE id IN ({marks})", chunk):
                found[row["id"]] = Item.from_row(row)
        return found

    def insert_item(self, **fields: Any) -> int:
        now = time.time()
        fields.setdefault("meta", {})
        fields["meta"] = json.dumps(fields["meta"], sort_keys=True, default=str)
        fields.update(first_seen=now, updated=now)
        names = ",".join(fields)
        marks = ",".join("?" * len(fields))
        cur = self.conn.execute(
            f"INSERT INTO items ({names}) VALUES ({marks})", list(fields.values())
        )
        return int(cur.lastrowid)

    def update_item(self, item_id: int, **fields: Any) -> None:
        if "meta" in fields:
            fields["meta"] = json.dumps(fields["meta"], sort_keys=True, default=str)
        fields["updated"] = time.time()
        sets = ",".join(f"{name} = ?" for name in fields)
        self.conn.execute(f"UPDATE items SET {sets} WHERE id = ?", [*fields.values(), item_id])

    def mark_deleted(self, item_ids: Sequence[int]) -> None:
        now = time.time()
        self.conn.executemany(
            "UPDATE items SET status = 'deleted', updated = ? WHERE id = ?",
            [(now, item_id) for item_id in item_ids],
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """{status: {modality: count}} for summaries and `stats`."""
        out: dict[str, dict[str, int]] = {}
        rows = self.conn.execute(
            "SELECT status, coalesce(modality, '?') AS m, count(*) AS n FROM items GROUP BY 1, 2"
        )
        for row in rows:
            out.setdefault(row["status"], {})[row["m"]] = row["n"]
        return out

    def failures(self) -> list[Item]:
        rows = self.conn.execute("SELECT * FROM items WHERE status = 'failed' ORDER BY path")
        return [Item.from_row(row) for row in rows]

    # -- vectors -------------------------------------------------------------------------
    def has_vector_keys(self, space: str, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        present: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT key FROM vectors WHERE space = ? AND key IN ({marks})", [space, *chunk]
            )
            present.update(row["key"] for row in rows)
        return present

    def add_vectors(self, space: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store float32 vectors; a key already present keeps its first vector."""
        now = time.time()
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self.conn.executemany(
            "INSERT OR IGNORE INTO vectors (space, key, vector, created) VALUES (?, ?, ?, ?)",
            [(space, key, matrix[i].tobytes(), now) for i, key in enumerate(keys)],
        )

    def load_vectors(
        self, space: str, after_id: int = 0, ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(vector ids, float32 matrix, keys) of a space, in id order."""
        if ids is not None:
            found: list[sqlite3.Row] = []
            id_list = list(ids)
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.extend(
                    self.conn.execute(
                        f"SELECT id, key, vector FROM vectors WHERE space = ? AND id IN ({marks})",
                        [space, *chunk],
                    )
                )
            rows = sorted(found, key=lambda row: row["id"])
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
        matrix = np.vstack([np.frombuffer(row["vector"], dtype=np.float32) for row in rows])
        return labels, matrix, [row["key"] for row in rows]

    def vector_for_key(self, space: str, key: str) -> np.ndarray | None:
        row = self.conn.execute(
            "SELECT vector FROM vectors WHERE space = ? AND key = ?", (space, key)
        ).fetchone()
        return None if row is None else np.frombuffer(row["vector"], dtype=np.float32).copy()

    def spaces_with_vectors(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT space, count(*) AS n FROM vectors GROUP BY space")
        return {row["space"]: row["n"] for row in rows}

    def live_vector_ids(self, space: str) -> set[int]:
        """Vectors that some item with status ok still points at (by content hash or text side)."""
        rows = self.conn.execute(
            """
            SELECT v.id FROM vectors v WHERE v.space = ? AND EXISTS (
                SELECT 1 FROM items i WHERE i.status = 'ok'
                AND (i.content_hash = v.key OR i.text_key = v.key))
            """,
            (space,),
        )
        return {row["id"] for row in rows}

    def items_for_vector_ids(self, space: str, vector_ids: Sequence[int]) -> dict[int, list[Item]]:
        """Live items behind each vector id (several when files share content)."""
        out: dict[int, list[Item]] = {}
        ids = list(vector_ids)
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""
                SELECT v.id AS vector_id, i.* FROM vectors v JOIN items i
                  ON (i.content_hash = v.key OR i.text_key = v.key)
                WHERE v.space = ? AND v.id IN ({marks}) AND i.status = 'ok'
                ORDER BY i.path
                """,
                [space, *chunk],
            )
            for row in rows:
                out.setdefault(row["vector_id"], []).append(Item.from_row(row))
        return out

    # -- index bookkeeping ---------------------------------------------------------------
    def index_state(self, space: str) -> IndexState | None:
        row = self.conn.execute("SELECT * FROM index_state WHERE space = ?", (space,)).fetchone()
        if row is None:
            return None
        return IndexState(row["space"], row["dim"], row["n_labels"], row["n_deleted"])

    def index_members(self, space: str) -> dict[int, bool]:
        """{vector id: marked deleted?} for the vectors the space's index file holds."""
        rows = self.conn.execute(
            "SELECT vector_id, deleted FROM index_members WHERE space = ?", (space,)
        )
        return {row[0]: bool(row[1]) for row in rows}

    def vector_ids(self, space: str) -> set[int]:
        rows = self.conn.execute("SELECT id FROM vectors WHERE space = ?", (space,))
        return {row[0] for row in rows}

    def save_index_state(self, state: IndexState, members: dict[int, bool]) -> None:
        """Record what the index file now holds; call inside a transaction, after the file."""
        self.conn.execute(
            "INSERT OR REPLACE INTO index_state VALUES (?, ?, ?, ?, ?)",
            (state.space, state.dim, state.n_labels, state.n_deleted, time.time()),
        )
        self.conn.execute("DELETE FROM index_members WHERE space = ?", (state.space,))
        self.conn.executemany(
            "INSERT INTO index_members VALUES (?, ?, ?)",
            [(state.space, int(v), int(dead)) for v, dead in members.items()],
        )

    # -- runs ----------------------------------------------------------------------------
    def record_run(self, kind: str, started: float, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO runs (kind, started, finished, summary) VALUES (?, ?, ?, ?)",
            (kind, started, time.time(), json.dumps(summary, sort_keys=True)),
        )

    def last_run(self, kind: str | None = None) -> dict[str, Any] | None:
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id DESC"
        row = self.conn.execute(sql, (kind,) if kind else ()).fetchone()
        if row is None:
            return None
        return {"kind": row["kind"], "finished": row["finished"], **json.loads(row["summary"])}
