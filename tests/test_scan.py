import os
from pathlib import Path

import pytest

from crossmodal.media.scan import scan

from .conftest import write_text


def test_scan_is_sorted_recursive_and_skips_hidden(tmp_path: Path) -> None:
    write_text(tmp_path / "b.txt", "b")
    write_text(tmp_path / "sub" / "a.txt", "a")
    write_text(tmp_path / ".hidden" / "x.txt", "x")
    write_text(tmp_path / ".dotfile", "x")
    found = [Path(f.path).relative_to(tmp_path.resolve()).as_posix() for f in scan([tmp_path])]
    assert found == ["b.txt", "sub/a.txt"]


def test_symlink_loops_and_dangling_links_do_not_stop_the_walk(tmp_path: Path) -> None:
    write_text(tmp_path / "d" / "a.txt", "a")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    errors: list[tuple[str, str]] = []
    found = list(scan([tmp_path], on_error=lambda p, r: errors.append((p, r))))
    assert [Path(f.path).name for f in found] == ["a.txt"]
    assert any("dangling" in p for p, _ in errors)


def test_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root (as in CI) reads every folder, so the permission error is injected at os.scandir.
    write_text(tmp_path / "locked" / "a.txt", "a")
    write_text(tmp_path / "open" / "b.txt", "b")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors: list[tuple[str, str]] = []
    found = list(scan([tmp_path], on_error=lambda p, r: errors.append((p, r))))
    assert [Path(f.path).name for f in found] == ["b.txt"]
    assert errors == [(str(tmp_path.resolve() / "locked"), "Permission denied")]


def test_missing_root_is_reported_not_raised(tmp_path: Path) -> None:
    errors: list[tuple[str, str]] = []
    assert list(scan([tmp_path / "nope"], on_error=lambda p, r: errors.append((p, r)))) == []
    assert errors and "No such file" in errors[0][1]


def test_a_store_inside_the_collection_is_never_indexed(tmp_path: Path) -> None:
    """`update ~` with the default store in ~/.local/share/crossmodal, or a store named
    anything: its catalog, WAL, lock and indexes are skipped, and cron runs stay clean."""
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    from .conftest import write_image, write_text

    home = tmp_path / "home_like"
    write_image(home / "photos" / "red.png", "red")
    write_text(home / "notes" / "sea.txt", "a note about the sea")
    store = Store.open_or_create(home / "my archive", encoder_set="fake")  # any name
    first = update(store, [home])
    assert first.failed == 0 and first.ingest.added == 2, first.to_dict()
    second = update(store, [home])  # the WAL, lock and index files exist now
    assert second.exit_code == 0 and second.ingest.added == 0 and second.ingest.unchanged == 2
    direct = update(store, [home / "my archive" / "catalog.sqlite"])
    assert direct.ingest.scanned == 0
    from crossmodal.catalog import Catalog

    catalog = Catalog(store.catalog_path)
    try:
        paths = [item.path for item in catalog.items()]
    finally:
        catalog.close()
    assert not any("my archive" in path for path in paths)


def test_a_tree_1200_folders_deep_is_walked(tmp_path: Path) -> None:
    """The walk keeps its own stack: 1,200 nested folders (over Python's recursion limit)."""
    from crossmodal.media.scan import scan

    folder = tmp_path / "deep"
    current = os.open(tmp_path, os.O_RDONLY)
    os.mkdir("deep", dir_fd=current)
    os.close(current)
    here = os.open(folder, os.O_RDONLY)
    for _ in range(1200):  # 2,400 characters of path: over the recursion limit, under PATH_MAX
        os.mkdir("d", dir_fd=here)
        inner = os.open("d", os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = inner
    fd = os.open("note.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=here)
    os.write(fd, b"a note at the bottom")
    os.close(fd)
    os.close(here)
    errors: list[tuple[str, str]] = []
    try:
        found = list(scan([folder], on_error=lambda p, r: errors.append((p, r))))
    finally:  # shutil.rmtree (and so pytest's clean-up) recurses: undo the tree by hand
        path = str(folder) + "/d" * 1200
        os.unlink(path + "/note.txt")
        for depth in range(1200, 0, -1):
            os.rmdir(str(folder) + "/d" * depth)
    assert not errors and [Path(f.path).name for f in found] == ["note.txt"]


def test_a_file_dated_2400_is_indexed_and_the_run_goes_on(tmp_path: Path) -> None:
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    from .conftest import write_image, write_text

    root = tmp_path / "media"
    future = write_text(root / "future.txt", "a note from the far future")
    write_image(root / "red.png", "red")
    year_2400 = 13_569_465_600 * 10**9  # 2400-01-01 in ns: over SQLite's 64-bit integers
    os.utime(future, ns=(year_2400, year_2400))
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    first = update(store, [root])
    assert first.exit_code == 0 and first.ingest.added == 2, first.to_dict()
    again = update(store, [root])
    assert again.ingest.unchanged == 2


def test_a_huge_sparse_text_file_is_not_read_whole(tmp_path: Path) -> None:
    """Issue 16 class 5: a 20 GB sparse memo.txt (beside memo.wav, a sidecar) is named by its
    first megabyte and size, the only part crossmodal reads; the sidecar is read capped too."""
    import hashlib

    import numpy as np
    import soundfile as sf

    from crossmodal.catalog import Catalog
    from crossmodal.media.text import MAX_TEXT_BYTES
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    root = tmp_path / "media"
    root.mkdir()
    sf.write(root / "memo.wav", (0.1 * np.sin(np.arange(8000) / 3)).astype(np.float32), 8000)
    memo = root / "memo.txt"
    with open(memo, "wb") as handle:
        handle.write(b"notes about the harbour " * 50_000)  # 1.2 MB of text, then a hole
        handle.truncate(20 * 1024**3)  # 20 GB, almost all of it a hole
    store = Store.open_or_create(tmp_path / "store", encoder_set="fake")
    summary = update(store, [root])
    assert summary.exit_code == 0 and summary.ingest.added == 2
    catalog = Catalog(store.catalog_path)
    try:
        item = catalog.item_by_path(str(memo.resolve()))
        audio = catalog.item_by_path(str((root / "memo.wav").resolve()))
    finally:
        catalog.close()
    expected = hashlib.blake2b(digest_size=20)
    expected.update(b"head:%d:" % (20 * 1024**3))
    with open(memo, "rb") as handle:
        expected.update(handle.read(MAX_TEXT_BYTES))
    assert item.content_hash == expected.hexdigest() and item.status == "ok"
    assert "notes about the harbour" in audio.text_side  # the sidecar, read capped


def test_fifos_sockets_and_device_links_inside_a_folder_never_block(tmp_path: Path) -> None:
    """Kept tested (issue 16): a scan stats entries and never opens a FIFO, a socket or a
    device; only regular files are considered."""
    import socket

    from crossmodal.media.scan import scan

    from .conftest import write_text

    root = tmp_path / "media"
    write_text(root / "note.txt", "a note")
    os.mkfifo(root / "pipe.txt")
    (root / "zero.txt").symlink_to("/dev/zero")
    (root / "null.wav").symlink_to("/dev/null")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sock.txt"))
    try:
        found = [Path(f.path).name for f in scan([root])]
    finally:
        listener.close()
    assert found == ["note.txt"]
