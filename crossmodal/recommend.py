"""Recommendations from what a person liked or saw.

The profile keeps several interest centres: every liked or seen item queries each of its spaces on
its own, and the ranked lists are merged by weighted reciprocal-rank fusion. A mean vector would
average a cat photo and a rocket into something that is neither. History is weighted by recency.
Already liked or seen items, and near-copies of them, are never returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Item
from .errors import UserError
from .query import RRF_K, Hit, Query, QueryPart, SearchEngine, resolve_types

HISTORY_HALF_LIFE = 10  # the 10th most recent history item counts half as much as the newest
NEAR_DUPLICATE = 0.985


@dataclass(frozen=True)
class Seed:
    item: Item
    weight: float


def read_history(path: Path) -> list[str]:
    """One path per line, most recent last; blank lines and '#' comments are ignored.
    A line may carry a tab-separated timestamp after the path, which is ignored here."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise UserError(f"history file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read history file {path}: {exc}") from exc
    entries = []
    for line in lines:
        line = line.split("\t")[0].strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return entries


def _resolve(engine: SearchEngine, raw: str) -> Item | None:
    path = str(Path(raw).expanduser().resolve())
    item = engine.catalog.item_by_path(path)
    return item if item is not None and item.status == "ok" else None


def recommend(
    engine: SearchEngine,
    likes: list[str],
    history: list[str] | None = None,
    prefer: list[str] | None = None,
    type: str | None = None,
    k: int = 10,
) -> tuple[list[Hit], dict[str, Any]]:
    """(hits, profile description). UserError when nothing usable describes the taste."""
    engine.ensure_searchable()
    history = history or []
    seeds: list[Seed] = []
    unknown: list[str] = []
    for raw in likes:
        item = _resolve(engine, raw)
        if item is None:
            raise UserError(f"--like {raw} is not an indexed item of this store")
        seeds.append(Seed(item, 1.0))
    for age, raw in enumerate(reversed(history)):
        item = _resolve(engine, raw)
        if item is None:
            unknown.append(raw)
            continue
        seeds.append(Seed(item, 0.5 ** (age / HISTORY_HALF_LIFE)))
    prefer = [text for text in prefer or [] if text.strip()]
    if not seeds and not prefer:
        raise UserError("nothing to recommend from: give --like, --history or --prefer")
    types = resolve_types(type or "all", [])

    seen_paths = {seed.item.path for seed in seeds}
    seed_vectors: dict[str, list[np.ndarray]] = {}
    lists: list[tuple[float, str, np.ndarray]] = []
    for seed in seeds:
        for space in engine.encoder.spaces.values():
            key = seed.item.content_hash if space.accepts(seed.item.modality or "") else None
            if space.accepts("text") and seed.item.modality == "audio":
                key = seed.item.text_key
            vector = engine.catalog.vector_for_key(space.name, key) if key else None
            if vector is not None:
                lists.append((seed.weight, space.name, vector))
                seed_vectors.setdefault(space.name, []).append(vector)
    for text in prefer:
        for space, vector in engine.embed_part(QueryPart("text", text)).items():
            lists.append((1.0, space, vector))

    query = Query(parts=[], types=types, k=k)
    merged: dict[int, Hit] = {}
    for weight, space, vector in lists:
        for rank, (item, sim) in enumerate(engine.space_hits(space, vector, query, seen_paths)):
            if _near_copy(engine, item, seed_vectors):
                continue
            hit = merged.setdefault(item.id, Hit(item, score=sim))
            hit.scores[space] = max(sim, hit.scores.get(space, -1.0))
            hit.score = max(hit.score, sim)
            hit.fused += weight / (RRF_K + rank + 1)
    ranked = sorted(merged.values(), key=lambda hit: (-hit.fused, -hit.score, hit.item.path))
    profile = {
        "likes": [seed.item.path for seed in seeds if seed.weight == 1.0 and seed.item.path],
        "history_used": len(history) - len(unknown),
        "history_unknown": unknown,
        "prefer": prefer,
        "interest_lists": len(lists),
    }
    return ranked[:k], profile


def _near_copy(engine: SearchEngine, item: Item, seed_vectors: dict[str, list[np.ndarray]]) -> bool:
    """True when the item is (almost) the same content as something already liked or seen."""
    if not item.content_hash:
        return False
    for space, vectors in seed_vectors.items():
        vector = engine.catalog.vector_for_key(space, item.content_hash)
        if vector is not None and max(float(vector @ seed) for seed in vectors) >= NEAR_DUPLICATE:
            return True
    return False
