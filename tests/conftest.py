"""Shared fixtures: a small fake encoder set (no torch) and generators of real media files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from crossmodal.encoders import (
    EncoderSet,
    SpaceSpec,
    l2_normalize,
    register_encoder_set,
    unregister_encoder_set,
)
from crossmodal.store import Store

FAKE_DIM = 64
RegisterFake = Callable[[str, Callable[[], Any]], None]  # the register_fake fixture
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def words_vector(text: str) -> np.ndarray:
    """Hashed bag of words: texts sharing words are similar, as a real text model would make them."""
    vector = np.zeros(FAKE_DIM, dtype=np.float32)
    for word in re.findall(r"[a-z]+", text.lower()):
        bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % FAKE_DIM
        vector[bucket] += 1.0
    return vector


class FakeEncoderSet(EncoderSet):
    """Maps images to the word of their dominant colour, so text->image search is checkable."""

    name = "fake"
    audio_sample_rate = 8000

    def __init__(self) -> None:
        self.spaces = {
            "fake-semantic": SpaceSpec("fake-semantic", FAKE_DIM, frozenset({"text", "image"})),
            "fake-visual": SpaceSpec("fake-visual", 3, frozenset({"image"})),
            "fake-audio": SpaceSpec("fake-audio", 16, frozenset({"audio"})),
        }
        self.calls: list[tuple[str, int]] = []

    def encode(self, modality: str, inputs: list) -> dict[str, np.ndarray]:
        self.calls.append((modality, len(inputs)))
        if modality == "text":
            return {"fake-semantic": l2_normalize(np.stack([words_vector(t) for t in inputs]))}
        if modality == "image":
            means = np.stack([np.asarray(im, dtype=np.float32).mean(axis=(0, 1)) for im in inputs])
            names = [list(COLOURS)[int(np.argmax(m))] for m in means]
            semantic = np.stack([words_vector(f"a {name} picture") for name in names])
            return {"fake-semantic": l2_normalize(semantic), "fake-visual": l2_normalize(means)}
        if modality == "audio":
            rows = []
            for wave in inputs:
                spectrum = np.abs(np.fft.rfft(wave, n=4096))[:2048]
                # A small floor, as real features have: silence still gets a direction.
                rows.append(spectrum.reshape(16, -1).sum(axis=1) + 1e-3)
            return {"fake-audio": l2_normalize(np.stack(rows))}
        raise ValueError(modality)

    def encode_documents(self, texts: list[str]):  # type: ignore[no-untyped-def]
        """Each non-empty line is a passage of a document of several lines; the document's
        vector is the bag of all its words, exactly what `encode` gives."""
        documents = self.encode("text", texts)["fake-semantic"]
        spans, vectors = [], []
        for text in texts:
            found = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S(?:.*\S)?", text)]
            found = found if len(found) > 1 else []
            spans.append(found)
            rows = [words_vector(piece) for _, _, piece in found]
            vectors.append(l2_normalize(np.stack(rows)) if rows else np.zeros((0, FAKE_DIM)))
        return {"fake-semantic": documents}, spans, {"fake-semantic": vectors}

    transcriber_id = "fake-asr/1"
    SPOKEN = "hello from the harbour ferry"

    def transcribe(self, waves: list) -> list[str]:
        """A 440 Hz tone 'says' SPOKEN; anything else holds no speech."""
        self.calls.append(("transcribe", len(waves)))
        out = []
        for wave in waves:
            if len(wave) < 64:
                out.append("")
                continue
            spectrum = np.abs(np.fft.rfft(wave))
            peak = np.argmax(spectrum) * self.audio_sample_rate / (2 * (len(spectrum) - 1))
            out.append(self.SPOKEN if 400 <= peak <= 480 else "")
        return out

    reader_id = "fake-ocr/1"
    WRITTEN = "sale ends friday"

    def read_text(self, images: list) -> list[str]:
        """A banner-shaped picture (at least 3x wider than tall) 'shows' WRITTEN."""
        self.calls.append(("ocr", len(images)))
        return [self.WRITTEN if im.width >= 3 * im.height else "" for im in images]


# Session-wide: most tests open stores whose model is "fake". Sets a single test registers go
# through the register_fake fixture, which takes them away again.
register_encoder_set("fake", FakeEncoderSet)


@pytest.fixture
def register_fake() -> Iterator[RegisterFake]:
    """register(name, factory) for this test only: at its end each name gets back the factory
    it had before (or is unregistered), and the instances built meanwhile are dropped."""
    replaced: dict[str, Callable[[], Any] | None] = {}

    def register(name: str, factory: Callable[[], Any]) -> None:
        previous = register_encoder_set(name, factory)
        replaced.setdefault(name, previous)

    yield register
    for name, previous in replaced.items():
        if previous is None:
            unregister_encoder_set(name)
        else:
            register_encoder_set(name, previous)


def write_image(path: Path, colour: str = "red", size: tuple[int, int] = (64, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, COLOURS[colour]).save(path)
    return path


def write_tone(
    path: Path, frequency: float, seconds: float = 0.5, title: str | None = None
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * frequency * t)
    with sf.SoundFile(path, "w", rate, 1, format="WAV") as handle:
        if title:
            handle.title = title
        handle.write(wave)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """A tiny real collection: three colour images, three texts, two tones."""
    root = tmp_path / "media"
    write_image(root / "photos" / "a.png", "red")
    write_image(root / "photos" / "b.jpg", "green")
    write_image(root / "photos" / "c.webp", "blue")
    write_text(root / "notes" / "red.txt", "a red picture of a barn")
    write_text(root / "notes" / "sea.md", "# The sea\nwaves on the blue sea")
    write_text(root / "notes" / "forest.txt", "green trees in a forest")
    write_tone(root / "sounds" / "low.wav", 220.0, title="low hum")
    write_tone(root / "sounds" / "high.wav", 1760.0)
    return root


@pytest.fixture
def fake_store(tmp_path: Path) -> Store:
    return Store.open_or_create(tmp_path / "store", encoder_set="fake")
