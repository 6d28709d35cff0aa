"""open_clip models as an encoder set: text and images into one space per (architecture, weights).

Names: `openclip:ARCH/TAG` (weights of a pretrained tag, from the local Hugging Face cache or
open_clip's URL cache) or `openclip:ARCH` with a checkpoint file. A custom architecture comes
from a config JSON (`--model-config FILE`, file name = ARCH, as open_clip's own configs).

The space name carries the model and a fingerprint of its weights
(`openclip-ViT-B-32-laion2b_s34b_b79k-1a2b3c4d`), so other weights never share an index.
Listing models, reading configs and checking for weights never import torch or open_clip
(6 s); the model loads on the first encode.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderError, UserError
from .base import EncoderSet, SpaceSpec, l2_normalize
from .weights import (
    downloads_allowed,
    file_sha256,
    first_line,
    hf_blob_sha256,
    hf_cache_dir,
    hf_cached_file,
    network_allowed,
    refuse_changed_weights,
    resolve_device,
    safe_name,
)

PREFIX = "openclip"
HF_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
DEFAULT_BATCH = 32


def _package_dir() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("open_clip_torch is not installed (pip install open_clip_torch)")
    return Path(next(iter(spec.submodule_search_locations)))


def pretrained_table() -> Any:
    """open_clip's `pretrained` module (the table of tags and where their weights live), loaded
    without running open_clip's __init__ (which imports torch): its relative imports resolve to
    a stand-in package, and its optional safetensors import is made to fail."""
    if "open_clip" in sys.modules:
        return importlib.import_module("open_clip.pretrained")
    name = "_crossmodal_open_clip_meta"
    if f"{name}.pretrained" in sys.modules:
        return sys.modules[f"{name}.pretrained"]
    package = types.ModuleType(name)
    package.__path__ = [str(_package_dir())]
    sys.modules[name] = package
    missing = object()
    saved = sys.modules.get("safetensors.torch", missing)
    sys.modules["safetensors.torch"] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(f"{name}.pretrained")
    finally:
        if saved is missing:
            sys.modules.pop("safetensors.torch", None)
        else:
            sys.modules["safetensors.torch"] = saved  # type: ignore[assignment]


def builtin_configs() -> dict[str, Path]:
    """Architecture name -> open_clip's config JSON."""
    folder = _package_dir() / "model_configs"
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


def known_pretrained() -> list[tuple[str, str]]:
    """Every (architecture, tag) open_clip knows weights for."""
    return list(pretrained_table().list_pretrained())


def parse_argument(argument: str) -> tuple[str, str | None]:
    """'ViT-B-32/laion2b_s34b_b79k' -> (arch, tag); 'ViT-B-32' -> (arch, None)."""
    arch, _, tag = argument.partition("/")
    if not arch:
        raise UserError("openclip models are named openclip:ARCH/TAG or openclip:ARCH")
    return arch, (tag or None)


def expected_weights(arch: str, tag: str) -> tuple[str, list[Path | str]]:
    """(how to describe where the weights go, candidate local files) for a pretrained tag."""
    cfg = pretrained_table().get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = pretrained_table().list_pretrained_tags_by_model(arch)
        known = ", ".join(tags) if tags else "none"
        raise UserError(f"open_clip knows no weights '{tag}' for {arch} (tags for {arch}: {known})")
    hub = cfg.get("hf_hub", "")
    if hub:
        repo, filename = os.path.split(hub)  # open_clip's rule: "org/repo/" = default file
        names = [filename] if filename else list(HF_WEIGHTS)
        if filename.endswith((".bin", ".pth")):
            names.insert(0, filename[:-4] + ".safetensors")
        candidates: list[Path | str] = [f"hf:{repo}/{name}" for name in names]
        folder = hf_cache_dir() / f"models--{repo.replace('/', '--')}" / "snapshots" / "main"
        return f"{folder / names[-1]} (Hugging Face cache of {repo})", candidates
    url = cfg.get("url", "")
    if url:
        target = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        return str(target), [target]
    raise UserError(f"open_clip has no download location for {arch}/{tag}")


