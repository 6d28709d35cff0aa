"""Cron-grade behaviour: schema migration, integrity check and repair, locking and exit codes,
recorded roots, relocation, purging, owner-only store folders and the run log."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal import catalog as catalog_mod
from crossmodal import pipeline
from crossmodal.catalog import Catalog
from crossmodal.check import check
from crossmodal.errors import StoreError
from crossmodal.pipeline import maintain, relocate, update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.spaces.hnsw import index_file
from crossmodal.store import Store

from .conftest import FakeEncoderSet, write_image, write_text

runner = CliRunner()
V1_FIXTURE = Path(__file__).parent / "data" / "store_v1"
V1_MEDIA = "/tmp/crossmodal-v1-fixture/media"  # where the schema-1 store was written


def _names(hits: list) -> list[str]:
    return [Path(hit.item.path).name for hit in hits]


def test_a_schema_1_store_is_migrated_relocated_and_reused(tmp_path: Path) -> None:
    """A store written by crossmodal with schema 1 (commit 7042c96, see tests/data) opens, answers,
    migrates in one transaction, and after `relocate` a rerun re-embeds nothing."""
    shutil.copytree(V1_FIXTURE, tmp_path / "v1")
    store = Store.open(tmp_path / "v1" / "store")
    engine = SearchEngine(store)
    try:
        hits = engine.search(build_query("a red picture", type="all", k=3))
    finally:
        engine.close()
    assert _names(hits)[:2] == ["a.png", "red.txt"]
    assert str(hits[0].item.path).startswith(V1_MEDIA)
    catalog = Catalog(store.catalog_path)
    assert catalog.schema_version == catalog_mod.SCHEMA_VERSION
    assert catalog.counts() == {"deleted": {"text": 1}, "ok": {"audio": 1, "image": 2, "text": 1}}
    catalog.close()

    media = tmp_path / "v1" / "media"
    assert relocate(store, V1_MEDIA, str(media)) == 5
    encoder = FakeEncoderSet()
    summary = update(store, [media], encoder=encoder)
    # Same content: vectors reused. The v1 store predates speech and passages: the clip is
    # transcribed and the document split once (its document vector is kept).
    assert encoder.calls == [("text", 1), ("transcribe", 1)] and summary.failed == 0
    again = FakeEncoderSet()
    update(store, [media], encoder=again)
    assert again.calls == []
    assert summary.ingest.deleted == 0 and summary.ingest.added == 0
    report = check(store)
    assert report.ok and not report.pending, report.to_dict()


def test_a_newer_or_damaged_catalog_is_refused_never_misread(tmp_path: Path) -> None:
    shutil.copytree(V1_FIXTURE / "store", tmp_path / "store")
    db = tmp_path / "store" / "catalog.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    result = runner.invoke(app, ["search", "red", "--store", str(tmp_path / "store")])
    assert result.exit_code == 1 and "upgrade crossmodal" in result.output
    assert result.output.count("\n") == 1

    db.write_bytes(b"this is not a database" * 100)
    result = runner.invoke(app, ["check", "--store", str(tmp_path / "store")])
    assert result.exit_code == 1 and "cannot open catalog" in result.output


def test_a_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(V1_FIXTURE / "store", tmp_path / "store")
    broken = catalog_mod.MIGRATIONS[2] + "\nCREATE TABLE items (oops INTEGER);"
    monkeypatch.setitem(catalog_mod.MIGRATIONS, 2, broken)
    with pytest.raises(StoreError, match="cannot migrate"):
        Catalog(tmp_path / "store" / "catalog.sqlite")
    conn = sqlite3.connect(tmp_path / "store" / "catalog.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = [row[1] for row in conn.execute("PRAGMA table_info(items)")]
    assert "path_bytes" not in columns  # the ALTER before the failing statement rolled back
    conn.close()


def _damage_everything(store: Store) -> None:
    catalog = Catalog(store.catalog_path)
    state = catalog.index_state("fake-visual")
    assert state is not None
    index_file(store.index_dir, "fake-visual", state.generation).write_bytes(b"garbage")
    with catalog.transaction():
        catalog.conn.execute(
            "UPDATE vectors SET vector = ? WHERE id = (SELECT min(id) FROM vectors "
            "WHERE space = 'fake-semantic')",
            (np.full(64, np.nan, dtype=np.float32).tobytes(),),
        )
    catalog.close()
    (store.index_dir / ".fake-audio.g9.hnsw.abc.tmp").write_bytes(b"left by kill -9")


def test_check_finds_damage_and_repair_fixes_it_without_re_embedding(
    fake_store: Store, collection: Path
) -> None:
    update(fake_store, [collection])
    root = str(fake_store.root)
    clean = runner.invoke(app, ["check", "--store", root])
    assert clean.exit_code == 0 and clean.output.strip() == "check: ok"

    _damage_everything(fake_store)
    report = check(fake_store)
    kinds = sorted({p.what for p in report.problems})
    assert not report.ok and kinds == ["index", "vectors"], report.to_dict()
    assert any("interrupted runs" in p.message for p in report.pending)
    assert runner.invoke(app, ["check", "--store", root]).exit_code == 1

    repaired = runner.invoke(app, ["check", "--repair", "--store", root, "--json"])
    assert repaired.exit_code == 0, repaired.output
    assert fake_store.leftover_files() == []
    encoder = FakeEncoderSet()
    update(fake_store, [collection], encoder=encoder)
    assert [n for _, n in encoder.calls] == [1]  # only the dropped vector is embedded again
    after = check(fake_store)
    assert after.ok and not after.problems and not after.pending


def test_a_locked_store_exits_75_or_waits(fake_store: Store, collection: Path) -> None:
    other = Store.open(fake_store.root)  # stands in for another process holding the lock
    with other.write_lock():
        result = runner.invoke(app, ["update", str(collection), "--store", str(fake_store.root)])
        assert result.exit_code == 75 and "locked" in result.output
        assert runner.invoke(app, ["index", "--store", str(fake_store.root)]).exit_code == 75

    held = threading.Event()

    def hold_for_a_while() -> None:
        with other.write_lock():
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_for_a_while)
    holder.start()
    held.wait()
    started = time.monotonic()
    result = runner.invoke(
        app, ["update", str(collection), "--store", str(fake_store.root), "--wait", "10"]
    )
    holder.join()
    assert result.exit_code == 0 and time.monotonic() - started >= 0.3


def test_update_without_paths_rescans_roots_and_protects_unmounted_ones(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    write_image(second / "x.png", "blue")
    update(fake_store, [collection, second])
    root = str(fake_store.root)
    again = runner.invoke(app, ["update", "--store", root, "--json"])
    assert again.exit_code == 0 and '"unchanged": 9' in again.output

    hidden = tmp_path / "second-unmounted"
    second.rename(hidden)  # the disk is gone
    missing = runner.invoke(app, ["update", "--store", root])
    assert missing.exit_code == 3 and "missing (unmounted?)" in missing.output
    hidden.rename(second)
    for child in second.iterdir():  # mounted but empty
        child.rename(tmp_path / child.name)
    empty = runner.invoke(app, ["update", "--store", root])
    assert empty.exit_code == 3 and "--allow-empty" in empty.output
    catalog = Catalog(fake_store.catalog_path)
    assert catalog.item_by_path(str((second / "x.png").resolve())).status == "ok"  # type: ignore[union-attr]
    catalog.close()
    allowed = runner.invoke(app, ["update", "--store", root, "--allow-empty", "--json"])
    assert allowed.exit_code == 0 and '"deleted": 1' in allowed.output


def test_relocate_after_moving_a_collection(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    update(fake_store, [collection])
    moved = tmp_path / "elsewhere" / "media"
    moved.parent.mkdir()
    shutil.move(str(collection), moved)
    result = runner.invoke(
        app, ["relocate", str(collection), str(moved), "--store", str(fake_store.root)]
    )
    assert result.exit_code == 0 and "8 items" in result.output
    encoder = FakeEncoderSet()
    summary = update(fake_store, None, encoder=encoder)  # the recorded root moved with it
    assert summary.ingest.unchanged == 8 and summary.ingest.deleted == 0 and encoder.calls == []
    bad = runner.invoke(app, ["relocate", "/nowhere", str(moved), "--store", str(fake_store.root)])
    assert bad.exit_code == 1 and "no items under" in bad.output


def test_deleted_items_are_purged_later(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    update(fake_store, [collection])
    (collection / "notes" / "forest.txt").unlink()
    first = update(fake_store, [collection])
    assert first.ingest.deleted == 1 and first.purged_items == 0  # kept, restorable
    monkeypatch.setattr(maintain, "PURGE_AFTER_SECONDS", -1)
    second = update(fake_store, [collection])
    assert second.purged_items == 1 and second.purged_vectors == 1
    assert check(fake_store).ok


def test_store_folder_is_owner_only_and_log_records_runs(collection: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "new-store"
    log = tmp_path / "crossmodal.log"
    Store.open_or_create(store_dir, encoder_set="fake")
    assert stat.S_IMODE(os.stat(store_dir).st_mode) == 0o700
    (collection / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    first = runner.invoke(
        app, ["update", str(collection), "--store", str(store_dir), "--quiet", "--log", str(log)]
    )
    assert first.exit_code == 3
    with Store.open(store_dir).write_lock():
        locked = runner.invoke(
            app, ["update", "--store", str(store_dir), "--quiet", "--log", str(log)]
        )
    assert locked.exit_code == 75
    lines = log.read_text().splitlines()
    assert "8 added" in lines[0] and "1 failed" in lines[0]
    assert "failed:" in lines[1] and "broken.png" in lines[1]
    assert "error: store" in lines[2] and "locked" in lines[2]


def test_interrupted_store_creation_can_be_completed(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "write.lock").write_bytes(b"")
    (folder / ".settings.json.x1y2.tmp").write_bytes(b"{")
    store = Store.open_or_create(folder, encoder_set="fake")
    assert store.settings.encoder_set == "fake"
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("mine")
    with pytest.raises(StoreError, match="not a crossmodal store"):
        Store.open_or_create(tmp_path / "busy")


def test_disk_full_mid_update_loses_nothing(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from crossmodal.spaces import hnsw as index_mod

    update(fake_store, [collection])
    before = check(fake_store)
    write_image(collection / "photos" / "new.png", "blue")

    def disk_full(target: Path, writer: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(index_mod, "atomic_write_with", disk_full)
    result = runner.invoke(app, ["update", str(collection), "--store", str(fake_store.root)])
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert result.output.count("\n") == 1
    monkeypatch.undo()
    assert before.ok and check(fake_store).ok  # the committed index is untouched
    again = update(fake_store, [collection])
    assert again.failed == 0 and {r.space: r.size for r in again.index}["fake-visual"] == 4


def test_vector_ids_are_never_reused_after_a_purge(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest vector purged, then new content: its id must not alias the purged one, whose
    vector the index file still holds (found by review: search returned the wrong file)."""
    from crossmodal.spaces import hnsw as index_mod

    monkeypatch.setattr(index_mod, "EXACT_SEARCH_MAX", 0)  # the HNSW path, as in large stores
    monkeypatch.setattr(maintain, "PURGE_AFTER_SECONDS", -1)
    update(fake_store, [collection])
    write_text(collection / "notes" / "cherry.txt", "cherry cherry cherry")
    update(fake_store, [collection])
    (collection / "notes" / "cherry.txt").unlink()
    update(fake_store, [collection])  # deleted and purged at once
    write_text(collection / "notes" / "durian.txt", "durian durian durian")
    update(fake_store, [collection])
    engine = SearchEngine(fake_store)
    try:
        hits = engine.search(build_query("cherry", type="text", k=3))
    finally:
        engine.close()
    durian = [h.score for h in hits if Path(h.item.path).name == "durian.txt"]
    assert all(score < 0.5 for score in durian), durian  # its own vector, not cherry's
    assert check(fake_store).ok


