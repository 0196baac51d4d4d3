"""``dudao serve``: the adapter service and, beside it, the background tasks.

:func:`build_components` wires the service, the read models, the token and
idempotency stores on one database. :class:`Lifecycle` holds startup and
shutdown hooks: the escalation sweep and the NATS publisher register theirs
with :func:`register_background` (a factory called with the serve options),
and they are started after the API is ready and stopped, in reverse order,
when the server shuts down (SIGTERM or SIGINT, handled by uvicorn).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from adapters.api.app import Components, Lifecycle, create_api
from adapters.auth import IdempotencyStore, TokenStore
from adapters.bootstrap import Settings, bootstrap, read_models
from adapters.service import Dudao
from adapters.store import engine_for

log = logging.getLogger("dudao.serve")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    sweep_interval: float = 60.0


BackgroundFactory = Callable[[ServeOptions, Lifecycle], None]
"""Adds a background task's hooks to the lifecycle (e.g. the sweep, the NATS publisher)."""

BACKGROUND: list[BackgroundFactory] = []


def register_background(factory: BackgroundFactory) -> BackgroundFactory:
    """Register a background task of ``dudao serve`` (usable as a decorator)."""
    BACKGROUND.append(factory)
    return factory


def wall_seconds() -> float:
    """Wall-clock seconds, for idempotency leases only (business time uses the app's clock)."""
    return time.time()


def build_components(app: Dudao, db: str) -> Components:
    engine = engine_for(db)
    return Components(
        app=app, db=db, engine=engine, runner=read_models(app, db),
        tokens=TokenStore(engine), idempotency=IdempotencyStore(engine), wall=wall_seconds,
    )


def close_components(c: Components) -> None:
    c.app.close()
    c.engine.dispose()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def make_server(c: Components, sock: socket.socket, lifecycle: Lifecycle, *,
                log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(create_api(c, lifecycle), log_level=log_level, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10)
    return uvicorn.Server(config)


def serve(settings: Settings, options: ServeOptions,
          announce: Callable[[str], None] = print) -> None:
    """Run the service until SIGTERM/SIGINT; then stop the background tasks and close."""
    app = bootstrap(settings)
    c = build_components(app, settings.db)
    lifecycle = Lifecycle()
    for factory in BACKGROUND:
        factory(options, lifecycle)
    sock = bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    lifecycle.startup.append(lambda _: announce(f"dudao 服务已启动：http://{host}:{port}/api/v1"
                                                 f"（OpenAPI：/api/v1/openapi.json）"))
    lifecycle.shutdown.append(lambda _: announce("dudao 服务正在停止"))
    server = make_server(c, sock, lifecycle)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        close_components(c)
        announce("dudao 服务已停止")
