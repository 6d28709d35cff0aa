"""Queries: what a search is asked (parts with weights, result types, filters, cutoffs), how
command-line style inputs and `--batch` lines become one, and what it answers (hits). Retrieval
and fusion are in search.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import Item
from .errors import MediaError, UserError
from .filters import Filters, parse_filters
from .fsutil import refuse_special

MODALITY_TYPES = ("image", "text", "audio", "video")
# A text-only query with no --type looks for media: "a dog on a beach" wants photos, and a caption
# that repeats the query's words would otherwise outrank every photo (same-modality similarity is
# systematically higher than cross-modal). `--type text` or `--type all` includes documents.
TEXT_QUERY_DEFAULT_TYPES = ("image", "audio", "video")
# Meta fields too long for every result line: a video's cues (and all it says) live on as its
# timed parts, the one that matched in "passage".
BULKY_META = ("subtitles", "speech")
BULKY_VIDEO_META = (*BULKY_META, "transcript")
DEFAULT_WEIGHTS = {"text": 1.0, "image": 1.0, "audio": 1.0, "video": 1.0}
FUSION_MODES = ("auto", "rrf", "score", "attention", "early")
# auto = rrf for one positive part (merging its spaces), attention for several: the best of both on
# the labelled queries (bench/RESULTS.md: image->image MRR 0.903 rrf vs 0.781 attention; fused
# 0.868 attention vs 0.682 rrf).
DEFAULT_FUSION = "auto"
HUBNESS_MODES = ("csls", "none")
DEFAULT_HUBNESS = "csls"
WEIGHT_SEPARATOR = "::"  # "sunset::2", "photo.jpg::0.5" (Midjourney-style multi-prompt weights)


@dataclass(frozen=True)
class QueryPart:
    modality: str  # text | image | audio | video
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
    fusion: str = DEFAULT_FUSION
    min_relative: float | None = None
    min_z: float | None = None
    filters: Filters = field(default_factory=Filters)
    hubness: str = DEFAULT_HUBNESS

    def accepts(self, item: Item) -> bool:
        return item.modality in self.types and (not self.filters or self.filters.accepts(item))

    def title(self) -> str:
        """One line naming the parts: "text:a cat + image:moon.png x0.5"."""
        return " + ".join(
            f"{p.modality}:{Path(p.value).name if p.modality != 'text' else p.value}"
            + (f" x{p.weight:g}" if p.weight != 1 else "")
            for p in self.parts
        )

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
class Hit:
    item: Item
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    fused: float = 0.0
    because: str | None = None  # recommend: the liked item or text that contributed most
    passage: dict[str, Any] | None = None  # the part that matched best: a passage, a scene

    def name_passage(self, passage: dict[str, Any] | None) -> None:
        """The part that matched best, with where it stands ("p. 3", "slide 2", "ch. 4" in a
        document; "0:42–0:57" in a video)."""
        from .media.documents.base import locate

        if passage is not None and self.item.modality == "video":
            self.passage = {**passage, "where": time_span(passage["start"], passage["end"])}
            return
        where = passage and locate(self.item.meta.get("sections"), passage["start"])
        self.passage = {**passage, "where": where} if passage and where else passage

    @property
    def span(self) -> tuple[float, float] | None:
        """(start, end) in seconds of a video's matched scene, else None."""
        if self.item.modality != "video" or self.passage is None:
            return None
        return float(self.passage["start"]), float(self.passage["end"])

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
            "meta": {
                k: v
                for k, v in self.item.meta.items()
                if k not in (BULKY_VIDEO_META if self.item.modality == "video" else BULKY_META)
            },
            **({"because": self.because} if self.because is not None else {}),
            **({"passage": self.passage} if self.passage is not None else {}),
            **({"start": self.span[0], "end": self.span[1]} if self.span else {}),
        }


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03: how players show a time."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_span(start: float, end: float) -> str:
    return f"{clock(start)}\u2013{clock(math.ceil(end))}"


