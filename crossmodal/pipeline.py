"""ingest -> embed -> index, with progress callbacks. The CLI renders progress; this never prints."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .catalog import Catalog, Item
from .encoders import EncoderSet, load_encoder_set
from .errors import CrossmodalError, MediaError, UserError
from .index import IndexReport, update_space
from .media.audio import load_audio, probe_audio
from .media.image import load_image, probe_image
from .media.scan import ScannedFile, scan
from .media.sniff import sniff_modality
from .media.text import load_text, probe_text
from .store import Store

# progress(stage, done, total): total is None while unknown (scanning).
Progress = Callable[[str, int, "int | None"], None]
BATCH_SIZE = {"image": 32, "text": 64, "audio": 8}
PREFETCH = 64
COMMIT_EVERY = 200


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


def content_hash(path: str) -> str:
    """BLAKE2b of the whole file: moved and duplicate files are recognised by it."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_key(text: str) -> str:
    return "t:" + hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


@dataclass
class IngestSummary:
    scanned: int = 0
    added: int = 0
    changed: int = 0
    moved: int = 0
    duplicates: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    unsupported: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EmbedSummary:
    embedded: dict[str, int] = field(default_factory=dict)
    reused: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class UpdateSummary:
    ingest: IngestSummary
    embed: EmbedSummary
    index: list[IndexReport]

    @property
    def failed(self) -> int:
        return self.ingest.failed + self.embed.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest": asdict(self.ingest),
            "embed": asdict(self.embed),
            "index": [asdict(report) for report in self.index],
        }


# ---------------------------------------------------------------------------------------------
# ingest


def _probe(path: str, modality: str) -> tuple[dict[str, Any], str | None]:
    """(metadata, text side) after checking that the file decodes."""
    if modality == "image":
        return probe_image(Path(path)), None
    if modality == "audio":
        return probe_audio(Path(path))
    meta, _ = probe_text(Path(path))
    return meta, None


def _record(catalog: Catalog, existing: Item | None, **fields: Any) -> None:
    if existing is None:
        catalog.insert_item(**fields)
    else:
        fields.pop("path", None)
        catalog.update_item(existing.id, **fields)


def check_roots(roots: list[Path]) -> None:
    """Fail before touching any store when a root given by the user does not exist."""
    if not roots:
        raise UserError("give at least one folder or file to index")
    for root in roots:
        if not os.path.exists(os.path.expanduser(str(root))):
            raise UserError(f"no such file or folder: {root}")


def ingest(store: Store, roots: list[Path], progress: Progress = _no_progress) -> IngestSummary:
    """Scan `roots` into the catalog. Only new or changed files (size, mtime_ns) are read."""
    summary = IngestSummary()
    check_roots(roots)
    catalog = Catalog(store.catalog_path)
    try:
        scan_errors: list[tuple[str, str]] = []
        files: list[ScannedFile] = []
        for found in scan(roots, on_error=lambda p, reason: scan_errors.append((p, reason))):
            files.append(found)
            if len(files) % 500 == 0:
                progress("scan", len(files), None)
        summary.scanned = len(files)
        summary.failures.extend(scan_errors)
        summary.failed += len(scan_errors)
        progress("scan", len(files), len(files))

        known: dict[str, Item] = {}
        for root in roots:
            known.update(catalog.items_under(os.path.realpath(os.path.expanduser(str(root)))))
        seen = {found.path for found in files}
        vanished = {
            path: item
            for path, item in known.items()
            if path not in seen and item.status != "deleted"
        }
        vanished_by_hash: dict[str, Item] = {}
        for item in vanished.values():
            if item.content_hash:
                vanished_by_hash.setdefault(item.content_hash, item)

        moved_rows: set[int] = set()
        done = 0
        catalog.conn.execute("BEGIN IMMEDIATE")
        try:
            for found in files:
                _ingest_one(
                    catalog, found, known.get(found.path), vanished_by_hash, moved_rows, summary
                )
                done += 1
                if done % COMMIT_EVERY == 0:
                    catalog.conn.execute("COMMIT")
                    catalog.conn.execute("BEGIN IMMEDIATE")
                progress("ingest", done, len(files))
            gone = [item.id for item in vanished.values() if item.id not in moved_rows]
            catalog.mark_deleted(gone)
            summary.deleted = len(gone)
            catalog.conn.execute("COMMIT")
        except BaseException:
            catalog.conn.execute("ROLLBACK")
            raise
        progress("ingest", done, len(files))
    finally:
        catalog.close()
    return summary


