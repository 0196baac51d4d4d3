"""``dudao worker [sweep] [publish] [project]``: the background roles without HTTP.

The same roles ``dudao serve`` runs beside its API (:mod:`adapters.entrypoints.background`),
each under its lease (:mod:`adapters.infrastructure.leases`): on PostgreSQL any number of
workers and servers may run them, and one process at a time does each. SIGTERM or SIGINT
stops the roles (the sweep at its next page, the publisher after its batch in flight),
releases the leases for another process to take, and ends with status 0.

``--metrics-port N`` serves ``GET /metrics`` (:mod:`adapters.entrypoints.api.metrics`: the
same Prometheus text and names as a server's, the same access rule: loopback, or
``DUDAO_METRICS_TOKEN``) on 127.0.0.1 (``--metrics-host`` to bind another address): the
sweep's duration and decisions are figures of the process that sweeps. Nothing else is
served on that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.bootstrap import bootstrap, prepared
from adapters.entrypoints.background import ROLE_ORDER, hooks
from adapters.infrastructure.event_store import engine_for
from adapters.infrastructure.leases import ROLE_NAMES, holder_name
from adapters.infrastructure.notice_outbox import _stderr
from adapters.service_layer.application import Dudao
from adapters.settings import Settings
from domain.errors import InvalidInput

ROLES = ROLE_ORDER


@dataclass
class WorkerContext:
    """What the background roles need of a process (the API's Components, without HTTP)."""

    app: Dudao
    db: str
    engine: Any
    settings: Settings
    background: dict[str, Any] = field(default_factory=dict)
    runner: Any = None
    """The read models' positions, for the metrics' projector lag (made with the metrics)."""


@dataclass(frozen=True)
class WorkerOptions:
    roles: tuple[str, ...] = ROLES
    sweep_interval: float = 60.0
    metrics_port: int | None = None
    """Serve ``GET /metrics`` on this port (0: any free one); None: no HTTP at all."""
    metrics_host: str = "127.0.0.1"


class MetricsServer:
    """``GET /metrics`` of a worker: uvicorn on the worker's event loop, on a socket bound
    before the roles start (a port in use fails the start, naming it)."""

    def __init__(self, c: WorkerContext, host: str, port: int) -> None:
        import uvicorn

        from adapters.entrypoints.api import metrics as metrics_route
        from adapters.entrypoints.server import bind
        from adapters.infrastructure.read_models import read_models

        if c.runner is None:
            c.runner = read_models(c.app, c.db)
        self.metrics = metrics_route.Metrics()
        metrics_route.default_sources(self.metrics, c)
        self.c = c
        try:
            self.socket = bind(host, port)
        except OSError as e:
            raise InvalidInput(f"无法在 {host}:{port} 提供运行指标：{e.strerror}",
                               f"cannot serve the metrics on {host}:{port}: {e.strerror}",
                               field="--metrics-port") from None
        self.host = host
        self.port = int(self.socket.getsockname()[1])

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Any:  # the worker's own handlers stop it
                yield

        self.server = Quiet(uvicorn.Config(metrics_route.metrics_app(c, self.metrics),
                                           lifespan="off", log_level="warning",
                                           access_log=False))
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> None:
        from adapters.entrypoints.api.metrics import count_sweeps

        count_sweeps(self.c, self.metrics)  # the roles have started: their sweep reports
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]),
                                        name="dudao-metrics")
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task.done():
            self.task.result()  # raises what stopped it

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 10)
        self.socket.close()


async def run_roles(c: WorkerContext, options: WorkerOptions, stop: asyncio.Event,
                    log: Callable[[str], None] = _stderr,
                    announce: Callable[[str], None] = print) -> None:
    """Run the roles on ``c`` until ``stop`` is set; then stop them and release their leases."""
    lifecycle = _Lifecycle()
    hooks(options, lifecycle, roles=options.roles, log=log)  # type: ignore[arg-type]
    served: MetricsServer | None = None
    try:
        if options.metrics_port is not None:
            served = await asyncio.to_thread(MetricsServer, c, options.metrics_host,
                                             options.metrics_port)
        for hook in lifecycle.startup:
            await hook(c)
        if served is not None:
            await served.start()
            announce(f"dudao 后台进程运行指标：{served.url}")
        names = "、".join(ROLE_NAMES[r] for r in ROLE_ORDER if r in options.roles)
        announce(f"dudao 后台进程已启动（{holder_name()}；角色：{names}）")
        await stop.wait()
    finally:
        if served is not None:
            await served.stop()
        for hook in lifecycle.shutdown:
            await hook(c)
        if c.runner is not None:
            c.runner.engine.dispose()


@dataclass
class _Lifecycle:
    startup: list[Any] = field(default_factory=list)
    shutdown: list[Any] = field(default_factory=list)


def work(settings: Settings, options: WorkerOptions,
         announce: Callable[[str], None] = print) -> None:
    """Run the roles until SIGTERM/SIGINT."""
    with prepared(settings.db):
        app = bootstrap(settings)
    c = WorkerContext(app=app, db=settings.db, engine=engine_for(settings.db), settings=settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_roles(c, options, stop, announce=announce)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)

    try:
        asyncio.run(main())
    finally:
        app.close()
        c.engine.dispose()
        announce("dudao 后台进程已停止")


def parse_roles(words: Sequence[str]) -> tuple[str, ...]:
    """The roles named (each once, in their order), or all of them when none is."""
    return tuple(r for r in ROLE_ORDER if r in words) if words else ROLES
