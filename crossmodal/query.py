"""Queries: parts (text, image, audio) with weights, embedded into every space that accepts them,
retrieved, and fused into one ranking.

Fusion modes (`--fusion`, maths in fusion.py):
- rrf: every positive part queries every space that accepts it on its own; the ranked lists are
  merged by weighted reciprocal-rank fusion.
- score: the same lists; each candidate's exact similarity in each list is standardised against
  that list's retrieved scores (cosines of different spaces live on different scales) and summed
  with the part weights.
- attention: like score, but each candidate weights the parts by a softmax over its own
  standardised similarities to them (temperature ATTENTION_TEMPERATURE), so a candidate that
  matches one part strongly is not buried by a part it ignores.
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

import fnmatch
import math
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, Item
from .encoders import EncoderSet, l2_normalize
from .errors import MediaError, StoreError, UserError
from .fsutil import content_hash, refuse_special
from .fusion import (
    attention_scores,
    competition_ranks,
    rrf,
    score_threshold,
)
from .index import SpaceSearcher
from .media.audio import load_audio
from .media.documents.base import locate
from .media.image import load_image
from .media.sniff import MODALITIES, sniff_modality
from .models import store_encoder
from .query_cache import QueryCache, encoder_identity, text_cache_key
from .store import Store

MODALITY_TYPES = ("image", "text", "audio")
# A text-only query with no --type looks for media: "a dog on a beach" wants photos, and a caption
# that repeats the query's words would otherwise outrank every photo (same-modality similarity is
# systematically higher than cross-modal). `--type text` or `--type all` includes documents.
TEXT_QUERY_DEFAULT_TYPES = ("image", "audio")
DEFAULT_WEIGHTS = {"text": 1.0, "image": 1.0, "audio": 1.0}
FUSION_MODES = ("auto", "rrf", "score", "attention", "early")
# auto = rrf for one positive part (merging its spaces), attention for several: the best of both on
# the labelled queries (bench/RESULTS.md: image->image MRR 0.903 rrf vs 0.781 attention; fused
# 0.868 attention vs 0.682 rrf).
DEFAULT_FUSION = "auto"
# score/attention standardise each list against its own retrieved scores: retrieve at least this
# many per list, so the statistics (and so the ranking) do not depend on -k.
FUSION_POOL = 100
ATTENTION_TEMPERATURE = 0.5  # in standard deviations of a list's scores (0.25-1 measure alike)
HUBNESS_MODES = ("csls", "none")
DEFAULT_HUBNESS = "csls"
WEIGHT_SEPARATOR = "::"  # "sunset::2", "photo.jpg::0.5" (Midjourney-style multi-prompt weights)


@dataclass(frozen=True)
class QueryPart:
    modality: str  # text | image | audio
    value: str  # the text itself, or a file path
    weight: float = 1.0

    def describe(self) -> dict[str, Any]:
        return {"modality": self.modality, "value": self.value, "weight": self.weight}


@dataclass(frozen=True)
class Filters:
    """Conditions on results, applied before k is cut (the search over-fetches as needed)."""

    under: tuple[str, ...] = ()  # absolute folders
    globs: tuple[str, ...] = ()  # fnmatch patterns on the path or the file name
    after: float | None = None  # epoch seconds, on the EXIF date, else the file's mtime
    before: float | None = None
    min_size: int | None = None  # bytes
    max_size: int | None = None
    min_duration: float | None = None  # seconds (audio)
    max_duration: float | None = None

    def __bool__(self) -> bool:
        return any(value not in (None, ()) for value in self.__dict__.values())

    def accepts(self, item: Item) -> bool:
        path = item.path
        if self.under and not any(
            path == u or path.startswith(u.rstrip("/") + "/") for u in self.under
        ):
            return False
        if self.globs and not any(
            fnmatch.fnmatch(path, g) or fnmatch.fnmatch(os.path.basename(path), g)
            for g in self.globs
        ):
            return False
        if self.after is not None or self.before is not None:
            when = item_time(item)
            if self.after is not None and when < self.after:
                return False
            if self.before is not None and when >= self.before:
                return False
        if self.min_size is not None and item.size < self.min_size:
            return False
        if self.max_size is not None and item.size > self.max_size:
            return False
        if self.min_duration is not None or self.max_duration is not None:
            duration = (item.meta or {}).get("duration")
            if duration is None:
                return False  # only audio has a duration: a duration filter means audio
            if self.min_duration is not None and duration < self.min_duration:
                return False
            if self.max_duration is not None and duration > self.max_duration:
                return False
        return True

    def describe(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value not in (None, ())}


def item_time(item: Item) -> float:
    """When a photo was taken (EXIF), else when the file was last modified."""
    taken = (item.meta or {}).get("exif_date")
    if taken:
        try:
            return datetime.fromisoformat(taken).timestamp()
        except ValueError:
            pass
    return item.mtime_ns / 1e9


@dataclass
class Query:
    parts: list[QueryPart]
    types: tuple[str, ...] = MODALITY_TYPES
    k: int = 10
    min_score: float | None = None
    fusion: str = DEFAULT_FUSION
    min_relative: float | None = None
    min_z: float | None = None
    filters: Filters = field(default_factory=Filters)
    hubness: str = DEFAULT_HUBNESS

    def accepts(self, item: Item) -> bool:
        return item.modality in self.types and (not self.filters or self.filters.accepts(item))

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "parts": [part.describe() for part in self.parts],
            "types": list(self.types),
            "k": self.k,
            "min_score": self.min_score,
            "fusion": self.fusion,
        }
        if self.min_relative is not None:
            described["min_relative"] = self.min_relative
        if self.min_z is not None:
            described["min_z"] = self.min_z
        if self.filters:
            described["filters"] = self.filters.describe()
        if self.hubness != DEFAULT_HUBNESS:
            described["hubness"] = self.hubness
        return described


@dataclass
class QueryList:
    """One ranked list to fuse: a vector searched in one space, with its weight in the fusion."""

    part: int | None  # index of the query part it came from (None: early fusion of all parts)
    space: str
    vector: np.ndarray
    weight: float
    source: str | None = None  # the query's modality, for hubness penalties (None: mixed)
    # (item, cosine, ranking similarity = cosine less its hubness penalty), best ranking first
    hits: list[tuple[Item, float, float]] = field(default_factory=list)


@dataclass
class Hit:
    item: Item
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0
    because: str | None = None  # recommend: the liked item or text that contributed most
    passage: dict[str, Any] | None = None  # a long document: the passage that matched best

    @property
    def spaces(self) -> list[str]:
        return sorted(self.scores, key=lambda space: -self.scores[space])

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank,
            "path": self.item.path,
            "modality": self.item.modality,
            "score": round(float(self.score), 4),
            "fused": round(float(self.fused), 6),
            "spaces": self.spaces,
            "space_scores": {space: round(float(s), 4) for space, s in self.scores.items()},
            "meta": self.item.meta,
            **({"because": self.because} if self.because is not None else {}),
            **({"passage": self.passage} if self.passage is not None else {}),
        }


def file_modality(path: Path) -> str:
    """The modality of a query file, by content; UserError when it is not usable media."""
    if not path.exists():
        raise UserError(f"query file not found: {path}")
    if path.is_dir():
        raise UserError(f"query path is a folder, not a media file: {path}")
    refuse_special(path, "query file")  # a FIFO would block the open, a device never end
    try:
        sniffed = sniff_modality(path)
    except OSError as exc:
        raise UserError(f"cannot read query file {path}: {exc.strerror}") from exc
    if sniffed is None:
        raise UserError(f"query file {path} is not a supported image, audio or text file")
    if sniffed[0] not in MODALITIES:
        raise UserError(f"query file {path} is a {sniffed[0]}: {sniffed[0]} is not searchable yet")
    return sniffed[0]


def _document_text(path: Path) -> str:
    """A text or document query file's text (a PDF's pages, a DOCX's paragraphs), capped."""
    from .media.text import load_text

    try:
        return load_text(path)
    except MediaError as exc:
        raise UserError(f"cannot use query file {path}: {exc}") from exc


