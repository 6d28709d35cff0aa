"""The directions of multilingual-e5-small's space that say which language a text is in.

E5's vectors carry the language of a text as well as its meaning: "кошка" lies nearer other
Russian words than the English prompt "a photo of a tabby cat.", so a Russian query ranks
pictures and English documents below what its English twin reaches. The means of many
languages' texts differ mostly along a few directions; removing those from a query vector
(Language Information Removal, Xie et al. 2022, "Discovering Low-rank Subspaces for
Language-agnostic Multilingual Representations") keeps what it means and drops which language
it is in. Removing them from the query alone is removing them from both sides: for an
orthogonal projection P, ((I-P)q)·d = q·(I-P)d, so stored vectors stay as they are.

The basis is built once, offline, by bench/make_e5_language_subspace.py from CLDR display names
(territories and languages) in many locales, text no eval query is drawn from, and ships as
data/e5_language_subspace.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import l2_normalize

SUBSPACE_FILE = Path(__file__).with_name("data") / "e5_language_subspace.json"


def language_means(
    embed: Callable[[list[str]], np.ndarray], corpus: Mapping[str, list[str]]
) -> tuple[list[str], np.ndarray]:
    """Each language's mean unit vector over its texts: (languages, L x d)."""
    languages = sorted(lang for lang, texts in corpus.items() if texts)
    means = np.stack([l2_normalize(embed(list(corpus[lang]))).mean(axis=0) for lang in languages])
    return languages, means.astype(np.float32)


def subspace(means: np.ndarray, rank: int) -> np.ndarray:
    """The top `rank` right singular vectors of the language means, centred on their average:
    orthonormal rows that span how languages differ, not what they share."""
    centred = np.asarray(means, dtype=np.float64)
    centred = centred - centred.mean(axis=0, keepdims=True)
    rank = max(0, min(rank, min(centred.shape) - 1))  # centred means span at most L-1 directions
    if rank == 0:
        return np.zeros((0, centred.shape[1]), dtype=np.float32)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:rank].astype(np.float32)


def remove(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Unit rows with their components along `basis` (orthonormal rows) taken out."""
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if basis.size == 0:
        return rows
    if basis.shape[1] != rows.shape[1]:
        raise ValueError(f"basis of {basis.shape[1]} dims for {rows.shape[1]}-dim vectors")
    return l2_normalize(rows - (rows @ basis.T) @ basis)


def save(path: Path, basis: np.ndarray, about: dict[str, object]) -> None:
    payload = {**about, "rank": int(basis.shape[0]), "basis": np.round(basis, 6).tolist()}
    path.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def load(path: Path = SUBSPACE_FILE, rank: int | None = None) -> np.ndarray:
    """The shipped basis (its first `rank` rows when given); orthonormal float32 rows."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    basis = np.asarray(payload["basis"], dtype=np.float32)
    if basis.ndim != 2:
        raise ValueError(f"{path.name}: basis is not a matrix")
    return basis[: basis.shape[0] if rank is None else rank]
