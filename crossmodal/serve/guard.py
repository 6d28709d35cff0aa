"""What every request passes before it reaches the API: local by default, nothing else let in.

- The Host header must name the address the server is bound to (DNS rebinding: a page on
  evil.example that resolves to 127.0.0.1 sends Host: evil.example, and is refused).
- A browser's request from any other origin (Sec-Fetch-Site: cross-site or same-site; on an IP
  address "same-site" is any other port of it) is refused, so another page can neither call the
  API nor embed a thumbnail; responses say Cross-Origin-Resource-Policy: same-origin for browsers
  that do not send the header.
- With a token (required off loopback), every request carries it: `Authorization: Bearer T`,
  the `crossmodal_token_PORT` cookie that opening `/?token=T` sets (HttpOnly, SameSite=Strict), or
  `?token=T`.
- Reads are GET (or HEAD); the only POSTs are the JSON endpoints, with a JSON content type (no
  form posts, so no cross-site "simple request" gets through), and a body of at most
  `max_body` bytes, counted as it arrives (a missing or false Content-Length changes nothing),
  arriving within BODY_SECONDS; bodies being read at once share `budget` bytes (past it, 429 at
  once), so memory stays bounded however many clients send uploads.

A refusal is a 4xx with a JSON {"error": ...} body; nothing here can take the server down.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "crossmodal_token"
BODY_SECONDS = 30.0
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PAGE_POLICY = (
    b"default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    b"script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def host_names(host: str, port: int) -> set[str] | None:
    """The Host header values a server bound to host:port answers; None (any) for a wildcard
    bind, where the token is the defence."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = {host}
    if host in ("127.0.0.1", "::1", "localhost"):
        names |= {"127.0.0.1", "localhost", "::1"}
    shown = {f"[{n}]" if ":" in n else n for n in names}
    return {f"{n}:{port}" for n in shown} | (shown if port == 80 else set())


async def refuse(
    send: Send, status: int, message: str, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: the checks above, then the app, with the security headers added."""

    def __init__(
        self,
        app: ASGIApp,
        hosts: set[str] | None,
        token: str | None,
        max_body: int,
        json_posts: Iterable[str],
        cookie: str = COOKIE,
        budget: int | None = None,
    ) -> None:
        """`cookie`: the token cookie's name; cookies do not tell ports apart, so a server
        names its own (two servers on one host with two tokens keep both)."""
        self.app, self.hosts, self.token, self.max_body = app, hosts, token, max_body
        self.json_posts, self.cookie = set(json_posts), cookie
        self.budget = 2 * max_body if budget is None else budget
        self.reading = 0  # body bytes held by requests being read or answered
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: not served
            return
        problem = self._check(scope)
        if problem is not None:
            self.refused += 1
            status, message = problem
            extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
            await refuse(send, status, message, extra)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, self._with_headers(scope, send))
            return
        held = [0]
        try:
            problem = await self._read_body(receive, held)
            if isinstance(problem, tuple):
                self.refused += 1
                await refuse(send, *problem)
                return
            await self.app(scope, _replay(problem, receive), self._with_headers(scope, send))
        finally:
            self.reading -= held[0]

    def _check(self, scope: Scope) -> tuple[int, str] | None:
        headers = _headers(scope)
        if self.hosts is not None and headers.get("host", "").lower() not in self.hosts:
            return 400, "the Host header does not name this server"
        if headers.get("sec-fetch-site", "none") not in ("same-origin", "none"):
            return 403, "requests from other sites are refused"
        if self.token is not None and not self._has_token(scope, headers):
            return 401, "a token is required: Authorization: Bearer TOKEN, or open /?token=TOKEN"
        method, path = scope["method"], scope["path"]
        if path in self.json_posts:
            if method != "POST":
                return 405, f"{path} takes a POST with a JSON body"
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return 415, "the body must be JSON (Content-Type: application/json)"
            declared = headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
                return 413, f"request body is over {self.max_body:,} bytes"
            return None
        if method not in ("GET", "HEAD"):
            return 405, "this server is read-only: reads are GET"
        return None

    def _has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        assert self.token is not None
        offered: list[str] = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:].strip())
        for pair in headers.get("cookie", "").split(";"):  # by hand: one odd cookie of another
            name, _, value = pair.strip().partition("=")  # app must not hide ours
            if name == self.cookie:
                offered.append(value.strip().strip('"'))
        query = scope.get("query_string", b"").decode("latin-1")
        offered += parse_qs(query).get("token", [])
        expected = self.token.encode()
        return any(hmac.compare_digest(o.encode("utf-8", "replace"), expected) for o in offered)

    async def _read_body(self, receive: Receive, held: list[int]) -> bytes | tuple[int, str]:
        """The whole body, or (status, why) once it passes max_body or the shared budget, or
        stops arriving (the rest is not read). `held` counts the bytes taken from the budget."""
        chunks, total = [], 0
        deadline = asyncio.get_running_loop().time() + BODY_SECONDS
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(left, 0.001))
            except asyncio.TimeoutError:
                return 408, f"the request body did not arrive within {BODY_SECONDS:g} s"
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                return 413, f"request body is over {self.max_body:,} bytes"
            if self.reading + len(chunk) > self.budget:
                return 429, "too many large requests at once; try again"
            self.reading += len(chunk)
            held[0] += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        page = scope["path"] == "/" or scope["path"].startswith("/static/")
        cookie = self._cookie(scope) if scope["path"] == "/" else None

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                if page and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_POLICY))
                if cookie:
                    headers.append((b"set-cookie", cookie))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    def _cookie(self, scope: Scope) -> bytes | None:
        """Opening the page with ?token=T keeps T in a cookie, so thumbnails and players load."""
        if self.token is None:
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.token not in query.get("token", []):
            return None
        return f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read already, then the connection's own messages (a real disconnect)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