MAX_K = 10_000  # results per query: a larger k is a typo or an attack on memory


def _brief(value: Any) -> str:
    """A value as a short repr for an error line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_query_file(candidate: Path) -> bool:
    """Whether a positional QUERY names a file (a FIFO or device too: refused as such later);
    a text too long to be a path is text."""
    try:
        return candidate.exists() and not candidate.is_dir()
    except (OSError, ValueError):  # ENAMETOOLONG, embedded NUL
        return False


def split_weight(raw: str) -> tuple[str, float | None]:
    """'sunset::2' -> ('sunset', 2.0); text without a numeric '::W' suffix is left whole."""
    head, separator, tail = raw.rpartition(WEIGHT_SEPARATOR)
    if not separator or not head:
        return raw, None
    try:
        weight = float(tail)
    except ValueError:
        return raw, None
    if weight != weight or weight in (float("inf"), float("-inf")):
        raise UserError(f"weight of '{head}' must be a finite number")
    return head, weight


def _file_part(raw: str, expected: str, weight: float, flag: str) -> QueryPart:
    path = Path(raw).expanduser()
    if not path.exists():  # 'photo.jpg::0.5' names photo.jpg with weight 0.5
        value, own = split_weight(raw)
        if own is not None:
            path, weight = Path(value).expanduser(), weight * own
    modality = file_modality(path)
    if modality != expected:
        raise UserError(f"{flag} {raw} is not an {expected} file (it is {modality})")
    return QueryPart(expected, str(path.resolve()), weight)


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
    negative_images: list[str] | None = None,
    negative_audios: list[str] | None = None,
    fusion: str | None = None,
    min_relative: float | None = None,
    min_z: float | None = None,
    filters: Filters | None = None,
    hubness: str | None = None,
) -> Query:
    """Turn command-line style inputs into a Query, validating everything up front.

    A part's own weight follows '::' ("sunset::2", "photo.jpg::0.5") and multiplies its
    modality's weight from `weights`; negative parts subtract (their weight is made negative)."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    parts: list[QueryPart] = []
    if positional is not None:
        candidate = Path(positional).expanduser()
        if _is_query_file(candidate):
            modality = file_modality(candidate)
            value = str(candidate.resolve()) if modality != "text" else _document_text(candidate)
            parts.append(QueryPart(modality, value, weights[modality]))
        else:
            text, own = split_weight(positional)
            parts.append(QueryPart("text", text, weights["text"] * (1.0 if own is None else own)))
    for raw in texts or []:
        text, own = split_weight(raw)
        parts.append(QueryPart("text", text, weights["text"] * (1.0 if own is None else own)))
    for expected, paths, sign, flag in (
        ("image", images, 1.0, "--image"),
        ("audio", audios, 1.0, "--audio"),
        ("image", negative_images, -1.0, "--not-image"),
        ("audio", negative_audios, -1.0, "--not-audio"),
    ):
        for raw in paths or []:
            part = _file_part(raw, expected, weights[expected], flag)
            parts.append(QueryPart(part.modality, part.value, sign * abs(part.weight)))
    for raw in negatives or []:
        text, own = split_weight(raw)
        parts.append(QueryPart("text", text, -abs(weights["text"] * (1.0 if own is None else own))))
    for part in parts:
        if part.modality == "text" and not part.value.strip():
            raise UserError("empty text query")
        if part.modality == "text" and not _valid_unicode(part.value):
            raise UserError(
                "query text is not valid Unicode (a lone surrogate or bytes that are not UTF-8)"
            )
    for name, value in (("--min-score", min_score), ("--min-z", min_z)):
        if value is not None and not math.isfinite(value):
            raise UserError(f"{name} must be a finite number")
    if not any(part.weight > 0 for part in parts):
        raise UserError("nothing to search for: give a query text or a media file")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise UserError(f"-k must be a whole number from 1 to {MAX_K:,}")
    fusion = fusion or DEFAULT_FUSION
    if fusion not in FUSION_MODES:
        raise UserError(f"unknown --fusion '{fusion}' (choose from {', '.join(FUSION_MODES)})")
    hubness = hubness or DEFAULT_HUBNESS
    if hubness not in HUBNESS_MODES:
        raise UserError(f"unknown --hubness '{hubness}' (choose from {', '.join(HUBNESS_MODES)})")
    if min_relative is not None and not (math.isfinite(min_relative) and 0.0 < min_relative <= 1.0):
        raise UserError(
            "--min-relative must be in (0, 1], e.g. 0.8 keeps results within 80 % of the best"
        )
    return Query(
        parts,
        resolve_types(type, parts),
        k,
        min_score,
        fusion,
        min_relative,
        min_z,
        filters or Filters(),
        hubness,
    )


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


