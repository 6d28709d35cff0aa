"""embed: plan the jobs -> decode (threads, bounded window) -> encode -> write, model by model
(so adding one never re-encodes the others), with one per-file error policy (`failure_reason`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Catalog, Item
from ..encoders import EncoderSet
from ..encoders.plugin import as_encoder_set
from ..encoders.registry import ModelOptions
from ..errors import CrossmodalError, MediaError, UserError
from ..store import Store
from .reading import RETRY_PREFIX, media_reason
from .summaries import EmbedSummary, Progress, no_progress
from .video import first_word_part, needs_speech, run_video_jobs
from .words import drop_image_text, save_words

# Images: 16 measured 14.9-16.9 images/s against 12.3-12.5 at 32 (and 11.7 at 24, 15.9 at 8) on
# 2 cores, with ~300 MB less peak memory (bench/RESULTS.md, issue 7).
BATCH_SIZE = {"image": 16, "text": 64, "audio": 8, "transcribe": 8, "ocr": 8}
PREFETCH = 64
CONTENT = ("image", "text", "audio")
# Kinds of job, in the order they run: content, then words read from it, then those words.
KINDS = ("image", "text", "audio", "video", "transcribe", "ocr", "text_side")


@dataclass(frozen=True)
class Job:
    """One piece of content to embed or read: which item holds it, which key it fills."""

    item: Item
    kind: str  # one of KINDS: a modality's content, transcribe, ocr, or text_side (the words)
    key: str


class RecordedFailure(CrossmodalError):
    """A failure whose reason was already worded by failure_reason (on a Ray worker)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(error: BaseException) -> str:
    """The one per-file error policy of embed: what a file's failure is recorded as. A file
    deleted since ingest gets the retry prefix (the next ingest marks it deleted)."""
    if isinstance(error, RecordedFailure):
        return error.reason
    if isinstance(error, FileNotFoundError) or (
        isinstance(error, CrossmodalError) and media_reason(error) is None
    ):
        return f"{RETRY_PREFIX}: file vanished before it was embedded"
    if isinstance(error, CrossmodalError):
        return media_reason(error) or str(error)
    if isinstance(error, OSError):
        return f"{RETRY_PREFIX}: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


# -- planning ------------------------------------------------------------------------------
def _word_jobs(item: Item, encoder: EncoderSet, ocr: bool) -> Iterator[tuple[str, str | None]]:
    """(kind, model id) of the words still to read from an item: speech in clips, text in
    pictures and scanned PDFs (when asked)."""
    transcriber = encoder.transcriber.transcriber_id if encoder.transcriber else None
    reader = encoder.reader.reader_id if (ocr and encoder.reader) else None
    for kind, source, model_id, marker in (
        ("transcribe", "audio", transcriber, "transcriber"),
        ("ocr", "image", reader, "ocr"),
        ("ocr", "text", reader if item.meta.get("scanned_pages") else None, "ocr"),
    ):
        if model_id and item.modality == source and item.meta.get(marker) != model_id:
            yield kind, model_id


