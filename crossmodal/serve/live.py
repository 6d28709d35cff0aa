"""The store as a server sees it: one SearchEngine answering, the next one built beside it.

Every engine call runs on one thread (SQLite connections, hnswlib graphs and the models are
used by one caller at a time, as in the CLI), so requests queue in order. Before each call the
catalog's published index generations are compared with the engine's: when a cron `update`
has published new ones, a second thread opens an engine on them (reusing the loaded models
when the store's models are unchanged) and maps every index, while the old engine goes on
answering. The swap happens between two calls on the engine thread: no request sees a
half-loaded state, and none waits for the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import CrossmodalError
from ..store import Store as StoreFolder

T = TypeVar("T")
RETRY_SECONDS = 5.0


class Busy(CrossmodalError):
    """More requests are waiting than the server queues: try again shortly."""


class TooSlow(CrossmodalError):
    """A request ran past the query time limit (its answer is dropped)."""


def store_version(folder: StoreFolder, catalog: Any) -> tuple[Any, ...]:
    """What an engine's answers depend on: each space's published generation and size, and the
    settings file (a model change)."""
    rows = catalog.conn.execute(
        "SELECT space, generation, n_labels, n_deleted FROM index_state ORDER BY space"
    ).fetchall()
    try:
        settings: str | None = hashlib.blake2b(folder.settings_path.read_bytes()).hexdigest()
    except OSError:
        settings = None
    return (tuple(tuple(row) for row in rows), settings)


class LiveEngine:
    """A SearchEngine kept current with the store; `call(fn)` runs fn(engine) on its thread."""

    def __init__(
        self,
        folder: StoreFolder,
        open_engine: Callable[[Any], Any],
        max_waiting: int = 64,
        time_limit: float = 30.0,
    ) -> None:
        """`open_engine(encoder_or_None)` makes a SearchEngine for the store (with those models
        already loaded, when given)."""
        self.folder, self._open_engine = folder, open_engine
        self.max_waiting, self.time_limit = max_waiting, time_limit
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="crossmodal-engine")
        self._engine: Any = None
        self._version: tuple[Any, ...] | None = None
        self._next: tuple[Any, tuple[Any, ...]] | None = None  # built, waiting for the swap
        self._building = False
        self._lock = threading.Lock()
        self._waiting = 0
        self.switches = 0
        self.last_switch: float | None = None
        self.build_error: str | None = None
        self._retry_at = 0.0  # after a failed build, the next try waits RETRY_SECONDS
        self._builder: threading.Thread | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the first engine (models, indexes) before the server takes requests."""
        self._thread.submit(self._first).result()

    def _first(self) -> None:
        engine = self._open_engine(None)
        version = self._warm(engine)
        self._engine, self._version = engine, version

    def close(self) -> None:
        self._closed = True  # a build still running closes what it made (below)
        if self._builder is not None:
            self._builder.join(timeout=30)

        def shut() -> None:
            for engine in (self._engine, self._next[0] if self._next else None):
                if engine is not None:
                    engine.close()

        self._thread.submit(shut).result()
        self._thread.shutdown(wait=True)

    @property
    def version(self) -> tuple[Any, ...] | None:
        return self._version

    def _warm(self, engine: Any) -> tuple[Any, ...]:
        """Map every space's index and note the version it holds (read before the maps, so a
        generation published meanwhile is seen as new on the next check)."""
        version = store_version(self.folder, engine.catalog)
        for name in engine.encoder.spaces:
            engine.space(name).backend.count()
        return version

    # -- generations -----------------------------------------------------------------------
    def _check(self) -> None:
        """On the engine thread, before a call: swap in a built engine, or start building one
        when the store has moved on."""
        if self._next is not None:
            engine, version = self._next
            self._next = None
            old, self._engine, self._version = self._engine, engine, version
            self.switches += 1
            self.last_switch = time.time()
            with contextlib.suppress(Exception):  # the swap is done; this request is not its
                old.close()
        try:
            now = store_version(self.folder, self._engine.catalog)
        except Exception:  # a busy or damaged catalog: keep answering from what is loaded
            return
        if now != self._version and time.monotonic() >= self._retry_at:
            self._build(now)

    def _build(self, version: tuple[Any, ...]) -> None:
        with self._lock:
            if self._building:
                return
            self._building = True
        same_models = version[1] == (self._version or (None, None))[1]
        encoder = self._engine.encoder if same_models else None

        def build() -> None:
            try:
                engine = self._open_engine(encoder)
                try:
                    built = (engine, self._warm(engine))
                except Exception:
                    engine.close()  # its catalog connection and maps, not left to leak
                    raise
                if self._closed:
                    engine.close()
                    return
                self._next = built
                self.build_error = None
            except Exception as exc:  # the old engine goes on answering; the note says why
                self.build_error = f"{type(exc).__name__}: {exc}"
                self._retry_at = time.monotonic() + RETRY_SECONDS
            finally:
                with self._lock:
                    self._building = False

        self._builder = threading.Thread(target=build, name="crossmodal-next-engine", daemon=True)
        self._builder.start()

    # -- calls -----------------------------------------------------------------------------
    def run(self, fn: Callable[[Any], T]) -> Future[T]:
        """fn(engine) on the engine thread; Busy when too many are waiting already."""
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise Busy(f"the server is busy ({self._waiting} requests waiting); try again")
            self._waiting += 1

        def job() -> T:
            self._check()
            return fn(self._engine)

        def done(_: Future[T]) -> None:  # also when a queued call was cancelled unrun
            with self._lock:
                self._waiting -= 1

        future = self._thread.submit(job)
        future.add_done_callback(done)
        return future

    async def call(self, fn: Callable[[Any], T]) -> T:
        """Await fn(engine), at most `time_limit` seconds (TooSlow after that)."""
        future = self.run(fn)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.time_limit)
        except asyncio.TimeoutError as exc:
            raise TooSlow(f"the request took longer than {self.time_limit:g} s") from exc
