"""hnswlib's index file format, checked before hnswlib reads it: hnswlib trusts its file, so a
garbled entry point, level or neighbour id makes a search read outside its buffers and the
process die (SIGSEGV, no message). Every header field is checked against the space's dimension
and the format's own invariants, and every link (level 0 and above) must name an element of the
file. Link checks are vectorised and the walk over upper levels visits only the elements that
have them, so a large file costs a fraction of reading it.

The check also yields what hnswlib's state API needs (`IndexLayout`: views of the mapped file),
so spaces.hnsw builds the index from the mapping instead of letting hnswlib read the file again.
Index files are never changed in place (each generation is a new file, replaced atomically), so a
mapping never sees its file shrink.

Layout (hnswalg.h, saveIndex): 13 header fields, then per element its level-0 record
[links count (uint16, flags) | maxM0 neighbour ids (uint32) | vector | label (size_t)], then per
element a uint32 byte size and its upper-level link lists (size_links_per_element each).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import struct
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import StoreError

_HEADER = struct.Struct("<QQQQQQiIQQQdQ")  # 13 fields as hnswlib writes them on x86-64
_MAX_LEVEL = 64  # levels are ~log(n)/log(M): 5 for a million vectors at M=16


def _damaged(path: Path, why: str) -> StoreError:
    return StoreError(f"index {path} is damaged ({why}); run crossmodal check --repair")


@dataclass(frozen=True)
class IndexLayout:
    """A checked file's parts, as views of its memory mapping: what hnswlib's state API (the
    dict of Index.__getstate__) rebuilds the index from, without hnswlib reading the file."""

    max_elements: int
    count: int
    size_per_element: int
    label_offset: int
    offset_data: int
    max_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    mult: float
    ef_construction: int
    records: np.ndarray  # (count, size_per_element) uint8: the level-0 section
    levels: np.ndarray  # (count,) each element's top level
    upper: np.ndarray  # uint8: the upper-level link lists, element by element, sizes left out


def _map(path: Path, populate: bool) -> np.ndarray:
    """The whole file, read-only and memory-mapped (MAP_POPULATE: its page-cache pages are
    mapped in one call instead of one fault per 64 KB while hnswlib copies them)."""
    try:
        with open(path, "rb") as handle:
            flags = mmap.MAP_SHARED
            if populate:
                flags |= getattr(mmap, "MAP_POPULATE", 0)
            mapping = mmap.mmap(handle.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise StoreError(f"index {path} is unreadable ({exc}); run crossmodal index") from exc
    return np.frombuffer(mapping, dtype=np.uint8)


def check_index_file(path: Path, dim: int, elements: int | None = None) -> None:
    """StoreError when the file at `path` is not a sound hnswlib index of `dim` floats (and, if
    given, of `elements` elements)."""
    read_index_file(path, dim, elements)


def read_index_file(
    path: Path,
    dim: int,
    elements: int | None = None,
    level0_links: bool = True,
    populate: bool = False,
) -> IndexLayout:
    """The file's layout after checking it (StoreError when damaged). `level0_links=False`
    skips only the check of the level-0 links (most of the check's time at 1M elements), for a
    file whose earlier full check still holds (check_index_file_once's stamp): the header, the
    sizes and the upper-level section, which hnswlib's state is built from, are always checked."""
    data = _map(path, populate)
    if data.size < _HEADER.size:
        raise _damaged(path, "shorter than its header")
    header = _HEADER.unpack(bytes(data[: _HEADER.size]))
    (
        offset_level0,
        max_elements,
        count,
        size_per_element,
        label_offset,
        offset_data,
        max_level,
        entry_point,
        max_m,
        max_m0,
        m,
        mult,
        ef_construction,
    ) = header
    links0 = max_m0 * 4 + 4
    expected = {
        "offset of level 0": (offset_level0, 0),
        "links per level": (max_m, m),
        "links at level 0": (max_m0, 2 * m),
        "data offset": (offset_data, links0),
        "label offset": (label_offset, links0 + 4 * dim),
        "record size": (size_per_element, links0 + 4 * dim + 8),
    }
    for name, (found, want) in expected.items():
        if found != want:
            raise _damaged(path, f"{name} is {found}, expected {want}")
    if not 2 <= m <= 4096 or not 0 < ef_construction <= 1 << 20 or not 0 < mult < 10:
        raise _damaged(path, f"M {m}, ef_construction {ef_construction} or mult {mult} is off")
    # hnswlib allocates the capacity on load: a garbled one would ask for terabytes.
    if max_elements * size_per_element > 4 * data.size + (64 << 20):
        raise _damaged(path, f"capacity {max_elements} does not fit a file of {data.size} bytes")
    if count > max_elements or (elements is not None and count != elements):
        raise _damaged(path, f"{count} elements (capacity {max_elements}, catalog {elements})")
    if count and not (entry_point < count and 0 <= max_level < _MAX_LEVEL):
        raise _damaged(path, f"entry point {entry_point} or top level {max_level} is off")
    level0_end = _HEADER.size + count * size_per_element
    if data.size < level0_end + 4 * count:
        raise _damaged(path, "shorter than its elements")
    records = data[_HEADER.size : level0_end].reshape(count, size_per_element)
    if count and level0_links:
        _check_links(path, records[:, :links0], max_m0, count, "level 0")
    levels, upper = _upper_levels(path, data[level0_end:], count, max_m * 4 + 4, max_m)
    if count and (levels.max() != max_level or levels[entry_point] != max_level):
        raise _damaged(path, f"top level {max_level} does not match the elements' levels")
    return IndexLayout(*header[1:], records, levels, upper)  # the header's fields, in order


def _check_links(path: Path, lists: np.ndarray, most: int, count: int, where: str) -> None:
    """Each link list: a count (low 16 bits of the first uint32) at most `most`, then ids of
    existing elements in its used slots."""
    words = np.ascontiguousarray(lists).view("<u4")
    sizes = words[:, 0] & 0xFFFF
    if sizes.size and int(sizes.max()) > most:
        raise _damaged(path, f"a {where} link list holds {int(sizes.max())} links (at most {most})")
    used = np.arange(most)[None, :] < sizes[:, None]
    if used.any() and int(words[:, 1:][used].max()) >= count:
        raise _damaged(path, f"a {where} link names an element that does not exist")


def _upper_levels(
    path: Path, tail: np.ndarray, count: int, size_links: int, max_m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each element's top level, from the upper-level section, and its link lists (checked),
    concatenated in element order as bytes."""
    if tail.size % 4:
        raise _damaged(path, "its upper-level section is not whole")
    words = tail.view("<u4")
    levels = np.zeros(count, dtype=np.int64)
    # Most elements have no upper level (one zero word each): jump over such runs through the
    # positions of non-zero words, so the loop runs once per element that has upper links
    # (62k of 1M at M=16), on Python lists (numpy scalars cost ~4x as much per step).
    nonzero = np.flatnonzero(words)
    where, values = nonzero.tolist(), words[nonzero].tolist()
    elements: list[int] = []
    starts: list[int] = []
    found: list[int] = []
    position = element = following = 0
    while element < count:
        following = bisect_left(where, position, following)
        next_set = where[following] if following < len(where) else words.size
        skip = min(next_set - position, count - element)
        position += skip
        element += skip
        if element == count:
            break
        if position >= words.size:
            raise _damaged(path, "its upper-level section ends early")
        size = values[following]  # the word at `position`, the next one that is not zero
        if size % size_links or size // size_links >= _MAX_LEVEL:
            raise _damaged(path, f"element {element} has upper links of {size} bytes")
        elements.append(element)
        found.append(size // size_links)
        starts.append(position + 1)
        position += 1 + size // 4
        element += 1
    if position != words.size:
        raise _damaged(path, "bytes after its last element")
    if not starts:
        return levels, np.zeros(0, dtype=np.uint8)
    levels[elements] = found
    # Every element's lists, gathered in one indexing: word offsets of each run, in order.
    per_list = size_links // 4
    lengths = np.asarray(found, dtype=np.int64) * per_list
    shift = np.asarray(starts, dtype=np.int64) - (np.cumsum(lengths) - lengths)
    lists = words[np.repeat(shift, lengths) + np.arange(int(lengths.sum()))]
    lists = lists.reshape(-1, per_list)
    upper = lists.view(np.uint8).reshape(len(lists), size_links)
    _check_links(path, upper, max_m, count, "upper")
    return levels, upper.reshape(-1)


def _stamp(path: Path) -> list[int]:
    """What changes whenever a file's bytes can have: inode, size and change time."""
    info = os.stat(path)
    return [info.st_ino, info.st_size, info.st_ctime_ns]


def checked_before(path: Path, dim: int, elements: int | None, record: Path) -> bool:
    """Whether `record` (a small JSON cache file) holds this file's stamp from an earlier full
    check: any write to the file changes its change time, so a file damaged since is not."""
    known: object = None
    with contextlib.suppress(OSError, ValueError):
        known = json.loads(record.read_text())
    try:
        stamp = [dim, elements, *_stamp(path)]
    except OSError:
        return False
    return isinstance(known, dict) and known.get(path.name) == stamp


def remember_checked(
    path: Path, dim: int, elements: int | None, record: Path, stamp: list[int] | None = None
) -> None:
    """Record the file's stamp (taken before it was read: `stamp`) after a full check; a
    record that cannot be written (read-only store) is left as it is."""
    if not record.parent.is_dir():
        return
    known: object = {}
    with contextlib.suppress(OSError, ValueError):
        known = json.loads(record.read_text())
    fresh = {
        name: value
        for name, value in (known if isinstance(known, dict) else {}).items()
        if (path.parent / name).exists()
    }
    try:
        fresh[path.name] = stamp or [dim, elements, *_stamp(path)]
    except OSError:
        return
    from .fsutil import atomic_write_with

    with contextlib.suppress(OSError):
        atomic_write_with(record, lambda tmp: tmp.write_text(json.dumps(fresh)))


def file_stamp(path: Path, dim: int, elements: int | None) -> list[int] | None:
    """The stamp remember_checked records, or None when the file cannot be stat'ed."""
    try:
        return [dim, elements, *_stamp(path)]  # type: ignore[list-item]
    except OSError:
        return None


def check_index_file_once(
    path: Path, dim: int, elements: int | None = None, record: Path | None = None
) -> None:
    """check_index_file, skipped for a file whose stamp `record` holds from an earlier check
    (see checked_before). Without a writable `record` every load checks."""
    if record is not None and checked_before(path, dim, elements, record):
        return
    stamp = file_stamp(path, dim, elements)
    check_index_file(path, dim, elements)
    if record is not None:
        remember_checked(path, dim, elements, record, stamp)
