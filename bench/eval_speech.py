"""Speech transcripts (issue 8): word error rate on the spoken clips of sample_data against the
sentences they were made from, speed, and whether clips without speech stay without words
(sample_data's effects and music, plus generated noise, tones, a sweep and silence).

Usage: python bench/eval_speech.py
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "sample_data" / "audio"
CHANNELS = {
    "audio-channel-front-left": "front left",
    "audio-channel-front-right": "front right",
    "audio-channel-rear-left": "rear left",
}
NUMBERS = {"4": "four", "9": "nine"}


def references() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("make", ROOT / "sample_data/make_sample_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.argv = [sys.argv[0]]
    spec.loader.exec_module(module)
    return {**dict(module.SPEECH), **dict(module.MEMOS), **CHANNELS}


def words(text: str) -> list[str]:
    found = re.findall(r"[a-z0-9']+", text.lower().replace("tyres", "tires"))
    return [NUMBERS.get(word, word) for word in found]


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions + insertions + deletions)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def synthetic(rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(rate * 10) / rate
    white = rng.standard_normal(len(t)).astype(np.float32) * 0.3
    pink = np.cumsum(rng.standard_normal(len(t))).astype(np.float32)
    pink = 0.3 * (pink - pink.mean()) / (np.abs(pink).max() + 1e-9)
    return {
        "white noise 10 s": white,
        "brown noise 10 s": pink,
        "440 Hz tone 10 s": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
        "sweep 100 Hz-8 kHz 10 s": (
            0.5 * np.sin(2 * np.pi * (100 * t + (7900 / 20) * t**2))
        ).astype(np.float32),
        "silence 10 s": np.zeros(len(t), dtype=np.float32),
        "clicks 10 s": (np.sin(2 * np.pi * 2 * t) > 0.999).astype(np.float32),
    }


def main() -> None:
    from crossmodal.encoders.speech import SpeechTranscriber
    from crossmodal.media.audio import load_audio

    rate = 16000
    transcriber = SpeechTranscriber(threads=2)
    started = time.perf_counter()
    transcriber.model()
    print(f"model load {time.perf_counter() - started:.2f} s")
    refs = references()
    errors = total = 0
    speech_seconds = speech_time = 0.0
    print("clip                              secs  time  WER   transcript")
    for path in sorted(AUDIO.iterdir()):
        wave = load_audio(path, sample_rate=rate)
        clock = time.perf_counter()
        text = transcriber.transcribe(wave, rate)
        spent = time.perf_counter() - clock
        reference = refs.get(path.stem)
        if reference is None:
            verdict = "ok (no words)" if not text else "HALLUCINATED"
            print(f"{path.name:32} {len(wave) / rate:5.1f} {spent:5.2f}  -    {verdict} {text!r}")
            continue
        ref, hyp = words(reference), words(text)
        wrong = word_errors(ref, hyp)
        errors, total = errors + wrong, total + len(ref)
        speech_seconds += len(wave) / rate
        speech_time += spent
        print(
            f"{path.name:32} {len(wave) / rate:5.1f} {spent:5.2f} {wrong / len(ref):4.2f}  {text!r}"
        )
    for name, wave in synthetic(rate).items():
        clock = time.perf_counter()
        text = transcriber.transcribe(wave, rate)
        verdict = "ok (no words)" if not text else "HALLUCINATED"
        print(
            f"{name:32} {len(wave) / rate:5.1f} {time.perf_counter() - clock:5.2f}  -    {verdict} {text!r}"
        )
    print(
        f"speech clips: WER {errors / total:.3f} ({errors} errors / {total} words); "
        f"{speech_seconds:.1f} s of audio in {speech_time:.1f} s "
        f"({speech_seconds / speech_time:.1f}x real time)"
    )


if __name__ == "__main__":
    main()
