"""Search: a query's parts -> vectors -> lists (one per part and space) -> each Space's
candidates -> fusion -> thresholds -> hits. The maths is in fusion.py, the parsing in query.py.

Fusion modes (`--fusion`):
- rrf: every positive part queries every space that accepts it on its own; the ranked lists are
  merged by weighted reciprocal-rank fusion.
- score: the same lists; each candidate's exact similarity in each list is standardised against
  that list's retrieved scores (cosines of different spaces live on different scales) and summed
  with the part weights.
- attention: like score, but each candidate weights the parts by a softmax over its own
  standardised similarities to them, so a candidate that matches one part strongly is not buried
  by a part it ignores.
- early: per space, one vector = the weighted sum of the parts' vectors (renormalised); spaces
  merged by reciprocal-rank fusion weighted by the part mass each absorbed.
- auto (default): rrf when the query has one positive part, attention when it has several.
Negative parts (`--not`, `--not-image`, `--not-audio`) are always subtracted from the vectors
(rclip-style "dog - cartoon"), in every mode.

Hubness (`--hubness`): in a space several modalities share, a query ranks every item by CSLS
(hubness.py): cosine minus half the item's mean similarity to its nearest neighbours of the
query's modality. Reported scores stay plain cosines.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .catalog import Catalog, Item
from .encoders import EncoderSet, l2_normalize
from .errors import StoreError, UserError
from .fusion import Z_FUSION, competition_ranks, rrf, score_threshold
from .query import Hit, Query
from .query_vectors import PartVectors
from .spaces.space import Candidate, Space
from .store import Store

# score/attention standardise each list against its own retrieved scores: retrieve at least this
# many per list, so the statistics (and so the ranking) do not depend on -k.
FUSION_POOL = 100


@dataclass
class QueryList:
    """One ranked list to fuse: a vector searched in one space, with its weight in the fusion."""

    part: int | None  # index of the query part it came from (None: early fusion of all parts)
    space: str
    vector: np.ndarray
    weight: float
    source: str | None = None  # the query's modality, for hubness penalties (None: mixed)
    hits: list[Candidate] = field(default_factory=list)  # best ranking first


def fusion_mode(query: Query) -> str:
    if query.fusion != "auto":
        return query.fusion
    return "attention" if sum(part.weight > 0 for part in query.parts) > 1 else "rrf"


class SearchEngine:
    """Answers queries against one store; models and indexes load once, on first use."""

    def __init__(
        self, store: Store, encoder: EncoderSet | None = None, cache_queries: bool = True
    ) -> None:
        from .encoders.plugin import as_encoder_set
        from .models import store_encoder
        from .query_cache import QueryCache, encoder_identity

        self.store = store
        self.encoder = as_encoder_set(encoder) if encoder else store_encoder(store)
        self.catalog = Catalog(store.catalog_path, readonly=True)
        self.query_cache = (
            QueryCache(store.cache_dir, encoder_identity(self.encoder)) if cache_queries else None
        )
        self.parts = PartVectors(self.encoder, self.catalog, self.query_cache)
        self._spaces: dict[str, Space] = {}
        self._searchable = False

    def close(self) -> None:
        self.catalog.close()
        if self.query_cache is not None:
            self.query_cache.close()

    def space(self, name: str) -> Space:
        """The store's space of that name, its backend opened on first use."""
        if name not in self._spaces:
            from .spaces.target import open_backend

            spec = self.encoder.spaces[name]
            backend = open_backend(self.store, self.catalog, name, spec.dim)
            self._spaces[name] = Space(spec, self.catalog, backend)
        return self._spaces[name]

    @property
    def warnings(self) -> list[str]:
        """Why a space answered more slowly than usual (e.g. a damaged index file), or why
        repeated queries will not be faster (the store is read-only: no query cache)."""
        notes = [
            f"{s.name}: {s.backend.degraded}"
            for s in self._spaces.values()
            if s.searched and s.backend.degraded
        ]
        if self.query_cache is not None and self.query_cache.off_reason:
            notes.append(f"query cache is off ({self.query_cache.off_reason})")
        return notes

    def ensure_searchable(self) -> None:
        if self._searchable:
            return
        self._searchable = self.catalog.has_live_items()
        if not self._searchable:
            raise StoreError(
                f"store {self.store.root} has no indexed items yet; run crossmodal update PATH"
            )

    def item(self, path: str) -> Item | None:
        """The store's live item at `path` (as given: resolved by the caller), or None."""
        item = self.catalog.item_by_path(path)
        return item if item is not None and item.status == "ok" else None

    def counts(self) -> dict[str, int]:
        """{modality: live items}: the pools an evaluation ranks within."""
        return self.catalog.counts().get("ok", {})

    def scene_count(self) -> int:
        """Scenes of the live videos: the pool an evaluation of scenes ranks within."""
        return sum(
            int(item.meta.get("scenes") or 0)
            for item in self.catalog.items(status="ok", modality="video")
        )

    def candidates(
        self, name: str, vector: np.ndarray, query: Query, exclude: set[str], source: str | None
    ) -> list[Candidate]:
        """One list: the space's candidates for the query's types and filters."""
        space = self.space(name)
        return space.search(
            vector,
            query.k,
            query.accepts,
            source=source,
            penalise=space.penalises(source, query.types, query.hubness),
            min_score=query.min_score,
            exclude=exclude,
            types=query.types,
        )

    # -- planning the lists --------------------------------------------------------------
    def early_lists(self, query: Query) -> list[QueryList]:
        """Early fusion: per space, the weighted sum of its parts' vectors, renormalised, weighted
        in late fusion by the total positive weight the space absorbed."""
        sums: dict[str, np.ndarray] = {}
        mass: dict[str, float] = {}
        for part in query.parts:
            for space, vector in self.parts.embed(part).items():
                sums[space] = sums.get(space, 0) + part.weight * vector
                mass[space] = mass.get(space, 0.0) + max(part.weight, 0.0)
        positive = {part.modality for part in query.parts if part.weight > 0}
        source = positive.pop() if len(positive) == 1 else None
        lists = []
        for space, total in sums.items():
            if mass[space] <= 0 or float(np.linalg.norm(total)) < 1e-6:
                continue  # only negative parts here, or nothing left to look for
            # a clip reaches a text space through its words: a text query there
            reached = (
                source if source is None or self.encoder.spaces[space].accepts(source) else "text"
            )
            lists.append(
                QueryList(None, space, l2_normalize(total[None, :])[0], mass[space], reached)
            )
        return lists

    def part_lists(self, query: Query) -> list[QueryList]:
        """Late fusion's lists: one per (positive part, space that accepts it), each part's vector
        with the negative parts of that space subtracted; a part's weight is shared by its spaces."""
        negatives: dict[str, np.ndarray] = {}
        for part in query.parts:
            if part.weight < 0:
                for space, vector in self.parts.embed(part).items():
                    negatives[space] = negatives.get(space, 0) + part.weight * vector
        lists = []
        for number, part in enumerate(query.parts):
            if part.weight <= 0:
                continue
            vectors = self.parts.embed(part)
            for space, vector in vectors.items():
                # A clip reaches a text space through its transcript: a text query for hubness.
                accepts = self.encoder.spaces[space].accepts(part.modality)
                steered = vector + negatives.get(space, 0) / part.weight
                if float(np.linalg.norm(steered)) < 1e-6:
                    continue
                lists.append(
                    QueryList(
                        number,
                        space,
                        l2_normalize(steered[None, :])[0],
                        part.weight / len(vectors),
                        part.modality if accepts else "text",
                    )
                )
        return lists

    # -- the search ----------------------------------------------------------------------
    def search(self, query: Query) -> list[Hit]:
        self.ensure_searchable()
        exclude = {part.value for part in query.parts if part.modality != "text"}
        mode = fusion_mode(query)
        lists = self.early_lists(query) if mode == "early" else self.part_lists(query)
        if not lists:
            raise UserError("the query has no positive part that any space of this store accepts")
        retrieval = query
        if mode in ("score", "attention") or query.min_z is not None:
            retrieval = replace(query, k=max(query.k, FUSION_POOL))  # statistics independent of k
        merged: dict[int, Hit] = {}
        passages: dict[tuple[str, int], dict] = {}
        for query_list in lists:
            query_list.hits = self.candidates(
                query_list.space, query_list.vector, retrieval, exclude, query_list.source
            )
            for found in query_list.hits:
                hit = merged.setdefault(found.item.id, Hit(found.item, score=found.cosine))
                space = query_list.space
                hit.scores[space] = max(found.cosine, hit.scores.get(space, -1.0))
                hit.score = max(hit.score, found.cosine)
                if found.passage is not None:
                    passages[(space, found.item.id)] = found.passage
        hits = list(merged.values())
        if mode in ("rrf", "early") or len(lists) == 1:
            self._fuse_ranks(lists, hits)
        else:
            self._fuse_z(query, mode, lists, hits)
        threshold = score_threshold(
            [hit.score for hit in hits], query.min_score, query.min_relative, query.min_z
        )
        ranked = sorted(
            (hit for hit in hits if hit.score >= threshold),
            key=lambda hit: (-hit.fused, -hit.score, hit.item.path),
        )[: query.k]
        for hit in ranked:
            found = [passages[(s, hit.item.id)] for s in hit.spaces if (s, hit.item.id) in passages]
            if not found and hit.item.modality == "video":
                found = self._video_part(hit, lists)
            hit.name_passage(found[0] if found else None)
        return ranked

    def _video_part(self, hit: Hit, lists: list[QueryList]) -> list[dict]:
        """A video ranked by its whole vector still names a scene: its part closest to the
        query in the space where it scored best."""
        for space in hit.spaces:
            for query_list in lists:
                if query_list.space == space:
                    part = self.space(space).best_part(
                        hit.item, query_list.vector, query_list.source
                    )
                    if part is not None:
                        return [part]
        return []

    def _fuse_ranks(self, lists: list[QueryList], hits: list[Hit]) -> None:
        """Weighted RRF over the lists, each item by its mean over the lists able to rank it."""
        fused = rrf(
            [
                (
                    ql.weight,
                    dict(
                        zip(
                            [c.item.id for c in ql.hits],
                            competition_ranks([c.ranking for c in ql.hits]),
                            strict=True,
                        )
                    ),
                )
                for ql in lists
            ]
        )
        reach = self._reach(lists, [hit.item for hit in hits]) if len(lists) > 1 else {}
        for hit in hits:
            hit.fused = fused.get(hit.item.id, 0.0) / reach.get(hit.item.id, 1.0)

    def _reach(self, lists: list[QueryList], items: list[Item]) -> dict[int, float]:
        """{item id: total weight of the lists whose space holds a vector of it}. RRF sums over
        lists, so an item two lists can rank beats one only a single list can rank; dividing by
        this compares every item by its mean over the lists able to rank it. Without it, a
        text-only model added beside builtin (its space reaches pictures only through the words
        read in a few of them) put those few above every other picture: text->image MRR 0.791
        -> 0.276 with st:MiniLM added (bench/RESULTS.md)."""
        reach: dict[int, float] = {}
        by_space: dict[str, set[int]] = {}
        for query_list in lists:
            if query_list.space not in by_space:
                by_space[query_list.space] = self.space(query_list.space).reachable(items)
            # A list that returned an item could rank it, whatever the lookup says.
            able = by_space[query_list.space] | {c.item.id for c in query_list.hits}
            for item_id in able:
                reach[item_id] = reach.get(item_id, 0.0) + query_list.weight
        return {item_id: total for item_id, total in reach.items() if total > 0}

    def _fuse_z(self, query: Query, mode: str, lists: list[QueryList], hits: list[Hit]) -> None:
        """score / attention fusion: every candidate's exact similarity in every list (also in
        lists that did not retrieve it), standardised by that list's retrieved scores."""
        items = [hit.item for hit in hits]
        # z[c, l]: standardised similarity; NaN where the candidate has no vector in the space.
        z = np.full((len(items), len(lists)), np.nan)
        vectors = {name: self.space(name).vectors_of(items) for name in {ql.space for ql in lists}}
        for column, query_list in enumerate(lists):
            space = self.space(query_list.space)
            retrieved = np.array([c.ranking for c in query_list.hits], dtype=np.float64)
            mean = float(retrieved.mean()) if len(retrieved) else 0.0
            spread = float(retrieved.std()) if len(retrieved) > 1 else 0.0
            spread = spread if spread > 1e-6 else 1.0
            penalties = (
                space.penalties_of(items, query_list.source)
                if query_list.source is not None
                and space.penalises(query_list.source, query.types, query.hubness)
                else {}
            )
            # What the list itself ranked by (a document's best passage, a picture's words);
            # exact similarity of the item's own vector for candidates it did not retrieve.
            ranked = {c.item.id: c.ranking for c in query_list.hits}
            for row, item in enumerate(items):
                vector = vectors[query_list.space].get(item.id)
                if item.id in ranked:
                    z[row, column] = (ranked[item.id] - mean) / spread
                elif vector is not None:
                    similarity = float(vector @ query_list.vector) - penalties.get(item.id, 0.0)
                    z[row, column] = (similarity - mean) / spread
        parts = [ql.part for ql in lists]
        part_weights = np.array(
            [query.parts[p].weight for p in sorted({p for p in parts if p is not None})]
        )
        weights = np.array([ql.weight for ql in lists])
        fused = Z_FUSION[mode](z, weights, parts, part_weights)  # type: ignore[arg-type]
        for hit, value in zip(hits, fused, strict=True):
            hit.fused = float(value)
