"""The encoder contract: an encoder set maps modalities into named spaces.

A space is a vector space with a name, a dimension and the modalities it accepts. Vectors are
float32 and L2-normalised, so inner product is cosine similarity everywhere in the code.

`EncoderSet` is a base class with a default for everything optional, so callers never probe an
encoder with getattr: every loaded set (builtin, openclip, st, a composite, or a plug-in wrapped
by `plugin.as_encoder_set`) has the whole interface. What a set can do beyond `encode` comes from
three small capability protocols, found once per instance: `transcriber`, `reader`, `documents`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

# What librosa decodes to by default, and what builtin's audio features are computed at.
DEFAULT_AUDIO_SAMPLE_RATE = 22050

Span = tuple[int, int, str]
DocumentVectors = tuple[dict[str, np.ndarray], list[list[Span]], dict[str, list[np.ndarray]]]
"""({space: (n, dim) document vectors}, per document its passages' (start, end, text) spans
(empty for a one-passage document), {space: per document its (passages, dim) vectors})."""


@dataclass(frozen=True)
class SpaceSpec:
    name: str
    dim: int
    modalities: frozenset[str]

    def accepts(self, modality: str) -> bool:
        """A video is pictures and sound: every space that takes either holds its vectors."""
        if modality == "video":
            return bool(self.modalities & {"image", "audio"})
        return modality in self.modalities


@runtime_checkable
class Transcriber(Protocol):
    """Writes what is said in audio clips (waves at the set's audio_sample_rate); the transcript
    is stored in the catalog under `transcriber_id` and joins the clip's text side."""

    transcriber_id: str

    def transcribe(self, waves: list[np.ndarray]) -> list[str]: ...


@runtime_checkable
class TextReader(Protocol):
    """Reads the words in pictures (store option ocr), recorded under `reader_id`."""

    reader_id: str

    def read_text(self, images: list[Any]) -> list[str]: ...


@runtime_checkable
class DocumentEncoder(Protocol):
    """Encodes long texts passage by passage, so search can score a document by its best
    passage and say which one it was."""

    def encode_documents(self, texts: list[str]) -> DocumentVectors: ...


class EncoderSet(ABC):
    """What the pipeline and the query engine need from a set of encoders.

    `encode(modality, inputs)` embeds decoded inputs (str for text, RGB PIL images, mono float32
    waveforms at `audio_sample_rate`) into every space that accepts that modality, returning
    {space name: (n, dim) float32 array of unit vectors}. Everything else has a default here;
    a subclass overrides what it has (weights files, a fingerprint, speech, OCR, passages).
    """

    name: str
    spaces: dict[str, SpaceSpec]
    audio_sample_rate: int = DEFAULT_AUDIO_SAMPLE_RATE
    batch_size: int | None = None  # None: the pipeline's per-modality default
    transcriber_id: str | None = None  # set with `transcribe`: see Transcriber
    reader_id: str | None = None  # set with `read_text`: see TextReader
    checkpoint: Path | None = None  # a weights file the store records (openclip)
    config_file: Path | None = None  # an architecture config the store records (openclip)
    cache_dir: Path | None = None  # where derived files (hashes, class matrices) may be cached

    @abstractmethod
    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]: ...

    def encode_query(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        """A search query's vectors. Models trained with asymmetric prefixes (E5's "query: "
        against "passage: ") embed a query unlike the stored texts; the default is `encode`."""
        return self.encode(modality, inputs)

    @property
    def fingerprint(self) -> str:
        """What its vectors depend on: query caches and stores key on it."""
        return self.name

    @property
    def query_fingerprint(self) -> str:
        """What a query's vectors depend on beyond `fingerprint` (a query-side projection): the
        query cache keys on it too. Empty when queries are encoded as stored texts are."""
        return ""

    @property
    def members(self) -> list[EncoderSet]:
        """The models behind this set, embedded one by one (a composite has several)."""
        return [self]

    def prepare(self, modality: str, value: Any) -> Any:
        """One decoded input made ready for `encode`, in a decode worker while the model runs
        (builtin resizes and normalises a picture there); the default keeps it as decoded.
        Called from several decode threads at once: it must not change shared state."""
        return value

    # -- capabilities, found once per instance ---------------------------------------------
    def _capable(self) -> Any:
        """The object whose capabilities count (a wrapper points at what it wraps)."""
        return self

    @cached_property
    def transcriber(self) -> Transcriber | None:
        """What transcribes speech, or None (no transcriber, or its weights are not here)."""
        found = self._capable()
        return found if isinstance(found, Transcriber) and found.transcriber_id else None

    @cached_property
    def reader(self) -> TextReader | None:
        """What reads words in pictures, or None (no reader, or its weights are not here)."""
        found = self._capable()
        return found if isinstance(found, TextReader) and found.reader_id else None

    @cached_property
    def documents(self) -> DocumentEncoder | None:
        """What encodes documents passage by passage, or None (`encode` embeds them whole)."""
        found = self._capable()
        return found if isinstance(found, DocumentEncoder) else None

    # -- weights: defaults for sets without files a user can swap --------------------------
    def load(self) -> None:  # noqa: B027 - an optional hook with a default
        """Load the weights now (adding a model checks they load before the store records it);
        sets that load on first encode, or have nothing to load, do nothing."""

    def warm(self) -> None:  # noqa: B027 - an optional hook with a default
        """Load what queries need, now: a long-running server's first queries then pay no model
        load, and a set with a faster route for a process that stays (builtin's ONNX MiniLM,
        3.7 ms a query against the numpy one's 9.9 ms) takes it. Failures are left to the first
        query, which reports them."""

    def weights_path(self) -> Path | None:
        """The weights file (raising a one-line error when it is missing); None: no file."""
        return None

    def weights_present(self) -> tuple[bool, str]:
        """Whether the weights are on this machine, and where they are or are expected."""
        return True, ""

    def current_fingerprint(self) -> str | None:
        """The fingerprint of the weights on disk now, which a store records and compares
        when the model is added again; None: the set tracks no weights files itself."""
        return None

    def declared_fingerprint(self) -> str | None:
        """A fingerprint the set declares without tracking files (a plug-in's `fingerprint`):
        the store records it for sets it does not know by name. None when only the default."""
        overridden = type(self).fingerprint is not EncoderSet.fingerprint
        return self.fingerprint if overridden else None

    def pin_fingerprint(self, fingerprint: str) -> None:  # noqa: B027 - optional hook
        """Take the fingerprint a store recorded, so loading refuses weights that changed since;
        sets whose vectors depend on no weights file ignore it."""

    def offer_cache_dir(self, cache_dir: Path) -> None:
        """The store's cache folder, for a set built without one (the registry builds sets once
        per process, before a store is known)."""
        if self.cache_dir is None:
            self.cache_dir = cache_dir


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Unit rows; an all-zero row stays zero instead of becoming NaN."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
