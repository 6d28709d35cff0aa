"""hnswlib's index file format, checked before hnswlib reads it: hnswlib trusts its file, so a
garbled entry point, level or neighbour id makes a search read outside its buffers and the
process die (SIGSEGV, no message). Every header field is checked against the space's dimension
and the format's own invariants, and every link (level 0 and above) must name an element of the
file. Link checks are vectorised and the walk over upper levels visits only the elements that
have them, so a large file costs a fraction of reading it.

Layout (hnswalg.h, saveIndex): 13 header fields, then per element its level-0 record
[links count (uint16, flags) | maxM0 neighbour ids (uint32) | vector | label (size_t)], then per
element a uint32 byte size and its upper-level link lists (size_links_per_element each).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from pathlib import Path

import numpy as np

from .errors import StoreError

_HEADER = struct.Struct("<QQQQQQiIQQQdQ")  # 13 fields as hnswlib writes them on x86-64
_MAX_LEVEL = 64  # levels are ~log(n)/log(M): 5 for a million vectors at M=16


def _damaged(path: Path, why: str) -> StoreError:
    return StoreError(f"index {path} is damaged ({why}); run crossmodal check --repair")


def check_index_file(path: Path, dim: int, elements: int | None = None) -> None:
    """StoreError when the file at `path` is not a sound hnswlib index of `dim` floats (and, if
    given, of `elements` elements)."""
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise StoreError(f"index {path} is unreadable ({exc}); run crossmodal index") from exc
    if data.size < _HEADER.size:
        raise _damaged(path, "shorter than its header")
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
    ) = _HEADER.unpack(bytes(data[: _HEADER.size]))
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
    if count:
        records = data[_HEADER.size : level0_end].reshape(count, size_per_element)
        _check_links(path, records[:, :links0], max_m0, count, "level 0")
    levels = _upper_levels(path, data[level0_end:], count, max_m * 4 + 4, max_m)
    if count and (levels.max() != max_level or levels[entry_point] != max_level):
        raise _damaged(path, f"top level {max_level} does not match the elements' levels")


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
) -> np.ndarray:
    """Each element's top level, from the upper-level section, whose link lists are checked."""
    if tail.size % 4:
        raise _damaged(path, "its upper-level section is not whole")
    words = tail.view("<u4")
    levels = np.zeros(count, dtype=np.int64)
    starts: list[int] = []
    # Most elements have no upper level (one zero word each): jump over such runs through the
    # positions of non-zero words, so the loop runs once per element that has upper links.
    nonzero = np.flatnonzero(words)
    position = element = 0
    while element < count:
        following = int(np.searchsorted(nonzero, position))
        next_set = int(nonzero[following]) if following < nonzero.size else words.size
        skip = min(next_set - position, count - element)
        position += skip
        element += skip
        if element == count:
            break
        if position >= words.size:
            raise _damaged(path, "its upper-level section ends early")
        size = int(words[position])
        if size % size_links or size // size_links >= _MAX_LEVEL:
            raise _damaged(path, f"element {element} has upper links of {size} bytes")
        levels[element] = size // size_links
        starts.append(position + 1)
        position += 1 + size // 4
        element += 1
    if position != words.size:
        raise _damaged(path, "bytes after its last element")
    if starts:
        per_list = size_links // 4
        lists = np.concatenate(
            [
                words[start : start + levels_of * per_list].reshape(levels_of, per_list)
                for start, levels_of in zip(starts, levels[levels > 0].tolist(), strict=True)
            ]
        )
        _check_links(
            path, lists.view(np.uint8).reshape(len(lists), size_links), max_m, count, "upper"
        )
    return levels


def _stamp(path: Path) -> list[int]:
    """What changes whenever a file's bytes can have: inode, size and change time."""
    info = os.stat(path)
    return [info.st_ino, info.st_size, info.st_ctime_ns]


def check_index_file_once(
    path: Path, dim: int, elements: int | None = None, record: Path | None = None
) -> None:
    """check_index_file, skipped for a file whose stamp `record` (a small JSON cache file)
    holds from an earlier check: any write to the file changes its change time, so a file
    damaged since is checked again. Without a writable `record` every load checks."""
    stamp = [dim, elements, *_stamp(path)]
    known: dict[str, list[int | None]] = {}
    if record is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(record.read_text())
        if isinstance(known, dict) and known.get(path.name) == stamp:
            return
    check_index_file(path, dim, elements)
    if record is not None and record.parent.is_dir():
        from .fsutil import atomic_write_with

        fresh = {
            name: value
            for name, value in (known if isinstance(known, dict) else {}).items()
            if (path.parent / name).exists()
        }
        fresh[path.name] = stamp
        with contextlib.suppress(OSError):
            atomic_write_with(record, lambda tmp: tmp.write_text(json.dumps(fresh)))
