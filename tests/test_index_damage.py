"""A damaged hnswlib file is found before hnswlib reads it (hnswlib trusts its file: garbled
header fields crashed search, check, check --repair and update with SIGSEGV). Every header field
and the links are checked; the damaged index is searched exactly, reported, and rebuilt."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crossmodal.catalog import Catalog
from crossmodal.errors import StoreError
from crossmodal.hnsw_file import check_index_file
from crossmodal.spaces.hnsw import index_file, update_space

from .test_index import _catalog_with

ROOT = Path(__file__).resolve().parent.parent
N = 6000  # above EXACT_SEARCH_MAX: searched through the file
DIM = 16
# Byte offsets of the header fields hnswlib writes (saveIndex), 8-byte fields unless noted.
FIELDS = {
    "offset_level0": 0,
    "max_elements": 8,
    "count": 16,
    "size_per_element": 24,
    "label_offset": 32,
    "offset_data": 40,
    "max_level": 48,  # int32
    "entry_point": 52,  # uint32
    "max_m": 56,
    "max_m0": 64,
    "m": 72,
    "mult": 80,  # double
    "ef_construction": 88,
}


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sound")
    catalog, _ = _catalog_with(folder, N, DIM)
    update_space(catalog, "s", DIM, folder / "indexes")
    catalog.close()
    return folder


def _garbled(sound: Path, tmp_path: Path, at: int, data: bytes) -> Path:
    raw = bytearray(index_file(sound / "indexes", "s", 1).read_bytes())
    raw[at : at + len(data)] = data
    target = tmp_path / "s.hnsw"
    target.write_bytes(bytes(raw))
    return target


def test_a_sound_file_passes(sound: Path) -> None:
    check_index_file(index_file(sound / "indexes", "s", 1), DIM, N)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_garbled_header_field_is_found(sound: Path, tmp_path: Path, field: str) -> None:
    garbage = b"\xa7\x13\xfe\x99\x42\x81\x07\xee"  # eight garbled bytes, as in the issue
    size = 4 if field in ("max_level", "entry_point") else 8
    path = _garbled(sound, tmp_path, FIELDS[field], garbage[:size])
    with pytest.raises(StoreError, match="is damaged"):
        check_index_file(path, DIM, N)


@pytest.mark.parametrize("value", [1, 3])
def test_a_plausible_but_wrong_top_level_is_found(sound: Path, tmp_path: Path, value: int) -> None:
    """A top level off by one stays in range; it must still match the elements' levels."""
    real = struct.unpack_from("<i", index_file(sound / "indexes", "s", 1).read_bytes(), 48)[0]
    path = _garbled(sound, tmp_path, FIELDS["max_level"], struct.pack("<i", real + value))
    with pytest.raises(StoreError, match="top level"):
        check_index_file(path, DIM, N)


def test_garbled_links_are_found(sound: Path, tmp_path: Path) -> None:
    size = struct.unpack_from("<Q", index_file(sound / "indexes", "s", 1).read_bytes(), 24)[0]
    record = 96 + 100 * size  # element 100's level-0 links
    path = _garbled(sound, tmp_path, record + 4, struct.pack("<I", 10**9))  # its first link
    with pytest.raises(StoreError, match="does not exist"):
        check_index_file(path, DIM, N)
    path = _garbled(sound, tmp_path, record, struct.pack("<H", 999))  # its link count
    with pytest.raises(StoreError, match="link list holds"):
        check_index_file(path, DIM, N)
    whole = index_file(sound / "indexes", "s", 1).read_bytes()
    (tmp_path / "cut.hnsw").write_bytes(whole[:-8])
    with pytest.raises(StoreError):
        check_index_file(tmp_path / "cut.hnsw", DIM, N)
    with pytest.raises(StoreError, match="elements"):
        check_index_file(index_file(sound / "indexes", "s", 1), DIM, N + 1)  # not the catalog's


PROBE = """
import sys
from pathlib import Path
import numpy as np
from crossmodal.catalog import Catalog
from crossmodal.spaces.hnsw import HnswBackend, update_space
folder = Path(sys.argv[1])
catalog = Catalog(folder / "c.sqlite")
searcher = HnswBackend(catalog, "s", 16, folder / "indexes")
labels, sims = searcher.search(np.ones(16, dtype=np.float32) / 4, 5)
print("degraded" if searcher.degraded else "sound", len(labels))
report = update_space(catalog, "s", 16, folder / "indexes")
print("rebuilt" if report.rebuilt else "kept", report.size)
"""


@pytest.mark.parametrize("field", ["label_offset", "entry_point", "max_level"])
def test_search_falls_back_and_update_rebuilds(sound: Path, tmp_path: Path, field: str) -> None:
    """In a fresh process (a crash would be a signal, not an exception): the search answers
    exactly and says so, and update rebuilds the file from the stored vectors."""
    import shutil

    folder = tmp_path / "store"
    shutil.copytree(sound, folder)
    current = index_file(folder / "indexes", "s", 1)
    raw = bytearray(current.read_bytes())
    raw[FIELDS[field] : FIELDS[field] + 4] = b"\xa7\x13\xfe\x59"
    current.write_bytes(bytes(raw))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() == ["degraded", "5", "rebuilt", str(N)]
    catalog = Catalog(folder / "c.sqlite")
    state = catalog.index_state("s")
    catalog.close()
    check_index_file(index_file(folder / "indexes", "s", state.generation), DIM, N)
    assert np.isfinite(N)


def test_a_file_is_checked_once_per_state(sound: Path, tmp_path: Path) -> None:
    """The check's stamp (inode, size, change time) is cached; a later write to the file, even
    one that keeps its size and mtime, changes its change time and brings the check back."""
    import os

    from crossmodal.hnsw_file import check_index_file_once

    path = tmp_path / "s.hnsw"
    path.write_bytes(index_file(sound / "indexes", "s", 1).read_bytes())
    record = tmp_path / "checks.json"
    check_index_file_once(path, DIM, N, record)
    assert "s.hnsw" in record.read_text()
    before = os.stat(path)
    raw = bytearray(path.read_bytes())
    raw[52:56] = b"\xa7\x13\xfe\x59"  # the entry point
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size and mtime
    with pytest.raises(StoreError, match="entry point"):
        check_index_file_once(path, DIM, N, record)
