"""``dudao worker [sweep] [publish] [project]``: the background roles without HTTP.

The same roles ``dudao serve`` runs beside its API (:mod:`adapters.entrypoints.background`),
each under its lease (:mod:`adapters.infrastructure.leases`): on PostgreSQL any number of
workers and servers may run them, and one process at a time does each. SIGTERM or SIGINT
stops the roles (the sweep at its next page, the publisher after its batch in flight),
releases the leases for another process to take, and ends with status 0.
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

ROLES = ROLE_ORDER


@dataclass
class WorkerContext:
    """What the background roles need of a process (the API's Components, without HTTP)."""

    app: Dudao
    db: str
    engine: Any
    settings: Settings
    background: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerOptions:
    roles: tuple[str, ...] = ROLES
    sweep_interval: float = 60.0


async def run_roles(c: WorkerContext, options: WorkerOptions, stop: asyncio.Event,
                    log: Callable[[str], None] = _stderr,
                    announce: Callable[[str], None] = print) -> None:
    """Run the roles on ``c`` until ``stop`` is set; then stop them and release their leases."""
    lifecycle = _Lifecycle()
    hooks(options, lifecycle, roles=options.roles, log=log)  # type: ignore[arg-type]
    try:
        for hook in lifecycle.startup:
            await hook(c)
        names = "、".join(ROLE_NAMES[r] for r in ROLE_ORDER if r in options.roles)
        announce(f"dudao 后台进程已启动（{holder_name()}；角色：{names}）")
        await stop.wait()
    finally:
        for hook in lifecycle.shutdown:
            await hook(c)


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
