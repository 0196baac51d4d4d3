"""``dudao serve``: the adapter service and, beside it, the background tasks.

:func:`build_components` wires the service, the read models, the token and
idempotency stores on one database. :class:`Lifecycle` holds startup and
shutdown hooks: the background roles (escalation sweep, NATS publisher, projector, each
under its lease) add theirs (:func:`adapters.entrypoints.background.hooks`; none with
``--no-background``), and they are started after the API is ready and stopped, in reverse order,
when the server shuts down (SIGTERM or SIGINT, handled by uvicorn).
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from adapters.bootstrap import clock_for, load_calendar, prepared
from adapters.entrypoints.api.app import Components, Lifecycle, create_api
from adapters.entrypoints.http_limits import (
    KEEP_ALIVE,
    MAX_CONNECTIONS,
    MAX_HEAD,
    BoundedHttpToolsProtocol,
)
from adapters.infrastructure.event_store import engine_for, is_postgres, startup_lock, store_env
from adapters.infrastructure.group_commit import GroupCommitter
from adapters.infrastructure.read_models import served_read_models
from adapters.infrastructure.tokens import IdempotencyStore, TokenStore
from adapters.infrastructure.users import UserStore
from adapters.service_layer.application import Dudao
from adapters.settings import Settings
from domain.calendar import WorkCalendar
from domain.time import Clock

log = logging.getLogger("dudao.serve")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    sweep_interval: float = 60.0
    background: bool = True
    """Run the background roles (sweep, publisher, projector: each under its lease)
    beside the API; ``--no-background`` leaves them to ``dudao worker``."""


def wall_seconds() -> float:
    """Wall-clock seconds, for idempotency leases only (business time uses the app's clock)."""
    return time.time()


def service_env(db: str) -> dict[str, str]:
    """The store's environment for serving: fail fast when PostgreSQL is unreachable.

    eventsourcing retries a connection ten times; with the command line's 5 s connect
    timeout a client would wait 50 s for its 503. One second per try keeps it near 10 s.
    """
    env = store_env(db)
    if is_postgres(db):
        env["POSTGRES_CONNECT_TIMEOUT"] = "1"
    return env


class ServedDudao(Dudao):
    """The service as ``dudao serve`` runs it: concurrent saves are group-committed.

    Every rule is the parent's; only how events reach the store differs (see
    :mod:`adapters.infrastructure.group_commit`). ``commit`` still turns a lost race into ``Conflict``.
    """

    # eventsourcing names a subclass after itself unless told, and on PostgreSQL the
    # table follows the name: keep the parent's, so the service and the command line
    # read and write the same events.
    name = Dudao.name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.committer = GroupCommitter(super().save)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if kwargs:
            return super().save(*objs, **kwargs)
        self.committer.save(objs)
        return None


def open_service(db: str, clock: Clock, calendar: WorkCalendar) -> Dudao:
    """The application service for ``dudao serve`` (as :func:`bootstrap` builds it)."""
    with prepared(db):  # a named PostgreSQL schema must exist before the store opens
        return ServedDudao(clock=clock, calendar=calendar, env=service_env(db))


def build_components(app: Dudao, db: str, settings: Settings | None = None) -> Components:
    engine = engine_for(db)
    with startup_lock(db):  # tables of the read models, tokens and idempotency keys
        return Components(
            app=app, db=db, engine=engine, runner=served_read_models(app, db),
            tokens=TokenStore(engine, clock=app.now), users=UserStore(engine, app.now),
            idempotency=IdempotencyStore(engine),
            wall=wall_seconds, settings=settings or Settings(db=db),
        )


def close_components(c: Components) -> None:
    c.app.close()
    c.engine.dispose()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it Nagle adds ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def make_server(c: Components, sock: socket.socket, lifecycle: Lifecycle, *,
                log_level: str = "warning") -> uvicorn.Server:
    # Bounded work (adapters.entrypoints.http_limits): a request must arrive in time and within size.
    config = uvicorn.Config(create_api(c, lifecycle), log_level=log_level, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10,
                            http=BoundedHttpToolsProtocol, timeout_keep_alive=KEEP_ALIVE,
                            limit_concurrency=MAX_CONNECTIONS,
                            h11_max_incomplete_event_size=MAX_HEAD)
    return uvicorn.Server(config)


@contextmanager
def serving_in_thread(c: Components, lifecycle: Lifecycle | None = None,
                      host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``c`` on a free port in a background thread; yields the API's base URL."""
    sock = bind(host, 0)
    server = make_server(c, sock, lifecycle or Lifecycle())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="dudao-api")
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def serve(settings: Settings, options: ServeOptions,
          announce: Callable[[str], None] = print) -> None:
    """Run the service until SIGTERM/SIGINT; then stop the background tasks and close."""
    # Two servers started at once on a fresh schema take turns in creating it (issue 11).
    with prepared(settings.db):
        app = open_service(settings.db, clock_for(settings), load_calendar(settings.holidays))
        c = build_components(app, settings.db, settings)
    lifecycle = Lifecycle()
    from adapters.entrypoints.background import hooks

    if options.background:  # the escalation sweep, the notices publisher, the projector
        hooks(options, lifecycle)
    sock = bind(options.host, options.port)
    host, port = sock.getsockname()[:2]
    lifecycle.startup.append(lambda _: announce(f"dudao 服务已启动：http://{host}:{port}/api/v1"
                                                 f"（OpenAPI：/api/v1/openapi.json）"))
    lifecycle.shutdown.append(lambda _: announce("dudao 服务正在停止"))
    server = make_server(c, sock, lifecycle)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the
    # handler it found: make that one ours, so a requested stop ends with status 0.
    stopped: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: stopped.append(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    # Everything built so far (modules, the app, its routes and models) lives as long as
    # the server: out of the collector's sight, a full collection need not walk it again.
    gc.freeze()
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        close_components(c)
        announce("dudao 服务已停止")
