"""A Space: one space's spec, its vector backend and its catalog lookups, so a search asks one
object for typed candidates instead of visiting index, catalog and hubness in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import Catalog, Item
from ..encoders import SpaceSpec

if TYPE_CHECKING:
    from .backend import VectorBackend


@dataclass(frozen=True)
class Candidate:
    """One item a space retrieved: its best cosine, what it ranks by (the cosine less its hubness
    penalty) and, for a document, the passage that gave it that rank."""

    item: Item
    cosine: float
    ranking: float
    passage: dict[str, Any] | None = None


def part_allowed(part: dict[str, Any] | None, source: str | None) -> bool:
    """Which parts a query of modality `source` may match: a text query any; a picture a
    video's scenes, but no document's passages (many passages are many chances to match an
    image's few ImageNet classes by accident); a sound none (its space has no parts)."""
    if part is None or source in (None, "text"):
        return True
    return part.get("modality", "text") == ("image" if source == "video" else source)


class Space:
    def __init__(self, spec: SpaceSpec, catalog: Catalog, backend: VectorBackend) -> None:
        self.spec, self.catalog, self.backend = spec, catalog, backend
        self.name = spec.name
        self.searched = False  # whether a search read its backend (what notes speak of)

    def accepts(self, modality: str) -> bool:
        return self.spec.accepts(modality)

    def penalises(self, source: str | None, types: Iterable[str], hubness: str) -> bool:
        """CSLS applies to a list that can hold items of another modality than the query's:
        cross-modal (text -> photos) or mixed (text -> photos and sounds' words). A purely
        same-modality list (image -> image, text -> captions) keeps plain cosines: there, dense
        neighbourhoods are families of near-duplicates, which CSLS would push down (measured:
        image->image MRR 0.903 -> 0.796, bench/RESULTS.md)."""
        if hubness == "none" or source is None or len(self.spec.modalities) < 2:
            return False
        reached = {t if self.accepts(t) else "text" for t in types}
        return reached != {source}

    def search(
        self,
        vector: np.ndarray,
        k: int,
        accepts: Callable[[Item], bool],
        source: str | None = None,
        penalise: bool = False,
        min_score: float | None = None,
        exclude: frozenset[str] | set[str] = frozenset(),
        types: Iterable[str] | None = None,
    ) -> list[Candidate]:
        """Candidates of `accepts`, best ranking first, over-fetching until there are 2k of them
        or the space is exhausted (so a narrow filter still fills k). With `penalise`, a query of
        modality `source` ranks by CSLS. A document scores by its best passage for a text query
        (MaxP); a photo or a sound is compared with whole documents only: many passages are many
        chances to match an image's few ImageNet classes by accident (image->text MRR 0.663 ->
        0.612 when passages were allowed, bench/RESULTS.md). `types` (the item types `accepts`
        keeps) lets a backend that filters skip vectors no such item owns."""
        self.searched = True
        fetch = k * 4 + len(exclude) + 10
        while True:
            labels, sims = self.backend.search(vector, fetch, types)
            found = self.catalog.vector_hits(
                self.name, labels.tolist(), source if penalise else None
            )
            best: dict[int, Candidate] = {}  # in first-seen order: ties keep the index order
            for label, sim in zip(labels.tolist(), sims.tolist(), strict=True):
                owners, penalty, passage = found.get(label, ((), 0.0, None))
                if (min_score is not None and sim < min_score) or not part_allowed(passage, source):
                    continue
                ranking = sim - penalty
                for item in owners:
                    if item.path in exclude or not accepts(item):
                        continue
                    seen = best.get(item.id)
                    if seen is None or ranking > seen.ranking:
                        cosine = sim if seen is None else max(sim, seen.cosine)
                        best[item.id] = Candidate(item, cosine, ranking, passage)
            if len(best) >= k * 2 or len(labels) < fetch or fetch >= self.backend.count():
                return sorted(best.values(), key=lambda c: -c.ranking)  # stable sort
            fetch *= 4

    def best_part(
        self, item: Item, vector: np.ndarray, source: str | None
    ) -> dict[str, Any] | None:
        """The part of a video (a scene, its words) closest to `vector`: what a result names
        when the video's whole vector, not one of its parts, gave it its rank."""
        if not item.content_hash:
            return None
        parts, matrix = self.catalog.parts_of(self.name, item.content_hash)
        allowed = [i for i, part in enumerate(parts) if part_allowed(part, source)]
        if not allowed or matrix.shape[1] != len(vector):
            return None
        scores = matrix[allowed] @ vector
        return parts[allowed[int(np.argmax(scores))]]

    # -- an item's own vector ------------------------------------------------------------
    def key_of(self, item: Item) -> str | None:
        """The vector key an item has here: its content for the modalities the space takes,
        its text side (tags, transcript) in a text space."""
        if item.content_hash and self.accepts(item.modality or ""):
            return item.content_hash
        if item.text_key and self.accepts("text"):
            return item.text_key
        return None

    def vectors_of(self, items: Iterable[Item]) -> dict[int, np.ndarray]:
        """{item id: its vector in the space}."""
        keys = {item.id: key for item in items if (key := self.key_of(item))}
        found = self.catalog.vectors_for_keys(self.name, keys.values())
        return {item_id: found[key] for item_id, key in keys.items() if key in found}

    def penalties_of(self, items: Iterable[Item], source: str) -> dict[int, float]:
        """{item id: CSLS penalty of its vector for queries of modality `source`}."""
        keys = {item.id: key for item in items if (key := self.key_of(item))}
        ids = self.catalog.vector_ids_for_keys(self.name, keys.values())
        found = self.catalog.hubness_penalties(self.name, source, list(ids.values()))
        return {i: found[ids[key]] for i, key in keys.items() if key in ids and ids[key] in found}

    def reachable(self, items: Iterable[Item]) -> set[int]:
        """Ids of the items this space's search can return: a vector of their content, or of
        their text side in a text space, alive in the committed index (a vector embedded but
        not indexed yet is not something a list could have ranked)."""
        keys: dict[str, list[int]] = {}
        for item in items:
            if item.content_hash and self.accepts(item.modality or ""):
                keys.setdefault(item.content_hash, []).append(item.id)
            if item.text_key and self.accepts("text"):
                keys.setdefault(item.text_key, []).append(item.id)
        ids = self.catalog.vector_ids_for_keys(self.name, keys)
        live = self.catalog.live_members(self.name, ids.values())
        return {item_id for key, vid in ids.items() if vid in live for item_id in keys[key]}
