"""Where model weights are, what they are (a fingerprint), and which device runs them.

Nothing here imports torch except `resolve_device`, and nothing touches the network: the Hugging
Face cache is read with `try_to_load_from_cache`, which only looks at the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import EncoderError, UserError
from ..fsutil import atomic_write_bytes

DEVICES = ("auto", "cpu", "cuda", "mps")
ALLOW_DOWNLOAD_ENV = "CROSSMODAL_ALLOW_DOWNLOAD"
DEVICE_ENV = "CROSSMODAL_DEVICE"
_HASH_CACHE = "weights-sha256.json"


def first_line(exc: BaseException) -> str:
    """An exception as one line for the user (libraries raise multi-line messages)."""
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


@contextlib.contextmanager
def network_allowed() -> Iterator[None]:
    """Lift HF_HUB_OFFLINE for one download the user asked for, then restore it."""
    from huggingface_hub import constants

    saved = {key: os.environ.pop(key, None) for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    offline, constants.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE, False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = offline
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value


def offline_env() -> None:
    """Nothing here may wait on a network that is not there."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # see crossmodal/__init__.py


def quiet_transformers() -> None:
    """The library never prints: no loading bars or notices from transformers."""
    offline_env()
    with contextlib.suppress(Exception):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()


def refuse_changed_weights(name: str, recorded: str, now: str) -> None:
    """The store's vectors came from other weights than those on disk now: never mix them."""
    if now != recorded:
        raise EncoderError(
            f"the weights of {name} changed since this store was embedded with them "
            f"({recorded[:8]} -> {now[:8]}); run crossmodal embed --model {name} to re-embed "
            "with the new weights"
        )


def safe_name(text: str) -> str:
    """A space or file name from model words: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def downloads_allowed(flag: bool = False) -> bool:
    """Network only when the user asked: --allow-download or CROSSMODAL_ALLOW_DOWNLOAD=1."""
    return flag or os.environ.get(ALLOW_DOWNLOAD_ENV, "").lower() in ("1", "true", "yes")


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache as huggingface_hub resolves it (HF_HUB_CACHE, HF_HOME, ~)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hf_cached_file(repo_id: str, filename: str) -> Path | None:
    """The cached file of a Hub repository, or None: never a network call."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename)
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def hf_blob_sha256(path: Path) -> str | None:
    """A cached Hub file is a link to blobs/<sha256> (for LFS files): its hash for free."""
    name = Path(os.path.realpath(path)).name
    return name if re.fullmatch(r"[0-9a-f]{64}", name) else None


def file_sha256(path: Path, cache_dir: Path | None = None) -> str:
    """SHA-256 of a weights file, remembered in the store's cache by (path, size, mtime), so a
    600 MB checkpoint is read once, not on every search."""
    path = Path(path)
    blob = hf_blob_sha256(path)
    if blob:
        return blob
    try:
        stat = path.stat()
    except OSError as exc:
        raise UserError(f"cannot read weights file {path}: {exc.strerror}") from exc
    identity = f"{os.path.realpath(path)}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = cache_dir / _HASH_CACHE if cache_dir else None
    known: dict[str, str] = {}
    if cache_file is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(cache_file.read_text())
        if isinstance(known, dict) and isinstance(known.get(identity), str):
            return known[identity]
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    except OSError as exc:
        raise UserError(f"cannot read weights file {path}: {exc.strerror}") from exc
    value = digest.hexdigest()
    if cache_file is not None and isinstance(known, dict):
        known[identity] = value
        with contextlib.suppress(OSError):  # a read-only store still works, it just hashes again
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cache_file, json.dumps(known, indent=1).encode())
    return value


def folder_sha256(folder: Path, cache_dir: Path | None = None) -> str:
    """A model folder's fingerprint: the hashes of its weight files and its config files."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix in (".safetensors", ".bin", ".pt", ".pth", ".onnx"):
            if "onnx" in path.parts or "openvino" in path.parts:
                continue  # other runtimes' copies of the same weights
            parts.append(f"{path.relative_to(folder)}={file_sha256(path, cache_dir)}")
        elif path.suffix == ".json":
            parts.append(
                f"{path.relative_to(folder)}={hashlib.sha256(path.read_bytes()).hexdigest()}"
            )
    if not parts:
        raise UserError(f"{folder} holds no model weights (.safetensors, .bin, .pt)")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def resolve_device(device: str | None) -> str:
    """auto: CUDA when present, then Apple's MPS, else the CPU. A device asked for and missing
    is an error, not a silent fallback."""
    wanted = (device or os.environ.get(DEVICE_ENV) or "auto").lower()
    if wanted not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, not '{device}'")
    if wanted == "cpu":
        return "cpu"
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if wanted == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (wanted == "cuda" and not cuda) or (wanted == "mps" and not mps):
        raise EncoderError(f"--device {wanted} asked for, but torch sees no {wanted} device here")
    return wanted