def find_weights(arch: str, tag: str) -> Path | None:
    """The local weights file of a pretrained tag, or None; looks only at the disk: the Hub
    cache's current revision, else any snapshot folder holding the file (a file copied there by
    hand has no refs/main)."""
    _, candidates = expected_weights(arch, tag)
    for candidate in candidates:
        if isinstance(candidate, str):
            repo_file = candidate.removeprefix("hf:")
            repo, _, filename = repo_file.rpartition("/")
            found = hf_cached_file(repo, filename)
            if found is None:
                snapshots = hf_cache_dir() / f"models--{repo.replace('/', '--')}" / "snapshots"
                copies = sorted(snapshots.glob(f"*/{filename}")) if snapshots.is_dir() else []
                found = next((copy for copy in copies if copy.is_file()), None)
            if found is not None:
                return found
        elif candidate.is_file():
            return candidate
    return None


def download_weights(arch: str, tag: str) -> Path:
    """Fetch a pretrained tag's weights into the Hugging Face (or open_clip URL) cache; the
    only network call in crossmodal, made only when the user asks."""
    cfg = pretrained_table().get_pretrained_cfg(arch, tag)
    if not cfg:
        expected_weights(arch, tag)  # raises the "unknown tag" error
    try:
        with network_allowed():
            from open_clip.pretrained import download_pretrained

            path = download_pretrained(cfg)
    except Exception as exc:  # network, disk, remote: one line for the user
        raise EncoderError(f"download of {arch}/{tag} failed: {first_line(exc)}") from exc
    if not path or not Path(path).is_file():
        raise EncoderError(f"download of {arch}/{tag} gave no file")
    return Path(path)


def download_hub_part(repo: str) -> Path:
    """Fetch a tokenizer or text-model config repository (only when the user asked)."""
    from huggingface_hub import snapshot_download

    try:
        with network_allowed():
            # the configuration and tokenizer files, not another copy of the weights
            patterns = ["*.json", "*.txt", "*.model", "*.spm"]
            return Path(snapshot_download(repo, allow_patterns=patterns))
    except Exception as exc:
        raise EncoderError(f"download of {repo} failed: {first_line(exc)}") from exc