def parse_date(raw: str, flag: str) -> float:
    """'2024-06-01' or '2024-06-01T18:30' (local time) -> epoch seconds."""
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return datetime.fromisoformat(raw).timestamp()
    except (ValueError, OverflowError, OSError) as exc:
        raise UserError(
            f"{flag} takes a date like 2024-06-01 or 2024-06-01T18:30, not '{raw}'"
        ) from exc


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}


def parse_size(raw: str, flag: str) -> int:
    """'500k', '10MB', '1.5g' or plain bytes -> bytes (binary units)."""
    text = raw.strip().lower()
    number = text.rstrip("kmgb")
    unit = text[len(number) :]
    try:
        value = float(number)
    except ValueError as exc:
        raise UserError(f"{flag} takes a size like 500k or 10MB, not '{raw}'") from exc
    if unit not in _SIZE_UNITS or not math.isfinite(value) or not 0 <= value < 2**62:
        raise UserError(f"{flag} takes a size like 500k or 10MB, not '{raw}'")
    return int(value * _SIZE_UNITS[unit])


def parse_filters(
    under: list[str] | None = None,
    globs: list[str] | None = None,
    after: str | None = None,
    before: str | None = None,
    min_size: str | None = None,
    max_size: str | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
) -> Filters:
    for name, value in (("--min-duration", min_duration), ("--max-duration", max_duration)):
        if value is not None and not math.isfinite(value):
            raise UserError(f"{name} must be a finite number of seconds")
    folders = []
    for raw in under or []:
        folder = Path(raw).expanduser()
        if not folder.is_dir():
            raise UserError(f"--under {raw}: no such folder")
        folders.append(str(folder.resolve()))
    return Filters(
        under=tuple(folders),
        globs=tuple(globs or ()),
        after=None if after is None else parse_date(after, "--after"),
        before=None if before is None else parse_date(before, "--before"),
        min_size=None if min_size is None else parse_size(str(min_size), "--min-size"),
        max_size=None if max_size is None else parse_size(str(max_size), "--max-size"),
        min_duration=min_duration,
        max_duration=max_duration,
    )