def _ingest_one(
    catalog: Catalog,
    found: ScannedFile,
    existing: Item | None,
    vanished_by_hash: dict[str, Item],
    moved_rows: set[int],
    summary: IngestSummary,
) -> None:
    """Record one scanned file: unchanged (stat only), changed, new, moved, or failed."""
    if (
        existing is not None
        and existing.status != "deleted"
        and existing.size == found.size
        and existing.mtime_ns == found.mtime_ns
    ):
        summary.unchanged += 1
        return
    base = {"path": found.path, "size": found.size, "mtime_ns": found.mtime_ns}
    if found.size == 0:
        _fail(catalog, existing, base, None, "empty file", summary)
        return
    try:
        sniffed = sniff_modality(Path(found.path))
    except OSError as exc:
        _fail(catalog, existing, base, None, f"cannot read: {exc.strerror or exc}", summary)
        return
    if sniffed is None:
        summary.unsupported += 1
        if existing is not None and existing.status != "deleted":
            catalog.mark_deleted([existing.id])
        return
    modality, _ = sniffed
    try:
        digest = content_hash(found.path)
        meta, side = _probe(found.path, modality)
    except OSError as exc:
        _fail(catalog, existing, base, modality, f"cannot read: {exc.strerror or exc}", summary)
        return
    except MediaError as exc:
        _fail(catalog, existing, base, modality, str(exc), summary)
        return
    fields = dict(
        base,
        modality=modality,
        content_hash=digest,
        meta=meta,
        text_side=side,
        text_key=text_key(side) if side else None,
        status="ok",
        error=None,
    )
    if existing is None:
        moved_from = vanished_by_hash.pop(digest, None)
        if moved_from is not None:
            # Same content under a new name: keep the row (and so its history and vectors).
            catalog.update_item(moved_from.id, **fields)
            moved_rows.add(moved_from.id)
            summary.moved += 1
            return
        if catalog.conn.execute(
            "SELECT 1 FROM items WHERE content_hash = ? AND status = 'ok' LIMIT 1", (digest,)
        ).fetchone():
            summary.duplicates += 1
        summary.added += 1
    else:
        summary.changed += 1 if existing.status != "deleted" else 0
        summary.added += 1 if existing.status == "deleted" else 0
    _record(catalog, existing, **fields)


def _fail(
    catalog: Catalog,
    existing: Item | None,
    base: dict[str, Any],
    modality: str | None,
    reason: str,
    summary: IngestSummary,
) -> None:
    summary.failed += 1
    summary.failures.append((base["path"], reason))
    _record(
        catalog,
        existing,
        **base,
        modality=modality,
        status="failed",
        error=reason,
        content_hash=None,
        text_side=None,
        text_key=None,
        meta={},
    )


# ---------------------------------------------------------------------------------------------
# embed


@dataclass(frozen=True)
class _Job:
    """One piece of content to embed: which item holds it and which vector keys it fills."""

    item: Item
    modality: str  # the decoder to use: image, text, audio, or text_side (audio's words)
    key: str


def _jobs(catalog: Catalog, encoder: EncoderSet) -> dict[str, list[_Job]]:
    """Content lacking a vector in some space of the encoder set, deduplicated by key."""
    wanted: dict[str, list[_Job]] = {"image": [], "text": [], "audio": [], "text_side": []}
    spaces_for = {
        modality: [s.name for s in encoder.spaces.values() if s.accepts(modality)]
        for modality in ("image", "text", "audio")
    }
    claimed: set[tuple[str, str]] = set()
    items = list(catalog.items(status="ok"))
    keys = {i.content_hash for i in items if i.content_hash} | {
        i.text_key for i in items if i.text_key
    }
    by_space_keys = {space: catalog.has_vector_keys(space, keys) for space in encoder.spaces}
    for item in items:
        modality = item.modality or ""
        if item.content_hash and modality in spaces_for:
            missing = [s for s in spaces_for[modality] if item.content_hash not in by_space_keys[s]]
            if missing and (modality, item.content_hash) not in claimed:
                claimed.add((modality, item.content_hash))
                wanted[modality].append(_Job(item, modality, item.content_hash))
        if item.text_key and item.text_side:
            missing = [s for s in spaces_for["text"] if item.text_key not in by_space_keys[s]]
            if missing and ("text_side", item.text_key) not in claimed:
                claimed.add(("text_side", item.text_key))
                wanted["text_side"].append(_Job(item, "text_side", item.text_key))
    return wanted


def _decode(job: _Job, sample_rate: int) -> Any:
    path = Path(job.item.path)
    if job.modality == "image":
        return load_image(path)
    if job.modality == "audio":
        return load_audio(path, sample_rate=sample_rate)
    if job.modality == "text":
        return load_text(path)
    return job.item.text_side


