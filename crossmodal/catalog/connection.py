"""Opening the catalog file (writable, read-only, or immutable on read-only media), migrating it,
transactions, and the one batching helper every chunked statement goes through."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import StoreEmptyError, StoreError
from . import migrations

# SQLite's default limit on host parameters is 999 (older builds): chunks stay well below it.
CHUNK = 400


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """`values` (deduplicated, order kept) in lists of at most `size`."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def marks(values: Sequence[Any]) -> str:
    """'?,?,?' for an IN list of these values."""
    return ",".join("?" * len(values))


def _read_only(path: Path) -> sqlite3.Connection:
    """A reading connection. A WAL catalog on read-only media (a backup, a NAS share, a CD)
    cannot create its -shm file, so SQLite refuses it; such a copy is opened as immutable,
    which reads the file as it is and writes nothing beside it."""
    uri = Path(path).absolute().as_uri()
    # Readers may be opened on one thread and used on another (serve builds the next
    # generation's engine beside the one answering); one thread uses a connection at a time.
    conn = sqlite3.connect(
        f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(Path(path).parent, os.W_OK) and os.access(path, os.W_OK):
            raise  # writable: the error is real, not the medium
    return sqlite3.connect(
        f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class Steps:
    """A long write committed every `every` steps: a killed run keeps what it committed, and
    readers are never blocked for the whole run."""

    def __init__(self, conn: sqlite3.Connection, every: int) -> None:
        self.conn, self.every, self.done = conn, every, 0

    def step(self) -> bool:
        """Count one unit of work; True when it committed (a good moment to report progress)."""
        self.done += 1
        if self.done % self.every:
            return False
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")
        return True


class Connection:
    """The catalog file, opened and at the current schema. Writers wrap batches in
    `transaction()` (or `steps()` for a long run)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise StoreEmptyError(
                f"store catalog {self.path} is missing; run crossmodal update PATH"
            )
        try:
            version = self._connect(readonly)
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
        self._upgrade(version, readonly)

    def _connect(self, readonly: bool) -> int:
        if readonly:
            self.conn = _read_only(self.path)
        else:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout=10000")
        return self.schema_version

    def _upgrade(self, version: int, readonly: bool) -> None:
        """Refuse a newer catalog; migrate an older one (through a writing connection when this
        one reads); an empty one is an error for a reader."""
        latest = migrations.SCHEMA_VERSION
        if version > latest:
            raise StoreError(
                f"catalog {self.path} has schema {version}; this crossmodal reads up to "
                f"{latest}: upgrade crossmodal"
            )
        if version < latest and readonly and version > 0:
            self.conn.close()
            type(self)(self.path).close()
            version = self._connect(readonly=True)
        if version == 0 and readonly:
            self.conn.close()
            raise StoreEmptyError(f"store catalog {self.path} is empty; run crossmodal update PATH")
        if version < latest:
            if readonly:
                raise StoreError(
                    f"catalog {self.path} has schema {version}, older than {latest}; "
                    "run crossmodal update (or check --repair) to migrate it"
                )
            try:
                with self.transaction():
                    migrations.migrate(self.conn)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot migrate catalog {self.path}: {exc}") from exc

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> _Tx:
        return _Tx(self.conn)

    @contextlib.contextmanager
    def steps(self, every: int) -> Iterator[Steps]:
        """One long write in transactions of `every` steps; the last part rolls back on error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield Steps(self.conn, every)
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

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

    def rows_in(
        self, query: str, values: Iterable[Any], before: Sequence[Any] = (), repeat: int = 1
    ) -> Iterator[sqlite3.Row]:
        """Rows of `query` over `values` in chunks SQLite's parameter limit allows: `{marks}`
        stands for the IN list (`repeat` times in the query, each preceded by `before`)."""
        for chunk in chunks(values):
            args = [*before, *chunk] * repeat
            yield from self.conn.execute(query.format(marks=marks(chunk)), args)

    def quick_check(self) -> str:
        """SQLite's own verdict on the file ('ok' when undamaged)."""
        return str(self.conn.execute("PRAGMA quick_check").fetchone()[0])
