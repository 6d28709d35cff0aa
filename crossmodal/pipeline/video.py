"""embed for videos: scenes -> frame vectors (parts) and the video's own vector, the sound
track -> the audio spaces, speech (with time stamps) and subtitles -> timed text parts; all of
one video in one transaction. A run killed in the middle of a long video reads that video again
from its start: what is committed is whole videos (the cost is bounded by the video cap)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import Catalog
from ..encoders import EncoderSet
from ..encoders.video import VideoVectors, encode_scenes, encode_sound, encode_words, timed_speech
from ..errors import CrossmodalError, MediaError
from ..media.video import DEFAULT_HOURS
from .summaries import EmbedSummary

if TYPE_CHECKING:
    from .embed import Job


@dataclass
class VideoResult:
    """One video, encoded by one model, ready to write."""

    scenes: VideoVectors
    sound: dict[str, np.ndarray]
    cues: list[list[Any]] | None = None  # speech just transcribed (None: not transcribed now)
    words: list[tuple[float, float, str]] = field(default_factory=list)
    word_vectors: dict[str, np.ndarray] = field(default_factory=dict)


def cap_seconds(hours: Any) -> float:
    try:
        value = float(hours)
    except (TypeError, ValueError):
        value = DEFAULT_HOURS
    return (value if value > 0 else DEFAULT_HOURS) * 3600


def needs_speech(item_meta: dict[str, Any], encoder: EncoderSet) -> bool:
    transcriber = encoder.transcriber
    return bool(
        transcriber is not None
        and item_meta.get("audio_tracks")
        and item_meta.get("transcriber") != transcriber.transcriber_id
    )


def first_word_part(item: Any) -> str | None:
    """The key of a video's first words part (its speech or subtitles), when it has words: a
    model that lacks it has not read them."""
    tag = item.meta.get("words") if item.modality == "video" else None
    return f"{item.content_hash}#{tag}0" if tag and item.content_hash else None


def words_tag(words: list[tuple[float, float, str]]) -> str:
    """What a video's word parts are keyed by (OWNER#<tag>N): a digest of the words and their
    times, so words written down again (a transcriber that came later) get new keys, and every
    model sees that it lacks them."""
    digest = hashlib.blake2b(json.dumps(words).encode(), digest_size=4).hexdigest()
    return f"w{digest}-"


def encode_video(encoder: EncoderSet, job: Job, max_seconds: float) -> VideoResult:
    path = Path(job.item.fs_path)
    scenes = encode_scenes(encoder, path, max_seconds)
    sound = encode_sound(encoder, path) if job.item.meta.get("audio_tracks") else {}
    cues = (
        timed_speech(encoder, path, max_seconds) if needs_speech(job.item.meta, encoder) else None
    )
    spoken = cues if cues is not None else list(job.item.meta.get("speech") or [])
    timed = spoken + list(job.item.meta.get("subtitles") or [])
    length = float(job.item.meta.get("duration") or 0)
    if length > 0:  # Whisper's last word may end past the last frame; a cue may outlast it
        timed = [[a, min(float(b), length), t] for a, b, t in timed if float(a) < length]
    words, word_vectors = encode_words(encoder, timed)
    return VideoResult(scenes, sound, cues, words, word_vectors)


def write_video(
    catalog: Catalog,
    encoder: EncoderSet,
    job: Job,
    result: VideoResult,
    max_seconds: float,
    summary: EmbedSummary,
) -> None:
    """A video's vectors, parts and what was read from it, in one transaction."""
    key = job.key
    scenes = result.scenes
    count = len(scenes.scenes) or int(job.item.meta.get("scenes") or 0)  # a words-only model
    tag = words_tag(result.words) if result.words else None
    with catalog.transaction():
        old = job.item.meta.get("words")
        if old and old != tag:
            catalog.drop_parts(key, old)  # words written down again: the old parts go
        for vectors in (scenes.whole, result.sound):
            for space, vector in vectors.items():
                catalog.add_vectors(space, [key], vector[None, :])
                summary.embedded[space] = summary.embedded.get(space, 0) + 1
        spans = [(*scenes.scenes[i], "") for i in scenes.kept]
        for space, matrix in scenes.frames.items():
            catalog.add_passages(space, key, spans, matrix, "image", scenes.kept)
        for space, matrix in result.word_vectors.items():
            catalog.add_passages(space, key, result.words, matrix, "text", tag=tag or "")
        silent = [
            name
            for name, spec in encoder.spaces.items()
            if spec.accepts("audio") and not spec.accepts("image") and name not in result.sound
        ]
        if result.cues is not None and encoder.transcriber is not None:
            spoken = " ".join(text for _, _, text in result.cues)
            summary.transcribed += 1 if spoken else 0
        for item in catalog.items_with("content_hash", key):
            meta = dict(item.meta, scenes=count)
            if tag:
                meta["words"] = tag
            else:
                meta.pop("words", None)
            duration = float(meta.get("duration") or 0)
            if duration > max_seconds:
                meta["note"] = f"first {max_seconds / 3600:g} hours read"
            if silent:
                meta["no_vector"] = sorted(set(meta.get("no_vector", [])) | set(silent))
            if result.cues is not None and encoder.transcriber is not None:
                # What is said is in the video's timed parts, not its text side (see probe).
                transcript = " ".join(text for _, _, text in result.cues)
                meta.update(
                    speech=result.cues,
                    transcript=transcript,
                    transcriber=encoder.transcriber.transcriber_id,
                )
            catalog.update_item(item.id, meta=meta)


def run_video_jobs(
    catalog: Catalog,
    encoder: EncoderSet,
    jobs: list[Job],
    summary: EmbedSummary,
    primary: bool,
    video_hours: Any,
    done: Any,
) -> None:
    """Each video in turn (its frames are decoded in a thread ahead of the encoder). A video
    that cannot be read fails with its reason when this is the store's first model; an added
    model that cannot encode it only lacks its vectors, noted so it is not retried."""
    from .embed import failure_reason

    max_seconds = cap_seconds(video_hours)
    # Shortest first: a run stopped by a time limit has finished as many videos as it could.
    for job in sorted(jobs, key=lambda j: float(j.item.meta.get("duration") or 0)):
        try:
            result = encode_video(encoder, job, max_seconds)
        except CrossmodalError as exc:
            if not isinstance(exc, MediaError):
                raise  # a model that cannot load, a store error: not this file's fault
            _failed(catalog, encoder, job, failure_reason(exc), summary, primary)
        except Exception as exc:  # a decoder's own error on a hostile file
            _failed(catalog, encoder, job, failure_reason(exc), summary, primary)
        else:
            write_video(catalog, encoder, job, result, max_seconds, summary)
        done(1)


def _failed(
    catalog: Catalog,
    encoder: EncoderSet,
    job: Job,
    reason: str,
    summary: EmbedSummary,
    primary: bool,
) -> None:
    from .embed import note_no_vector  # embed imports this module

    if not primary:
        spaces = [name for name, spec in encoder.spaces.items() if spec.accepts("video")]
        note_no_vector(catalog, [job], spaces)
        return
    with catalog.transaction():
        for item in catalog.items_with("content_hash", job.key):
            catalog.update_item(item.id, status="failed", error=reason)
    summary.failed += 1
    summary.failures.append((job.item.path, reason))