def test_an_unreachable_file_keeps_its_vectors_until_it_returns(
    fake_store: Store, collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlink into a disk that is unmounted for one night: the item fails (retryable) but its
    vectors stay, so when the disk returns nothing is re-embedded, even with purging forced."""
    disk = tmp_path / "disk"
    write_image(disk / "far.png", "blue")
    (collection / "far.png").symlink_to(disk / "far.png")
    update(fake_store, [collection])
    monkeypatch.setattr(maintain, "PURGE_AFTER_SECONDS", -1)
    disk.rename(tmp_path / "unmounted")
    night = update(fake_store, [collection])
    assert [reason for _, reason in night.ingest.failures] == ["dangling symbolic link"]
    assert night.purged_vectors == 0
    (tmp_path / "unmounted").rename(disk)
    encoder = FakeEncoderSet()
    back = update(fake_store, [collection], encoder=encoder)
    assert back.failed == 0 and encoder.calls == []
    assert check(fake_store).ok


def test_forget_a_folder_and_relocate_a_subfolder(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    write_image(other / "o.png", "green")
    update(fake_store, [collection, other])
    root = str(fake_store.root)
    shutil.rmtree(other)  # deleted on purpose
    assert runner.invoke(app, ["update", "--store", root]).exit_code == 3
    forgot = runner.invoke(app, ["forget", str(other), "--store", root])
    assert forgot.exit_code == 0 and "1 items removed" in forgot.output
    assert runner.invoke(app, ["update", "--store", root]).exit_code == 0
    assert runner.invoke(app, ["forget", "/nowhere", "--store", root]).exit_code == 1

    # A subfolder moved out of its root stays indexed at its new place.
    moved = tmp_path / "notes-archive"
    shutil.move(str(collection / "notes"), moved)
    assert (
        runner.invoke(
            app, ["relocate", str(collection / "notes"), str(moved), "--store", root]
        ).exit_code
        == 0
    )
    (moved / "sea.md").unlink()
    write_text(moved / "lake.txt", "a calm lake")
    summary = update(fake_store, None)
    assert summary.ingest.deleted == 1 and summary.ingest.added == 1 and summary.failed == 0


def test_odd_names_and_bad_options_are_one_line_errors(
    fake_store: Store, collection: Path, tmp_path: Path
) -> None:
    root = str(fake_store.root)
    odd_root = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9")
    os.mkdir(odd_root)
    result = runner.invoke(app, ["update", odd_root, "--store", root])
    assert result.exit_code == 1 and "valid UTF-8" in result.output
    result = runner.invoke(app, ["update", str(collection), "--store", root, "--wait", "nan"])
    assert result.exit_code == 1 and "--wait" in result.output

    # A UTF-8 name equal to another file's escaped non-UTF-8 name: the UTF-8 file owns the
    # catalog entry whatever the order they appear in; the other is reported, never confused.
    raw_name = os.fsencode(collection) + b"/caf\xe9.txt"
    with open(raw_name, "wb") as raw_named:
        raw_named.write(b"raw bytes in the name")
    alone = update(fake_store, [collection])
    assert alone.failed == 0 and alone.ingest.added == 9  # the non-UTF-8 name is indexed too
    literal = write_text(collection / "caf\\xe9.txt", "a literal backslash in the name")
    both = update(fake_store, [collection])
    assert both.failed == 1 and "collides" in both.ingest.failures[0][1]
    catalog = Catalog(fake_store.catalog_path)
    owner = catalog.item_by_path(str(literal.resolve()))
    assert owner is not None and owner.path_bytes is None and owner.status == "ok"
    catalog.close()
    literal.unlink()
    after = update(fake_store, [collection])  # the non-UTF-8 file gets the entry back
    assert after.failed == 0 and after.ingest.deleted == 0
    catalog = Catalog(fake_store.catalog_path)
    owner = catalog.item_by_path(str(literal.resolve()))
    assert owner is not None and owner.path_bytes == raw_name and owner.status == "ok"
    catalog.close()


def test_device_changes_alone_never_keep_deleted_files(fake_store: Store, collection: Path) -> None:
    """Device numbers change across remounts (sdb -> sdc, NFS, FUSE): a file deleted beside
    other files is deleted even when its recorded device is stale."""
    update(fake_store, [collection])
    catalog = Catalog(fake_store.catalog_path)
    with catalog.transaction():
        catalog.conn.execute("UPDATE items SET dev = dev + 1000")
    catalog.close()
    (collection / "notes" / "sea.md").unlink()
    summary = update(fake_store, [collection])
    assert summary.ingest.deleted == 1 and summary.failed == 0


def test_relocating_a_parent_of_a_root_adds_no_new_root(fake_store: Store, tmp_path: Path) -> None:
    old_home = tmp_path / "alice"
    write_image(old_home / "photos" / "p.png", "red")
    write_text(old_home / "private" / "diary.txt", "not for indexing")
    update(fake_store, [old_home / "photos"])
    new_home = tmp_path / "bob"
    old_home.rename(new_home)
    assert relocate(fake_store, str(old_home), str(new_home)) == 1
    catalog = Catalog(fake_store.catalog_path)
    assert catalog.roots() == [str((new_home / "photos").resolve())]
    catalog.close()
    summary = update(fake_store, None)
    assert summary.ingest.scanned == 1 and summary.ingest.unchanged == 1


def _mount_tmpfs(folder: Path) -> bool:
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def test_an_unmounted_disk_inside_a_root_keeps_its_items(
    fake_store: Store, collection: Path
) -> None:
    """A disk mounted below a root (e.g. media/disk) is unmounted one night: an empty mount point
    remains on the parent disk. Its items are kept (exit 3), not deleted, unless --allow-empty."""
    import subprocess

    disk = collection / "disk"
    if not _mount_tmpfs(disk):
        pytest.skip("mounting a tmpfs needs root and a permissive container")

    def fill() -> None:
        write_image(disk / "a.png", "red")
        write_text(disk / "sub" / "b.txt", "a note on the other disk")

    try:
        fill()
        update(fake_store, [collection])
        subprocess.run(["umount", str(disk)], check=True)
        root = str(fake_store.root)
        night = runner.invoke(app, ["update", "--store", root, "--json"])
        assert night.exit_code == 3 and '"deleted": 0' in night.output
        assert "another disk than before" in night.output and '"kept": 2' in night.output
        assert _mount_tmpfs(disk)
        fill()  # the disk is back (a fresh tmpfs: same content, new ctimes)
        encoder = FakeEncoderSet()
        back = update(fake_store, [collection], encoder=encoder)
        assert back.failed == 0 and back.ingest.deleted == 0 and encoder.calls == []
        subprocess.run(["umount", str(disk)], check=True)
        gone = runner.invoke(app, ["update", "--store", root, "--allow-empty", "--json"])
        assert gone.exit_code == 0 and '"deleted": 2' in gone.output
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_plain_check_beside_a_publishing_writer_sees_one_generation(
    fake_store: Store, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer publishes the next index generation while `check` reads the current one: the
    check reads state, file and members of one committed snapshot and reports no damage."""
    from crossmodal import check as check_mod
    from crossmodal.spaces.hnsw import update_space

    update(fake_store, [collection])
    write_image(collection / "photos" / "d.png", "green")
    pipeline.ingest(fake_store, [collection])
    pipeline.embed(fake_store)
    real_load = check_mod.load_index
    published = []

    def load_then_publish(path: Path, dim: int, capacity: int = 0, **options):  # type: ignore[no-untyped-def]
        loaded = real_load(path, dim, capacity, **options)
        if path.name.startswith("fake-visual") and not published:  # published meanwhile
            writer = Catalog(fake_store.catalog_path)
            published.append(update_space(writer, "fake-visual", 3, fake_store.index_dir))
            writer.close()
        return loaded

    monkeypatch.setattr(check_mod, "load_index", load_then_publish)
    report = check(fake_store)
    assert published and published[0].added == 1
    assert not report.problems, report.to_dict()


HOT_JOURNAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")
conn.execute("BEGIN IMMEDIATE")
conn.execute("CREATE TABLE spill (x BLOB)")
for _ in range(200):
    conn.execute("INSERT INTO spill VALUES (randomblob(4000))")
os._exit(0)
"""


def test_a_catalog_killed_while_being_created_is_pending_not_broken(tmp_path: Path) -> None:
    """A run killed during a new catalog's first write leaves a hot rollback journal that a
    read-only connection cannot replay (found by `make soak`): readers say "run update",
    check reports pending work, and the next update recovers and indexes normally."""
    import subprocess
    import sys

    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    subprocess.run([sys.executable, "-c", HOT_JOURNAL, str(store.catalog_path)], check=True)
    assert Path(f"{store.catalog_path}-journal").exists()
    report = check(store)
    assert report.ok and not report.problems and report.pending
    runner = CliRunner()
    searched = runner.invoke(app, ["search", "red", "--store", str(store.root)])
    assert searched.exit_code == 1 and "interrupted while being created" in searched.output
    write_image(tmp_path / "media" / "red.png", "red")
    updated = runner.invoke(app, ["update", str(tmp_path / "media"), "--store", str(store.root)])
    assert updated.exit_code == 0, updated.output
    assert runner.invoke(app, ["search", "red", "--store", str(store.root)]).exit_code == 0
    assert check(Store.open(store.root)).ok