def plan_jobs(catalog: Catalog, encoder: EncoderSet, ocr: bool = False) -> dict[str, list[Job]]:
    """Content lacking a vector in some space of the encoder set, deduplicated by key, and
    content still to be read (speech; text in images when `ocr`)."""
    wanted: dict[str, list[Job]] = {kind: [] for kind in KINDS}
    spaces_for = {
        modality: [s.name for s in encoder.spaces.values() if s.accepts(modality)]
        for modality in (*CONTENT, "video")
    }
    items = list(catalog.items(status="ok"))
    keys = {i.content_hash for i in items if i.content_hash} | {
        i.text_key for i in items if i.text_key
    }
    keys |= {key for i in items if (key := first_word_part(i))}
    have = {space: catalog.has_vector_keys(space, keys) for space in encoder.spaces}
    claimed: set[tuple[str, str]] = set()

    def claim(kind: str, item: Item, key: str) -> None:
        if (kind, key) not in claimed:
            claimed.add((kind, key))
            wanted[kind].append(Job(item, kind, key))

    for item in items:
        modality = item.modality or ""
        skipped = item.meta.get("no_vector", ())
        if modality == "video" and item.content_hash:
            # Scenes, sound and words in one job: a video is decoded once per model.
            lacking = [
                s
                for s in spaces_for["video"]
                if item.content_hash not in have[s] and s not in skipped
            ]
            words = first_word_part(item)  # a text-only model beside builtin reads them too
            lacking += [
                s for s in spaces_for["text"] if words and words not in have[s] and s not in skipped
            ]
            if lacking or "scenes" not in item.meta or needs_speech(item.meta, encoder):
                claim("video", item, item.content_hash)
        # A scanned PDF has no text layer: only the words OCR reads from it are embedded.
        no_text = modality == "text" and item.meta.get("chars") == 0
        if item.content_hash and modality in CONTENT and not no_text:
            missing = [
                s
                for s in spaces_for[modality]
                if item.content_hash not in have[s] and s not in skipped
            ]
            if encoder.documents and modality == "text" and "passages" not in item.meta:
                missing.append("passages")  # embedded before passages existed: split it once
            if missing:
                claim(modality, item, item.content_hash)
        if item.content_hash:
            for kind, _ in _word_jobs(item, encoder, ocr):
                claim(kind, item, item.content_hash)
        if (
            item.text_key
            and item.text_side
            and any(item.text_key not in have[s] and s not in skipped for s in spaces_for["text"])
        ):
            claim("text_side", item, item.text_key)
    return wanted


# -- decoding ------------------------------------------------------------------------------
def decode(job: Job, sample_rate: int) -> Any:
    from ..media.audio import load_audio
    from ..media.documents.pdf import render_pages
    from ..media.image import load_image
    from ..media.text import load_text

    path = Path(job.item.fs_path)
    if job.kind == "ocr" and job.item.modality == "text":
        return render_pages(path, job.item.meta.get("scanned_pages", []))  # a scanned PDF
    if job.kind in ("image", "ocr"):
        return load_image(path)
    if job.kind in ("audio", "transcribe"):
        return load_audio(path, sample_rate=sample_rate)
    if job.kind == "text":
        return load_text(path)
    return job.item.text_side


def decode_for(job: Job, encoder: EncoderSet) -> Any:
    """Decoded, then made ready for the encoder (a picture resized and normalised), in the
    worker: that work then overlaps the model's instead of following it."""
    return encoder.prepare(job.kind, decode(job, encoder.audio_sample_rate))


