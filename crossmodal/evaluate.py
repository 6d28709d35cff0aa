"""Retrieval quality on labelled queries: Recall@k and MRR per query kind, beside chance.

A queries file has one JSON object per line:
    {"id": "...", "kind": "text->image", "query": "text" | {"text", "image", "audio", "not"},
     "type": "image", "relevant": ["path", ...]}
Paths are relative to the queries file's folder unless absolute. A relevant video scene is an
object {"path", "start", "end"} (seconds): a result counts when it is that video and the scene it
names overlaps that span. Chance then counts every scene of the pool's videos as a candidate.
An optional "filters" object holds search filters ({"lang": "de"}: only German documents are
ranked); chance is still that of the whole pool of the type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import comb, log2
from pathlib import Path
from typing import Any

from . import arguments
from .errors import UserError
from .filters import Filters, parse_filters
from .query import Query, build_query
from .search import SearchEngine

KS = (1, 5, 10)
# Each query asks for this many results (or its whole pool, when smaller), as `search -k 100`
# would. A first relevant hit below rank 100 adds under 0.01 to a query's reciprocal rank and
# Recall@10/nDCG@10 never look that far, but fusion sees as many candidates per list as a search
# for 100 results does, not the whole pool (fused MRR is lower than a whole-pool ranking gives).
# Ranking a 3,400-picture pool whole for each of 2,700 queries took over 20 minutes.
DEPTH = 100


@dataclass(frozen=True)
class LabelledQuery:
    id: str
    kind: str
    text: str | None
    image: str | None
    audio: str | None
    type: str
    relevant: frozenset[str]
    negative: str | None = None  # text to steer away from ("not")
    spans: tuple[tuple[str, float, float], ...] = ()  # relevant scenes of videos, if any
    filters: Filters = Filters()  # e.g. {"lang": "de"}: rank only German documents

    def hit(self, path: str, span: tuple[float, float] | None) -> bool:
        """Whether a result (its path, the time span it names) is relevant."""
        if path not in self.relevant:
            return False
        if not self.spans or not any(p == path for p, _, _ in self.spans):
            return True
        return span is not None and any(
            p == path and span[0] < end and start < span[1] for p, start, end in self.spans
        )

    def to_query(self, k: int, **options: Any) -> Query:
        """The search this labelled query stands for (options: fusion, cutoffs, filters)."""
        return build_query(
            None,
            texts=[self.text] if self.text else None,
            images=[self.image] if self.image else None,
            audios=[self.audio] if self.audio else None,
            negatives=[self.negative] if self.negative else None,
            type=self.type,
            k=k,
            filters=self.filters,
            **options,
        )


def _labelled(raw: Any, number: int, resolve: Any) -> LabelledQuery:
    """One line's labelled query; ValueError (with the field named) for anything malformed."""
    if not isinstance(raw, dict):
        raise ValueError("each line must be a JSON object")
    for field_name in ("query", "type", "relevant"):
        if field_name not in raw:
            raise ValueError(f"no {field_name!r}")
    query = raw["query"]
    parts = {"text": query} if isinstance(query, str) else query
    if not isinstance(parts, dict):
        raise ValueError("'query' must be a text or an object of text, image, audio, not")
    for name in ("text", "image", "audio", "not"):
        if parts.get(name) is not None and not isinstance(parts[name], str):
            raise ValueError(f"query {name!r} must be a string")
    relevant = raw["relevant"]
    if not isinstance(relevant, list) or not relevant:
        raise ValueError("'relevant' must be a non-empty list of paths")
    spans = []
    for entry in relevant:
        if isinstance(entry, dict):
            start, end = entry.get("start"), entry.get("end")
            if not (
                isinstance(entry.get("path"), str)
                and all(
                    isinstance(t, (int, float)) and not isinstance(t, bool) for t in (start, end)
                )
                and start < end  # type: ignore[operator]
            ):
                raise ValueError("a relevant scene is {'path', 'start', 'end'} with start < end")
            spans.append((resolve(entry["path"]), float(start), float(end)))  # type: ignore[arg-type]
        elif not isinstance(entry, str):
            raise ValueError("'relevant' must be a non-empty list of paths")
    if not isinstance(raw["type"], str):
        raise ValueError("'type' must be a string")
    wanted = raw.get("filters") or {}
    if not isinstance(wanted, dict):
        raise ValueError("'filters' must be an object of search filters (lang, glob, ...)")
    try:
        filters = parse_filters(**arguments.filter_options(wanted))
    except (UserError, TypeError) as exc:
        raise ValueError(f"'filters': {exc}") from exc
    return LabelledQuery(
        id=str(raw.get("id", number)),
        kind=str(raw.get("kind", "all")),
        text=parts.get("text"),
        image=resolve(parts.get("image")),
        audio=resolve(parts.get("audio")),
        type=raw["type"],
        relevant=frozenset(resolve(p if isinstance(p, str) else p["path"]) for p in relevant),
        negative=parts.get("not"),
        spans=tuple(spans),
        filters=filters,
    )


def load_queries(path: Path) -> list[LabelledQuery]:
    base = path.resolve().parent
    resolve = lambda p: str((base / p).resolve()) if p else None  # noqa: E731
    queries = []
    from .fsutil import read_input_text

    lines = read_input_text(path, "queries file").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            queries.append(_labelled(json.loads(line), number, resolve))
        except RecursionError as exc:
            raise UserError(f"{path}:{number}: bad labelled query (nested too deep)") from exc
        except ValueError as exc:
            raise UserError(f"{path}:{number}: bad labelled query ({exc})") from exc
    return queries


