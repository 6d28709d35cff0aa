"""Recommendations from what a person liked, disliked, saw and described.

- Several interest centres, not one mean: every liked or seen item (and every --prefer text)
  queries each of its spaces on its own. Each candidate's standardised similarity to each seed is
  combined by attention over the seeds (fusion.attention_scores), so a candidate very close to one
  liked photo is not averaged away by the other, unrelated likes (a mean of a cat photo and a rocket
  is neither). History is weighted by recency.
- Dislikes and --avoid texts subtract: a candidate loses its standardised similarity to them where
  that similarity is above the candidates' mean. Near-copies of liked, disliked or seen items are
  never returned, nor are those items themselves.
- Diversity: maximal marginal relevance (`diversity` 0..1) over the candidates' vectors.
- Explanations: each result names the seed that contributed most (`because`).
- Cross-modal: seeds reach every space that holds them, so liked photos find captions through the
  shared semantic space, and liked sounds find sounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Item
from .errors import UserError
from .filters import parse_date
from .fusion import attention_weights, mmr
from .query import MAX_K, Hit, Query, QueryPart, resolve_types
from .search import SearchEngine

HISTORY_HALF_LIFE = 10  # the 10th most recent history item counts half as much as the newest
HISTORY_HALF_LIFE_DAYS = 30.0  # with timestamps: a month-old item counts half
NEAR_DUPLICATE = 0.985
SEED_TEMPERATURE = 0.5  # in standard deviations, as for fused queries
NEGATIVE_WEIGHT = 1.0
CANDIDATES_PER_K = 3
MIN_CANDIDATES = 30
# MMR trade-off by default: on sample_data's groups 0.3 kept the leave-one-out hit rate and lowered
# intra-list similarity; 0.5 and above cost hits (bench/RESULTS.md).
DEFAULT_DIVERSITY = 0.3


@dataclass(frozen=True)
class Seed:
    kind: str  # like | history | prefer | dislike | avoid
    label: str  # what `because` shows: a path, or 'prefer: TEXT'
    weight: float  # > 0 attracts, < 0 repels
    vectors: dict[str, np.ndarray]  # space -> unit vector
    item: Item | None = None


def read_history(path: Path) -> list[tuple[str, float | None]]:
    """(path, timestamp or None) per line, most recent last; blank lines and '#' comments are
    ignored. A line may carry a tab-separated time after the path: ISO 8601 (2024-06-01 or
    2024-06-01T18:30) or Unix seconds."""
    from .fsutil import read_input_text

    lines = read_input_text(path, "history file").splitlines()
    entries: list[tuple[str, float | None]] = []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        entry = fields[0].strip()
        if not entry or entry.startswith("#"):
            continue
        stamp = fields[1].strip() if len(fields) > 1 else ""
        entries.append((entry, _timestamp(stamp, f"{path}:{number}") if stamp else None))
    return entries


def _timestamp(raw: str, where: str) -> float:
    """Unix seconds, or an ISO 8601 time (the same parser as --after/--before)."""
    try:
        return float(raw)
    except ValueError:
        return parse_date(raw, where)


def history_weights(entries: list[tuple[str, float | None]]) -> list[float]:
    """Recency weights: by timestamp when an entry has one (HISTORY_HALF_LIFE_DAYS), else by
    position from the newest (HISTORY_HALF_LIFE entries)."""
    stamps = [stamp for _, stamp in entries if stamp is not None]
    newest = max(stamps) if stamps else None
    weights = []
    for position, (_, stamp) in enumerate(entries):
        if stamp is not None and newest is not None:
            age_days = max(0.0, newest - stamp) / 86400
            weights.append(0.5 ** (age_days / HISTORY_HALF_LIFE_DAYS))
        else:
            weights.append(0.5 ** ((len(entries) - 1 - position) / HISTORY_HALF_LIFE))
    return weights


def _resolve(engine: SearchEngine, raw: str) -> Item | None:
    path = str(Path(raw).expanduser().resolve())
    return engine.item(path)


def _item_seed(engine: SearchEngine, kind: str, item: Item, weight: float) -> Seed:
    vectors = {
        space: vector
        for space in engine.encoder.spaces
        if (vector := engine.space(space).vectors_of([item]).get(item.id)) is not None
    }
    return Seed(kind, item.path, weight, vectors, item)


def _text_seed(engine: SearchEngine, kind: str, text: str, weight: float) -> Seed:
    vectors = engine.parts.embed(QueryPart("text", text))
    return Seed(kind, f"{kind}: {text}", weight, vectors, None)


def recommend(
    engine: SearchEngine,
    likes: list[str],
    history: list[str] | list[tuple[str, float | None]] | None = None,
    prefer: list[str] | None = None,
    type: str | None = None,
    k: int = 10,
    dislikes: list[str] | None = None,
    avoid: list[str] | None = None,
    diversity: float = DEFAULT_DIVERSITY,
) -> tuple[list[Hit], dict[str, Any]]:
    """(hits, profile description). UserError when nothing usable describes the taste."""
    engine.ensure_searchable()
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise UserError(f"-k must be a whole number from 1 to {MAX_K:,}")  # as for search
    if not 0.0 <= diversity <= 1.0:
        raise UserError("--diversity must be between 0 and 1")
    entries = [(h, None) if isinstance(h, str) else h for h in history or []]
    prefer = [text for text in prefer or [] if text.strip()]
    avoid = [text for text in avoid or [] if text.strip()]
    positives, unknown = _positive_seeds(engine, likes, entries, prefer)
    negatives = _negative_seeds(engine, dislikes or [], avoid)
    positives = [seed for seed in positives if seed.vectors]
    if not positives:
        raise UserError("nothing to recommend from: give --like, --history or --prefer")

    types = resolve_types(type or "all", [])
    given = {seed.item.path for seed in positives + negatives if seed.item is not None}
    hits = _candidates(engine, positives, types, k, given)
    spaces = sorted({space for seed in positives + negatives for space in seed.vectors})
    vectors = {space: engine.space(space).vectors_of(hit.item for hit in hits) for space in spaces}
    hits = [hit for hit in hits if not _near_copy(engine, hit.item, positives + negatives, vectors)]
    if not hits:
        return [], _profile(positives, negatives, entries, unknown, prefer, avoid, diversity)

    attract = _standardised(hits, positives, vectors)  # (candidates, positive seeds)
    weights = np.array([seed.weight for seed in positives])
    attention = attention_weights(attract, weights, SEED_TEMPERATURE)
    contribution = attention * np.nan_to_num(attract)
    scores = contribution.sum(axis=1)
    if negatives:
        repel = np.nan_to_num(_standardised(hits, negatives, vectors), nan=0.0)
        scores -= (np.maximum(repel, 0.0) * -np.array([s.weight for s in negatives])).sum(axis=1)
    for row, hit in enumerate(hits):
        hit.fused = float(scores[row])
        hit.because = positives[int(np.argmax(contribution[row]))].label

    order = sorted(range(len(hits)), key=lambda i: (-scores[i], -hits[i].score, hits[i].item.path))
    if diversity > 0:
        order = _diversify(hits, order, scores, vectors, k, diversity)
    chosen = [hits[i] for i in order[:k]]
    for hit in chosen:
        if hit.item.modality == "video":
            hit.name_passage(_scene(engine, hit, positives))
    return chosen, _profile(positives, negatives, entries, unknown, prefer, avoid, diversity)


def _scene(engine: SearchEngine, hit: Hit, positives: list[Seed]) -> dict[str, Any] | None:
    """The scene of a recommended video closest to the seed it is recommended because of."""
    seed = next((s for s in positives if s.label == hit.because), None)
    if seed is None:
        return None
    source = seed.item.modality if seed.item is not None else "text"
    for space in hit.spaces:
        vector = seed.vectors.get(space)
        if vector is not None:
            part = engine.space(space).best_part(hit.item, vector, source)
            if part is not None:
                return part
    return None


def _positive_seeds(
    engine: SearchEngine,
    likes: list[str],
    entries: list[tuple[str, float | None]],
    prefer: list[str],
) -> tuple[list[Seed], list[str]]:
    """Seeds of what is wanted (likes, history weighted by recency, --prefer texts), and the
    history entries the store does not hold."""
    positives: list[Seed] = []
    unknown: list[str] = []
    for raw in likes:
        item = _resolve(engine, raw)
        if item is None:
            raise UserError(f"--like {raw} is not an indexed item of this store")
        positives.append(_item_seed(engine, "like", item, 1.0))
    for (raw, _), weight in zip(entries, history_weights(entries), strict=True):
        item = _resolve(engine, raw)
        if item is None:
            unknown.append(raw)
            continue
        positives.append(_item_seed(engine, "history", item, weight))
    positives += [_text_seed(engine, "prefer", text, 1.0) for text in prefer]
    return positives, unknown


def _negative_seeds(engine: SearchEngine, dislikes: list[str], avoid: list[str]) -> list[Seed]:
    """Seeds of what is not wanted: disliked items and --avoid texts, with negative weight."""
    negatives: list[Seed] = []
    for raw in dislikes:
        item = _resolve(engine, raw)
        if item is None:
            raise UserError(f"--dislike {raw} is not an indexed item of this store")
        negatives.append(_item_seed(engine, "dislike", item, -NEGATIVE_WEIGHT))
    negatives += [_text_seed(engine, "avoid", t, -NEGATIVE_WEIGHT) for t in avoid]
    return negatives


def _candidates(
    engine: SearchEngine, seeds: list[Seed], types: tuple[str, ...], k: int, exclude: set[str]
) -> list[Hit]:
    """Everything any positive seed retrieves in any of its spaces, with the best cosine per
    space: CANDIDATES_PER_K x k per space at least (reranking and the near-copy filter need
    room), never fewer than MIN_CANDIDATES (Space.search over-fetches beyond that)."""
    wide = Query(parts=[], types=types, k=max(k * CANDIDATES_PER_K, MIN_CANDIDATES))
    merged: dict[int, Hit] = {}
    for seed in seeds:
        for space, vector in seed.vectors.items():
            source = seed.item.modality if seed.item is not None else "text"
            for found in engine.candidates(space, vector, wide, exclude, source):
                hit = merged.setdefault(found.item.id, Hit(found.item, score=found.cosine))
                hit.scores[space] = max(found.cosine, hit.scores.get(space, -1.0))
                hit.score = max(hit.score, found.cosine)
    return list(merged.values())


def _standardised(
    hits: list[Hit], seeds: list[Seed], vectors: dict[str, dict[int, np.ndarray]]
) -> np.ndarray:
    """(candidates, seeds): each candidate's similarity to each seed, z-scored per (seed, space)
    over the candidates, averaged over the seed's spaces; NaN where no space is shared."""
    out = np.full((len(hits), len(seeds)), np.nan)
    for column, seed in enumerate(seeds):
        total = np.zeros(len(hits))
        count = np.zeros(len(hits))
        for space, seed_vector in seed.vectors.items():
            rows = [r for r, hit in enumerate(hits) if hit.item.id in vectors.get(space, {})]
            if len(rows) < 2:
                continue
            sims = np.array([float(vectors[space][hits[r].item.id] @ seed_vector) for r in rows])
            spread = float(sims.std())
            z = (sims - sims.mean()) / (spread if spread > 1e-6 else 1.0)
            total[rows] += z
            count[rows] += 1
        known = count > 0
        out[known, column] = total[known] / count[known]
    return out


