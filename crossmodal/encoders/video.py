"""What a video becomes in an encoder set's spaces: each scene's frame through the image
encoder (its parts, `OWNER#N`), their mean as the video's own vector, the sound track through
the audio encoder (the whole clip, as a memo), and its words (speech with time stamps,
subtitles) as timed text parts. Decoding runs in a thread ahead of the encoder, a bounded
queue apart, so memory stays flat however long the video is."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from .base import EncoderSet, l2_normalize

FRAME_BATCH = 16
AHEAD = 32  # scenes decoded ahead of the encoder
# Words are grouped into parts of at most this many seconds (a sentence or two, what a text
# encoder reads whole and a result can point at), and a pause of WORDS_PAUSE seconds ends one:
# a part never spans two thoughts said far apart.
WORDS_SECONDS = 12.0
WORDS_PAUSE = 3.0


@dataclass
class VideoVectors:
    """A video in one encoder set's spaces."""

    scenes: list[tuple[float, float]]  # every scene's span, black ones included
    frames: dict[str, np.ndarray]  # space -> (scenes kept, dim): their frames' vectors
    kept: list[int]  # which scenes have a frame (not black)
    whole: dict[str, np.ndarray] = field(default_factory=dict)  # space -> the video's vector


def ahead(items: Iterator[Any], size: int = AHEAD) -> Iterator[Any]:
    """Run an iterator in a thread, at most `size` items ahead; its exception is re-raised here.
    Abandoning the result stops the thread at its next item, and closes the iterator there
    (a generator holding a decoder releases its file)."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(("item", item), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                buffer.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            buffer.put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)


def image_spaces(encoder: EncoderSet) -> list[str]:
    return [name for name, spec in encoder.spaces.items() if spec.accepts("image")]


def encode_scenes(encoder: EncoderSet, path: Path, max_seconds: float) -> VideoVectors:
    """Scenes -> frame vectors in every image space, and the video's own (their mean)."""
    from ..media.video import segments

    wanted = image_spaces(encoder)
    if not wanted:  # a model of words or sounds only: no frame to read
        return VideoVectors([], {}, [])
    scenes: list[tuple[float, float]] = []
    kept: list[int] = []
    rows: dict[str, list[np.ndarray]] = {space: [] for space in wanted}
    batch: list[tuple[int, Any]] = []

    def flush() -> None:
        if not batch:
            return
        vectors = encoder.encode("image", [picture for _, picture in batch])
        if any(space not in vectors for space in wanted):
            raise MediaError("the image encoder gave no vectors for the video's frames")
        finite = np.ones(len(batch), dtype=bool)
        for space in wanted:
            matrix = vectors[space]
            finite &= np.all(np.isfinite(matrix), axis=1) & (np.linalg.norm(matrix, axis=1) > 1e-6)
        for row, (index, _) in enumerate(batch):
            if finite[row]:
                kept.append(index)
                for space in wanted:
                    rows[space].append(vectors[space][row])
        batch.clear()

    for scene in ahead(segments(path, max_seconds)):
        scenes.append((scene.start, scene.end))
        if scene.frame is not None:
            batch.append((len(scenes) - 1, scene.frame))
        if len(batch) >= FRAME_BATCH:
            flush()
    flush()
    if not scenes:
        raise MediaError("the video has no frames")
    if not kept:
        raise MediaError("every frame of the video is black")
    frames = {space: l2_normalize(np.vstack(rows[space])) for space in wanted}
    whole = {
        space: l2_normalize(matrix.mean(axis=0, keepdims=True))[0]
        for space, matrix in frames.items()
    }
    return VideoVectors(scenes, frames, kept, whole)


def encode_sound(encoder: EncoderSet, path: Path) -> dict[str, np.ndarray]:
    """The sound track in the audio spaces ({} when the video is silent or has none)."""
    from ..media.audio import load_audio

    if not any(spec.accepts("audio") for spec in encoder.spaces.values()):
        return {}
    try:
        wave = load_audio(path, sample_rate=encoder.audio_sample_rate)
    except MediaError:
        return {}  # no sound track, or one that does not decode: the pictures still count
    vectors = encoder.encode("audio", [wave])
    return {
        space: matrix[0]
        for space, matrix in vectors.items()
        if encoder.spaces.get(space) is not None
        and encoder.spaces[space].accepts("audio")
        and np.all(np.isfinite(matrix[0]))
        and abs(float(np.linalg.norm(matrix[0])) - 1.0) < 1e-3
    }


def group_words(
    cues: list[list[Any]], seconds: float | None = None, pause: float | None = None
) -> list[tuple[float, float, str]]:
    """Timed cues (speech segments, subtitles) joined into parts of at most `seconds` each
    (WORDS_SECONDS), split at every pause of `pause` seconds (WORDS_PAUSE) or more."""
    seconds = WORDS_SECONDS if seconds is None else seconds
    pause = WORDS_PAUSE if pause is None else pause
    parts: list[tuple[float, float, str]] = []
    start, end, words = None, 0.0, []
    for cue_start, cue_end, text in sorted(cues, key=lambda cue: float(cue[0])):
        too_long = start is not None and float(cue_end) - start > seconds
        if words and (too_long or float(cue_start) - end >= pause):
            parts.append((round(start, 3), round(end, 3), " ".join(words)))
            start, words = None, []
        if start is None:
            start = float(cue_start)
        end = max(end, float(cue_end))
        words.append(str(text).strip())
    if start is not None and words:
        parts.append((round(start, 3), round(end, 3), " ".join(words)))
    return parts


def encode_words(
    encoder: EncoderSet, cues: list[list[Any]]
) -> tuple[list[tuple[float, float, str]], dict[str, np.ndarray]]:
    """Timed words -> text parts and their vectors in every text space (none for a model
    without one: the parts are still what the video's words are)."""
    words = group_words(cues)
    if not words or not any(spec.accepts("text") for spec in encoder.spaces.values()):
        return words, {}
    vectors = encoder.encode("text", [text for _, _, text in words])
    wanted = [name for name, spec in encoder.spaces.items() if spec.accepts("text")]
    return words, {
        space: l2_normalize(vectors[space])
        for space in wanted
        if space in vectors and np.all(np.isfinite(vectors[space]))
    }


def timed_speech(encoder: EncoderSet, path: Path, max_seconds: float) -> list[list[Any]]:
    """[[start, end, words], ...] said in a video's sound track (its first `max_seconds`), read
    ten minutes at a time. A transcriber without time stamps gives one cue per window."""
    from ..media.video import SPEECH_RATE, speech_windows

    transcriber = encoder.transcriber
    if transcriber is None:
        return []
    cues: list[list[Any]] = []
    timed = getattr(transcriber, "transcribe_timed", None)
    for offset, wave in speech_windows(path, max_seconds):
        if timed is not None:
            found = timed(wave, SPEECH_RATE)
        else:
            import soxr

            rate = encoder.audio_sample_rate
            text = transcriber.transcribe([soxr.resample(wave, SPEECH_RATE, rate)])[0]
            found = [(0.0, len(wave) / SPEECH_RATE, text)] if text else []
        cues += [[round(offset + a, 2), round(offset + b, 2), words] for a, b, words in found]
    return cues


def query_vectors(encoder: EncoderSet, path: Path, max_seconds: float) -> dict[str, np.ndarray]:
    """A video as a query: its own vector in every image space and its sound in the audio
    spaces."""
    video = encode_scenes(encoder, path, max_seconds)
    return {**video.whole, **encode_sound(encoder, path)}
