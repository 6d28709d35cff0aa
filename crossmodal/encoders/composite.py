"""Several encoder sets behind one face: how a store with builtin and open_clip (say) is searched.

Spaces are the union of the members' (names must not clash); `encode` asks each member that has
a space for the modality, so a member's model loads only when one of its spaces is used. Words
read from media (speech, text in images) come from the first member that can read them. The
pipeline embeds member by member (`members`), so adding a model never re-encodes the others;
documents are encoded by each member's own `documents` (the composite has none of its own).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError
from .base import EncoderSet, SpaceSpec, TextReader, Transcriber
from .plugin import as_encoder_set


class CompositeEncoderSet(EncoderSet):
    def __init__(self, members: list[Any]) -> None:
        if not members:
            raise EncoderError("no encoder sets to combine")
        self._members = [as_encoder_set(member) for member in members]
        self.name = "+".join(member.name for member in self._members)
        self.spaces: dict[str, SpaceSpec] = {}
        for member in self._members:
            for space, spec in member.spaces.items():
                if space in self.spaces:
                    raise EncoderError(f"two models of this store both make space '{space}'")
                self.spaces[space] = spec
        with_audio = [
            m for m in self._members if any(s.accepts("audio") for s in m.spaces.values())
        ]
        self.audio_sample_rate = (with_audio or self._members)[0].audio_sample_rate

    @property
    def members(self) -> list[EncoderSet]:
        return self._members

    @property
    def fingerprint(self) -> str:
        return "+".join(member.fingerprint for member in self._members)

    def warm(self) -> None:
        for member in self._members:
            member.warm()

    @property
    def query_fingerprint(self) -> str:
        return "+".join(m.query_fingerprint for m in self._members if m.query_fingerprint)

    @cached_property
    def transcriber(self) -> Transcriber | None:
        return next((m.transcriber for m in self._members if m.transcriber), None)

    @cached_property
    def reader(self) -> TextReader | None:
        return next((m.reader for m in self._members if m.reader), None)

    @property
    def transcriber_id(self) -> str | None:  # type: ignore[override]
        return self.transcriber.transcriber_id if self.transcriber else None

    @property
    def reader_id(self) -> str | None:  # type: ignore[override]
        return self.reader.reader_id if self.reader else None

    def transcribe(self, waves: list[np.ndarray]) -> list[str]:
        if self.transcriber is None:
            raise EncoderError(f"no model of {self.name} transcribes speech")
        return self.transcriber.transcribe(waves)

    def read_text(self, images: list[Any]) -> list[str]:
        if self.reader is None:
            raise EncoderError(f"no model of {self.name} reads text in images")
        return self.reader.read_text(images)

    def offer_cache_dir(self, cache_dir: Path) -> None:
        for member in self._members:
            member.offer_cache_dir(cache_dir)

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        return self._merged(modality, inputs, query=False)

    def encode_query(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        return self._merged(modality, inputs, query=True)

    def _merged(self, modality: str, inputs: list[Any], query: bool) -> dict[str, np.ndarray]:
        merged: dict[str, np.ndarray] = {}
        for member in self._members:
            if not any(spec.accepts(modality) for spec in member.spaces.values()):
                continue
            values = inputs
            if modality == "audio" and member.audio_sample_rate != self.audio_sample_rate:
                import librosa

                values = [
                    librosa.resample(
                        wave, orig_sr=self.audio_sample_rate, target_sr=member.audio_sample_rate
                    )
                    for wave in inputs
                ]
            encode = member.encode_query if query else member.encode
            merged.update(encode(modality, values))
        return merged
