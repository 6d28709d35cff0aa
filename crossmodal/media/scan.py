"""Walk folders and yield the files to consider, with their stat, never following symlink loops."""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ScannedFile:
    path: str  # absolute, symlinks in the folder part resolved
    size: int
    mtime_ns: int
    ctime_ns: int = 0
    dev: int = 0


def is_store_folder(folder: str) -> bool:
    """A crossmodal store (any name, at any depth: the default one lies inside ~): its
    settings.json beside its catalog or lock. Its own files are never indexed."""
    settings = os.path.join(folder, "settings.json")
    if not os.path.isfile(settings) or not (
        os.path.exists(os.path.join(folder, "catalog.sqlite"))
        or os.path.exists(os.path.join(folder, "write.lock"))
    ):
        return False
    try:
        with open(settings, "rb") as handle:
            return b'"schema_version"' in handle.read(65_536)
    except OSError:
        return False


_INT64 = (-(2**63), 2**63 - 1)


def _int64(nanoseconds: int) -> int:
    """A file time as SQLite can hold it: a time past 2262 (touch -d 2400-01-01) is clamped,
    not a reason for the whole run to fail; change detection still has the size and ctime."""
    return min(max(nanoseconds, _INT64[0]), _INT64[1])


def _skip_name(name: str) -> bool:
    """Hidden files and folders (".git", ".DS_Store", editor temp files) are not media."""
    return name.startswith(".")


def _visit_file(path: str, info: os.stat_result) -> Iterator[ScannedFile]:
    if statmod.S_ISREG(info.st_mode):
        yield ScannedFile(
            path, info.st_size, _int64(info.st_mtime_ns), _int64(info.st_ctime_ns), info.st_dev
        )


class _Walk:
    """One scan: the folders seen (by device and inode, so a symlinked folder is followed once)
    and where errors go."""

    def __init__(self, on_error: Callable[[str, str], None] | None) -> None:
        self.seen_dirs: set[tuple[int, int]] = set()
        self.on_error = on_error

    def report(self, path: str, reason: str) -> None:
        if self.on_error:
            self.on_error(path, reason)

    def children_of(self, directory: str) -> list[os.DirEntry[str]] | None:
        """A folder's entries in name order, or None when it is skipped (seen before, gone,
        unreadable, a store)."""
        try:
            info = os.stat(directory)
        except FileNotFoundError:
            return None  # removed while we walked: it is simply gone
        except OSError as exc:
            self.report(directory, exc.strerror or str(exc))
            return None
        key = (info.st_dev, info.st_ino)
        if key in self.seen_dirs:
            return None
        self.seen_dirs.add(key)
        if is_store_folder(directory):
            return None  # a store inside the collection (or the collection's own store)
        try:
            with os.scandir(directory) as entries:
                return sorted(entries, key=lambda entry: entry.name)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.report(directory, exc.strerror or str(exc))
            return None

    def entry_info(self, entry: os.DirEntry[str]) -> os.stat_result | None:
        """The entry's stat through links; None (reported when it is an error) otherwise."""
        try:
            return entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            if entry.is_symlink():
                self.report(entry.path, "dangling symbolic link")
            return None  # otherwise removed since the folder was listed
        except OSError as exc:
            self.report(entry.path, exc.strerror or str(exc))
            return None

    def walk(self, directory: str) -> Iterator[ScannedFile]:
        """Depth first in name order, with an explicit stack: a tree thousands of folders deep
        costs no recursion."""
        first = self.children_of(directory)
        stack = [iter(first)] if first is not None else []
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            if _skip_name(entry.name) or (info := self.entry_info(entry)) is None:
                continue
            if statmod.S_ISDIR(info.st_mode):
                inner = self.children_of(entry.path)
                if inner is not None:
                    stack.append(iter(inner))
            else:
                yield from _visit_file(entry.path, info)


def scan(
    roots: list[Path], on_error: Callable[[str, str], None] | None = None
) -> Iterator[ScannedFile]:
    """Yield regular files under each root in a stable order.

    Errors (permission denied, vanished folders) go to `on_error(path, reason)`; the walk goes on.
    Symlinked folders are followed once: a folder already visited (by device and inode) is skipped.
    """
    walk = _Walk(on_error)
    for root in roots:
        absolute = os.path.abspath(os.path.expanduser(str(root)))
        try:
            info = os.stat(absolute)
        except OSError as exc:
            walk.report(absolute, exc.strerror or str(exc))
            continue
        if statmod.S_ISDIR(info.st_mode):
            yield from walk.walk(os.path.realpath(absolute))
        elif not is_store_folder(os.path.dirname(os.path.realpath(absolute))):
            yield from _visit_file(os.path.realpath(absolute), info)
