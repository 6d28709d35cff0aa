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
        sock = socket.socket(family, socket.SOCK_STREAM)
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
            engine = SearchEngine(self.folder, encoder)
            engine.ensure_searchable()
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
