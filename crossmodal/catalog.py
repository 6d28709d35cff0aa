"""The SQLite catalog: items, their metadata and failures, the vectors of every space, and
what each space's index holds. One database file, so catalog and vectors never disagree."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreEmptyError, StoreError

SCHEMA_VERSION = 3

# Each version's statements bring a catalog from the previous version to it; a fresh catalog runs
# them all. Never edit a released step: add a new one.
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

_SCHEMA_V2 = """
-- Raw bytes of a file name that is not valid UTF-8 (path then holds a readable escaped form).
ALTER TABLE items ADD COLUMN path_bytes BLOB;
-- ctime joins size and mtime in the "unchanged" test: a file replaced by another of the same size
-- with its mtime preserved (cp -p, rsync -t, tar x) has a new ctime, which no tool can set back.
ALTER TABLE items ADD COLUMN ctime_ns INTEGER;
-- The device a file was on: a vanished file whose nearest existing folder is now on another
-- device was on a disk that is unmounted, not deleted.
ALTER TABLE items ADD COLUMN dev INTEGER;
-- Vector ids label the index files, so an id must never be reused for other content:
-- AUTOINCREMENT instead of SQLite's reuse of the largest freed rowid.
CREATE TABLE vectors_v2 (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    space    TEXT NOT NULL,
    key      TEXT NOT NULL,
    vector   BLOB NOT NULL,
    created  REAL NOT NULL,
    UNIQUE (space, key)
);
INSERT INTO vectors_v2 (id, space, key, vector, created)
    SELECT id, space, key, vector, created FROM vectors;
DROP TABLE vectors;
ALTER TABLE vectors_v2 RENAME TO vectors;
-- Index files are written under a new generation and published by the commit that records it,
-- so the catalog never points at a half-written or newer file.
ALTER TABLE index_state ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- The folders this store indexes: `update` with no PATH rescans them, `relocate` rewrites them.
CREATE TABLE roots (
    path        TEXT PRIMARY KEY,
    added       REAL NOT NULL,
    last_scan   REAL,
    last_count  INTEGER
);
"""

_SCHEMA_V3 = """
-- Hubness penalties (see hubness.py): per space and query modality, r(x) / 2 of each vector made
-- from another modality; `hubness_state` says which index generation they were computed for.
CREATE TABLE hubness (
    space      TEXT NOT NULL,
    source     TEXT NOT NULL,
    vector_id  INTEGER NOT NULL,
    penalty    REAL NOT NULL,
    PRIMARY KEY (space, source, vector_id)
) WITHOUT ROWID;
CREATE TABLE hubness_state (
    space       TEXT PRIMARY KEY,
    generation  INTEGER NOT NULL
);
-- Passages of documents longer than the text model's window: each has its own vector (key
-- OWNER#N in the vectors table), so a document is found by its best passage, which results name.
CREATE TABLE passages (
    key      TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    ordinal  INTEGER NOT NULL,
    start    INTEGER NOT NULL,
    "end"    INTEGER NOT NULL,
    text     TEXT NOT NULL
);
CREATE INDEX passages_owner ON passages(owner);
"""

MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}


def _statements(script: str) -> list[str]:
    """Split a migration script into complete statements (a ';' inside a comment or string
    does not end one): executescript would commit the surrounding transaction."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise StoreError(f"incomplete statement in a migration: {pending.strip()[:60]}")
    return statements