def read_config(arch: str, config_file: Path | None) -> dict[str, Any]:
    if config_file is not None:
        path = Path(config_file)
        if path.stem != arch:
            raise UserError(
                f"model config {path} defines '{path.stem}' (its file name), not '{arch}'"
            )
        if arch in builtin_configs():
            raise UserError(
                f"model config {path} would replace open_clip's own '{arch}'; give the file "
                "another name (the name is the architecture's)"
            )
    else:
        path = builtin_configs().get(arch)  # type: ignore[assignment]
        if path is None:
            raise UserError(
                f"open_clip has no architecture '{arch}' (see crossmodal models --all, or give "
                "its config with --model-config FILE.json)"
            )
    try:
        config = json.loads(Path(path).read_text())
        int(config["embed_dim"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not an open_clip model config ({exc})") from exc
    return config


def _why(exc: Exception) -> str:
    """One line on why a weights file did not load, without PyTorch's advice to unpickle
    unsafely (weights_only=False would run code from the file)."""
    text = str(exc)
    if "size mismatch" in text or "Missing key" in text or "Unexpected key" in text:
        return "its tensors do not fit this architecture (wrong ARCH or --model-config?)"
    return (
        "not a PyTorch or safetensors state dict that loads safely (crossmodal loads with "
        f"weights_only=True and never runs code from a file; {type(exc).__name__})"
    )


class OpenClipEncoderSet(EncoderSet):
    """One open_clip model: text and image into one space. Built from a record without touching
    the weights; the model loads (and its fingerprint is checked) on first encode."""

    def __init__(
        self,
        argument: str,
        checkpoint: Path | None = None,
        config_file: Path | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        allow_download: bool = False,
        cache_dir: Path | None = None,
        recorded_fingerprint: str | None = None,
    ) -> None:
        self.arch, self.tag = parse_argument(argument)
        if self.tag is None and checkpoint is None:
            raise UserError(
                f"openclip:{self.arch} needs weights: name a tag (openclip:{self.arch}/TAG) "
                "or give --checkpoint FILE"
            )
        self.name = f"{PREFIX}:{argument}"
        self.checkpoint = Path(checkpoint).expanduser().resolve() if checkpoint else None
        self.config_file = Path(config_file).expanduser().resolve() if config_file else None
        self.config = read_config(self.arch, self.config_file)
        self.dim = int(self.config["embed_dim"])
        self.device_wanted = device
        self.batch_size = batch_size or DEFAULT_BATCH
        self.allow_download = downloads_allowed(allow_download)
        self.cache_dir = cache_dir
        self._fingerprint = recorded_fingerprint
        self._checked = False
        self._model: Any = None
        self._preprocess: Any = None
        self._tokenizer: Any = None
        self.device = "cpu"
        self.half = False  # fp16 weights and autocast: on CUDA (tests may force it)

    # -- weights -------------------------------------------------------------------------
    def weights_path(self) -> Path:
        """The weights file, or a one-line error naming the file and where to put it."""
        if self.checkpoint is not None:
            if not self.checkpoint.is_file():
                raise UserError(f"checkpoint {self.checkpoint} does not exist")
            return self.checkpoint
        assert self.tag is not None
        found = find_weights(self.arch, self.tag)
        if found is not None:
            return found
        if self.allow_download:
            return download_weights(self.arch, self.tag)
        where, _ = expected_weights(self.arch, self.tag)
        raise EncoderError(
            f"no weights for {self.name}: expected {where}; on a connected machine run "
            f"`crossmodal models download {self.name}`, or copy the file here and pass "
            f"--checkpoint FILE (offline by default: nothing is downloaded)"
        )

    def weights_present(self) -> tuple[bool, str]:
        try:
            return True, str(self.weights_path())
        except (UserError, EncoderError):
            if self.checkpoint is not None:
                return False, str(self.checkpoint)
            where, _ = expected_weights(self.arch, self.tag or "")
            return False, where

    def current_fingerprint(self) -> str:
        """What the vectors depend on: the architecture's config and the weights' SHA-256."""
        path = self.weights_path()
        weights = hf_blob_sha256(path) or file_sha256(path, self.cache_dir)
        config = json.dumps(self.config, sort_keys=True)
        gelu = "quick_gelu" if self.quick_gelu else "gelu"
        return hashlib.sha256(f"{self.arch}|{config}|{gelu}|{weights}".encode()).hexdigest()[:16]

    @property
    def quick_gelu(self) -> bool:
        """OpenAI's weights were trained with QuickGELU: their tags say so, and open_clip only
        applies it when asked (force_quick_gelu), else the vectors are silently off."""
        if self.tag is None:
            return bool(self.config.get("quick_gelu", False))
        return bool(pretrained_table().get_pretrained_cfg(self.arch, self.tag).get("quick_gelu"))

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
        label = self.tag or "checkpoint"
        return f"openclip-{safe_name(self.arch)}-{safe_name(label)}-{self._fingerprint[:8]}"  # type: ignore[index]

    @property
    def spaces(self) -> dict[str, SpaceSpec]:
        name = self.space_name
        return {name: SpaceSpec(name, self.dim, frozenset({"text", "image"}))}

    # -- model ---------------------------------------------------------------------------
    def load(self) -> None:
        """Load now (adding a model checks its file loads before the store records it)."""
        self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        path = self.weights_path()
        if self._fingerprint is not None and not self._checked:
            refuse_changed_weights(self.name, self._fingerprint, self.current_fingerprint())
        self._checked = True
        self._require_hub_parts()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise EncoderError(f"open_clip is unavailable: {exc}") from exc
        torch.set_num_threads(os.cpu_count() or 1)
        self.device = resolve_device(self.device_wanted)
        self.half = self.half or self.device == "cuda"
        if self.config_file is not None:
            open_clip.add_model_config(str(self.config_file))
        pretrained = open_clip.get_pretrained_cfg(self.arch, self.tag) if self.tag else {}
        logging.disable(logging.WARNING)  # open_clip logs to the root logger; the library is quiet
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.arch,
                pretrained=None,
                precision="fp16" if self.half else "fp32",
                force_quick_gelu=self.quick_gelu,
                device=self.device,
                image_mean=pretrained.get("mean"),
                image_std=pretrained.get("std"),
                image_interpolation=pretrained.get("interpolation"),
                image_resize_mode=pretrained.get("resize_mode"),
                pretrained_text=False,
            )
            self._tokenizer = open_clip.get_tokenizer(self.arch)
        except Exception as exc:
            logging.disable(logging.NOTSET)
            raise EncoderError(f"cannot build {self.name}: {first_line(exc)[:300]}") from exc
        try:
            open_clip.load_checkpoint(model, str(path), strict=True, weights_only=True)
        except Exception as exc:  # a foreign, damaged or unsafe file
            raise EncoderError(f"cannot load {self.name} from {path}: {_why(exc)}") from exc
        finally:
            logging.disable(logging.NOTSET)
        model.eval()
        self._model, self._preprocess = model, preprocess

    def hub_parts(self) -> list[str]:
        """Hub repositories the architecture needs besides its weights: a Hugging Face text
        tower's config and a Hugging Face tokenizer (SigLIP, XLM-R models)."""
        text = self.config.get("text_cfg", {})
        names = [text.get("hf_model_name"), text.get("hf_tokenizer_name")]
        return sorted({name for name in names if name})

    def _require_hub_parts(self) -> None:
        """Each of them in the local cache (or fetched when downloads are allowed), else one
        line naming it, instead of transformers' "couldn't connect" from deep inside."""
        from huggingface_hub import snapshot_download

        for repo in self.hub_parts():
            try:
                snapshot_download(repo, local_files_only=True)
            except Exception:
                if self.allow_download:
                    download_hub_part(repo)
                    continue
                folder = hf_cache_dir() / f"models--{repo.replace('/', '--')}"
                raise EncoderError(
                    f"{self.name} needs the Hugging Face files of {repo} (tokenizer or text "
                    f"model config), expected in {folder}; on a connected machine run "
                    f"`crossmodal models download {self.name}`"
                ) from None

    def _encode_batches(self, inputs: list[Any], encode_one_batch: Any) -> np.ndarray:
        rows = [
            encode_one_batch(inputs[start : start + self.batch_size])
            for start in range(0, len(inputs), self.batch_size)
        ]
        return l2_normalize(np.concatenate(rows, axis=0))

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        if not inputs:
            return {}
        if modality not in ("text", "image"):
            return {}
        self._load()
        import torch

        model, device = self._model, self.device
        # fp16 weights leave some parameters (positional embeddings) in fp32; autocast gives each
        # op the dtype its weights need instead of one dtype for all inputs.
        autocast = torch.autocast(device_type=device, dtype=torch.float16, enabled=self.half)

        def texts(batch: list[str]) -> np.ndarray:
            tokens = self._tokenizer(batch).to(device)
            with torch.inference_mode(), autocast:
                return model.encode_text(tokens).float().cpu().numpy()

        def images(batch: list[Any]) -> np.ndarray:
            pixels = torch.stack([self._preprocess(image) for image in batch]).to(device)
            with torch.inference_mode(), autocast:
                return model.encode_image(pixels).float().cpu().numpy()

        matrix = self._encode_batches(inputs, texts if modality == "text" else images)
        return {self.space_name: matrix}