def query_from_request(request: Any, default_k: int = 10) -> Query:
    """A `--batch` line: {"text", "image", "audio", "not", "not_image", "not_audio", "type", "k",
    "min_score", "min_relative", "min_z", "fusion", "hubness", "under", "glob", "after", "before",
    "min_size", "max_size", "min_duration", "max_duration"}; strings or lists for the parts."""
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

    def number(name: str) -> float | None:
        value = request.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{name} must be a number, not {_brief(value)}")
        if not math.isfinite(value):
            raise UserError(f"{name} must be a finite number")
        return float(value)

    k = request.get("k", default_k)
    if isinstance(k, float) and math.isfinite(k) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        raise UserError(f"k must be a whole number, not {_brief(k)}")
    for name in ("after", "before", "type", "fusion", "hubness"):
        if request.get(name) is not None and not isinstance(request.get(name), str):
            raise UserError(f"{name} must be a string, not {_brief(request.get(name))}")
    filters = parse_filters(
        under=as_list(request.get("under")),
        globs=as_list(request.get("glob")),
        after=request.get("after"),
        before=request.get("before"),
        min_size=request.get("min_size"),
        max_size=request.get("max_size"),
        min_duration=number("min_duration"),
        max_duration=number("max_duration"),
    )
    return build_query(
        None,
        texts=as_list(request.get("text")),
        images=as_list(request.get("image")),
        audios=as_list(request.get("audio")),
        negatives=as_list(request.get("not")),
        negative_images=as_list(request.get("not_image")),
        negative_audios=as_list(request.get("not_audio")),
        type=request.get("type"),
        k=k,
        min_score=number("min_score"),
        fusion=request.get("fusion"),
        min_relative=number("min_relative"),
        min_z=number("min_z"),
        filters=filters,
        hubness=request.get("hubness"),
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
        self.encoder = encoder or store_encoder(store)
        self.catalog = Catalog(store.catalog_path, readonly=True)
        self.query_cache = (
            QueryCache(store.cache_dir, encoder_identity(self.encoder)) if cache_queries else None
        )
        self._searchers: dict[str, SpaceSearcher] = {}
        self._part_vectors: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._passages: dict[tuple[str, int], dict[str, Any]] = {}
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
        """Why a space answered more slowly than usual (e.g. a damaged index file), or why
        repeated queries will not be faster (the store is read-only: no query cache)."""
        notes = [f"{s.space}: {s.degraded}" for s in self._searchers.values() if s.degraded]
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
        vectors = {
            space: matrix[0]
            for space, matrix in self.encoder.encode(part.modality, [value]).items()
        }
        if part.modality == "audio" and getattr(self.encoder, "transcriber_id", None):
            transcript = self.encoder.transcribe([value])[0]  # type: ignore[attr-defined]
            vectors.update(self._spoken_vectors(transcript))
        return vectors

    def _spoken_vectors(self, transcript: str | None) -> dict[str, np.ndarray]:
        """What a clip says, in the text spaces: speech finds photos and documents by its words."""
        if not transcript or not transcript.strip():
            return {}
        return dict(self.embed_part(QueryPart("text", transcript, 1.0)))

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
        """A query seen before in this store, with vectors for every space that takes it (a
        speech clip also has its words' vectors in the text spaces), of the right sizes."""
        if self.query_cache is None or not (key := self._persistent_key(part)):
            return None
        vectors = self.query_cache.get(key)
        if vectors is None:
            return None
        dims = {s.name: s.dim for s in self.encoder.spaces.values()}
        wanted = {s.name for s in self.encoder.spaces.values() if s.accepts(part.modality)}
        if not wanted <= vectors.keys() or any(
            dims.get(name) != len(vector) for name, vector in vectors.items()
        ):
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
        transcriber = getattr(self.encoder, "transcriber_id", None)
        if part.modality == "audio" and transcriber:
            if item.meta.get("transcriber") != transcriber:
                return None  # not transcribed by this model yet: transcribe the file now
            found.update(self._spoken_vectors(item.meta.get("transcript")))
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

    def part_lists(self, query: Query) -> list[QueryList]:
        """Late fusion's lists: one per (positive part, space that accepts it), each part's vector
        with the negative parts of that space subtracted; a part's weight is shared by its spaces."""
        negatives: dict[str, np.ndarray] = {}
        for part in query.parts:
            if part.weight < 0:
                for space, vector in self.embed_part(part).items():
                    negatives[space] = negatives.get(space, 0) + part.weight * vector
        lists = []
        for number, part in enumerate(query.parts):
            if part.weight <= 0:
                continue
            vectors = self.embed_part(part)
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

    # -- retrieval -----------------------------------------------------------------------
    def space_hits(
        self,
        space: str,
        vector: np.ndarray,
        query: Query,
        exclude: set[str],
        source: str | None = None,
    ) -> list[tuple[Item, float, float]]:
        """(item, cosine, ranking similarity) for items of the wanted types and filters, best
        first, over-fetching until there are 2k of them or the space is exhausted (so a narrow
        filter still fills k). A query of modality `source` in a shared space is ranked by CSLS
        among the fetched candidates."""
        searcher = self.searcher(space)
        fetch = query.k * 4 + len(exclude) + 10
        while True:
            labels, sims = searcher.query(vector, fetch)
            owners = self.catalog.items_for_vector_ids(space, labels.tolist())
            penalties = self.penalties(space, source, labels.tolist(), query)
            # Passages answer text queries (best-passage scoring, as in MaxP retrieval); a photo
            # or a sound is compared with whole documents: many passages are many chances to
            # match an image's few ImageNet classes by accident (image->text MRR 0.663 -> 0.612
            # when passages were allowed, bench/RESULTS.md).
            skip = (
                set(self.catalog.passages_for_vector_ids(space, labels.tolist()))
                if source not in (None, "text")
                else set()
            )
            hits: list[tuple[Item, float, float]] = []
            best: dict[int, tuple[float, int]] = {}  # item id -> (ranking similarity, label)
            position: dict[int, int] = {}
            for label, sim in zip(labels.tolist(), sims.tolist(), strict=True):
                if (query.min_score is not None and sim < query.min_score) or label in skip:
                    continue
                ranking = sim - penalties.get(label, 0.0)
                for item in owners.get(label, []):
                    if item.path in exclude or not query.accepts(item):
                        continue
                    # A long document has several vectors (passages): it scores by its best.
                    if item.id not in best or ranking > best[item.id][0]:
                        if item.id not in best:
                            position[item.id] = len(hits)
                            hits.append((item, sim, ranking))
                        else:
                            index = position[item.id]
                            hits[index] = (item, max(sim, hits[index][1]), ranking)
                        best[item.id] = (ranking, label)
            if len(hits) >= query.k * 2 or len(labels) < fetch or fetch >= searcher.size:
                hits.sort(key=lambda hit: -hit[2])  # stable: equal values keep the index order
                self._note_passages(space, best)
                return hits
            fetch *= 4

    def _note_passages(self, space: str, best: dict[int, tuple[float, int]]) -> None:
        """Remember which passage gave each document its score in this space."""
        found = self.catalog.passages_for_vector_ids(space, [label for _, label in best.values()])
        for item_id, (_, label) in best.items():
            if label in found:
                self._passages[(space, item_id)] = found[label]

    def penalties(
        self, space: str, source: str | None, vector_ids: list[int], query: Query
    ) -> dict[int, float]:
        """{vector id: CSLS penalty} for a query of modality `source` (none when off)."""
        if not self.reduces_hubness(space, source, query):
            return {}
        return self.catalog.hubness_penalties(space, source, vector_ids)

    def reduces_hubness(self, space: str, source: str | None, query: Query) -> bool:
        """CSLS applies to a list that can hold items of another modality than the query's:
        cross-modal (text -> photos) or mixed (text -> photos and sounds' words). A purely
        same-modality list (image -> image, text -> captions) keeps plain cosines: there, dense
        neighbourhoods are families of near-duplicates, which CSLS would push down (measured:
        image->image MRR 0.903 -> 0.796, bench/RESULTS.md)."""
        spec = self.encoder.spaces[space]
        if query.hubness == "none" or source is None or len(spec.modalities) < 2:
            return False
        reached = {t if spec.accepts(t) else "text" for t in query.types}
        return reached != {source}

    def item_penalties(
        self, items: list[Item], space: str, source: str | None, query: Query
    ) -> dict[int, float]:
        """{item id: CSLS penalty of its vector in the space} (see `penalties`)."""
        if not self.reduces_hubness(space, source, query):
            return {}
        spec = self.encoder.spaces[space]
        keys = {
            item.id: item.content_hash if spec.accepts(item.modality or "") else item.text_key
            for item in items
        }
        ids = self.catalog.vector_ids_for_keys(space, [k for k in keys.values() if k])
        found = self.catalog.hubness_penalties(space, source, list(ids.values()))
        return {
            item_id: found[ids[key]]
            for item_id, key in keys.items()
            if key in ids and ids[key] in found
        }

    def reachable(self, items: list[Item], space: str) -> set[int]:
        """Ids of the items this space's search can return: a vector of their content, or of
        their text side in a text space, alive in the committed index (a vector embedded but
        not indexed yet is not something a list could have ranked)."""
        spec = self.encoder.spaces[space]
        keys: dict[str, list[int]] = {}
        for item in items:
            if item.content_hash and spec.accepts(item.modality or ""):
                keys.setdefault(item.content_hash, []).append(item.id)
            if item.text_key and spec.accepts("text"):
                keys.setdefault(item.text_key, []).append(item.id)
        ids = self.catalog.vector_ids_for_keys(space, keys)
        live = self.catalog.live_members(space, ids.values())
        return {item_id for key, vid in ids.items() if vid in live for item_id in keys[key]}

    def item_vectors(self, items: list[Item], space: str) -> dict[int, np.ndarray]:
        """{item id: its vector in the space}: content for the modalities the space takes, the
        text side (tags, transcript) for audio in a text space."""
        spec = self.encoder.spaces[space]
        keys: dict[int, str] = {}
        for item in items:
            if item.content_hash and spec.accepts(item.modality or ""):
                keys[item.id] = item.content_hash
            elif item.text_key and spec.accepts("text"):
                keys[item.id] = item.text_key
        found = self.catalog.vectors_for_keys(space, keys.values())
        return {item_id: found[key] for item_id, key in keys.items() if key in found}

    def search(self, query: Query) -> list[Hit]:
        self.ensure_searchable()
        self._passages = {}
        exclude = {part.value for part in query.parts if part.modality != "text"}
        mode = query.fusion
        if mode == "auto":
            mode = "attention" if sum(part.weight > 0 for part in query.parts) > 1 else "rrf"
        if mode == "early":
            positive = {part.modality for part in query.parts if part.weight > 0}
            source = positive.pop() if len(positive) == 1 else None
            lists = [
                QueryList(
                    None,
                    space,
                    vector,
                    weight,
                    # a clip reaches a text space through its words: a text query there
                    source
                    if source is None or self.encoder.spaces[space].accepts(source)
                    else "text",
                )
                for space, (vector, weight) in self.space_vectors(query).items()
            ]
        else:
            lists = self.part_lists(query)
        if not lists:
            raise UserError("the query has no positive part that any space of this store accepts")
        retrieval = query
        if mode in ("score", "attention") or query.min_z is not None:
            retrieval = replace(query, k=max(query.k, FUSION_POOL))  # statistics independent of k
        merged: dict[int, Hit] = {}
        for query_list in lists:
            query_list.hits = self.space_hits(
                query_list.space, query_list.vector, retrieval, exclude, query_list.source
            )
            for item, sim, _ in query_list.hits:
                hit = merged.setdefault(item.id, Hit(item, score=sim))
                hit.scores[query_list.space] = max(sim, hit.scores.get(query_list.space, -1.0))
                hit.score = max(hit.score, sim)
        hits = list(merged.values())
        if mode in ("rrf", "early") or len(lists) == 1:
            fused = rrf(
                [
                    (
                        ql.weight,
                        dict(
                            zip(
                                [item.id for item, _, _ in ql.hits],
                                competition_ranks([ranking for _, _, ranking in ql.hits]),
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
        else:
            self._fuse_scores(query, mode, lists, hits)
        threshold = score_threshold(
            [hit.score for hit in hits], query.min_score, query.min_relative, query.min_z
        )
        ranked = sorted(
            (hit for hit in hits if hit.score >= threshold),
            key=lambda hit: (-hit.fused, -hit.score, hit.item.path),
        )[: query.k]
        for hit in ranked:
            hit.passage = next(
                (
                    self._passages[(space, hit.item.id)]
                    for space in hit.spaces
                    if (space, hit.item.id) in self._passages
                ),
                None,
            )
            where = hit.passage and locate(hit.item.meta.get("sections"), hit.passage["start"])
            if where:
                hit.passage = {**hit.passage, "where": where}  # "p. 3", "slide 2", "ch. 4"
        return ranked

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
                by_space[query_list.space] = self.reachable(items, query_list.space)
            # A list that returned an item could rank it, whatever the lookup says.
            able = by_space[query_list.space] | {item.id for item, _, _ in query_list.hits}
            for item_id in able:
                reach[item_id] = reach.get(item_id, 0.0) + query_list.weight
        return {item_id: total for item_id, total in reach.items() if total > 0}

    def _fuse_scores(
        self, query: Query, mode: str, lists: list[QueryList], hits: list[Hit]
    ) -> None:
        """score / attention fusion: every candidate's exact similarity in every list (also in
        lists that did not retrieve it), standardised by that list's retrieved scores."""
        items = [hit.item for hit in hits]
        parts = sorted({ql.part for ql in lists if ql.part is not None})
        # z[c, l]: standardised similarity; NaN where the candidate has no vector in the space.
        z = np.full((len(items), len(lists)), np.nan)
        vectors_by_space = {
            space: self.item_vectors(items, space) for space in {ql.space for ql in lists}
        }
        for column, query_list in enumerate(lists):
            retrieved = np.array([ranking for _, _, ranking in query_list.hits], dtype=np.float64)
            mean = float(retrieved.mean()) if len(retrieved) else 0.0
            spread = float(retrieved.std()) if len(retrieved) > 1 else 0.0
            spread = spread if spread > 1e-6 else 1.0
            vectors = vectors_by_space[query_list.space]
            penalties = self.item_penalties(items, query_list.space, query_list.source, query)
            # What the list itself ranked by (a document's best passage, a picture's words);
            # exact similarity of the item's own vector for candidates it did not retrieve.
            ranked = {item.id: ranking for item, _, ranking in query_list.hits}
            for row, item in enumerate(items):
                vector = vectors.get(item.id)
                if item.id in ranked:
                    z[row, column] = (ranked[item.id] - mean) / spread
                elif vector is not None:
                    similarity = float(vector @ query_list.vector) - penalties.get(item.id, 0.0)
                    z[row, column] = (similarity - mean) / spread
        weights = np.array([ql.weight for ql in lists])
        if mode == "score":
            known = ~np.isnan(z)
            totals = (known * weights).sum(axis=1)
            fused = np.nansum(z * weights, axis=1) / np.maximum(totals, 1e-12)
        else:  # attention over parts: a part's z is the weighted mean over its spaces
            per_part = np.full((len(items), len(parts)), np.nan)
            part_weights = np.zeros(len(parts))
            for index, part in enumerate(parts):
                columns = [c for c, ql in enumerate(lists) if ql.part == part]
                block, block_weights = z[:, columns], weights[columns]
                known = ~np.isnan(block)
                totals = (known * block_weights).sum(axis=1)
                means = np.nansum(block * block_weights, axis=1) / np.maximum(totals, 1e-12)
                per_part[:, index] = np.where(totals > 0, means, np.nan)
                part_weights[index] = query.parts[part].weight
            fused = attention_scores(per_part, part_weights, ATTENTION_TEMPERATURE)
        for hit, value in zip(hits, fused, strict=True):
            hit.fused = float(value)
