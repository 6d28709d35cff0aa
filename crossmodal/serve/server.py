"""Starting and running the server: the socket, the engine, uvicorn.

The socket is bound before anything loads, so a port in use is a one-line error at once, and
`--port 0` gets a free port whose number is known before the first request. A non-loopback
bind needs a token: one is generated when none is given, and the caller shows it once.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable
from typing import Any

from ..errors import UserError
from ..store import Store as StoreFolder
from .app import ServeConfig, create_app
from .live import LiveEngine

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


HEADER_SECONDS = 10.0


def deadline_protocol() -> type:
    """uvicorn's h11 protocol with a deadline for each request's headers. uvicorn times out
    only the wait between requests, so sockets that send nothing, or half a request line, would
    hold their place for ever: 512 of them locked everyone out, token or not (found in review)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineProtocol(H11Protocol):  # type: ignore[misc]
        _header_deadline: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_deadline = self.loop.call_later(HEADER_SECONDS, self._expire)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _expire(self) -> None:
            self._header_deadline = None
            if self.cycle is None or self.cycle.response_complete:  # still no whole request
                self.timeout_keep_alive_handler()  # closes the connection

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # the headers are in: the body has the guard's own deadline

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return DeadlineProtocol


class Server:
    """A store served over HTTP: `bind()`, `load()`, then `run()` until stopped."""

    def __init__(self, folder: StoreFolder, config: ServeConfig) -> None:
        self.folder, self.config = folder, config
        self.generated_token = False
        if not is_loopback(config.host) and not config.token:
            config.token = secrets.token_urlsafe(24)
            self.generated_token = True
        self.sock: socket.socket | None = None
        self.live: LiveEngine | None = None
        self._uvicorn: Any = None

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.config.port}/"

    def bind(self) -> None:
        host, port = self.config.host, self.config.port
        if host == "localhost":
            host = self.config.host = "127.0.0.1"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio turns TCP_NODELAY on for accepted sockets only when the
        # listener says TCP, and without it every answer waited ~40 ms for Nagle's delayed ACK
        # (measured: bench/RESULTS.md, issue 22)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        sock.listen(128)
        self.config.port = sock.getsockname()[1]
        self.sock = sock

    def load(self) -> None:
        """Models and indexes, before the first request (a store that cannot load fails here)."""
        from ..search import SearchEngine

        models = self.config.models

        def open_engine(encoder: Any) -> Any:
            if encoder is None and models:
                from ..encoders.registry import ModelOptions
                from ..models import store_encoder

                encoder = store_encoder(self.folder, models, ModelOptions())
            fresh = encoder is None
            engine = SearchEngine(self.folder, encoder)
            try:
                engine.ensure_searchable()
                if fresh:  # models loaded now, not by the first query (reused ones are warm)
                    engine.encoder.warm()
            except BaseException:
                engine.close()  # a store that cannot answer yet leaks no connection per retry
                raise
            return engine

        limits = self.config.limits
        self.live = LiveEngine(self.folder, open_engine, limits.waiting, limits.time_limit)
        self.live.start()

    def run(self, started: Callable[[], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM (uvicorn handles both, finishing requests in flight)."""
        import uvicorn

        assert self.sock is not None and self.live is not None, "bind() and load() first"
        app = create_app(self.folder, self.live, self.config)
        config = uvicorn.Config(
            app,
            http=deadline_protocol(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            limit_concurrency=512,  # past it: 503, not a pile of sockets
            timeout_keep_alive=5,
            server_header=False,
        )
        self._uvicorn = uvicorn.Server(config)
        if started is not None:
            original = self._uvicorn.startup

            async def startup(sockets: Any = None) -> None:
                await original(sockets=sockets)
                started()

            self._uvicorn.startup = startup
        try:
            self._uvicorn.run(sockets=[self.sock])
        finally:
            self.live.close()
            self.sock.close()

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