def _diversify(
    hits: list[Hit],
    order: list[int],
    scores: np.ndarray,
    vectors: dict[str, dict[int, np.ndarray]],
    k: int,
    diversity: float,
) -> list[int]:
    """MMR over the best candidates, in the space that holds the most of them (the most specific
    one on ties: visual features say more about how alike two photos look than ConSE does)."""
    pool = order[: max(k * 5, 50)]
    coverage = {
        space: sum(hits[i].item.id in found for i in pool) for space, found in vectors.items()
    }
    space = max(coverage, key=lambda s: (coverage[s], -_breadth(hits, s), s))
    dim = next(iter(vectors[space].values())).shape[0] if vectors[space] else 1
    matrix = np.stack(
        [vectors[space].get(hits[i].item.id, np.zeros(dim, dtype=np.float32)) for i in pool]
    )
    relevance = scores[pool]
    spread = float(relevance.max() - relevance.min())
    relevance = (relevance - relevance.min()) / (spread if spread > 1e-9 else 1.0)
    return [pool[i] for i in mmr(relevance, matrix, k, diversity)]


def _breadth(hits: list[Hit], space: str) -> int:
    return sum(1 for hit in hits if space in hit.scores)


def _content_spaces(engine: SearchEngine, modality: str) -> list[str]:
    """The most specific spaces for a modality (builtin: visual for images, audio for sounds):
    near-copies are about content, and in a shared semantic space two different photos of
    cats are nearly the same vector."""
    accepting = [s for s in engine.encoder.spaces.values() if s.accepts(modality)]
    if not accepting:
        return []
    narrowest = min(len(s.modalities) for s in accepting)
    return [s.name for s in accepting if len(s.modalities) == narrowest]


