"""serve/guard.py called as ASGI, in-process: each check, its status, and what passes through.
(tests/test_serve.py sends the same requests to a real server over HTTP.)"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from crossmodal.serve.guard import COOKIE, PAGE_POLICY, Guard, host_names

HOSTS = host_names("127.0.0.1", 8765)


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The app behind the guard: answers 200 with the body it received."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def call(
    guard: Guard,
    method: str = "GET",
    path: str = "/stats",
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
    query: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    sent = {"host": "127.0.0.1:8765", **(headers or {})}
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
    }
    pending = list(chunks or [b""])
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    asyncio.run(guard(scope, receive, send))
    start = out[0]
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, b"".join(m.get("body", b"") for m in out[1:])


def guard(token: str | None = None, max_body: int = 100) -> Guard:
    return Guard(echo, HOSTS, token, max_body, json_posts=("/search", "/recommend"))


JSON = {"content-type": "application/json"}


def test_host_names() -> None:
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"} == HOSTS
    assert host_names("0.0.0.0", 80) is None and host_names("::", 1) is None
    assert host_names("192.168.1.5", 80) == {"192.168.1.5:80", "192.168.1.5"}
    assert host_names("::1", 9) == {"[::1]:9", "127.0.0.1:9", "localhost:9"}


def test_hosts_and_cross_site() -> None:
    assert call(guard())[0] == 200
    for host in ("evil.example", "evil.example:8765", "127.0.0.1:9999", "", "LOCALHOST:8765x"):
        status, headers, body = call(guard(), headers={"host": host})
        assert status == 400 and "Host" in json.loads(body)["error"], host
        assert headers["content-type"] == "application/json"
    assert call(guard(), headers={"host": "LocalHost:8765"})[0] == 200
    assert call(guard(), headers={"sec-fetch-site": "cross-site"})[0] == 403
    assert call(guard(), headers={"sec-fetch-site": "same-origin"})[0] == 200
    anywhere = Guard(echo, None, "t", 100, ("/search",))
    assert call(anywhere, headers={"host": "any.name", "authorization": "Bearer t"})[0] == 200


def test_methods_and_content_types() -> None:
    g = guard()
    assert call(g, "POST", "/search", JSON, [b"{}"])[0] == 200
    assert (
        call(g, "POST", "/search", {"content-type": "application/json; charset=utf-8"}, [b"{}"])[0]
        == 200
    )
    assert call(g, "GET", "/search")[0] == 405
    assert call(g, "POST", "/stats", JSON, [b"{}"])[0] == 405
    assert call(g, "PUT", "/items/1")[0] == 405
    assert call(g, "HEAD", "/stats")[0] == 200
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        assert call(g, "POST", "/search", {"content-type": kind}, [b"{}"])[0] == 415, kind


def test_body_limit_counts_what_arrives() -> None:
    g = guard(max_body=100)
    status, _, body = call(g, "POST", "/search", JSON, [b"x" * 100])
    assert status == 200 and body == b"x" * 100  # the app gets the whole body, replayed
    assert call(g, "POST", "/search", JSON, [b"x" * 60, b"y" * 40])[2] == b"x" * 60 + b"y" * 40
    assert g.reading == 0  # every chunk's bytes given back
    assert call(g, "POST", "/search", {**JSON, "content-length": "100"}, [b"x" * 100])[0] == 200
    assert call(g, "POST", "/search", JSON, [b"x" * 60, b"y" * 41])[0] == 413
    assert call(g, "POST", "/search", {**JSON, "content-length": "101"}, [b""])[0] == 413
    assert call(g, "POST", "/search", {**JSON, "content-length": "-1"}, [b""])[0] == 413
    assert g.refused == 3


def test_token_by_header_cookie_or_query() -> None:
    g = guard(token="s3cret")
    status, headers, _ = call(g)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert call(g, headers={"authorization": "Bearer s3cret"})[0] == 200
    assert call(g, headers={"authorization": "bearer s3cret"})[0] == 200
    assert call(g, headers={"authorization": "Bearer s3cre"})[0] == 401
    assert call(g, headers={"authorization": "Basic s3cret"})[0] == 401
    assert call(g, headers={"cookie": f"{COOKIE}=s3cret"})[0] == 200
    assert call(g, headers={"cookie": f"other=1; {COOKIE}=nope"})[0] == 401
    assert call(g, headers={"cookie": '"broken'})[0] == 401
    assert call(g, query=b"token=s3cret")[0] == 200
    assert call(g, query=b"token=s3cret2")[0] == 401
    # opening the page with the token keeps it in a cookie; nothing else sets one
    _, headers, _ = call(g, path="/", query=b"token=s3cret")
    assert headers["set-cookie"] == f"{COOKIE}=s3cret; HttpOnly; SameSite=Strict; Path=/"
    assert "set-cookie" not in call(g, path="/stats", query=b"token=s3cret")[1]
    assert "set-cookie" not in call(guard(), path="/")[1]
    own = Guard(echo, HOSTS, "s3cret", 100, (), cookie=f"{COOKIE}_8765")
    assert call(own, headers={"cookie": f"{COOKIE}_8765=s3cret"})[0] == 200
    assert call(own, headers={"cookie": f"{COOKIE}=s3cret"})[0] == 401  # another server's
    assert call(own, path="/", query=b"token=s3cret")[1]["set-cookie"].startswith(f"{COOKIE}_8765=")


def test_security_headers() -> None:
    _, headers, _ = call(guard(), path="/")
    assert headers["content-security-policy"] == PAGE_POLICY.decode()
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" in call(guard(), path="/static/app.js")[1]
    assert "content-security-policy" not in call(guard(), path="/stats")[1]
    assert "access-control-allow-origin" not in headers


def test_other_scopes() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    g = Guard(app, HOSTS, None, 10, ())
    asyncio.run(g({"type": "lifespan"}, None, None))
    asyncio.run(g({"type": "websocket", "path": "/"}, None, None))
    assert seen == ["lifespan"]


def test_a_body_that_stops_arriving_is_408(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crossmodal.serve import guard as guard_module

    monkeypatch.setattr(guard_module, "BODY_SECONDS", 0.2)
    g = guard()
    scope = {"type": "http", "method": "POST", "path": "/search", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:8765"), (b"content-type", b"application/json")]}  # fmt: skip
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    started = time.monotonic()
    asyncio.run(g(scope, receive, send))
    assert out[0]["status"] == 408 and time.monotonic() - started < 2
    assert g.reading == 0


def test_bodies_share_a_budget() -> None:
    g = Guard(echo, HOSTS, None, 100, ("/search",), budget=150)
    assert call(g, "POST", "/search", JSON, [b"x" * 100])[0] == 200
    assert g.reading == 0  # given back once answered
    g.reading = 100  # another request holds 100 bytes
    status, headers, body = call(g, "POST", "/search", JSON, [b"x" * 60])
    assert status == 429 and "too many" in json.loads(body)["error"]
    assert call(g, "POST", "/search", JSON, [b"x" * 50])[0] == 200
    assert g.reading == 100


def test_another_apps_odd_cookie_does_not_hide_the_token() -> None:
    g = guard(token="s3cret")
    odd = 'prefs={"a":1}; name=caf\u00e9 x'
    assert call(g, headers={"cookie": f"{odd}; {COOKIE}=s3cret"})[0] == 200
    assert call(g, headers={"cookie": f'{COOKIE}="s3cret"; {odd}'})[0] == 200
    assert call(g, headers={"cookie": f"{COOKIE}x=s3cret"})[0] == 401


def test_same_site_is_refused_too() -> None:
    for site in ("same-site", "cross-site", "other"):
        assert call(guard(), headers={"sec-fetch-site": site})[0] == 403, site
    assert call(guard(), headers={"sec-fetch-site": "none"})[0] == 200
