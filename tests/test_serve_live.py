"""serve/live.py: one engine thread, the next generation built beside it, limits on waiting and
time. Real SearchEngines on a real store (the small fake encoder set, no torch), real updates."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.serve.live import Busy, LiveEngine, TooSlow, store_version
from crossmodal.store import Store
from tests.conftest import write_image


def live_for(store: Store, **kw: Any) -> tuple[LiveEngine, list[Any]]:
    opened: list[Any] = []

    def open_engine(encoder: Any) -> Any:
        engine = SearchEngine(store, encoder)
        opened.append((engine, encoder))
        return engine

    live = LiveEngine(store, open_engine, **kw)
    live.start()
    return live, opened


def paths(engine: Any, text: str) -> list[str]:
    return [Path(h.item.path).name for h in engine.search(build_query(text, type="image", k=5))]


def test_a_published_generation_is_swapped_in_between_calls(
    fake_store: Store, collection: Path
) -> None:
    update(fake_store, [collection])
    live, opened = live_for(fake_store)
    try:
        first = live.run(lambda e: paths(e, "a red picture")).result()
        assert "a.png" in first and len(opened) == 1
        before = live.version
        write_image(collection / "photos" / "d.png", "red", size=(70, 50))  # new content
        update(fake_store, [collection])
        assert store_version(fake_store, opened[0][0].catalog) != before
        # the first call after the publish starts the build and is answered by the old engine
        assert "d.png" not in live.run(lambda e: paths(e, "a red picture")).result()
        deadline = time.monotonic() + 20
        while live.switches == 0 and time.monotonic() < deadline:
            live.run(lambda e: None).result()
            time.sleep(0.05)
        assert live.switches == 1 and live.build_error is None
        assert "d.png" in live.run(lambda e: paths(e, "a red picture")).result()
        # the models were unchanged: the new engine reuses the loaded encoder
        assert opened[1][1] is opened[0][0].encoder
        assert live.version != before
    finally:
        live.close()


def test_nothing_published_nothing_rebuilt(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    live, opened = live_for(fake_store)
    try:
        for _ in range(20):
            live.run(lambda e: paths(e, "a blue picture")).result()
        time.sleep(0.2)
        assert len(opened) == 1 and live.switches == 0
    finally:
        live.close()


def test_time_limit_and_waiting_limit(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    live, _ = live_for(fake_store, max_waiting=2, time_limit=0.2)
    release = threading.Event()
    try:
        with pytest.raises(TooSlow, match="longer than 0.2 s"):
            asyncio.run(live.call(lambda e: release.wait(5)))
        # the slow call still holds the thread: one more may wait, the next is refused
        queued = live.run(lambda e: "queued")
        with pytest.raises(Busy, match="busy"):
            live.run(lambda e: "refused")
        release.set()
        assert queued.result(timeout=5) == "queued"
        for _ in range(5):
            live.run(lambda e: None).result()
        deadline = time.monotonic() + 2  # a done callback may run just after result() returns
        while live._waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        assert live._waiting == 0  # each finished call gave its place back
        assert asyncio.run(live.call(lambda e: paths(e, "a green picture")))[0] == "b.jpg"
    finally:
        release.set()
        live.close()


def test_a_failed_build_keeps_the_old_engine(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    calls = [0]

    def open_engine(encoder: Any) -> Any:
        calls[0] += 1
        if calls[0] > 1:
            raise RuntimeError("disk went away")
        return SearchEngine(fake_store, encoder)

    live = LiveEngine(fake_store, open_engine)
    live.start()
    try:
        write_image(collection / "photos" / "e.png", "blue", size=(70, 50))
        update(fake_store, [collection])
        for _ in range(50):
            live.run(lambda e: None).result()
            if live.build_error:
                break
            time.sleep(0.05)
        assert live.build_error == "RuntimeError: disk went away"
        assert live.run(lambda e: paths(e, "a blue picture")).result()  # still answering
        for _ in range(10):
            live.run(lambda e: None).result()
        assert calls[0] == 2  # not retried on every call
    finally:
        live.close()


def test_changed_settings_load_the_models_again(fake_store: Store, collection: Path) -> None:
    """A settings change (another model, an option) opens the next engine with fresh models;
    an index change alone reuses the loaded ones (the first test)."""
    update(fake_store, [collection])
    live, opened = live_for(fake_store)
    try:
        fake_store.set_option("serve-test", 1)  # the settings file changes, the index does not
        deadline = time.monotonic() + 20
        while live.switches == 0 and time.monotonic() < deadline:
            live.run(lambda e: None).result()
            time.sleep(0.05)
        assert live.switches == 1 and len(opened) == 2
        assert opened[1][1] is None  # opened without the old encoder: its own models
        assert live.run(lambda e: paths(e, "a red picture")).result()[0] == "a.png"
    finally:
        live.close()