def file_modality(path: Path) -> str:
    """The modality of a query file, by content; UserError when it is not usable media."""
    from .media.sniff import MODALITIES, sniff_modality

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
        raise UserError(f"query file {path} is not a supported image, audio, video or text file")
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
    videos: list[str] | None = None,
) -> Query:
    """Turn command-line style inputs into a Query, validating everything up front.

    A part's own weight follows '::' ("sunset::2", "photo.jpg::0.5") and multiplies its
    modality's weight from `weights`; negative parts subtract (their weight is made negative)."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    parts = _positional_parts(positional, weights) + _text_parts(texts, weights, 1.0)
    for expected, paths, sign, flag in (
        ("image", images, 1.0, "--image"),
        ("audio", audios, 1.0, "--audio"),
        ("video", videos, 1.0, "--video"),
        ("image", negative_images, -1.0, "--not-image"),
        ("audio", negative_audios, -1.0, "--not-audio"),
    ):
        for raw in paths or []:
            part = _file_part(raw, expected, weights[expected], flag)
            parts.append(QueryPart(part.modality, part.value, sign * abs(part.weight)))
    parts += _text_parts(negatives, weights, -1.0)
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
    fusion, hubness = _checked_options(k, fusion, hubness, min_relative)
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


def _positional_parts(positional: str | None, weights: dict[str, float]) -> list[QueryPart]:
    """QUERY: a file names a part of its own modality (a document: its text), else text."""
    if positional is None:
        return []
    candidate = Path(positional).expanduser()
    if _is_query_file(candidate):
        modality = file_modality(candidate)
        value = str(candidate.resolve()) if modality != "text" else _document_text(candidate)
        return [QueryPart(modality, value, weights[modality])]
    return _text_parts([positional], weights, 1.0)


def _text_parts(texts: list[str] | None, weights: dict[str, float], sign: float) -> list[QueryPart]:
    """Text parts with their own '::W' weights; `sign` -1 makes them negative."""
    parts = []
    for raw in texts or []:
        text, own = split_weight(raw)
        weight = weights["text"] * (1.0 if own is None else own)
        parts.append(QueryPart("text", text, weight if sign > 0 else -abs(weight)))
    return parts


def _checked_options(
    k: Any, fusion: str | None, hubness: str | None, min_relative: float | None
) -> tuple[str, str]:
    """(fusion, hubness) with their defaults, after checking k and the cutoffs."""
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
    return fusion, hubness


def resolve_types(type: str | None, parts: list[QueryPart]) -> tuple[str, ...]:
    """The result modalities: --type, else media for a text-only query, else everything."""
    if type is None:
        if parts and all(part.modality == "text" for part in parts):
            return TEXT_QUERY_DEFAULT_TYPES
        return MODALITY_TYPES
    if type == "all":
        return MODALITY_TYPES
    if type not in MODALITY_TYPES:
        raise UserError(f"unknown --type '{type}' (choose from image, text, audio, video, all)")
    return (type,)


# A --batch line's keys for build_query's list and option arguments.
BATCH_OPTIONS = {
    "text": "texts",
    "image": "images",
    "audio": "audios",
    "video": "videos",
    "not": "negatives",
    "not_image": "negative_images",
    "not_audio": "negative_audios",
    "min_score": "min_score",
    "min_relative": "min_relative",
    "min_z": "min_z",
    "fusion": "fusion",
    "hubness": "hubness",
}
BATCH_FILTERS = ("under", "glob", "after", "before", "min_size", "max_size")
BATCH_FILTERS += ("min_duration", "max_duration", "lang")


def query_from_request(request: Any, default_k: int = 10) -> Query:
    """A `--batch` line: {"text", "image", "audio", "video", "not", "not_image", "not_audio", "type", "k",
    "min_score", "min_relative", "min_z", "fusion", "hubness", "under", "glob", "after", "before",
    "min_size", "max_size", "min_duration", "max_duration", "lang"}; strings or lists for the
    parts (and for "lang").
    Each value is checked as the library face checks its arguments (arguments.py)."""
    from . import arguments

    if not isinstance(request, dict):
        raise UserError("each batch line must be a JSON object")
    k = request.get("k", default_k)
    if isinstance(k, float) and math.isfinite(k) and k.is_integer():
        k = int(k)
    k = arguments.whole(k, "k")
    kind = arguments.text(request.get("type"), "type")
    filters = parse_filters(
        **arguments.filter_options({name: request.get(name) for name in BATCH_FILTERS})
    )
    options = {option: request.get(key) for key, option in BATCH_OPTIONS.items()}
    return build_query(None, type=kind, k=k, filters=filters, **arguments.search_options(options))


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
    if not all(math.isfinite(value) for value in values):
        raise UserError(f"--weights must be finite numbers: {raw}")
    return dict(zip(("text", "image", "audio"), values, strict=True))
