"""The library face: one object for a store, what the CLI and a Python user both call.

    from crossmodal import Store

    with Store.open("~/photos-index") as store:
        store.update(["~/Pictures"])
        for hit in store.search("a dog on a beach", type="image"):
            print(hit.score, hit.item.path)
        recommended = store.recommend(like=["~/Pictures/cat.jpg"])

Every method returns the objects the CLI renders (Hit, UpdateSummary, Recommendation); nothing
here prints or exits. Models and indexes load once per Store, on first need."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import arguments
from .errors import CrossmodalError, UserError
from .filters import Filters, parse_filters
from .query import Hit, Query, build_query, query_from_request
from .store import Store as StoreFolder

if TYPE_CHECKING:  # the pipeline loads for an update only, not for a search
    from .pipeline.summaries import Progress, UpdateSummary


@dataclass
class Recommendation:
    """Recommended hits, and the profile they came from (likes, history used, texts)."""

    hits: list[Hit]
    profile: dict[str, Any]
    modalities: dict[str, str] = field(default_factory=dict)  # liked/disliked path -> modality

    def describe(self) -> dict[str, Any]:
        """The profile as query parts, for a results page: likes and preferences positive,
        dislikes and avoided texts negative."""
        parts: list[dict[str, Any]] = []
        for key, weight in (("likes", 1.0), ("prefer", 1.0), ("dislikes", -1.0), ("avoid", -1.0)):
            for value in self.profile.get(key, []):
                modality = self.modalities.get(value, "text")
                parts.append({"modality": modality, "value": value, "weight": weight})
        return {"parts": parts, "profile": self.profile}


class Store:
    """A crossmodal store opened for updating, searching and recommending."""

    def __init__(
        self, folder: StoreFolder, models: Sequence[str] | None = None, device: str | None = None
    ) -> None:
        self.folder = folder
        self._models, self._device = list(models or []), device
        self._engine: Any = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        create: bool = False,
        models: Sequence[str] | None = None,
        device: str | None = None,
    ) -> Store:
        """Open the store at `path` (default: the XDG data folder, or CROSSMODAL_STORE);
        `create` makes it when it is not there. `models` limits searches to those models."""
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise UserError(f"a store is a folder path, not {type(path).__name__}")
        folder = StoreFolder.open_or_create(path) if create else StoreFolder.open(path)
        return cls(folder, arguments.strings(models, "models"), arguments.text(device, "device"))

    @classmethod
    def for_update(cls, path: Path | str | None, roots: Sequence[Path] | None) -> Store:
        """The store an update writes: created when folders to index are given (they must all
        exist first: a typo never creates a store), else an existing one."""
        if roots:
            from .pipeline import check_roots

            check_roots(list(roots))
            return cls.open(path, create=True)
        return cls.open(path)

    @classmethod
    def open_if_present(cls, path: Path | str | None = None) -> Store | None:
        """The store at `path` if there is one; None for the default folder when it holds none
        (a named folder that holds none is its one-line StoreError)."""
        if path is None and not StoreFolder.exists(None):
            return None
        return cls.open(path)

    @property
    def root(self) -> Path:
        return self.folder.root

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def update(
        self,
        paths: Sequence[Path | str] | None = None,
        progress: Progress | None = None,
        wait: float = 0.0,
        allow_empty: bool = False,
        ocr: bool | None = None,
        model: str | None = None,
        options: Any = None,
        video_hours: float | None = None,
        vectors: str | None = None,
        ray: str | None = None,
    ) -> UpdateSummary:
        """ingest + embed + index + purge of `paths` (default: every folder the store indexes).
        `vectors` (e.g. "milvus://host:19530") moves the store's vectors there from now on;
        `ray` (a Ray cluster's address) runs the embedding on it."""
        from .pipeline import update
        from .pipeline.summaries import no_progress

        self.close()  # a search engine opened before sees the new state on its next use
        roots = [Path(p) for p in arguments.strings(paths, "paths")] or None
        return update(
            self.folder,
            roots,
            progress=progress or no_progress,
            wait_seconds=wait,
            allow_empty=allow_empty,
            ocr=ocr,
            model=model,
            options=options,
            video_hours=video_hours,
            vectors=vectors,
            ray=ray,
        )

    # -- reading ---------------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """The SearchEngine behind search and recommend (models and indexes load once)."""
        if self._engine is None:
            from .search import SearchEngine

            encoder = None
            if self._models or self._device is not None:
                from .encoders.registry import ModelOptions
                from .models import store_encoder

                options = ModelOptions(device=self._device)
                encoder = store_encoder(self.folder, self._models or None, options)
            self._engine = SearchEngine(self.folder, encoder)
        return self._engine

    @property
    def notes(self) -> list[str]:
        """Why searches saw fewer vectors or ran slower than usual (a damaged index searched
        exactly, vectors not indexed yet, no query cache on read-only media)."""
        return self.engine.warnings if self._engine is not None else []

    def search(
        self,
        query: str | Query | None = None,
        *,
        type: str | None = None,
        k: int = 10,
        filters: Filters | dict[str, Any] | None = None,
        **options: Any,
    ) -> list[Hit]:
        """Hits for a query: a text or a path (a file's own modality), or a Query; `options` are
        build_query's (texts, images, audios, negatives, weights, fusion, min_score ...);
        `filters` a Filters or parse_filters' keywords (under, globs, after, before ...)."""
        if not isinstance(query, Query):
            if isinstance(filters, dict):
                filters = parse_filters(**arguments.filter_options(filters))
            elif filters is not None and not isinstance(filters, Filters):
                raise UserError("filters takes a Filters or a dict of parse_filters' keywords")
            query = build_query(
                arguments.text(query, "query")
                if not isinstance(query, os.PathLike)
                else str(query),
                type=arguments.text(type, "type"),
                k=arguments.whole(k, "k"),
                filters=filters,
                **arguments.search_options(options),
            )
        return self.engine.search(query)

    def recommend(
        self,
        like: Sequence[str] = (),
        history: Sequence[str] | Path | str | None = None,
        prefer: Sequence[str] | None = None,
        dislike: Sequence[str] | None = None,
        avoid: Sequence[str] | None = None,
        type: str | None = None,
        k: int = 10,
        diversity: float | None = None,
    ) -> Recommendation:
        """Items like the liked and seen ones (`history`: paths, or a history file), never
        those themselves or near-copies of them."""
        from .recommend import read_history, recommend

        if isinstance(history, (str, os.PathLike)):
            seen = read_history(Path(history))
        else:
            seen = [(path, None) for path in arguments.strings(history, "history")]
        found = arguments.number(diversity, "diversity")
        hits, profile = recommend(
            self.engine,
            arguments.strings(like, "like"),
            history=seen,
            prefer=arguments.strings(prefer, "prefer"),
            type=arguments.text(type, "type"),
            k=arguments.whole(k, "k"),
            dislikes=arguments.strings(dislike, "dislike"),
            avoid=arguments.strings(avoid, "avoid"),
            **({} if found is None else {"diversity": found}),
        )
        seeds = [*profile["likes"], *profile["dislikes"]]
        items = {path: self.engine.item(path) for path in seeds}
        modalities = {path: item.modality for path, item in items.items() if item and item.modality}
        return Recommendation(hits, profile, modalities)

    def batch(self, stream: IO[bytes], k: int = 10) -> Iterator[dict[str, Any]]:
        """The `--batch` protocol: one JSON request per line in, one answer per line out. A bad
        line (not JSON, too long, nested too deep, a wrong type, a number out of range, text that
        is not Unicode) gets an error object and the batch goes on. `k`: results per line that
        does not say."""
        from .batch import batch_lines, batch_request

        if not hasattr(stream, "readline") or isinstance(stream.read(0), str):
            raise UserError("batch reads a binary stream: open(path, 'rb') or sys.stdin.buffer")
        engine = self.engine  # a store or model that cannot load fails the batch, not each line
        for number, raw in batch_lines(stream):
            request_id: Any = number
            try:
                request = batch_request(raw)
                request_id = request.get("id", number)
                if isinstance(request_id, float) and not math.isfinite(request_id):
                    request_id = number  # the answer must stay valid JSON
                    raise UserError("id must be a string or a finite number")
                hits = engine.search(query_from_request(request, default_k=k))
                yield {"id": request_id, "results": [h.to_dict(r) for r, h in enumerate(hits, 1)]}
            except CrossmodalError as exc:
                yield {"id": request_id, "error": str(exc)}
            except Exception as exc:  # one line's failure is that line's, never the batch's
                yield {"id": request_id, "error": f"{type(exc).__name__}: {exc}"}

    def evaluate(
        self, queries: Path | str, fusion: str | None = None, hubness: str | None = None
    ) -> dict[str, Any]:
        """Recall, Hit@5, MRR and nDCG per query kind, beside chance and with 95 % bootstrap
        intervals, over a labelled queries file."""
        from .evaluate import evaluate, load_queries

        if not isinstance(queries, (str, os.PathLike)):
            raise UserError(f"queries is a file path, not {type(queries).__name__}")
        fusion, hubness = arguments.text(fusion, "fusion"), arguments.text(hubness, "hubness")
        labelled = load_queries(Path(queries))  # a bad file fails before any model loads
        return evaluate(self.engine, labelled, fusion, hubness)
