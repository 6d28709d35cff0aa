"""Vectors of recent query texts and query files, kept per store so a repeated search needs no
model at all: a cold `crossmodal search "a cat"` that hits the cache skips loading the text model
(weights, tokenizer, forward pass), and a photo searched again skips torch.

It is only a cache: `cache/queries.sqlite` inside the store, written with synchronous=OFF, bounded
to MAX_ENTRIES queries (least recently used go first), and every failure (read-only store, a busy
or damaged file) makes it a miss, never an error. Entries are keyed by the encoder set's identity,
so a model change never returns stale vectors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .encoders.base import EncoderSet

MAX_ENTRIES = 2000
FILE_NAME = "queries.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    identity TEXT NOT NULL,
    key TEXT NOT NULL,
    vectors BLOB NOT NULL,
    used REAL NOT NULL,
    PRIMARY KEY (identity, key)
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
"""


def encoder_identity(encoder: EncoderSet) -> str:
    """What a cached vector depends on: the set's fingerprint (its name by default), its spaces,
    and how its queries are encoded where that differs from its stored texts."""
    base = encoder.fingerprint or encoder.name
    spaces = ",".join(f"{name}:{spec.dim}" for name, spec in sorted(encoder.spaces.items()))
    query = getattr(encoder, "query_fingerprint", "")
    return f"{base}|{spaces}" + (f"|query:{query}" if query else "")


def text_cache_key(text: str) -> str:
    return (
        "text:" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    )


def _pack(vectors: dict[str, np.ndarray]) -> bytes:
    """space\\0dim\\0float32 bytes, repeated: no pickle, nothing to execute on load."""
    out = bytearray()
    for space, vector in sorted(vectors.items()):
        data = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        out += space.encode() + b"\0" + str(len(data)).encode() + b"\0" + data
    return bytes(out)


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    vectors: dict[str, np.ndarray] = {}
    position = 0
    while position < len(blob):
        name_end = blob.index(b"\0", position)
        size_end = blob.index(b"\0", name_end + 1)
        size = int(blob[name_end + 1 : size_end])
        data = blob[size_end + 1 : size_end + 1 + size]
        if len(data) != size or size % 4:
            raise ValueError("truncated cache entry")
        vectors[blob[position:name_end].decode()] = np.frombuffer(data, dtype=np.float32).copy()
        position = size_end + 1 + size
    return vectors


class QueryCache:
    """get/put {space: unit vector} by query key; silently a no-op when the file is unusable."""

    def __init__(self, cache_dir: Path, identity: str, max_entries: int = MAX_ENTRIES) -> None:
        self.path = cache_dir / FILE_NAME
        self.identity = identity
        self.max_entries = max_entries
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self.off_reason: str | None = None  # why the cache could not be written, once known
        self.hits = 0
        self.misses = 0

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None or self._broken:
            return self._conn
        if not create and not self.path.is_file():
            return None
        try:
            if create:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=0.2, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            self._broken = True
            if create:
                self.off_reason = (
                    "the store is read-only"
                    if not os.access(self.path.parent.parent, os.W_OK)
                    else str(getattr(exc, "strerror", None) or exc)
                )
            return None
        self._conn = conn
        return conn

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        conn = self._connection(create=False)
        vectors = None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error, ValueError, UnicodeDecodeError):
                row = conn.execute(
                    "SELECT vectors FROM entries WHERE identity = ? AND key = ?",
                    (self.identity, key),
                ).fetchone()
                vectors = None if row is None else _unpack(row[0])
            if vectors is not None:
                with contextlib.suppress(sqlite3.Error):  # recency only: a busy file may skip it
                    conn.execute(
                        "UPDATE entries SET used = ? WHERE identity = ? AND key = ?",
                        (time.time(), self.identity, key),
                    )
        if vectors is None:
            self.misses += 1
        else:
            self.hits += 1
        return vectors

    def put(self, key: str, vectors: dict[str, np.ndarray]) -> None:
        conn = self._connection(create=True)
        if conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            conn.execute(
                "INSERT OR REPLACE INTO entries (identity, key, vectors, used) VALUES (?, ?, ?, ?)",
                (self.identity, key, _pack(vectors), time.time()),
            )
            (count,) = conn.execute("SELECT count(*) FROM entries").fetchone()
            if count > self.max_entries:
                conn.execute(
                    "DELETE FROM entries WHERE rowid IN "
                    "(SELECT rowid FROM entries ORDER BY used LIMIT ?)",
                    (count - self.max_entries,),
                )

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
