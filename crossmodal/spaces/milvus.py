"""One Milvus collection per space: the VectorBackend for stores whose vectors outgrow one
machine's memory (a Milvus cluster) or that want Milvus Lite's single file.

Each collection holds (id = catalog vector id, vector, made_from). `made_from` is what the
vector was made from (image, text, audio, video), which never changes for a vector, so a type
filter is pushed down to Milvus as a boolean expression that is exact as a superset: a text
vector may belong to any item (its tags, transcript, passages), a picture or a sound to a video
(its scenes and sound). Folder, date and size filters stay local, after the over-fetch: one
vector is shared by every copy of a file, so its folder or date is not one value.

Consistency with the catalog. Deletes are real deletes and adds are upserts (idempotent). Before
the first change of a sync, the catalog records the space's state as "being written" (a negative
generation) in its own transaction; the commit after Milvus has flushed records the next
generation. A run killed in between leaves the marker, and the next sync re-uploads the space
from the catalog's vectors instead of trusting a half-changed collection; so does a collection
whose row count differs from what the catalog recorded."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import Catalog, IndexState
from ..errors import StoreError

if TYPE_CHECKING:
    from .target import VectorTarget

M = 16
EF_CONSTRUCTION = 200
EF_SEARCH_MIN = 128
MAX_TOPK = 16384  # Milvus's limit on one search's results
UPLOAD_CHUNK = 2000  # rows per insert: a few MB per RPC at 512 dimensions
KEEPALIVE_MS = 60_000
ALL_TYPES = frozenset({"image", "text", "audio", "video"})

_clients: dict[tuple[str, str], Any] = {}
_loaded: set[tuple[str, str]] = set()  # (uri, collection) loaded by this process
_clients_lock = threading.Lock()


def collection_name(store_id: str, space: str) -> str:
    """Milvus names take letters, digits and underscores: the space's name so sanitised, plus a
    hash of the real name so two spaces never meet in one collection."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", space)[:80]
    digest = hashlib.sha1(space.encode("utf-8")).hexdigest()[:8]
    return f"crossmodal_{store_id or 'store'}_{safe}_{digest}"


def made_from_filter(types: Iterable[str] | None) -> str | None:
    """The Milvus expression that keeps every vector an item of `types` can own (None: all)."""
    wanted = set(types or ALL_TYPES) & ALL_TYPES
    if not wanted or wanted >= ALL_TYPES:
        return None
    kinds = wanted | {"text"}
    if "video" in wanted:
        kinds |= {"image", "audio"}
    if kinds >= ALL_TYPES:
        return None
    listed = ", ".join(f'"{kind}"' for kind in sorted(kinds))
    return f"made_from in [{listed}]"


def client_for(target: VectorTarget) -> Any:
    """One client per process and deployment (a Milvus Lite file is opened once)."""
    from .target import TOKEN_ENV

    token = os.environ.get(TOKEN_ENV, "")
    key = (target.uri, token)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:
            raise StoreError(
                f"the store keeps its vectors in {target.spec}, which needs pymilvus: "
                "pip install 'crossmodal[scale]'"
            ) from exc
        # pymilvus pings every 10 s even with no call in flight; servers (Milvus Lite's among
        # them) answer that with GOAWAY too_many_pings, which can fail a long call.
        options: dict[str, Any] = {
            "grpc_options": {
                "grpc.keepalive_time_ms": KEEPALIVE_MS,
                "grpc.keepalive_permit_without_calls": False,
            }
        }
        # pymilvus installs its own stderr handler and logs every failed call with a traceback;
        # Milvus Lite's in-process server logs its own (a failed open, calls it does not
        # implement). The library prints nothing: the error is raised, in one line.
        for name in ("pymilvus", "milvus_lite", "grpc._server"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if target.lite:
            _refuse_if_locked(target)
        try:
            client = MilvusClient(uri=target.uri, token=token, timeout=30, **options)
        except Exception as exc:  # pymilvus raises MilvusException and grpc's own errors
            raise StoreError(f"cannot reach Milvus at {target.spec}: {_reason(exc)}") from exc
        _clients[key] = client
        return client


def _refuse_if_locked(target: VectorTarget) -> None:
    """Milvus Lite serves its folder to one process at a time (an exclusive lock on its LOCK
    file): say so in words, instead of its 'Open local milvus failed'."""
    import fcntl

    lock = os.path.join(target.uri, "LOCK")
    if not os.path.exists(lock):
        return
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        raise StoreError(
            f"{target.spec} is open in another process (Milvus Lite serves one process at a "
            "time); for a server beside cron runs, serve it with milvus-lite server and use "
            "--vectors milvus://HOST:PORT"
        ) from exc
    finally:
        os.close(fd)


def close_clients() -> None:
    """Close every client this process opened (a Milvus Lite file's server process exits)."""
    with _clients_lock:
        for client in _clients.values():
            with contextlib.suppress(Exception):  # best effort: the process is ending anyway
                client.close()
        _clients.clear()
        _loaded.clear()


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:300]