def prefetched(
    jobs: list[Job], encoder: EncoderSet, workers: int
) -> Iterator[tuple[Job, Any, Exception | None]]:
    """Decode ahead in threads (Pillow and libsndfile release the GIL) with a bounded window,
    so decoding overlaps inference without holding the whole collection in memory."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[tuple[Job, Future[Any]]] = []
        iterator = iter(jobs)
        for job in iterator:
            pending.append((job, pool.submit(decode_for, job, encoder)))
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
                pending.append((following, pool.submit(decode_for, following, encoder)))


def batches(
    stream: Iterable[tuple[Job, Any, Exception | None]], size: int
) -> Iterator[tuple[list[Job], list[Any], list[tuple[Job, Exception]]]]:
    jobs: list[Job] = []
    values: list[Any] = []
    errors: list[tuple[Job, Exception]] = []
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


# -- encoding ------------------------------------------------------------------------------
def usable_rows(vectors: dict[str, Any], count: int) -> Any:
    """Rows that are finite unit vectors in every space: a silent clip or a blank image can make an
    encoder return zeros or NaN, which would poison the index and every score near it."""
    usable = np.ones(count, dtype=bool)
    for matrix in vectors.values():
        norms = np.linalg.norm(matrix, axis=1)
        usable &= np.all(np.isfinite(matrix), axis=1) & (np.abs(norms - 1.0) < 1e-3)
    return usable


@dataclass
class Encoded:
    """One batch's vectors in this model's own spaces, which rows are usable, and passages."""

    vectors: dict[str, Any]
    usable: Any
    passages: tuple[list[Any], dict[str, list[Any]]] | None = None


def encode_batch(encoder: EncoderSet, kind: str, jobs: list[Job], values: list[Any]) -> Encoded:
    """Encode a batch; only this model's own spaces, at their size, count (a plug-in cannot
    write elsewhere), and a space the model declares that got nothing fails the whole batch."""
    encode_as = "text" if kind == "text_side" else kind
    passages = None
    if kind == "text" and values and encoder.documents is not None:
        vectors, spans, passage_vectors = encoder.documents.encode_documents(values)
        passages = (spans, passage_vectors)
    else:
        vectors = encoder.encode(encode_as, values) if values else {}
    vectors = {
        space: matrix
        for space, matrix in vectors.items()
        if space in encoder.spaces
        and getattr(matrix, "shape", None) == (len(jobs), encoder.spaces[space].dim)
    }
    usable = usable_rows(vectors, len(jobs))
    expected = {n for n, spec in encoder.spaces.items() if spec.accepts(encode_as)}
    if not expected <= vectors.keys():
        usable[:] = False
    return Encoded(vectors, usable, passages)


# -- writing -------------------------------------------------------------------------------
def write_batch(
    catalog: Catalog,
    jobs: list[Job],
    encoded: Encoded,
    errors: list[tuple[Job, BaseException]],
    summary: EmbedSummary,
) -> None:
    """Vectors, passages and this batch's failures in one transaction."""
    keys = [job.key for job, ok in zip(jobs, encoded.usable, strict=True) if ok]
    with catalog.transaction():
        for space, matrix in encoded.vectors.items():
            catalog.add_vectors(space, keys, matrix[encoded.usable])
            summary.embedded[space] = summary.embedded.get(space, 0) + len(keys)
        if encoded.passages is not None:
            add_passages(catalog, jobs, encoded.usable, *encoded.passages)
        for job, error in errors:
            reason = failure_reason(error)
            catalog.update_item(job.item.id, status="failed", error=reason)
            summary.failed += 1
            summary.failures.append((job.item.path, reason))


