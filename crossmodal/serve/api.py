"""The JSON API, on Starlette: the CLI contract over HTTP.

POST /search takes a `--batch` line's object and answers what `search --json` prints, each
result with its item `id`; POST /recommend takes `recommend`'s options. GET /items/{id},
/thumb/{id}, /media/{id} (HTTP Range, so players seek) and /stats read. The page is `/`, its
files `/static/...`, the API's description `/openapi.json`.

Why Starlette on uvicorn: one small, well-kept ASGI stack (BSD-3, pure Python over h11) with
Range-aware file responses; FastAPI would add pydantic, which costs start-up (measured for
typer, issue 7) for validation the library's own argument checks already do. The standard
library's ThreadingHTTPServer has no HTTP/1.1 keep-alive worth the name and no Range support.
Request paths never name files: the engine reads only indexed items, by id or indexed path.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch import batch_request
from ..errors import CrossmodalError, UserError
from ..query import BULKY_META, MAX_K, file_modality, query_from_request
from ..store import Store as StoreFolder
from . import files
from .live import Busy, LiveEngine, TooSlow

STATIC = Path(__file__).with_name("static")
PAGE_FILES = ("index.html", "app.js", "style.css", "docs.html")
FILE_KEYS = ("image", "audio", "video", "not_image", "not_audio")
SERVER_KEYS = ("offset", "upload", "id")
MAX_PARTS = 32  # texts and files in one query: more is a script's mistake, and holds the engine
MAX_TEXT_CHARS = 20_000  # all its texts together
MAX_SEEDS = 1000  # liked, disliked and seen items of one recommendation
UPLOAD_SUFFIXES = {"image": ".img", "audio": ".snd", "video": ".vid"}


@dataclass
class Limits:
    max_body: int = 48 << 20  # an uploaded query picture or sound, base64 in JSON
    time_limit: float = 30.0  # seconds a search or recommendation may take
    heavy: int = 2  # uploads being decoded at once
    waiting: int = 64  # engine calls queued at once


class Uploads:
    """Query files sent in a request, kept under the store's cache folder while they are used
    and removed after; `heavy` at a time (each is decoded with ingest's bomb limits)."""

    def __init__(self, folder: Path, heavy: int) -> None:
        self.folder, self._slots = folder, threading.BoundedSemaphore(heavy)
        self.heavy = heavy

    @contextlib.contextmanager
    def saved(self, upload: Any):  # type: ignore[no-untyped-def]
        if not isinstance(upload, dict) or not isinstance(upload.get("data"), str):
            raise UserError('upload must be {"data": BASE64, "name": FILE NAME}')
        try:
            data = base64.b64decode(upload["data"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UserError(f"upload data is not base64: {exc}") from exc
        if not data:
            raise UserError("upload is empty")
        if not self._slots.acquire(blocking=False):
            raise Busy(f"{self.heavy} uploads are being decoded already; try again")
        path: Path | None = None
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = str(upload.get("name") or "")
            suffix = Path(name).suffix.lower()
            suffix = (
                suffix if suffix.isascii() and 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""
            )
            path = self.folder / f"{secrets.token_hex(8)}{suffix}"
            with open(path, "xb") as out:
                out.write(data)
            yield path
        except OSError as exc:
            raise UserError(
                f"cannot keep the upload in the store's cache: {exc.strerror or exc}"
            ) from exc
        finally:
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
            self._slots.release()


def hit_dict(hit: Any, rank: int) -> dict[str, Any]:
    return {"id": hit.item.id, **hit.to_dict(rank)}


def item_dict(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "path": item.path,
        "modality": item.modality,
        "size": item.size,
        "mtime": item.mtime_ns / 1e9 if item.mtime_ns else None,
        "meta": {k: v for k, v in item.meta.items() if k not in BULKY_META},
    }


def _indexed(engine: Any, value: Any, key: str) -> str:
    """An indexed item's path for a request's file value (its id or its indexed path)."""
    item = None
    if isinstance(value, int) and not isinstance(value, bool):
        item = engine.catalog.item_by_id(value) if 0 < value < 1 << 62 else None
    elif isinstance(value, str) and os.path.isabs(value):
        item = engine.catalog.item_by_path(value)
    if files.indexed_file(item) is None:
        raise UserError(
            f"{key}: {value!r} is not an indexed file of this store (give its id or path)"
        )
    return item.fs_path  # a name that is not UTF-8 opens by its raw bytes


def _indexed_list(
    engine: Any, request: dict[str, Any], key: str, most: int = MAX_PARTS
) -> list[str] | None:
    raw = request.get(key)
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else [raw]
    if len(values) > most:
        raise UserError(f"{key}: at most {most} files")
    return [_indexed(engine, value, key) for value in values]


def check_request(request: dict[str, Any]) -> None:
    """What a --batch line may be but a server request may not: an id that is not a string or
    a finite number, text that is not Unicode (a lone surrogate), too many or too long parts."""
    request_id = request.get("id")
    if isinstance(request_id, float) and not math.isfinite(request_id):
        raise UserError("id must be a string or a finite number")

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
        return []

    for text in strings(request):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UserError(
                "the request holds text that is not Unicode (a lone surrogate)"
            ) from exc
    for key in ("text", "not", "prefer", "avoid"):
        value = request.get(key)
        texts = value if isinstance(value, list) else [value] if value is not None else []
        if len(texts) > MAX_PARTS:
            raise UserError(f"{key}: at most {MAX_PARTS} texts")
        if sum(len(t) for t in texts if isinstance(t, str)) > MAX_TEXT_CHARS:
            raise UserError(f"{key}: at most {MAX_TEXT_CHARS:,} characters in all")


class Api:
    """The endpoints' work, done on the engine thread where it touches the store."""

    def __init__(self, folder: StoreFolder, live: LiveEngine, limits: Limits) -> None:
        self.folder, self.live, self.limits = folder, live, limits
        self.uploads = Uploads(folder.cache_dir / "uploads", limits.heavy)
        self.started = time.time()
        self.requests = 0

    # -- search ----------------------------------------------------------------------------
    def search(self, engine: Any, request: dict[str, Any], upload: Path | None) -> dict[str, Any]:
        offset = request.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < MAX_K:
            raise UserError(f"offset must be a whole number from 0 to {MAX_K - 1:,}")
        line = {k: v for k, v in request.items() if k not in SERVER_KEYS}
        for key in FILE_KEYS:
            if (paths := _indexed_list(engine, line, key)) is not None:
                line[key] = paths
        if upload is not None:
            modality = file_modality(upload)
            key = modality if modality in ("image", "audio", "video") else "text"
            if key == "text":
                raise UserError("an upload is a picture, a sound or a video")
            line[key] = [*(line.get(key) or []), str(upload)]
        under = line.get("under")
        for folder in under if isinstance(under, list) else [under]:
            if isinstance(folder, str) and not os.path.isabs(folder):
                raise UserError(f"under takes an absolute folder path, not {folder!r}")
        k = line.get("k", 10)
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        if isinstance(k, int) and not isinstance(k, bool) and k >= 1:
            if offset + k > MAX_K:
                raise UserError(f"offset + k must be at most {MAX_K:,}")
            line["k"] = min(offset + k + 1, MAX_K)  # one more than shown: is there a next page?
        query = query_from_request(line)
        hits = engine.search(query)
        shown = hits[offset : offset + k] if isinstance(k, int) else hits[offset:]
        described = query.describe()
        if isinstance(k, int) and not isinstance(k, bool):
            described["k"] = k  # as asked (one more was fetched to answer "more")
        if upload is not None:  # the temporary name means nothing to the client
            described = _named_upload(described, str(upload), request["upload"].get("name"))
        return {
            **({"id": request["id"]} if "id" in request else {}),
            "query": described,
            "offset": offset,
            "more": len(hits) > offset + len(shown),
            "results": [hit_dict(hit, rank) for rank, hit in enumerate(shown, offset + 1)],
            **({"notes": engine.warnings} if engine.warnings else {}),
        }

    def recommend(self, engine: Any, request: dict[str, Any]) -> dict[str, Any]:
        from .. import arguments
        from ..recommend import DEFAULT_DIVERSITY, recommend

        known = {"like", "dislike", "history", "prefer", "avoid", "type", "k", "diversity", "id"}
        unknown = sorted(set(request) - known)
        if unknown:
            raise UserError(f"unknown recommend option: {unknown[0]}")
        history = request.get("history")
        if history is not None and not isinstance(history, list):
            raise UserError("history is a list of indexed files (ids or paths)")
        likes = _indexed_list(engine, request, "like", MAX_SEEDS) or []
        dislikes = _indexed_list(engine, request, "dislike", MAX_SEEDS) or []
        seen = _indexed_list(engine, request, "history", MAX_SEEDS) or []
        diversity = arguments.number(request.get("diversity"), "diversity")
        hits, profile = recommend(
            engine,
            likes,
            history=seen,
            prefer=arguments.strings(request.get("prefer"), "prefer"),
            type=arguments.text(request.get("type"), "type"),
            k=arguments.whole(request.get("k", 10), "k"),
            dislikes=dislikes,
            avoid=arguments.strings(request.get("avoid"), "avoid"),
            diversity=DEFAULT_DIVERSITY if diversity is None else diversity,
        )
        return {
            **({"id": request["id"]} if "id" in request else {}),
            "profile": profile,
            "results": [hit_dict(hit, rank) for rank, hit in enumerate(hits, 1)],
        }

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def item(engine: Any, item_id: int) -> Any:
        item = engine.catalog.item_by_id(item_id)
        return item if item is not None and item.status == "ok" else None

    def stats(self) -> dict[str, Any]:
        from ..stats import store_stats

        report = store_stats(self.folder)
        report["server"] = {
            "uptime_s": round(time.time() - self.started, 1),
            "requests": self.requests,
            "generation_switches": self.live.switches,
            "last_switch": self.live.last_switch,
            "next_generation_error": self.live.build_error,
            "spaces": {row[0]: row[1] for row in (self.live.version or ((),))[0]},
        }
        return report


def _named_upload(described: dict[str, Any], temp: str, name: Any) -> dict[str, Any]:
    shown = f"upload:{name}" if isinstance(name, str) and name else "upload"

    def swap(value: Any) -> Any:
        if value == temp:
            return shown
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    return swap(described)


def parse_body(raw: bytes) -> dict[str, Any]:
    """A request body as a `--batch` line is read: the same errors for the same mistakes."""
    request = batch_request(raw)
    check_request(request)
    return request


ERROR_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Busy, 429),
    (files.ThumbnailsBusy, 429),
    (TooSlow, 408),
    (UserError, 400),
    (CrossmodalError, 503),
)


def status_of(exc: Exception) -> int:
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return status
    return 500
