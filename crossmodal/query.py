"""Queries: parts (text, image, audio) with weights, embedded into every space that accepts them,
fused within a space (weighted sum), retrieved, and merged across spaces (reciprocal-rank fusion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, Item
from .encoders import EncoderSet, l2_normalize, load_encoder_set
from .errors import MediaError, StoreError, UserError
from .fsutil import content_hash
from .index import SpaceSearcher
from .media.audio import load_audio
from .media.image import load_image
from .media.sniff import sniff_modality
from .query_cache import QueryCache, encoder_identity, text_cache_key
from .store import Store

MODALITY_TYPES = ("image", "text", "audio")
# A text-only query with no --type looks for media: "a dog on a beach" wants photos, and a caption
# that repeats the query's words would otherwise outrank every photo (same-modality similarity is
# systematically higher than cross-modal). `--type text` or `--type all` includes documents.
TEXT_QUERY_DEFAULT_TYPES = ("image", "audio")
RRF_K = 60
DEFAULT_WEIGHTS = {"text": 1.0, "image": 1.0, "audio": 1.0}


@dataclass(frozen=True)
class QueryPart:
    modality: str  # text | image | audio
    value: str  # the text itself, or a file path
    weight: float = 1.0

    def describe(self) -> dict[str, Any]:
        return {"modality": self.modality, "value": self.value, "weight": self.weight}


@dataclass
class Query:
    parts: list[QueryPart]
    types: tuple[str, ...] = MODALITY_TYPES
    k: int = 10
    min_score: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "parts": [part.describe() for part in self.parts],
            "types": list(self.types),
            "k": self.k,
            "min_score": self.min_score,
        }


@dataclass
class Hit:
    item: Item
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0

    @property
    def spaces(self) -> list[str]:
        return sorted(self.scores, key=lambda space: -self.scores[space])

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank,
            "path": self.item.path,
            "modality": self.item.modality,
            "score": round(float(self.score), 4),
            "spaces": self.spaces,
            "space_scores": {space: round(float(s), 4) for space, s in self.scores.items()},
            "meta": self.item.meta,
        }


def file_modality(path: Path) -> str:
    """The modality of a query file, by content; UserError when it is not usable media."""
    if not path.exists():
        raise UserError(f"query file not found: {path}")
    if path.is_dir():
        raise UserError(f"query path is a folder, not a media file: {path}")
    try:
        sniffed = sniff_modality(path)
    except OSError as exc:
        raise UserError(f"cannot read query file {path}: {exc.strerror}") from exc
    if sniffed is None:
        raise UserError(f"query file {path} is not a supported image, audio or text file")
    return sniffed[0]


def build_query(
    positional: str | None = None,
    texts: list[str] | None = None,
    images: list[str] | None = None,
    audios: list[str] | None = None,
    negatives: list[str] | None = None,
    weights: dict[str, float] | None = None,
    type: str | None = None,
    k: int = 10,
    min_score: float | None = None,
) -> Query:
    """Turn command-line style inputs into a Query, validating everything up front."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    parts: list[QueryPart] = []
    if positional is not None:
        candidate = Path(positional).expanduser()
        if candidate.is_file():
            modality = file_modality(candidate)
            value = (
                str(candidate.resolve())
                if modality != "text"
                else candidate.read_text(encoding="utf-8", errors="replace")
            )
            parts.append(QueryPart(modality, value, weights[modality]))
        else:
            parts.append(QueryPart("text", positional, weights["text"]))
    for text in texts or []:
        parts.append(QueryPart("text", text, weights["text"]))
    for expected, paths in (("image", images or []), ("audio", audios or [])):
        for raw in paths:
            path = Path(raw).expanduser()
            modality = file_modality(path)
            if modality != expected:
                raise UserError(f"--{expected} {raw} is not an {expected} file (it is {modality})")
            parts.append(QueryPart(expected, str(path.resolve()), weights[expected]))
    for text in negatives or []:
        parts.append(QueryPart("text", text, -abs(weights["text"])))
    for part in parts:
        if part.modality == "text" and not part.value.strip():
            raise UserError("empty text query")
    if not any(part.weight > 0 for part in parts):
        raise UserError("nothing to search for: give a query text or a media file")
    if k < 1:
        raise UserError("-k must be at least 1")
    return Query(parts, resolve_types(type, parts), k, min_score)