def add_passages(
    catalog: Catalog,
    jobs: list[Job],
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
            fine = bool(usable_rows({space: matrix}, len(matrix)).all())
            if spans[row] and len(matrix) == len(spans[row]) and fine:
                catalog.add_passages(space, job.key, spans[row], matrix)
                stored = len(spans[row])
        # Marks the document as split (0: it fits one passage), so it is never split again.
        catalog.set_meta_field(job.key, "passages", stored)


def note_no_vector(catalog: Catalog, jobs: list[Job], spaces: list[str]) -> None:
    """Items of this content (or text side) get no vector in these spaces: say so in their meta,
    so embed does not retry them on every run (a change of content is a new item's content)."""
    if not jobs or not spaces:
        return
    with catalog.transaction():
        for job in jobs:
            column = "text_key" if job.kind == "text_side" else "content_hash"
            for item in catalog.items_with(column, job.key):
                marked = sorted(set(item.meta.get("no_vector", [])) | set(spaces))
                catalog.update_item(item.id, meta={**item.meta, "no_vector": marked})


# -- the stage -----------------------------------------------------------------------------
def embed(
    store: Store,
    encoder: EncoderSet | None = None,
    progress: Progress = no_progress,
    workers: int | None = None,
    model: str | None = None,
    options: ModelOptions | None = None,
    ray: str | None = None,
) -> EmbedSummary:
    """Embed every item that lacks a vector in a space of the store's models, model by model
    (so adding one never re-encodes the others). `model` adds that model to the store first
    (under the caller's write lock) and embeds only it. `ray` (a cluster address) encodes the
    pictures, sounds, documents and text sides on that Ray cluster (ray_embed.py); videos,
    speech and OCR are read here."""
    from ..models import add_model, drop_retired, store_encoder

    check_model_flags(model, options)
    if model is not None:
        encoder = add_model(store, model, options)
    encoder = as_encoder_set(encoder) if encoder else store_encoder(store, options=options)
    summary = EmbedSummary()
    cluster = None
    if ray:
        from .ray_embed import RayCluster

        cluster = RayCluster(ray, store, options)
    primary = store.settings.model_names()[0]
    members = encoder.members
    try:
        for member in members:
            # One progress bar per model when there are several (each has its own total).
            stage = "embed" if len(members) == 1 else f"embed {member.name}"
            is_primary = member.name == primary
            embed_with(store, member, progress, workers, summary, is_primary, stage, cluster)
    finally:
        if cluster is not None:
            cluster.close()
    drop_retired(store)
    return summary


def check_model_flags(model: str | None, options: ModelOptions | None) -> None:
    if model is None and options is not None and (options.checkpoint or options.config):
        raise UserError("--checkpoint and --model-config go with --model openclip:ARCH")


def embed_with(
    store: Store,
    encoder: EncoderSet,
    progress: Progress,
    workers: int | None,
    summary: EmbedSummary,
    primary: bool = True,
    stage: str = "embed",
    cluster: Any = None,
) -> None:
    """Embed with one model. An item the store's first model cannot encode is failed; one an
    added model cannot encode (say fp16 overflow on a GPU) only lacks that model's vector, noted
    in its meta so it is not retried every run; the other models still find it."""
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    catalog = Catalog(store.catalog_path)
    ocr = bool(store.option("ocr", False))
    try:
        if not ocr:
            drop_image_text(catalog)
        work = plan_jobs(catalog, encoder, ocr)
        counter = _Counter(progress, stage, sum(len(jobs) for jobs in work.values()))
        for kind, jobs in work.items():
            if kind == "video" and jobs:
                hours = store.option("video_hours")
                run_video_jobs(catalog, encoder, jobs, summary, primary, hours, counter.add)
                continue
            if kind == "text_side" and (work["transcribe"] or work["ocr"] or work["video"]):
                # Transcripts and OCR changed text sides: embed what the catalog holds now.
                jobs = plan_jobs(catalog, encoder, ocr)["text_side"]
                counter.total += len(jobs) - len(work["text_side"])
            if jobs and cluster is not None and kind in cluster.KINDS:
                cluster.run_jobs(catalog, encoder, kind, jobs, summary, primary, counter.add)
            elif jobs:
                _run_jobs(catalog, encoder, kind, jobs, workers, summary, primary, counter)
    finally:
        catalog.close()


class _Counter:
    def __init__(self, progress: Progress, stage: str, total: int) -> None:
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        progress(stage, 0, total)

    def add(self, count: int) -> None:
        self.done += count
        self.progress(self.stage, self.done, self.total)


def _run_jobs(
    catalog: Catalog,
    encoder: EncoderSet,
    kind: str,
    jobs: list[Job],
    workers: int,
    summary: EmbedSummary,
    primary: bool,
    counter: _Counter,
) -> None:
    """decode -> encode -> write for one kind of job, batch by batch."""
    encode_as = "text" if kind == "text_side" else kind
    stream = prefetched(jobs, encoder, workers)
    for batch_jobs, values, errors in batches(stream, encoder.batch_size or BATCH_SIZE[encode_as]):
        if kind in ("transcribe", "ocr"):
            # A file that does not decode fails in its content job; here it is skipped.
            save_words(catalog, encoder, kind, batch_jobs, values, summary)
            counter.add(len(batch_jobs) + len(errors))
            continue
        encoded = encode_batch(encoder, kind, batch_jobs, values)
        write_encoded(catalog, batch_jobs, encoded, errors, summary, primary)
        counter.add(len(batch_jobs) + len(errors))


def write_encoded(
    catalog: Catalog,
    jobs: list[Job],
    encoded: Encoded,
    errors: list[tuple[Job, Exception]],
    summary: EmbedSummary,
    primary: bool,
) -> None:
    """One encoded batch into the catalog, wherever it was encoded: rows without a usable vector
    fail the file (the store's first model) or are noted as lacking this model's vector."""
    unusable = [job for job, ok in zip(jobs, encoded.usable, strict=True) if not ok]
    failed: list[tuple[Job, BaseException]] = list(errors)
    if primary:
        blank = MediaError("the encoder gave no usable vector (silent or blank input?)")
        failed += [(job, blank) for job in unusable]
    else:
        note_no_vector(catalog, unusable, list(encoded.vectors))
    write_batch(catalog, jobs, encoded, failed, summary)