def catalog_path(path: str) -> tuple[str, bytes | None]:
    """(text for the catalog, raw bytes or None) for a file system path.

    SQLite text must be UTF-8; a name that is not (Python holds it with surrogate escapes) is stored
    as a readable escaped form plus its raw bytes, so the file can still be opened."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        return raw.decode("utf-8", "backslashreplace"), raw
    return path, None


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
    path_bytes: bytes | None = None
    ctime_ns: int | None = None
    dev: int | None = None

    @property
    def fs_path(self) -> str:
        """The path to open: the raw name when it is not UTF-8, else `path`."""
        return os.fsdecode(self.path_bytes) if self.path_bytes else self.path

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
            path_bytes=row["path_bytes"],
            ctime_ns=row["ctime_ns"],
            dev=row["dev"],
        )


@dataclass(frozen=True)
class IndexState:
    space: str
    dim: int
    n_labels: int
    n_deleted: int
    generation: int = 0


def _read_only(path: Path) -> sqlite3.Connection:
    """A reading connection. A WAL catalog on read-only media (a backup, a NAS share, a CD)
    cannot create its -shm file, so SQLite refuses it; such a copy is opened as immutable,
    which reads the file as it is and writes nothing beside it."""
    uri = Path(path).absolute().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(Path(path).parent, os.W_OK) and os.access(path, os.W_OK):
            raise  # writable: the error is real, not the medium
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)


class Catalog:
    """Thin, typed access to the SQLite file. Writers wrap batches in `transaction()`."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise StoreEmptyError(
                f"store catalog {self.path} is missing; run crossmodal update PATH"
            )
        try:
            if readonly:
                self.conn = _read_only(self.path)
            else:
                self.conn = sqlite3.connect(self.path, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA busy_timeout=10000")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            hot_journal = Path(f"{self.path}-journal")
            if readonly and "readonly" in str(exc) and hot_journal.exists():
                # A run killed while it first switched a new catalog to WAL left a rollback
                # journal that only a writer can replay: nothing was committed yet.
                raise StoreEmptyError(
                    f"store catalog {self.path} was interrupted while being created; "
                    "run crossmodal update PATH"
                ) from exc
            raise StoreError(f"cannot open catalog {self.path}: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"catalog {self.path} has schema {version}; this crossmodal reads up to "
                f"{SCHEMA_VERSION}: upgrade crossmodal"
            )
        if version < SCHEMA_VERSION and readonly and version > 0:
            # An older store opened for reading: migrate it once through a writing connection.
            self.conn.close()
            Catalog(self.path).close()
            self.conn = _read_only(self.path)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA busy_timeout=10000")
            version = self.schema_version
        if version == 0 and readonly:
            self.conn.close()
            raise StoreEmptyError(f"store catalog {self.path} is empty; run crossmodal update PATH")
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(
                    f"catalog {self.path} has schema {version}, older than {SCHEMA_VERSION}; "
                    "run crossmodal update (or check --repair) to migrate it"
                )
            self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring an older catalog up to date inside one transaction: all steps or none.

        The version is read again inside the transaction, so two processes opening an old catalog
        at once migrate it exactly once."""
        try:
            with self.transaction():
                version = self.schema_version
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _statements(MIGRATIONS[step]):
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot migrate catalog {self.path}: {exc}") from exc

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

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Several reads that see one committed state, even while a writer commits (WAL)."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    # -- items ---------------------------------------------------------------------------
    def item_by_path(self, path: str) -> Item | None:
        row = self.conn.execute(
            "SELECT * FROM items WHERE path = ?", (catalog_path(path)[0],)
        ).fetchone()
        return Item.from_row(row) if row else None

    def _under_clause(self, root: str) -> tuple[str, tuple[str, str, str]]:
        """WHERE clause (and its arguments) for `root` and everything below it, as a range on
        the unique path index: '/a/' <= path < '/a0' ('0' follows '/')."""
        root = root.rstrip("/") or "/"
        prefix = root if root == "/" else root + "/"
        return "(path = ? OR (path >= ? AND path < ?))", (root, prefix, prefix[:-1] + "0")

    def items_under(self, root: str) -> dict[str, Item]:
        """Items whose path is `root` itself or lies below it, keyed by catalog path."""
        clause, args = self._under_clause(catalog_path(root)[0])
        rows = self.conn.execute(f"SELECT * FROM items WHERE {clause}", args)
        return {row["path"]: Item.from_row(row) for row in rows}

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
        fields["path"], fields["path_bytes"] = catalog_path(fields["path"])
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
        if "path" in fields:
            fields["path"], fields["path_bytes"] = catalog_path(fields["path"])
        if "meta" in fields:
            fields["meta"] = json.dumps(fields["meta"], sort_keys=True, default=str)
        fields["updated"] = time.time()
        sets = ",".join(f"{name} = ?" for name in fields)
        self.conn.execute(f"UPDATE items SET {sets} WHERE id = ?", [*fields.values(), item_id])

    def relocate(self, old: str, new: str) -> int:
        """Rewrite every path under `old` to lie under `new` (and the roots); returns the item count.
        Content hashes and vectors stay, so nothing is re-embedded."""
        old, new = old.rstrip("/") or "/", new.rstrip("/") or "/"
        prefix = old + "/"
        clause, args = self._under_clause(old)
        rows = self.conn.execute(
            f"SELECT id, path, path_bytes FROM items WHERE {clause}", args
        ).fetchall()
        old_raw, new_raw = os.fsencode(old), os.fsencode(new)
        for row in rows:
            target = new + row["path"][len(old) :]
            raw = new_raw + row["path_bytes"][len(old_raw) :] if row["path_bytes"] else None
            # A row already at the target (NEW was indexed before relocate) describes the same
            # file: the relocated row, with its history, replaces it.
            self.conn.execute("DELETE FROM items WHERE path = ? AND id != ?", (target, row["id"]))
            self.conn.execute(
                "UPDATE items SET path = ?, path_bytes = ? WHERE id = ?", (target, raw, row["id"])
            )
        roots = self.roots()
        inside_a_root = any(old.startswith(r.rstrip("/") + "/") for r in roots)
        for root in roots:
            if root == old or root.startswith(prefix):
                self.conn.execute("DELETE FROM roots WHERE path = ?", (root,))
                self.add_root(new + root[len(old) :])
        under_a_root = any(new == r or new.startswith(r.rstrip("/") + "/") for r in self.roots())
        if inside_a_root and not under_a_root:
            self.add_root(new)  # a subfolder moved out of its root: keep scanning it there
        return len(rows)

    def forget_root(self, root: str) -> int:
        """Stop indexing `root`: drop it from the roots and mark its items deleted (restorable
        until purged). Returns the number of items marked."""
        root = root.rstrip("/") or "/"
        self.conn.execute("DELETE FROM roots WHERE path = ?", (root,))
        clause, args = self._under_clause(root)
        return self.conn.execute(
            f"UPDATE items SET status = 'deleted', updated = ? WHERE status != 'deleted' AND {clause}",
            (time.time(), *args),
        ).rowcount

    def purge_deleted(self, older_than: float) -> tuple[int, int]:
        """Forget items deleted before `older_than` and vectors no item refers to any more.
        Returns (items, vectors) removed. Index members pointing at purged vectors stay marked
        deleted until the next rebuild drops them."""
        items = self.conn.execute(
            "DELETE FROM items WHERE status = 'deleted' AND updated < ?", (older_than,)
        ).rowcount
        vectors = self.conn.execute(
            """
            DELETE FROM vectors
            WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.content_hash = vectors.key)
            AND NOT EXISTS (SELECT 1 FROM items i WHERE i.text_key = vectors.key)
            AND NOT EXISTS (
                SELECT 1 FROM passages p JOIN items i ON i.content_hash = p.owner
                WHERE p.key = vectors.key)
            AND NOT EXISTS (
                SELECT 1 FROM index_members m
                WHERE m.space = vectors.space AND m.vector_id = vectors.id AND m.deleted = 0)
            """
        ).rowcount
        self.conn.execute(
            "DELETE FROM hubness WHERE NOT EXISTS "
            "(SELECT 1 FROM vectors v WHERE v.id = hubness.vector_id)"
        )
        self.conn.execute(  # by owner: items_hash is indexed, vectors.key alone is not
            "DELETE FROM passages WHERE NOT EXISTS "
            "(SELECT 1 FROM items i WHERE i.content_hash = passages.owner)"
        )
        return items, vectors

    # -- roots ---------------------------------------------------------------------------
    def roots(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT path FROM roots ORDER BY path")]

    def add_root(self, path: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO roots (path, added) VALUES (?, ?)", (path, time.time())
        )

    def record_root_scan(self, path: str, count: int) -> None:
        self.add_root(path)
        self.conn.execute(
            "UPDATE roots SET last_scan = ?, last_count = ? WHERE path = ?",
            (time.time(), count, path),
        )

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
    def _rows_in(self, query: str, space: str, values: Iterable[Any]) -> Iterator[sqlite3.Row]:
        """Rows of `query` (one `?` for the space, `{marks}` for an IN list) over `values`, in
        chunks SQLite's parameter limit allows."""
        values = list(dict.fromkeys(values))
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.conn.execute(query.format(marks=marks), [space, *chunk])

    def has_vector_keys(self, space: str, keys: Iterable[str]) -> set[str]:
        query = "SELECT key FROM vectors WHERE space = ? AND key IN ({marks})"
        return {row["key"] for row in self._rows_in(query, space, keys)}

    def vectors_for_keys(self, space: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """{key: vector} for the keys that have one in the space."""
        query = "SELECT key, vector FROM vectors WHERE space = ? AND key IN ({marks})"
        return {
            row["key"]: np.frombuffer(row["vector"], dtype=np.float32)
            for row in self._rows_in(query, space, keys)
        }

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

    def drop_space(self, space: str) -> int:
        """Forget a space (its model left the store): vectors, index bookkeeping, penalties.
        Passage rows stay: they describe documents, and other spaces' passage vectors use them."""
        removed = self.conn.execute("DELETE FROM vectors WHERE space = ?", (space,)).rowcount
        for table in ("index_members", "index_state", "hubness", "hubness_state"):
            self.conn.execute(f"DELETE FROM {table} WHERE space = ?", (space,))
        return removed

    def spaces_with_vectors(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT space, count(*) AS n FROM vectors GROUP BY space")
        return {row["space"]: row["n"] for row in rows}

    def vector_count(self, space: str) -> int:
        """Vectors stored for a space (through the (space, key) index: no row is read)."""
        row = self.conn.execute("SELECT count(*) FROM vectors WHERE space = ?", (space,)).fetchone()
        return int(row[0])

    def live_vector_ids(self, space: str) -> set[int]:
        """Vectors that some item with status ok still points at (by content hash or text side)."""
        rows = self.conn.execute(
            """
            SELECT v.id FROM vectors v WHERE v.space = ? AND (
                EXISTS (SELECT 1 FROM items i WHERE i.content_hash = v.key AND i.status = 'ok')
                OR EXISTS (SELECT 1 FROM items i WHERE i.text_key = v.key AND i.status = 'ok')
                OR EXISTS (
                    SELECT 1 FROM passages p JOIN items i ON i.content_hash = p.owner
                    WHERE p.key = v.key AND i.status = 'ok'))
            """,
            (space,),
        )
        return {row["id"] for row in rows}

    def items_for_vector_ids(self, space: str, vector_ids: Sequence[int]) -> dict[int, list[Item]]:
        """Live items behind each vector id (several when files share content). CROSS JOIN pins
        the order and `+v.space` keeps the rowid lookup (the few vector ids first, then items by
        hash index): left to itself SQLite scanned every 'ok' item, 0.5 s per search on 20k."""
        out: dict[int, list[Item]] = {}
        ids = list(vector_ids)
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""
                SELECT v.id AS vector_id, i.* FROM vectors v CROSS JOIN items i
                  ON i.content_hash = v.key
                WHERE +v.space = ? AND v.id IN ({marks}) AND i.status = 'ok'
                UNION
                SELECT v.id AS vector_id, i.* FROM vectors v CROSS JOIN items i
                  ON i.text_key = v.key
                WHERE +v.space = ? AND v.id IN ({marks}) AND i.status = 'ok'
                UNION
                SELECT v.id AS vector_id, i.* FROM vectors v CROSS JOIN passages p
                  ON p.key = v.key CROSS JOIN items i ON i.content_hash = p.owner
                WHERE +v.space = ? AND v.id IN ({marks}) AND i.status = 'ok'
                ORDER BY path
                """,
                [space, *chunk, space, *chunk, space, *chunk],
            )
            for row in rows:
                out.setdefault(row["vector_id"], []).append(Item.from_row(row))
        return out

    # -- index bookkeeping ---------------------------------------------------------------
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

    def vector_ids(self, space: str) -> set[int]:
        rows = self.conn.execute("SELECT id FROM vectors WHERE space = ?", (space,))
        return {row[0] for row in rows}

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

    # -- passages ---------------------------------------------------------------------------
    def add_passages(
        self, space: str, owner: str, spans: Sequence[tuple[int, int, str]], vectors: np.ndarray
    ) -> None:
        """A long document's passages (start, end, text) and their vectors, keyed OWNER#N."""
        keys = [f"{owner}#{n}" for n in range(len(spans))]
        self.conn.executemany(
            "INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?, ?, ?)",
            [
                (key, owner, n, a, b, text)
                for n, (key, (a, b, text)) in enumerate(zip(keys, spans, strict=True))
            ],
        )
        self.add_vectors(space, keys, vectors)

    def passages_for_vector_ids(
        self, space: str, vector_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """{vector id: {"n", "start", "end", "text"}} for the ids that are passages."""
        out: dict[int, dict[str, Any]] = {}
        ids = [int(v) for v in vector_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""SELECT v.id, p.ordinal, p.start, p."end", p.text FROM vectors v
                JOIN passages p ON p.key = v.key WHERE v.space = ? AND v.id IN ({marks})""",
                [space, *chunk],
            )
            for row in rows:
                out[row[0]] = {"n": row[1], "start": row[2], "end": row[3], "text": row[4]}
        return out

    # -- hubness ----------------------------------------------------------------------------
    def vector_modalities(self, space: str) -> tuple[np.ndarray, np.ndarray]:
        """(live vector ids, the modality each was made from): an item's content gives its own
        modality, an audio item's text side gives 'text'."""
        rows = self.conn.execute(
            """
            SELECT v.id, min(i.modality) FROM vectors v CROSS JOIN items i
              ON i.content_hash = v.key WHERE +v.space = ? AND i.status = 'ok' GROUP BY v.id
            UNION
            SELECT v.id, 'text' FROM vectors v CROSS JOIN items i
              ON i.text_key = v.key WHERE +v.space = ? AND i.status = 'ok' GROUP BY v.id
            UNION
            SELECT v.id, 'text' FROM vectors v CROSS JOIN passages p ON p.key = v.key
              CROSS JOIN items i ON i.content_hash = p.owner
              WHERE +v.space = ? AND i.status = 'ok' GROUP BY v.id
            ORDER BY 1
            """,
            (space, space, space),
        ).fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return ids, np.array([row[1] for row in rows], dtype=object)

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
        out: dict[int, float] = {}
        ids = [int(v) for v in vector_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT vector_id, penalty FROM hubness WHERE space = ? AND source = ? "
                f"AND vector_id IN ({marks})",
                [space, source, *chunk],
            )
            out.update({row[0]: row[1] for row in rows})
        return out

    def vector_ids_for_keys(self, space: str, keys: Iterable[str]) -> dict[str, int]:
        query = "SELECT key, id FROM vectors WHERE space = ? AND key IN ({marks})"
        return {row[0]: row[1] for row in self._rows_in(query, space, keys)}

    def live_members(self, space: str, vector_ids: Iterable[int]) -> set[int]:
        """Which of these vectors the space's committed index holds alive (what a search sees)."""
        query = (
            "SELECT vector_id FROM index_members WHERE space = ? AND deleted = 0 "
            "AND vector_id IN ({marks})"
        )
        return {row[0] for row in self._rows_in(query, space, vector_ids)}

    # -- runs ----------------------------------------------------------------------------
    def record_run(self, kind: str, started: float, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO runs (kind, started, finished, summary) VALUES (?, ?, ?, ?)",
            (kind, started, time.time(), json.dumps(summary, sort_keys=True)),
        )