def _near_copy(
    engine: SearchEngine,
    item: Item,
    seeds: list[Seed],
    vectors: dict[str, dict[int, np.ndarray]],
) -> bool:
    """True when the item is (almost) the same content as a liked, disliked or seen item
    (`vectors`: the candidates' vectors per space, fetched once for all of them)."""
    if not item.content_hash:
        return False
    for seed in seeds:
        if seed.item is None or seed.item.modality != item.modality:
            continue
        if seed.item.content_hash == item.content_hash:
            return True
        for space in _content_spaces(engine, item.modality or ""):
            seed_vector = seed.vectors.get(space)
            vector = vectors.get(space, {}).get(item.id)
            if (
                seed_vector is not None
                and vector is not None
                and float(vector @ seed_vector) >= NEAR_DUPLICATE
            ):
                return True
    return False


def _profile(
    positives: list[Seed],
    negatives: list[Seed],
    history: list[tuple[str, float | None]],
    unknown: list[str],
    prefer: list[str],
    avoid: list[str],
    diversity: float,
) -> dict[str, Any]:
    return {
        "likes": [s.label for s in positives if s.kind == "like"],
        "dislikes": [s.label for s in negatives if s.kind == "dislike"],
        "history_used": len(history) - len(unknown),
        "history_unknown": unknown,
        "prefer": prefer,
        "avoid": avoid,
        "diversity": diversity,
        "interest_centres": len(positives),
    }