def resolve_types(type: str | None, parts: list[QueryPart]) -> tuple[str, ...]:
    """The result modalities: --type, else media for a text-only query, else everything."""
    if type is None:
        if parts and all(part.modality == "text" for part in parts):
            return TEXT_QUERY_DEFAULT_TYPES
        return MODALITY_TYPES
    if type == "all":
        return MODALITY_TYPES
    if type not in MODALITY_TYPES:
        raise UserError(f"unknown --type '{type}' (choose from image, text, audio, all)")
    return (type,)


def query_from_request(request: Any, default_k: int = 10) -> Query:
    """A `--batch` line: {"text", "image", "audio", "not", "type", "k", "min_score"}; strings or
    lists for the parts."""
    if not isinstance(request, dict):
        raise UserError("each batch line must be a JSON object")

    def as_list(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise UserError(f"query parts must be strings or lists of strings, not {value!r}")

    try:
        k = int(request.get("k", default_k))
        min_score = request.get("min_score")
        min_score = None if min_score is None else float(min_score)
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad k or min_score: {exc}") from exc
    return build_query(
        None,
        texts=as_list(request.get("text")),
        images=as_list(request.get("image")),
        audios=as_list(request.get("audio")),
        negatives=as_list(request.get("not")),
        type=request.get("type"),
        k=k,
        min_score=min_score,
    )


def parse_weights(raw: str | None) -> dict[str, float]:
    """'--weights a,b,c' -> text, image, audio weights."""
    if raw is None:
        return {}
    pieces = raw.split(",")
    if len(pieces) != 3:
        raise UserError("--weights takes three numbers: text,image,audio (e.g. 1,0.5,0)")
    try:
        values = [float(piece) for piece in pieces]
    except ValueError as exc:
        raise UserError(f"--weights must be numbers: {raw}") from exc
    return dict(zip(("text", "image", "audio"), values, strict=True))


class SearchEngine:
    """Answers queries against one store; models and indexes load once, on first use."""

    def __init__(
        self, store: Store, encoder: EncoderSet | None = None, cache_queries: bool = True
    ) -> None:
        self.store = store
        self.encoder = encoder or load_encoder_set(store.settings.encoder_set, store.cache_dir)
        self.catalog = Catalog(store.catalog_path, readonly=True)
        self.query_cache = (
            QueryCache(store.cache_dir, encoder_identity(self.encoder)) if cache_queries else None
        )
        self._searchers: dict[str, SpaceSearcher] = {}
        self._part_vectors: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._searchable = False
        self._file_keys: dict[str, str | None] = {}

    def close(self) -> None:
        self.catalog.close()
        if self.query_cache is not None:
            self.query_cache.close()

    def searcher(self, space: str) -> SpaceSearcher:
        if space not in self._searchers:
            spec = self.encoder.spaces[space]
            self._searchers[space] = SpaceSearcher(
                self.catalog, space, spec.dim, self.store.index_dir
            )
        return self._searchers[space]

    @property
    def warnings(self) -> list[str]:
        """Why a space answered more slowly than usual (e.g. a damaged index file)."""
        return [f"{s.space}: {s.degraded}" for s in self._searchers.values() if s.degraded]

    def ensure_searchable(self) -> None:
        if self._searchable:
            return
        self._searchable = bool(
            self.catalog.conn.execute("SELECT 1 FROM items WHERE status = 'ok' LIMIT 1").fetchone()
        )
        if not self._searchable:
            raise StoreError(
                f"store {self.store.root} has no indexed items yet; run crossmodal update PATH"
            )

    # -- embedding query parts -----------------------------------------------------------
    def embed_part(self, part: QueryPart) -> dict[str, np.ndarray]:
        """{space: unit vector} for one query part; cached so batches reuse files and texts."""
        cache_key = (part.modality, part.value)
        if cache_key in self._part_vectors:
            return self._part_vectors[cache_key]
        accepting = [s for s in self.encoder.spaces.values() if s.accepts(part.modality)]
        if not accepting:
            raise UserError(f"no space of this store accepts {part.modality} queries")
        vectors = self._stored_vectors(part) or self._cached_vectors(part)
        if vectors is None:
            vectors = self._encode_part(part)
            if self.query_cache is not None and (key := self._persistent_key(part)):
                self.query_cache.put(key, vectors)
        self._part_vectors[cache_key] = vectors
        return vectors

    def _encode_part(self, part: QueryPart) -> dict[str, np.ndarray]:
        try:
            if part.modality == "text":
                value: Any = part.value
            elif part.modality == "image":
                value = load_image(Path(part.value))
            else:
                value = load_audio(Path(part.value), sample_rate=self.encoder.audio_sample_rate)
        except MediaError as exc:
            raise UserError(f"cannot use query file {part.value}: {exc}") from exc
        return {
            space: matrix[0]
            for space, matrix in self.encoder.encode(part.modality, [value]).items()
        }

    def _persistent_key(self, part: QueryPart) -> str | None:
        """Texts by their words, files by their content (a renamed photo still hits)."""
        if part.modality == "text":
            return text_cache_key(part.value)
        if part.value not in self._file_keys:
            try:
                self._file_keys[part.value] = "file:" + content_hash(part.value)
            except OSError:
                self._file_keys[part.value] = None
        return self._file_keys[part.value]

    def _cached_vectors(self, part: QueryPart) -> dict[str, np.ndarray] | None:
        """A query seen before in this store, with vectors for exactly the spaces that take it."""
        if self.query_cache is None or not (key := self._persistent_key(part)):
            return None
        vectors = self.query_cache.get(key)
        wanted = {s.name: s.dim for s in self.encoder.spaces.values() if s.accepts(part.modality)}
        if vectors is None or {name: len(v) for name, v in vectors.items()} != wanted:
            return None
        return vectors

    def _stored_vectors(self, part: QueryPart) -> dict[str, np.ndarray] | None:
        """A query file already in the store reuses its stored vectors: no model load at all."""
        if part.modality == "text":
            return None
        item = self.catalog.item_by_path(part.value)
        if item is None or item.status != "ok" or not item.content_hash:
            return None
        try:
            stat = Path(part.value).stat()
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != (item.size, item.mtime_ns) or (
            item.ctime_ns is not None and stat.st_ctime_ns != item.ctime_ns
        ):
            return None  # changed since it was indexed: embed what is there now
        found = {}
        for space in self.encoder.spaces.values():
            if space.accepts(part.modality):
                vector = self.catalog.vector_for_key(space.name, item.content_hash)
                if vector is None:
                    return None
                found[space.name] = vector
        return found

    def space_vectors(self, query: Query) -> dict[str, tuple[np.ndarray, float]]:
        """Early fusion: per space, the weighted sum of its parts' vectors, renormalised, and the
        total positive weight the space absorbed (used to weight it in late fusion)."""
        sums: dict[str, np.ndarray] = {}
        mass: dict[str, float] = {}
        for part in query.parts:
            for space, vector in self.embed_part(part).items():
                sums[space] = sums.get(space, 0) + part.weight * vector
                mass[space] = mass.get(space, 0.0) + max(part.weight, 0.0)
        out = {}
        for space, total in sums.items():
            if mass[space] <= 0:
                continue  # a space that only saw negative parts has nothing to look for
            if float(np.linalg.norm(total)) < 1e-6:
                continue
            out[space] = (l2_normalize(total[None, :])[0], mass[space])
        return out

    # -- retrieval -----------------------------------------------------------------------
    def space_hits(
        self, space: str, vector: np.ndarray, query: Query, exclude: set[str]
    ) -> list[tuple[Item, float]]:
        searcher = self.searcher(space)
        fetch = query.k * 4 + len(exclude) + 10
        while True:
            labels, sims = searcher.query(vector, fetch)
            owners = self.catalog.items_for_vector_ids(space, labels.tolist())
            hits: list[tuple[Item, float]] = []
            seen: set[int] = set()
            for label, sim in zip(labels.tolist(), sims.tolist(), strict=True):
                if query.min_score is not None and sim < query.min_score:
                    continue
                for item in owners.get(label, []):
                    if item.id in seen or item.path in exclude:
                        continue
                    if item.modality not in query.types:
                        continue
                    seen.add(item.id)
                    hits.append((item, sim))
            if len(hits) >= query.k * 2 or len(labels) < fetch or fetch >= searcher.size:
                return hits
            fetch *= 4

    def search(self, query: Query) -> list[Hit]:
        self.ensure_searchable()
        exclude = {part.value for part in query.parts if part.modality != "text"}
        per_space = self.space_vectors(query)
        if not per_space:
            raise UserError("the query has no positive part that any space of this store accepts")
        merged: dict[int, Hit] = {}
        for space, (vector, weight) in per_space.items():
            for rank, (item, sim) in enumerate(self.space_hits(space, vector, query, exclude)):
                hit = merged.setdefault(item.id, Hit(item, score=sim))
                hit.scores[space] = sim
                hit.score = max(hit.score, sim)
                hit.fused += weight / (RRF_K + rank + 1)
        if len(per_space) == 1:
            ranked = sorted(merged.values(), key=lambda hit: (-hit.score, hit.item.path))
        else:
            ranked = sorted(
                merged.values(), key=lambda hit: (-hit.fused, -hit.score, hit.item.path)
            )
        return ranked[: query.k]