def _prefetched(
    jobs: list[_Job], sample_rate: int, workers: int
) -> Iterator[tuple[_Job, Any, Exception | None]]:
    """Decode ahead in threads (Pillow and libsndfile release the GIL) with a bounded window,
    so decoding overlaps inference without holding the whole collection in memory."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[tuple[_Job, Future[Any]]] = []
        iterator = iter(jobs)
        for job in iterator:
            pending.append((job, pool.submit(_decode, job, sample_rate)))
            if len(pending) >= PREFETCH:
                break
        while pending:
            job, future = pending.pop(0)
            try:
                yield job, future.result(), None
            except Exception as exc:  # recorded per file, never fatal
                yield job, None, exc
            following = next(iterator, None)
            if following is not None:
                pending.append((following, pool.submit(_decode, following, sample_rate)))


def _batches(
    stream: Iterable[tuple[_Job, Any, Exception | None]], size: int
) -> Iterator[tuple[list[_Job], list[Any], list[tuple[_Job, Exception]]]]:
    jobs: list[_Job] = []
    values: list[Any] = []
    errors: list[tuple[_Job, Exception]] = []
    for job, value, error in stream:
        if error is not None:
            errors.append((job, error))
        else:
            jobs.append(job)
            values.append(value)
        if len(jobs) >= size:
            yield jobs, values, errors
            jobs, values, errors = [], [], []
    if jobs or errors:
        yield jobs, values, errors


def embed(
    store: Store,
    encoder: EncoderSet | None = None,
    progress: Progress = _no_progress,
    workers: int | None = None,
    model: str | None = None,
) -> EmbedSummary:
    """Embed every item that lacks a vector in a space of the store's encoder set."""
    if model is not None and model != store.settings.encoder_set:
        raise UserError(
            f"store uses encoder set '{store.settings.encoder_set}'; '{model}' cannot be added yet"
        )
    encoder = encoder or load_encoder_set(store.settings.encoder_set, store.cache_dir)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    summary = EmbedSummary()
    catalog = Catalog(store.catalog_path)
    try:
        work = _jobs(catalog, encoder)
        total = sum(len(jobs) for jobs in work.values())
        done = 0
        progress("embed", 0, total)
        for kind, jobs in work.items():
            if not jobs:
                continue
            encode_as = "text" if kind == "text_side" else kind
            stream = _prefetched(jobs, encoder.audio_sample_rate, workers)
            for batch_jobs, values, errors in _batches(stream, BATCH_SIZE[encode_as]):
                vectors = encoder.encode(encode_as, values) if values else {}
                with catalog.transaction():
                    for space, matrix in vectors.items():
                        catalog.add_vectors(space, [job.key for job in batch_jobs], matrix)
                        summary.embedded[space] = summary.embedded.get(space, 0) + len(batch_jobs)
                    for job, error in errors:
                        reason = (
                            str(error)
                            if isinstance(error, CrossmodalError)
                            else (f"{type(error).__name__}: {error}")
                        )
                        catalog.update_item(job.item.id, status="failed", error=reason)
                        summary.failed += 1
                        summary.failures.append((job.item.path, reason))
                done += len(batch_jobs) + len(errors)
                progress("embed", done, total)
    finally:
        catalog.close()
    return summary


# ---------------------------------------------------------------------------------------------
# index


def index(
    store: Store, encoder: EncoderSet | None = None, progress: Progress = _no_progress
) -> list[IndexReport]:
    """Bring every space's HNSW index in line with the catalog's vectors."""
    encoder = encoder or load_encoder_set(store.settings.encoder_set, store.cache_dir)
    catalog = Catalog(store.catalog_path)
    reports = []
    try:
        spaces = list(encoder.spaces.values())
        for number, space in enumerate(spaces):
            progress("index", number, len(spaces))
            reports.append(
                update_space(catalog, space.name, space.dim, store.index_path(space.name))
            )
        progress("index", len(spaces), len(spaces))
    finally:
        catalog.close()
    return reports


def update(
    store: Store,
    roots: list[Path],
    encoder: EncoderSet | None = None,
    progress: Progress = _no_progress,
    wait_seconds: float = 0.0,
) -> UpdateSummary:
    """ingest + embed + index under the store's write lock: the command for cron."""
    started = time.time()
    with store.write_lock(wait_seconds):
        ingested = ingest(store, roots, progress)
        embedded = embed(store, encoder, progress)
        reports = index(store, encoder, progress)
        summary = UpdateSummary(ingested, embedded, reports)
        catalog = Catalog(store.catalog_path)
        try:
            catalog.record_run("update", started, summary.to_dict())
        finally:
            catalog.close()
    return summary
