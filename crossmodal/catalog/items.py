"""Items: one row per file a store has seen (its path, content hash, metadata, status), the
folders it indexes, and the record of runs."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .connection import Connection

# What embed derives from content and records in meta: a donor of these spares a re-read.
DERIVED_MARKERS = ("transcriber", "ocr", "passages", "scenes")


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


def _under_clause(root: str) -> tuple[str, tuple[str, str, str]]:
    """WHERE clause (and its arguments) for `root` and everything below it, as a range on the
    unique path index: '/a/' <= path < '/a0' ('0' follows '/')."""
    root = root.rstrip("/") or "/"
    prefix = root if root == "/" else root + "/"
    return "(path = ? OR (path >= ? AND path < ?))", (root, prefix, prefix[:-1] + "0")


class ItemRows(Connection):
    # -- reading -------------------------------------------------------------------------
    def item_by_path(self, path: str) -> Item | None:
        row = self.conn.execute(
            "SELECT * FROM items WHERE path = ?", (catalog_path(path)[0],)
        ).fetchone()
        return Item.from_row(row) if row else None

    def item_by_id(self, item_id: int) -> Item | None:
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return Item.from_row(row) if row else None

    def items_under(self, root: str) -> dict[str, Item]:
        """Items whose path is `root` itself or lies below it, keyed by catalog path."""
        clause, args = _under_clause(catalog_path(root)[0])
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

    def items_with(self, column: str, key: str) -> list[Item]:
        """Live items whose content hash (`column` "content_hash") or text key ("text_key") is
        `key`: every copy of one content."""
        if column not in ("content_hash", "text_key"):
            raise ValueError(column)
        rows = self.conn.execute(
            f"SELECT * FROM items WHERE {column} = ? AND status = 'ok' ORDER BY id", (key,)
        )
        return [Item.from_row(row) for row in rows]

    def has_live_content(self, digest: str) -> bool:
        """Whether a live item already holds this content (a new file is then a duplicate)."""
        row = self.conn.execute(
            "SELECT 1 FROM items WHERE content_hash = ? AND status = 'ok' LIMIT 1", (digest,)
        ).fetchone()
        return row is not None

    def has_live_items(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM items WHERE status = 'ok' LIMIT 1").fetchone()
        return row is not None

    def derived_donor(self, digest: str) -> Item | None:
        """A live item of this content that words were already read from (speech, OCR) or that
        was split into passages: its copies reuse that work."""
        likes = " OR ".join(f"meta LIKE '%\"{marker}\"%'" for marker in DERIVED_MARKERS)
        row = self.conn.execute(
            f"SELECT * FROM items WHERE content_hash = ? AND status = 'ok' AND ({likes}) LIMIT 1",
            (digest,),
        ).fetchone()
        return Item.from_row(row) if row else None

    def items_with_meta(self, key: str, modalities: Sequence[str] = ()) -> list[Item]:
        """Items whose meta names `key` (a coarse LIKE; the caller checks the parsed meta)."""
        sql, args = "SELECT * FROM items WHERE meta LIKE ?", [f'%"{key}"%']
        if modalities:
            sql += f" AND modality IN ({','.join('?' * len(modalities))})"
            args += list(modalities)
        return [Item.from_row(row) for row in self.conn.execute(sql + " ORDER BY id", args)]

    def items_without_meta(self, key: str, modality: str) -> list[Item]:
        """Readable items of a modality whose meta lacks `key` (a coarse NOT LIKE: the caller
        checks the parsed meta)."""
        sql = "SELECT * FROM items WHERE status = 'ok' AND modality = ? AND meta NOT LIKE ?"
        rows = self.conn.execute(sql + " ORDER BY id", [modality, f'%"{key}"%'])
        return [Item.from_row(row) for row in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{status: {modality: count}} for summaries and `stats`."""
        out: dict[str, dict[str, int]] = {}
        rows = self.conn.execute(
            "SELECT status, coalesce(modality, '?') AS m, count(*) AS n FROM items GROUP BY 1, 2"
        )
        for row in rows:
            out.setdefault(row["status"], {})[row["m"]] = row["n"]
        return out

    def derived_counts(self) -> tuple[int, int, int, int]:
        """(clips with a transcript, pictures with words read, documents' passages, videos'
        parts: scenes and words) for `stats`."""
        row = self.conn.execute(
            """SELECT
              sum(coalesce(json_extract(meta, '$.transcript'), '') != ''),
              sum(coalesce(json_extract(meta, '$.ocr_text'), '') != ''),
              (SELECT count(*) FROM passages),
              (SELECT count(*) FROM passages p WHERE EXISTS (SELECT 1 FROM items v
                 WHERE v.content_hash = p.owner AND v.modality = 'video'))
            FROM items WHERE status = 'ok'"""
        ).fetchone()
        parts = int(row[3] or 0)
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0) - parts, parts

    def unhashed_live_items(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM items WHERE status = 'ok' AND content_hash IS NULL"
        ).fetchone()
        return int(row[0])

    def failures(self) -> list[Item]:
        rows = self.conn.execute("SELECT * FROM items WHERE status = 'failed' ORDER BY path")
        return [Item.from_row(row) for row in rows]

    # -- writing -------------------------------------------------------------------------
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

    def update_item(self, item_id: int, touch: bool = True, **fields: Any) -> None:
        """Change an item's columns; `touch=False` keeps its `updated` time (bookkeeping that
        says nothing about the file, such as a ctime recorded late)."""
        if "path" in fields:
            fields["path"], fields["path_bytes"] = catalog_path(fields["path"])
        if "meta" in fields:
            fields["meta"] = json.dumps(fields["meta"], sort_keys=True, default=str)
        if touch:
            fields["updated"] = time.time()
        sets = ",".join(f"{name} = ?" for name in fields)
        self.conn.execute(f"UPDATE items SET {sets} WHERE id = ?", [*fields.values(), item_id])

    def set_meta_field(self, content_hash: str, name: str, value: Any) -> None:
        """One meta field of every item of this content (a document's passage count)."""
        self.conn.execute(
            f"UPDATE items SET meta = json_set(meta, '$.{name}', ?) WHERE content_hash = ?",
            (value, content_hash),
        )

    def mark_deleted(self, item_ids: Sequence[int]) -> None:
        now = time.time()
        self.conn.executemany(
            "UPDATE items SET status = 'deleted', updated = ? WHERE id = ?",
            [(now, item_id) for item_id in item_ids],
        )

    def relocate(self, old: str, new: str) -> int:
        """Rewrite every path under `old` to lie under `new` (and the roots); returns the item count.
        Content hashes and vectors stay, so nothing is re-embedded."""
        old, new = old.rstrip("/") or "/", new.rstrip("/") or "/"
        clause, args = _under_clause(old)
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
        self._relocate_roots(old, new)
        return len(rows)

    def _relocate_roots(self, old: str, new: str) -> None:
        roots = self.roots()
        inside_a_root = any(old.startswith(r.rstrip("/") + "/") for r in roots)
        for root in roots:
            if root == old or root.startswith(old + "/"):
                self.conn.execute("DELETE FROM roots WHERE path = ?", (root,))
                self.add_root(new + root[len(old) :])
        under_a_root = any(new == r or new.startswith(r.rstrip("/") + "/") for r in self.roots())
        if inside_a_root and not under_a_root:
            self.add_root(new)  # a subfolder moved out of its root: keep scanning it there

    def forget_root(self, root: str) -> int:
        """Stop indexing `root`: drop it from the roots and mark its items deleted (restorable
        until purged). Returns the number of items marked."""
        root = root.rstrip("/") or "/"
        self.conn.execute("DELETE FROM roots WHERE path = ?", (root,))
        clause, args = _under_clause(root)
        return self.conn.execute(
            f"UPDATE items SET status = 'deleted', updated = ? WHERE status != 'deleted' AND {clause}",
            (time.time(), *args),
        ).rowcount

    def purge_items(self, older_than: float) -> int:
        """Forget items deleted before `older_than`; their vectors go with `purge_vectors`."""
        return self.conn.execute(
            "DELETE FROM items WHERE status = 'deleted' AND updated < ?", (older_than,)
        ).rowcount

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

    # -- runs ----------------------------------------------------------------------------
    def record_run(self, kind: str, started: float, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO runs (kind, started, finished, summary) VALUES (?, ?, ?, ?)",
            (kind, started, time.time(), json.dumps(summary, sort_keys=True)),
        )

    def last_run(self, kind: str) -> float | None:
        """When the last run of this kind finished (epoch seconds)."""
        row = self.conn.execute(
            "SELECT finished FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
        ).fetchone()
        return None if row is None else row[0]