class MilvusBackend:
    """A space's Milvus collection. Reads ask Milvus; writes follow sync's calls and publish
    through the catalog's index_state, as the hnswlib files do."""

    marks_deletions = False  # a delete removes the row: no share of dead rows to rebuild away

    def __init__(
        self, catalog: Catalog, space: str, dim: int, target: VectorTarget, store_id: str
    ) -> None:
        self.catalog, self.space, self.dim, self.target = catalog, space, dim, target
        self.collection = collection_name(store_id, space)
        self.degraded: str | None = None
        self._state: IndexState | None = None
        self._members: dict[int, bool] = {}
        self._marked = False  # whether this sync has recorded "being written"
        self._size: int | None = None
        self._writing_to = self.collection  # the alias, or a rebuild's new collection

    @property
    def client(self) -> Any:
        return client_for(self.target)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A Milvus call whose failure is one line naming the deployment, never a traceback."""
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"Milvus at {self.target.spec} failed to {what} {self.collection}: {_reason(exc)}"
            ) from exc

    # -- reading -------------------------------------------------------------------------
    def count(self) -> int:
        """Vectors a search can return, as the catalog last published them."""
        if self._size is None:
            state = self.catalog.index_state(self.space)
            self._size = 0 if state is None else max(0, state.n_labels - state.n_deleted)
        return self._size

    def search(
        self, vector: np.ndarray, k: int, types: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(vector ids, inner products), best first, at most k (and Milvus's limit)."""
        k = min(k, self.count(), MAX_TOPK)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        self._ensure_loaded()
        found = self._call(
            "search",
            self.client.search,
            self.collection,
            data=[np.asarray(vector, dtype=np.float32).tolist()],
            limit=k,
            filter=made_from_filter(types) or "",
            search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH_MIN, 2 * k)}},
            output_fields=["id"],  # none would send every vector back with its hit
        )
        hits = list(found[0]) if found else []
        ids = np.fromiter((int(hit["id"]) for hit in hits), dtype=np.int64, count=len(hits))
        sims = np.fromiter(
            (float(hit["distance"]) for hit in hits), dtype=np.float32, count=len(hits)
        )
        return ids, sims

    def _ensure_loaded(self) -> None:
        """A collection is searchable once loaded into memory; a new process finds it released."""
        key = (self.target.uri, self.collection)
        if key in _loaded:
            return
        from pymilvus.client.types import LoadState

        state = self._call("look up", self.client.get_load_state, self.collection)
        if state.get("state") != LoadState.Loaded:
            self._call("load", self.client.load_collection, self.collection)
        _loaded.add(key)

    def stored_count(self) -> int:
        """Rows the collection holds now (a strong read: every acknowledged write counts)."""
        self._ensure_loaded()
        rows = self._call(
            "count",
            self.client.query,
            self.collection,
            filter="",
            output_fields=["count(*)"],
            consistency_level="Strong",
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def stored_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """{id: vector} as Milvus holds them, for `check`'s samples."""
        if not ids:
            return {}
        self._ensure_loaded()
        rows = self._call(
            "read",
            self.client.get,
            self.collection,
            ids=[int(i) for i in ids],
            output_fields=["vector"],
        )
        return {int(row["id"]): np.asarray(row["vector"], dtype=np.float32) for row in rows}

    def exists(self) -> bool:
        return bool(self._call("look up", self.client.has_collection, self.collection))

    def collection_dim(self) -> int | None:
        info = self._call("describe", self.client.describe_collection, self.collection)
        for field in info.get("fields", []):
            if field.get("name") == "vector":
                params = field.get("params") or {}
                return int(params.get("dim", 0)) or None
        return None

    # -- writing -------------------------------------------------------------------------
    def members(self) -> dict[int, bool] | None:
        """The live vectors the catalog recorded for this collection; None (re-upload) when there
        is no state of this dimension, a killed run left its marker, or the collection is
        missing, of another dimension, or holds another number of rows."""
        state = self._state = self.catalog.index_state(self.space)
        self._marked = False
        if state is None or state.dim != self.dim or state.generation < 0:
            return None
        if not self.exists() or self.collection_dim() != self.dim:
            return None
        members = {
            v: False for v, dead in self.catalog.index_members(self.space).items() if not dead
        }
        if self.stored_count() != len(members):
            return None
        self._members = dict(members)
        return dict(members)

    def _mark_writing(self) -> None:
        """Record "being written" in the catalog before Milvus changes (see the module note)."""
        if self._marked:
            return
        self._marked = True
        state = self._state
        if state is None:
            return  # no published state: nothing a search trusts, members() rebuilds anyway
        marker = IndexState(
            self.space, state.dim, state.n_labels, state.n_deleted, -self._next_generation()
        )
        with self.catalog.transaction():
            self.catalog.save_index_state(marker, {}, set())

    def _next_generation(self) -> int:
        """The generation this sync publishes: one past the published one; a marker (negative)
        already names it."""
        state = self._state
        if state is None:
            return 1
        return state.generation + 1 if state.generation >= 0 else -state.generation

    def _create(self, name: str) -> None:
        from pymilvus import DataType, MilvusClient

        client = self.client
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("made_from", DataType.VARCHAR, max_length=16)
        index = client.prepare_index_params()
        index.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type="IP",
            # Nested: Milvus Lite reads only a "params" key (flat keys are dropped, silently);
            # a Milvus server reads this form too.
            params={"params": {"M": M, "efConstruction": EF_CONSTRUCTION}},
        )
        self._call(
            "create",
            client.create_collection,
            name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )

    def _upload(self, ids: list[int]) -> None:
        """Upsert these vectors from the catalog, chunk by chunk (bounded memory)."""
        for start in range(0, len(ids), UPLOAD_CHUNK):
            chunk = ids[start : start + UPLOAD_CHUNK]
            labels, matrix, _ = self.catalog.load_vectors(self.space, ids=chunk)
            if not len(labels):
                continue
            made = self.catalog.vector_made_from(self.space, labels.tolist())
            rows = [
                {
                    "id": int(label),
                    "vector": matrix[row].tolist(),
                    "made_from": made.get(int(label), "text"),
                }
                for row, label in enumerate(labels.tolist())
            ]
            self._call("write to", self.client.upsert, self._writing_to, data=rows)
            self._members.update((int(label), False) for label in labels.tolist())

    def add(self, ids: Sequence[int]) -> None:
        if ids:
            self._mark_writing()
            self._upload(list(ids))

    def restore(self, ids: Iterable[int]) -> None:
        self.add(sorted(ids))  # members() lists no deleted vectors: a revived one is re-added

    def delete(self, ids: Iterable[int]) -> None:
        gone = [int(v) for v in ids]
        if not gone:
            return
        self._mark_writing()
        for start in range(0, len(gone), UPLOAD_CHUNK):
            chunk = gone[start : start + UPLOAD_CHUNK]
            self._call("delete from", self.client.delete, self._writing_to, ids=chunk)
        for label in gone:
            self._members.pop(label, None)

    def rebuild(self, ids: Sequence[int]) -> None:
        """A new collection (NAME_gN) with exactly these vectors, uploaded while searches still
        read the old one through the alias NAME; commit points the alias at it."""
        self._state = self.catalog.index_state(self.space)
        self._mark_writing()
        fresh = f"{self.collection}_g{self._next_generation()}"
        if self._call("look up", self.client.has_collection, fresh):
            self._call("drop", self.client.drop_collection, fresh)  # a killed rebuild's
        self._create(fresh)
        self._writing_to, self._members = fresh, {}
        self._upload(list(ids))

    def commit(self, changed: set[int] | None) -> None:
        """Flush; after a rebuild, point the alias at the new collection; then record the next
        generation and the members in one catalog transaction."""
        client = self.client
        self._call("flush", client.flush, self._writing_to)
        if self._writing_to != self.collection:  # a rebuild: publish it
            aliases = self._call("list aliases", client.list_aliases).get("aliases", [])
            if self.collection in aliases:
                self._call("switch", client.alter_alias, self._writing_to, self.collection)
            else:
                self._call("name", client.create_alias, self._writing_to, self.collection)
            _loaded.discard((self.target.uri, self.collection))
        state = IndexState(self.space, self.dim, len(self._members), 0, self._next_generation())
        with self.catalog.transaction():
            if changed is None:
                self.catalog.save_index_state(state, self._members, None)
            else:
                self.catalog.save_index_state(state, {}, set())
                self.catalog.replace_index_members(
                    self.space, {v: self._members.get(v) is not None for v in changed}
                )
        published, self._writing_to = self._writing_to, self.collection
        self._state, self._marked, self._size = state, False, None
        if published != self.collection:
            self._drop_older(published)

    def _drop_older(self, keep: str) -> None:
        """Collections of this space older than the one just published and the one before it
        (a search that resolved the alias a moment ago may still read that one)."""
        prefix = f"{self.collection}_g"
        names = self._call("list", self.client.list_collections)
        older = sorted(
            (int(name[len(prefix) :]), name)
            for name in names
            if name.startswith(prefix) and name[len(prefix) :].isdigit() and name != keep
        )
        for _, name in older[:-1]:
            self._call("drop", self.client.drop_collection, name)

    def tidy(self) -> None:
        """The previous collection, kept one round for searches that had just resolved it."""
        if self.exists():
            described = self._call("describe", self.client.describe_alias, self.collection)
            self._drop_older(str(described.get("collection_name", "")))
