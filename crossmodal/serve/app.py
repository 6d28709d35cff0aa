"""The Starlette application: routes, errors as JSON, and the guard around it all."""

from __future__ import annotations

import json
import math
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CrossmodalError, UserError
from ..store import Store as StoreFolder
from . import files
from .api import PAGE_FILES, STATIC, Api, Limits, item_dict, parse_body, status_of
from .guard import COOKIE, Guard, host_names
from .live import LiveEngine
from .openapi import openapi

# Media the page plays or shows inline; anything else (HTML, SVG, scripts) is sent as a
# download, and every media response is sandboxed, so an indexed web page never runs here.
INLINE = ("image/", "audio/", "video/", "application/pdf", "text/plain")


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    models: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)


def _json(payload: Any, status: int = 200) -> Any:
    from starlette.responses import Response

    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=_plain)
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: escaped, still valid JSON
        data = json.dumps(payload, ensure_ascii=True, allow_nan=False, default=_plain).encode()
    return Response(data, status, media_type="application/json")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _error(exc: Exception) -> Any:
    message = str(exc) if isinstance(exc, CrossmodalError) else f"{type(exc).__name__}: {exc}"
    status = status_of(exc)
    headers = {"retry-after": "1"} if status == 429 else None
    response = _json({"error": message.splitlines()[0] if message else type(exc).__name__}, status)
    if headers:
        response.headers.update(headers)
    return response


def _item_id(request: Any) -> int | None:
    raw = request.path_params.get("item_id", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def create_app(folder: StoreFolder, live: LiveEngine, config: ServeConfig) -> Any:
    """The ASGI app for one store (the engine `live` is started by the caller)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    api = Api(folder, live, config.limits)

    def endpoint(work: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        async def run(request: Any) -> Any:
            api.requests += 1
            try:
                return await work(request)
            except Exception as exc:  # every failure is this request's answer, never the server's
                return _error(exc)

        return run

    async def body_of(request: Any) -> dict[str, Any]:
        return parse_body(await request.body())

    @endpoint
    async def search(request: Any) -> Any:
        payload = await body_of(request)
        if "upload" in payload:
            upload = payload["upload"]
            with api.uploads.saved(upload) as path:
                try:
                    answer = await live.call(lambda engine: api.search(engine, payload, path))
                except CrossmodalError as exc:  # the temporary name means nothing to the client
                    if str(path) not in str(exc):
                        raise
                    raise UserError(str(exc).replace(str(path), "the upload")) from exc
        else:
            answer = await live.call(lambda engine: api.search(engine, payload, None))
        return _json(answer)

    @endpoint
    async def recommend(request: Any) -> Any:
        payload = await body_of(request)
        return _json(await live.call(lambda engine: api.recommend(engine, payload)))

    async def found(request: Any) -> Any:
        item_id = _item_id(request)
        if item_id is None:
            return None
        return await live.call(lambda engine: api.item(engine, item_id))

    @endpoint
    async def item(request: Any) -> Any:
        found_item = await found(request)
        if found_item is None:
            return _json({"error": "no such item"}, 404)
        return _json(item_dict(found_item))

    @endpoint
    async def thumb(request: Any) -> Any:
        size = request.query_params.get("size", "256")
        at = request.query_params.get("t")
        if not (size.isascii() and size.isdigit()) or int(size) not in files.THUMB_SIZES:
            return _json({"error": f"size is one of {', '.join(map(str, files.THUMB_SIZES))}"}, 400)
        try:
            seconds = None if at is None else round(float(at), 1)
        except ValueError:
            seconds = None
        if seconds is not None and not (math.isfinite(seconds) and 0 <= seconds < 1e6):
            return _json({"error": "t is a time in seconds"}, 400)
        found_item = await found(request)
        if found_item is None:
            return _json({"error": "no such item"}, 404)
        data = await run_in_threadpool(
            files.thumbnail_jpeg, found_item, int(size), folder.cache_dir, seconds
        )
        if data is None:
            return _json({"error": "this item has no picture"}, 404)
        return Response(
            data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"}
        )

    @endpoint
    async def media(request: Any) -> Any:
        found_item = await found(request)
        path = files.indexed_file(found_item)
        if path is None:
            return _json({"error": "no such item, or its file changed since it was indexed"}, 404)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        inline = kind.startswith(INLINE)
        headers = {
            "content-security-policy": "sandbox; default-src 'none'",
            "cache-control": "private, max-age=60",
        }
        return FileResponse(
            path,
            media_type=kind if inline else "application/octet-stream",
            headers=headers,
            filename=files.download_name(path),
            content_disposition_type="inline" if inline else "attachment",
        )

    @endpoint
    async def stats(request: Any) -> Any:
        return _json(await run_in_threadpool(api.stats))

    @endpoint
    async def spec(request: Any) -> Any:
        return _json(openapi())

    async def page(request: Any) -> Any:
        name = request.path_params.get("name", "index.html")
        if name not in PAGE_FILES or not (STATIC / name).is_file():
            return _json({"error": "not found"}, 404)
        return FileResponse(STATIC / name, headers={"cache-control": "no-cache"})

    async def not_found(request: Any, exc: Exception) -> Any:
        return _json({"error": "not found"}, 404)

    async def failed(request: Any, exc: Exception) -> Any:
        return _error(exc)

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/static/{name}", page, methods=["GET", "HEAD"]),
        Route("/search", search, methods=["POST"]),
        Route("/recommend", recommend, methods=["POST"]),
        Route("/items/{item_id}", item, methods=["GET", "HEAD"]),
        Route("/thumb/{item_id}", thumb, methods=["GET", "HEAD"]),
        Route("/media/{item_id}", media, methods=["GET", "HEAD"]),
        Route("/stats", stats, methods=["GET", "HEAD"]),
        Route("/openapi.json", spec, methods=["GET", "HEAD"]),
    ]
    app = Starlette(
        routes=routes, exception_handlers={404: not_found, 405: not_found, Exception: failed}
    )
    guard = Guard(
        app,
        host_names(config.host, config.port),
        config.token,
        config.limits.max_body,
        json_posts=("/search", "/recommend"),
        cookie=f"{COOKIE}_{config.port}",
    )
    return guard
