"""The catalog's schema, one step per version: a fresh catalog runs them all, an older one the
steps it lacks, inside one transaction. Never edit a released step: add a new one."""

from __future__ import annotations

import sqlite3

from ..errors import StoreError

SCHEMA_VERSION = 4

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

_SCHEMA_V4 = """
-- Parts of videos beside passages of documents: a video's scenes (their frames' vectors, made
-- from images) and its words (speech, subtitles: text), start and end in seconds.
ALTER TABLE passages ADD COLUMN modality TEXT NOT NULL DEFAULT 'text';
"""

MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4}


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


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> None:
    """Run the steps from the catalog's version up to `target`; the caller holds the transaction
    (the version is read inside it, so two processes opening an old catalog migrate it once)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for step in range(version + 1, target + 1):
        for statement in _statements(MIGRATIONS[step]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={target}")
