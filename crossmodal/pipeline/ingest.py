"""ingest: plan the roots -> scan them -> reconcile what was found with the catalog -> commit.

Unchanged files (size, mtime_ns, ctime_ns) cost one stat. Items are never marked deleted because
of a read error: a folder that cannot be read, a recorded root that is missing (unmounted), or a
root that held items and is now empty keeps its items as they were and counts as a failure,
unless `allow_empty` says an emptied root is intended."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..catalog import Catalog, Item, catalog_path
from ..errors import UserError
from ..media.scan import ScannedFile, scan
from ..store import Store
from .reading import COMMIT_EVERY, read_one, record_failure
from .summaries import IngestSummary, Progress, no_progress


def absolute(root: Path | str) -> str:
    return os.path.realpath(os.path.expanduser(str(root)))


def require_utf8(path: str) -> None:
    """Folders named on the command line are stored as text; files below them may be anything."""
    if catalog_path(path)[1] is not None:
        shown = catalog_path(path)[0]
        raise UserError(f"folder names given to crossmodal must be valid UTF-8: {shown}")


def under(path: str, prefixes: set[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def check_roots(roots: list[Path]) -> None:
    """Fail before touching any store when a root given by the user does not exist."""
    if not roots:
        raise UserError("give at least one folder or file to index")
    for root in roots:
        require_utf8(str(root))
        if not os.path.exists(os.path.expanduser(str(root))):
            raise UserError(f"no such file or folder: {root}")


@dataclass
class Scanned:
    """What the scan of the planned roots found, and what must not be marked deleted."""

    files: dict[str, ScannedFile] = field(default_factory=dict)
    known: dict[str, Item] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)  # paths kept as they are this run
    errors: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # root -> files found


def plan_roots(catalog: Catalog, store: Store, roots: list[Path] | None) -> list[str]:
    """The absolute roots to scan: those given, else every root the store has indexed."""
    if roots:
        check_roots(roots)
        planned = sorted({absolute(root) for root in roots})
        for root in planned:
            require_utf8(root)  # `update .` inside, or a link to, a non-UTF-8 folder
        return planned
    planned = catalog.roots()
    if not planned:
        raise UserError(f"store {store.root} has no folders yet; give PATH to index")
    return planned


def scan_roots(
    catalog: Catalog,
    roots: list[str],
    summary: IngestSummary,
    progress: Progress,
    allow_empty: bool,
) -> Scanned:
    """Walk every root; a missing root, or one emptied that held items, keeps its items."""
    found = Scanned()
    for root in roots:
        known_here = catalog.items_under(root)
        alive = sum(1 for item in known_here.values() if item.status == "ok")
        if not os.path.exists(root):
            found.protected.add(root)
            summary.kept += alive
            summary.fail(root, f"folder is missing (unmounted?); its {alive} items were kept")
            continue
        errors: list[tuple[str, str]] = []
        here: list[ScannedFile] = []
        for entry in scan([Path(root)], on_error=lambda p, r, sink=errors: sink.append((p, r))):
            here.append(entry)
            if (len(found.files) + len(here)) % 500 == 0:
                progress("scan", len(found.files) + len(here), None)
        if not here and not errors and alive and not allow_empty:
            found.protected.add(root)
            summary.kept += alive
            summary.fail(
                root,
                f"folder is empty but held {alive} items; kept them (unmounted?). "
                "Pass --allow-empty if it was emptied on purpose",
            )
            continue
        for entry in here:
            found.files.setdefault(entry.path, entry)
        found.known.update(known_here)
        found.errors.extend(errors)
        found.protected.update(catalog_path(path)[0] for path, _ in errors)
        found.counts[root] = len(here)
    return found


def vanished_items(found: Scanned, summary: IngestSummary, allow_empty: bool) -> dict[str, Item]:
    """Known items the scan did not see and that are not protected: gone (or moved)."""
    seen = {catalog_path(path)[0] for path in found.files}
    unseen = {
        path: item
        for path, item in found.known.items()
        if path not in seen and item.status != "deleted"
    }
    unmounted = {} if allow_empty else unmounted_folders(unseen.values())
    for folder, count in sorted(unmounted.items()):
        summary.fail(
            folder,
            f"folder is on another disk than before (unmounted?); its {count} items were kept. "
            "Pass --allow-empty if they are gone for good",
        )
    found.protected.update(unmounted)
    summary.kept += sum(
        1 for path, item in unseen.items() if item.status == "ok" and under(path, found.protected)
    )
    return {path: item for path, item in unseen.items() if not under(path, found.protected)}


def reconcile(
    catalog: Catalog,
    found: Scanned,
    vanished: dict[str, Item],
    summary: IngestSummary,
    progress: Progress,
    ocr: bool,
) -> None:
    """Record every scanned file and every vanished one, committing every COMMIT_EVERY files."""
    by_hash: dict[str, Item] = {}
    for item in vanished.values():
        if item.content_hash:
            by_hash.setdefault(item.content_hash, item)
    moved: set[int] = set()
    with catalog.steps(COMMIT_EVERY) as steps:
        for path, reason in found.errors:
            existing = catalog.item_by_path(path)
            summary.fail(path, reason)
            record_failure(
                catalog, existing, {"path": path, "size": 0, "mtime_ns": 0}, None, reason
            )
        owners = _key_owners(found.files.values())
        for entry in found.files.values():
            key, raw = catalog_path(entry.path)
            existing = found.known.get(key)
            if owners[key] != raw:
                # A UTF-8 name equal to another file's escaped non-UTF-8 name: the UTF-8 file
                # owns the entry; this one is reported, never confused with it.
                summary.fail(key, "name collides with an escaped non-UTF-8 name")
            else:
                if existing is not None and existing.path_bytes != raw:
                    # The entry belonged to the other spelling: hand it over, re-read.
                    catalog.update_item(existing.id, touch=False, path_bytes=raw, size=-1)
                    existing = replace(existing, path_bytes=raw, size=-1)
                read_one(catalog, entry, existing, by_hash, moved, summary, ocr)
            if steps.step():
                progress("ingest", steps.done, len(found.files))
        gone = [item.id for item in vanished.values() if item.id not in moved]
        catalog.mark_deleted(gone)
        summary.deleted = len(gone)
        for root, count in found.counts.items():
            catalog.record_root_scan(root, count)
    progress("ingest", len(found.files), len(found.files))


def ingest(
    store: Store,
    roots: list[Path] | None = None,
    progress: Progress = no_progress,
    allow_empty: bool = False,
) -> IngestSummary:
    """Scan `roots` (default: every root the store has indexed) into the catalog."""
    summary = IngestSummary()
    ocr = bool(store.option("ocr", False))
    catalog = Catalog(store.catalog_path)
    try:
        summary.roots = plan_roots(catalog, store, roots)
        found = scan_roots(catalog, summary.roots, summary, progress, allow_empty)
        summary.scanned = len(found.files)
        progress("scan", len(found.files), len(found.files))
        vanished = vanished_items(found, summary, allow_empty)
        reconcile(catalog, found, vanished, summary, progress, ocr)
    finally:
        catalog.close()
    return summary


def _key_owners(files: Iterable[ScannedFile]) -> dict[str, bytes | None]:
    """Which spelling owns each catalog key: the UTF-8 name if one exists, else the first."""
    owners: dict[str, bytes | None] = {}
    for found in files:
        key, raw = catalog_path(found.path)
        if key not in owners or raw is None:
            owners[key] = raw
    return owners


def unmounted_folders(unseen: Iterable[Item]) -> dict[str, int]:
    """{folder: items} for unseen items whose nearest existing folder is an empty folder on
    another device than the item was: an unmounted disk leaves exactly that, an empty mount point.
    Deleting files or folders on the same disk, or beside other files, is not reported."""
    device_of: dict[str, int | None] = {}
    empty: dict[str, bool] = {}

    def is_empty(folder: str) -> bool:
        if folder not in empty:
            try:
                with os.scandir(folder) as entries:
                    empty[folder] = next(entries, None) is None
            except OSError:
                empty[folder] = False
        return empty[folder]

    def nearest_existing(folder: str) -> tuple[str, int | None]:
        while True:
            if folder not in device_of:
                try:
                    device_of[folder] = os.stat(folder).st_dev
                except OSError:
                    device_of[folder] = None
            if device_of[folder] is not None or folder in ("/", ""):
                return folder, device_of[folder]
            folder = os.path.dirname(folder)

    found: dict[str, int] = {}
    for item in unseen:
        if item.dev is None or item.status != "ok":
            continue
        folder, device = nearest_existing(os.path.dirname(item.fs_path))
        if device is not None and device != item.dev and is_empty(folder):
            key = catalog_path(folder)[0]
            found[key] = found.get(key, 0) + 1
    return found
