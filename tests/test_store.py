import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog
from crossmodal.errors import StoreError, StoreLockedError
from crossmodal.fsutil import atomic_write_bytes
from crossmodal.store import Store, default_store_dir


def test_open_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no crossmodal store"):
        Store.open(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # opening never creates


def test_create_then_open_roundtrip(tmp_path: Path) -> None:
    created = Store.open_or_create(tmp_path / "s", encoder_set="fake")
    opened = Store.open(tmp_path / "s")
    assert opened.settings.encoder_set == "fake" and opened.root == created.root
    data = json.loads((tmp_path / "s" / "settings.json").read_text())
    assert data["schema_version"] == 1


def test_refuses_non_empty_foreign_folder_and_newer_schema(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.txt").write_text("precious")
    with pytest.raises(StoreError, match="not a crossmodal store"):
        Store.open_or_create(tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.txt").read_text() == "precious"
    Store.open_or_create(tmp_path / "s")
    (tmp_path / "s" / "settings.json").write_text('{"schema_version": 99, "encoder_set": "x"}')
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path / "s")


def test_env_var_picks_default_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSMODAL_STORE", str(tmp_path / "env-store"))
    assert default_store_dir() == tmp_path / "env-store"
    monkeypatch.delenv("CROSSMODAL_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_dir() == tmp_path / "xdg" / "crossmodal"


def _hold_lock(root: str, ready, release) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(root)
    with store.write_lock():
        ready.set()
        release.wait(10)


def test_second_writer_gets_locked_error(tmp_path: Path) -> None:
    store = Store.open_or_create(tmp_path / "s")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(store.root), ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        with pytest.raises(StoreLockedError) as caught, store.write_lock(wait_seconds=0.2):
            pass
        assert caught.value.exit_code == 75
    finally:
        release.set()
        holder.join(10)
    with store.write_lock(wait_seconds=1):
        pass


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_catalog_vectors_roundtrip_and_newer_schema_refused(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    vectors = np.eye(3, dtype=np.float32)
    with catalog.transaction():
        catalog.add_vectors("s", ["a", "b", "c"], vectors)
        catalog.add_vectors("s", ["a"], np.zeros((1, 3), dtype=np.float32))  # first one wins
    labels, matrix, keys = catalog.load_vectors("s")
    assert keys == ["a", "b", "c"] and np.array_equal(matrix, vectors) and len(labels) == 3
    catalog.conn.execute("PRAGMA user_version=7")
    catalog.close()
    with pytest.raises(StoreError, match="schema 7"):
        Catalog(tmp_path / "c.sqlite")


def test_rollback_keeps_earlier_data(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with catalog.transaction():
        catalog.insert_item(path="/a", size=1, mtime_ns=1, status="ok")
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.insert_item(path="/b", size=1, mtime_ns=1, status="ok")
        raise RuntimeError("crash mid-batch")
    assert [item.path for item in catalog.items()] == ["/a"]


def test_environment_and_settings_oddities_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 class 6: no home folder, a store path that is not UTF-8, a settings version of
    1e400 or a string: each a StoreError with its reason, nothing created."""
    import os

    from crossmodal.errors import StoreError
    from crossmodal.store import Store, default_store_dir

    monkeypatch.delenv("CROSSMODAL_STORE", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(StoreError, match="no home folder"):
        default_store_dir()
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/st\xff"))
    with pytest.raises(StoreError, match="not valid UTF-8"):
        Store.open_or_create(odd, encoder_set="fake")
    assert not os.path.exists(odd)
    store = Store.open_or_create(tmp_path / "s", encoder_set="fake")
    for version in ("1e400", '"two"', "-1", "true"):
        (store.root / "settings.json").write_text(
            f'{{"encoder_set": "fake", "schema_version": {version}}}'
        )
        with pytest.raises(StoreError, match="not a crossmodal settings file"):
            Store.open(store.root)
