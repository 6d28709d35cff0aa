"""The pipeline's stages, each testable alone: `ingest` (plan roots -> scan -> reconcile ->
commit), `embed` (plan jobs -> decode -> encode -> write), `maintain` (index, relocate, forget,
purge). `update` composes them under the store's write lock: the command for cron. The library
reports progress through callbacks and never prints."""

from __future__ import annotations

import time
from pathlib import Path

from ..encoders import EncoderSet
from ..encoders.registry import ModelOptions
from ..store import Store
from .embed import BATCH_SIZE, check_model_flags, embed
from .ingest import check_roots, ingest
from .maintain import forget, index, purge, relocate, set_ocr, set_video_hours
from .reading import NEEDS_OCR, RETRY_PREFIX, text_key
from .summaries import EmbedSummary, IngestSummary, Progress, UpdateSummary, no_progress


def _detect_missing_languages(store: Store) -> None:
    from ..catalog import Catalog
    from .words import detect_missing_languages

    catalog = Catalog(store.catalog_path)
    try:
        detect_missing_languages(catalog)
    finally:
        catalog.close()


def update(
    store: Store,
    roots: list[Path] | None = None,
    encoder: EncoderSet | None = None,
    progress: Progress = no_progress,
    wait_seconds: float = 0.0,
    allow_empty: bool = False,
    ocr: bool | None = None,
    model: str | None = None,
    options: ModelOptions | None = None,
    video_hours: float | None = None,
    vectors: str | None = None,
    ray: str | None = None,
) -> UpdateSummary:
    """ingest + embed + index + purge under the store's write lock.

    Every stage commits as it goes, so a run killed at any point leaves a consistent store and the
    next run carries on where it stopped. `ocr` turns reading text in images on or off for the
    store from now on (None: as the store has it); `video_hours` sets how much of each video is
    read, from now on (None: as the store has it, default 3 hours). `vectors` moves the store's
    vectors to another backend (target.py) from now on; `ray` runs the embed stage on that Ray
    cluster (ray_embed.py)."""
    from ..catalog import Catalog
    from ..encoders.plugin import as_encoder_set
    from ..models import add_model, store_encoder
    from ..spaces.target import switch_target

    started = time.time()
    clock = time.perf_counter()
    if ray:  # a dead address fails before any work, not after the ingest
        from .ray_embed import reachable

        reachable(ray)
    with store.write_lock(wait_seconds):
        store.remove_leftovers()
        check_model_flags(model, options)
        if model is not None:
            add_model(store, model, options)
        encoder = as_encoder_set(encoder) if encoder else store_encoder(store, options=options)
        set_ocr(store, ocr, encoder)
        set_video_hours(store, video_hours)
        switch = switch_target(store, vectors)
        ingested = ingest(store, roots, progress, allow_empty=allow_empty)
        _detect_missing_languages(store)
        embedded = embed(store, encoder, progress, ray=ray)
        reports = index(store, encoder, progress, target=switch)
        summary = UpdateSummary(ingested, embedded, reports, *purge(store))
        summary.seconds = time.perf_counter() - clock
        catalog = Catalog(store.catalog_path)
        try:
            with catalog.transaction():
                catalog.record_run("update", started, summary.to_dict())
        finally:
            catalog.close()
    return summary


__all__ = [
    "BATCH_SIZE",
    "NEEDS_OCR",
    "RETRY_PREFIX",
    "EmbedSummary",
    "IngestSummary",
    "Progress",
    "UpdateSummary",
    "check_roots",
    "embed",
    "forget",
    "index",
    "ingest",
    "purge",
    "relocate",
    "set_ocr",
    "set_video_hours",
    "text_key",
    "update",
]
