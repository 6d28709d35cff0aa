"""Any sentence-transformers model as a text space: `st:NAME_OR_PATH`.

NAME_OR_PATH is a local model folder, or a Hub name already in the Hugging Face cache
("all-mpnet-base-v2" means "sentence-transformers/all-mpnet-base-v2"). Documents longer than
one passage are encoded passage by passage, as in the builtin text space. The space name carries
the folder's name and a fingerprint of its weights and configs (`st-all-mpnet-base-v2-1a2b3c4d`).
Reading the dimension and the fingerprint never imports torch; the model loads on first encode.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError, UserError
from .base import DocumentVectors, EncoderSet, SpaceSpec, l2_normalize
from .passages import documents_by_passages
from .weights import (
    downloads_allowed,
    first_line,
    folder_sha256,
    hf_cache_dir,
    network_allowed,
    quiet_transformers,
    refuse_changed_weights,
    resolve_device,
    safe_name,
)

PREFIX = "st"
DEFAULT_BATCH = 64


def hub_repo(name: str) -> str:
    return name if "/" in name else f"sentence-transformers/{name}"


def find_folder(argument: str, allow_download: bool = False) -> Path:
    """The model folder: a path, else the cached snapshot of a Hub name (else download if the
    user allowed it, else a one-line error naming the folder expected)."""
    path = Path(argument).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists() or argument.startswith((".", "/", "~")):
        raise UserError(f"st:{argument}: {path} is not a model folder")
    from huggingface_hub import snapshot_download

    repo = hub_repo(argument)
    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except Exception as exc:
        if not downloads_allowed(allow_download):
            folder = hf_cache_dir() / f"models--{repo.replace('/', '--')}"
            raise EncoderError(
                f"no weights for st:{argument}: expected {folder} (Hugging Face cache) or a model "
                f"folder path; on a connected machine run `crossmodal models download "
                f"st:{argument}` (offline by default: nothing is downloaded)"
            ) from exc
    return download(argument)


def download(argument: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        with network_allowed():
            return Path(snapshot_download(hub_repo(argument)))
    except Exception as exc:
        raise EncoderError(f"download of st:{argument} failed: {first_line(exc)}") from exc


def folder_dimension(folder: Path) -> int:
    """The output size, from the folder's files: the last Dense layer's out_features, else the
    pooling layer's word_embedding_dimension, else the transformer's hidden_size."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError):
        modules = []
    dim = None
    for module in modules:
        config = folder / module.get("path", "") / "config.json"
        kind = module.get("type", "")
        try:
            data = json.loads(config.read_text()) if module.get("path") else {}
        except (OSError, ValueError):
            continue
        if kind.endswith("Dense") and "out_features" in data:
            dim = int(data["out_features"])
        elif kind.endswith("Pooling") and "word_embedding_dimension" in data and dim is None:
            dim = int(data["word_embedding_dimension"])
    if dim is None:
        try:
            dim = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"{folder} is not a sentence-transformers model folder") from exc
    return dim


class SentenceEncoderSet(EncoderSet):
    """A sentence-transformers model: one text space."""

    def __init__(
        self,
        argument: str,
        device: str | None = None,
        batch_size: int | None = None,
        allow_download: bool = False,
        cache_dir: Path | None = None,
        recorded_fingerprint: str | None = None,
    ) -> None:
        if not argument:
            raise UserError("sentence-transformers models are named st:NAME_OR_PATH")
        self.argument = argument
        self.name = f"{PREFIX}:{argument}"
        self.device_wanted = device
        self.batch_size = batch_size or DEFAULT_BATCH
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self._folder: Path | None = None
        self._fingerprint = recorded_fingerprint
        self._checked = False
        self._model: Any = None
        self._dim: int | None = None

    @property
    def folder(self) -> Path:
        if self._folder is None:
            self._folder = find_folder(self.argument, self.allow_download)
        return self._folder

    def weights_present(self) -> tuple[bool, str]:
        try:
            return True, str(self.folder)
        except (UserError, EncoderError) as exc:
            return False, str(exc).split("expected ", 1)[-1].split(";")[0]

    def current_fingerprint(self) -> str:
        weights = folder_sha256(self.folder, self.cache_dir)
        return hashlib.sha256(f"st|{weights}".encode()).hexdigest()[:16]

    def pin_fingerprint(self, fingerprint: str) -> None:
        if self._fingerprint is None:
            self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self.current_fingerprint()
        return f"{self.name}/{self._fingerprint}"

    @property
    def space_name(self) -> str:
        self.fingerprint  # noqa: B018 - computes it when it was not recorded
        path = Path(self.argument.rstrip("/"))
        label = path.name or self.argument
        if label.lower() in ("model", "models", "snapshot") and path.parent.name:
            label = f"{path.parent.name}-{label}"  # e.g. a package's bundled model folder
        return f"st-{safe_name(label)}-{self._fingerprint[:8]}"  # type: ignore[index]

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = folder_dimension(self.folder)
        return self._dim

    @property
    def spaces(self) -> dict[str, SpaceSpec]:
        name = self.space_name
        return {name: SpaceSpec(name, self.dim, frozenset({"text"}))}

    def load(self) -> None:
        """Load now (adding a model checks it loads before the store records it)."""
        self._load()

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        folder = self.folder
        if self._fingerprint is not None and not self._checked:
            refuse_changed_weights(self.name, self._fingerprint, self.current_fingerprint())
        self._checked = True
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(f"sentence-transformers is unavailable: {exc}") from exc
        quiet_transformers()
        torch.set_num_threads(os.cpu_count() or 1)
        device = resolve_device(self.device_wanted)
        try:
            model = SentenceTransformer(str(folder), device=device)
        except Exception as exc:
            raise EncoderError(
                f"cannot load {self.name} from {folder}: {first_line(exc)[:300]}"
            ) from exc
        if device == "cuda":
            model = model.half()
        self._model = model
        return model

    def _encode_sentences(self, sentences: list[str]) -> np.ndarray:
        vectors = self._load().encode(
            sentences,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalize(np.asarray(vectors, dtype=np.float32))

    def encode_documents(self, texts: list[str]) -> DocumentVectors:
        return documents_by_passages(texts, self._encode_sentences, self.space_name)

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        if modality != "text" or not inputs:
            return {}
        return {self.space_name: self._encode_sentences(list(inputs))}
