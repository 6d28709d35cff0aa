"""The Encoder protocol: an encoder set maps modalities into named spaces.

A space is a vector space with a name, a dimension and the modalities it accepts. Vectors are
float32 and L2-normalised, so inner product is cosine similarity everywhere in the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class SpaceSpec:
    name: str
    dim: int
    modalities: frozenset[str]

    def accepts(self, modality: str) -> bool:
        return modality in self.modalities


@runtime_checkable
class EncoderSet(Protocol):
    """What the pipeline and the query engine need from a set of encoders.

    `encode(modality, inputs)` embeds decoded inputs (str for text, RGB PIL images, mono float32
    waveforms at `audio_sample_rate`) into every space that accepts that modality, returning
    {space name: (n, dim) float32 array of unit vectors}.

    Optional: `transcriber_id` (str, or None when unavailable) and `transcribe(waves) -> [str]`
    give audio items a transcript, stored in the catalog and added to their text side;
    `reader_id` and `read_text(images) -> [str]` do the same for words in images (store option ocr).
    """

    name: str
    spaces: dict[str, SpaceSpec]
    audio_sample_rate: int

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]: ...


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Unit rows; an all-zero row stays zero instead of becoming NaN."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
