import os
import shutil
from pathlib import Path

from crossmodal.catalog import Catalog
from crossmodal.encoders import load_encoder_set
from crossmodal.pipeline import update
from crossmodal.spaces.hnsw import index_file
from crossmodal.store import Store

from .conftest import write_image, write_text


def _vector_count(store: Store) -> dict[str, int]:
    catalog = Catalog(store.catalog_path)
    try:
        return catalog.spaces_with_vectors()
    finally:
        catalog.close()


def _index_file(store: Store, space: str) -> Path:
    catalog = Catalog(store.catalog_path)
    try:
        state = catalog.index_state(space)
        assert state is not None
        return index_file(store.index_dir, space, state.generation)
    finally:
        catalog.close()


def test_update_indexes_every_modality(fake_store: Store, collection: Path) -> None:
    summary = update(fake_store, [collection])
    assert summary.ingest.added == 8 and summary.failed == 0
    # 3 images x 2 spaces, 3 texts, 2 tones in audio + 2 audio text sides (title, file name),
    # and the two lines of sea.md as its passages
    assert _vector_count(fake_store) == {"fake-semantic": 10, "fake-visual": 3, "fake-audio": 2}
    assert {r.space: r.size for r in summary.index} == {
        "fake-semantic": 10,
        "fake-visual": 3,
        "fake-audio": 2,
    }
    assert all(_index_file(fake_store, space).is_file() for space in _vector_count(fake_store))


def test_second_run_is_a_no_op(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    encoder = load_encoder_set("fake")
    encoder.calls.clear()
    summary = update(fake_store, [collection], encoder=encoder)
    assert summary.ingest.unchanged == 8 and summary.ingest.added == 0
    assert encoder.calls == []  # nothing decoded or embedded again


def test_move_duplicate_change_and_delete(fake_store: Store, collection: Path) -> None:
    update(fake_store, [collection])
    encoder = load_encoder_set("fake")
    encoder.calls.clear()
    shutil.move(collection / "photos" / "a.png", collection / "photos" / "renamed.png")
    shutil.copy(collection / "photos" / "b.jpg", collection / "photos" / "copy-of-b.jpg")
    os.remove(collection / "notes" / "forest.txt")
    write_text(collection / "notes" / "red.txt", "a red tractor in a field, changed")
    summary = update(fake_store, [collection], encoder=encoder)
    ingest = summary.ingest
    assert (ingest.moved, ingest.duplicates, ingest.deleted, ingest.changed) == (1, 1, 1, 1)
    # Only the changed text was embedded: the moved and duplicated images reused their vectors.
    assert encoder.calls == [("text", 1)]
    catalog = Catalog(fake_store.catalog_path)
    paths = {Path(i.path).name for i in catalog.items(status="ok")}
    assert "renamed.png" in paths and "a.png" not in paths and "forest.txt" not in paths
    catalog.close()


def test_bad_files_are_recorded_and_the_run_goes_on(fake_store: Store, collection: Path) -> None:
    (collection / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (collection / "notes" / "latin1.txt").write_bytes(b"caf\xe9 " * 20)
    (collection / "notes" / "empty.txt").write_bytes(b"")
    (collection / "data.bin").write_bytes(os.urandom(64))
    summary = update(fake_store, [collection])
    failed = {Path(path).name: reason for path, reason in summary.ingest.failures}
    assert set(failed) == {"broken.jpg", "empty.txt"}
    # latin1.txt is decoded through charset detection; data.bin is not a document.
    assert summary.ingest.added == 9 and summary.ingest.unsupported == 1
    catalog = Catalog(fake_store.catalog_path)
    assert {Path(i.path).name for i in catalog.failures()} == {"broken.jpg", "empty.txt"}
    catalog.close()


def test_file_vanishing_between_ingest_and_embed_is_recorded(
    fake_store: Store, collection: Path
) -> None:
    from crossmodal.pipeline import embed, index, ingest

    ingest(fake_store, [collection])
    os.remove(collection / "photos" / "a.png")
    write_image(collection / "photos" / "c.webp", "green", size=(3, 3))  # changed under our feet
    summary = embed(fake_store)
    assert summary.failed == 1 and "a.png" in summary.failures[0][0]
    reports = index(fake_store)
    assert {r.space: r.size for r in reports}["fake-visual"] == 2


def test_a_replaced_file_with_the_same_size_and_mtime_is_seen(
    fake_store: Store, collection: Path
) -> None:
    """cp -p, rsync -t and tar keep mtimes: a different file of the same size replacing another
    (by rename, as those tools do) still has a new inode, so it is re-read."""
    update(fake_store, [collection])
    target = collection / "notes" / "red.txt"
    info = target.stat()
    replacement = collection / "notes" / ".red.txt.part"
    write_text(replacement, "a tan picture of a boat")
    assert replacement.stat().st_size == info.st_size
    os.utime(replacement, ns=(info.st_atime_ns, info.st_mtime_ns))
    replacement.rename(target)
    summary = update(fake_store, [collection])
    assert summary.ingest.changed == 1 and summary.ingest.unchanged == 7


def test_library_warnings_become_notes_not_stderr(fake_store: Store, collection: Path) -> None:
    """Issue 16 class 6: Pillow warns about a JPEG's broken EXIF; the run stays quiet and the
    warning is the file's note in the catalog."""
    import io
    import struct
    import subprocess
    import sys

    from PIL import Image

    image = Image.new("RGB", (32, 32), "red")
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x010E, 2, 1000, 26)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=b"Exif\x00\x00" + tiff + b"\x00\x00\x00\x00short")
    (collection / "photos" / "broken_exif.jpg").write_bytes(buffer.getvalue())
    code = (
        "import sys; from cli.main import run; "
        f"sys.argv = ['crossmodal', 'update', {str(collection)!r}, '--store', "
        f"{str(fake_store.root)!r}, '--quiet']; import tests.conftest; run()"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""  # quiet means quiet
    catalog = Catalog(fake_store.catalog_path)
    try:
        item = catalog.item_by_path(str((collection / "photos" / "broken_exif.jpg").resolve()))
    finally:
        catalog.close()
    assert item.status == "ok" and any("Tag data" in w for w in item.meta["warnings"])