def chance_mrr(pool: int, relevant: int, depth: int | None = None) -> float:
    """Expected reciprocal rank of the first relevant item under a uniformly random ranking
    (counting 0 when it lies below `depth`, as the measured MRR does)."""
    if relevant <= 0 or pool <= 0:
        return 0.0
    total = comb(pool, relevant)
    last = pool - relevant + 1 if depth is None else min(pool - relevant + 1, depth)
    return sum(comb(pool - r, relevant - 1) / total / r for r in range(1, last + 1))


def chance_recall(pool: int, relevant: int, k: int) -> float:
    """Expected share of relevant items in a random top k."""
    return min(k, pool) / pool if pool else 0.0


def chance_hit(pool: int, relevant: int, k: int) -> float:
    """Probability that a random top k holds at least one relevant item."""
    if pool <= 0 or relevant <= 0:
        return 0.0
    k = min(k, pool)
    return 1.0 - comb(pool - relevant, k) / comb(pool, k)


def _discount(rank: int) -> float:
    return 1.0 / log2(rank + 1)


def ndcg(ranks: list[int], relevant: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k from the 1-based ranks of the relevant items found."""
    ideal = sum(_discount(r) for r in range(1, min(relevant, k) + 1))
    return sum(_discount(r) for r in ranks if r <= k) / ideal if ideal else 0.0


def chance_ndcg(pool: int, relevant: int, k: int = 10) -> float:
    """Exact expected nDCG@k of a random ranking: each rank is relevant with p = relevant/pool."""
    if pool <= 0 or relevant <= 0:
        return 0.0
    ideal = sum(_discount(r) for r in range(1, min(relevant, k) + 1))
    return relevant / pool * sum(_discount(r) for r in range(1, min(k, pool) + 1)) / ideal


def query_metrics(ranks: list[int], relevant: int, pool: int) -> dict[str, float]:
    """Every metric of one query, and its exact expectation under a random ranking."""
    metrics = {
        "mrr": 1.0 / min(ranks) if ranks else 0.0,
        "chance_mrr": chance_mrr(pool, relevant, DEPTH),
        "ndcg@10": ndcg(ranks, relevant),
        "chance_ndcg@10": chance_ndcg(pool, relevant),
    }
    for k in KS:
        metrics[f"recall@{k}"] = sum(r <= k for r in ranks) / relevant
        metrics[f"chance_recall@{k}"] = chance_recall(pool, relevant, k)
        metrics[f"hit@{k}"] = float(any(r <= k for r in ranks))
        metrics[f"chance_hit@{k}"] = chance_hit(pool, relevant, k)
    return metrics


def evaluate(
    engine: SearchEngine,
    queries: list[LabelledQuery],
    fusion: str | None = None,
    hubness: str | None = None,
) -> dict[str, Any]:
    """Run every query over the whole pool of its target type; aggregate per kind and overall."""
    counts = engine.counts()
    scenes = engine.scene_count() if any(q.spans for q in queries) else 0
    per_query = []
    for labelled in queries:
        query = labelled.to_query(
            max(1, min(DEPTH, counts.get(labelled.type, 1))), fusion=fusion, hubness=hubness
        )
        hits = engine.search(query)
        ranking = [hit.item.path for hit in hits]
        ranks = [rank for rank, hit in enumerate(hits, 1) if labelled.hit(hit.item.path, hit.span)]
        own = sum(1 for p in (labelled.image, labelled.audio) if p)
        pool = counts.get(labelled.type, 0) - (own if labelled.type != "text" else 0)
        if labelled.spans:
            pool = max(scenes, len(labelled.spans))  # every scene is a candidate
        per_query.append(
            {
                "id": labelled.id,
                "kind": labelled.kind,
                "first_relevant_rank": min(ranks) if ranks else None,
                "metrics": query_metrics(ranks, len(labelled.relevant), pool),
                "top": ranking[:3],
            }
        )
    totals: dict[str, dict[str, float]] = {}
    sizes: dict[str, int] = {}
    for row in per_query:
        for name in (row["kind"], "overall"):
            sizes[name] = sizes.get(name, 0) + 1
            bucket = totals.setdefault(name, {})
            for metric, value in row["metrics"].items():
                bucket[metric] = bucket.get(metric, 0.0) + value
    summary = {
        name: {"queries": sizes[name], **{m: round(v / sizes[name], 3) for m, v in bucket.items()}}
        for name, bucket in totals.items()
    }
    for name, row in summary.items():
        rows = [r for r in per_query if name in ("overall", r["kind"])]
        row["ci95"] = {
            metric: [
                round(bound, 3)
                for bound in bootstrap_interval([r["metrics"][metric] for r in rows])
            ]
            for metric in rows[0]["metrics"]
            if not metric.startswith("chance_")
        }
    return {"kinds": summary, "queries": per_query}


BOOTSTRAP_SAMPLES = 2000


def bootstrap_interval(
    values: list[float], samples: int = BOOTSTRAP_SAMPLES, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of per-query values: resample the queries
    with replacement, `samples` times (seeded, so a report is reproducible). A difference between
    two configurations smaller than this half-width is noise on this query set."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    if len(data) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
