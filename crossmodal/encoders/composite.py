"""Several encoder sets behind one face: how a store with builtin and open_clip (say) is searched.

Spaces are the union of the members' (names must not clash); `encode` asks each member that has
a space for the modality, so a member's model loads only when one of its spaces is used. Words
read from media (speech, text in images) come from the first member that can read them. The
pipeline embeds member by member (`members`), so adding a model never re-encodes the others.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EncoderError
from .base import EncoderSet, SpaceSpec


class CompositeEncoderSet:
    def __init__(self, members: list[EncoderSet]) -> None:
        if not members:
            raise EncoderError("no encoder sets to combine")
        self.members = members
        self.name = "+".join(member.name for member in members)
        self.spaces: dict[str, SpaceSpec] = {}
        for member in members:
            for space, spec in member.spaces.items():
                if space in self.spaces:
                    raise EncoderError(f"two models of this store both make space '{space}'")
                self.spaces[space] = spec
        with_audio = [m for m in members if any(s.accepts("audio") for s in m.spaces.values())]
        self.audio_sample_rate = (with_audio or members)[0].audio_sample_rate

    @property
    def fingerprint(self) -> str:
        return "+".join(getattr(m, "fingerprint", None) or m.name for m in self.members)

    def _reader(self, attribute: str) -> Any:
        for member in self.members:
            if getattr(member, attribute, None):
                return member
        return None

    @property
    def transcriber_id(self) -> str | None:
        member = self._reader("transcriber_id")
        return member.transcriber_id if member is not None else None  # type: ignore[attr-defined]

    @property
    def reader_id(self) -> str | None:
        member = self._reader("reader_id")
        return member.reader_id if member is not None else None  # type: ignore[attr-defined]

    def transcribe(self, waves: list[np.ndarray]) -> list[str]:
        return self._reader("transcriber_id").transcribe(waves)  # type: ignore[union-attr]

    def read_text(self, images: list[Any]) -> list[str]:
        return self._reader("reader_id").read_text(images)  # type: ignore[union-attr]

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        merged: dict[str, np.ndarray] = {}
        for member in self.members:
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
            merged.update(member.encode(modality, values))
        return merged
