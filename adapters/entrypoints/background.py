"""What ``dudao serve`` runs beside the API, and ``dudao worker`` without it: the background
roles — the periodic escalation sweep, the notices publisher and (on PostgreSQL) the read
models' projector — each under its lease (:class:`LeasedRole`,
:mod:`adapters.infrastructure.leases`): however many processes run a role, one at a time does.

Both are asyncio tasks on the server's event loop, started once the API is
up and stopped cleanly on SIGTERM/SIGINT (uvicorn's shutdown runs the hooks):
the sweep stops at the next page of the sweep in progress (what it recorded
stays recorded; the next sweep does the rest), then the publisher finishes the
batch in flight (acks awaited, position saved). The sweep runs at start, then
every ``--sweep-interval`` seconds and also just after each midnight (Asia/
Shanghai, by the application's clock: every threshold is a day boundary);
when it records escalations it wakes the publisher, so a deadline that passes
reaches NATS within one interval, and in practice within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.infrastructure.event_store import is_postgres
from adapters.infrastructure.leases import (
    HEARTBEAT,
    RETRY,
    ROLE_NAMES,
    PgLease,
    WakeListener,
    lease_for,
)
from adapters.infrastructure.notice_outbox import PublisherTask, _stderr
from domain.errors import DudaoError
from domain.time import local_date, start_of_day

if TYPE_CHECKING:
    from adapters.entrypoints.server import ServeOptions


class SweepTask:
    """The escalation sweep (issue 3's Sweeper) every ``interval`` seconds, in a worker thread."""

    def __init__(self, make_sweeper: Callable[[], Any], interval: float,
                 after: Callable[[int], None] | None = None,
                 log: Callable[[str], None] = _stderr,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.make_sweeper = make_sweeper
        self.interval = interval
        self.clock = clock
        self.after = after
        self.log = log
        self.sweeps = 0
        self.skipped = 0  # findings the last sweep could not decide (retried next time)
        self.sweeper: Any = None
        self.on_sweep: Callable[[float, int], None] | None = None
        """Told each sweep's seconds and escalations recorded (the /metrics figures)."""
        self._stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="dudao-sweep")

    async def run(self) -> None:
        try:
            sweeper = await asyncio.to_thread(self.make_sweeper)
        except DudaoError as e:  # a broken policy file, say: serve on, without sweeping
            self.log(f"错误：升级巡检未能启动：{e.zh}")
            return
        self.sweeper = sweeper
        if self._stop.is_set():
            sweeper.stop()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                decided = await asyncio.to_thread(sweeper.run)
            except DudaoError as e:  # the store unreachable, say: try again next time
                self.log(f"警告：升级巡检失败：{e.zh}")
                decided = []
            else:
                self.skipped = len(getattr(sweeper, "skipped", ()))
                if self.skipped:
                    self.log(f"警告：升级巡检跳过 {self.skipped} 个无法判定的问题，下次巡检重试")
            self.sweeps += 1
            if self.on_sweep is not None:
                self.on_sweep(time.perf_counter() - started, len(decided))
            if getattr(sweeper, "interrupted", False):
                self.log(f"升级巡检已中断：本轮记录 {len(decided)} 项升级"
                         f"（判定 {sweeper.pending} 项），其余下次巡检继续")
            if decided:
                self.log(f"升级巡检：{len(decided)} 项升级")
                if self.after is not None:
                    self.after(len(decided))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.pause())

    def pause(self) -> float:
        """Seconds until the next sweep: the interval, or less when a day ends sooner.

        Every threshold of the policy is a day boundary in Asia/Shanghai (a deadline
        has passed once its day is over), so a sweep just after midnight by the
        application's clock decides a passing deadline at once.
        """
        if self.clock is None:
            return self.interval
        now = self.clock()
        midnight = start_of_day(local_date(now) + timedelta(days=1))
        return max(0.0, min(self.interval, (midnight - now).total_seconds() + 0.001))

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the sweep in progress at its next page (what it committed stays committed;
        the next sweep does the rest), then the task."""
        task, self.task = self.task, None
        if task is None:
            return
        self._stop.set()
        if self.sweeper is not None:
            self.sweeper.stop()
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ProjectorTask:
    """The projector: keeps the read models up to date as the log grows (the ``project``
    role); servers then read them without replaying the log each (see
    :class:`adapters.infrastructure.read_models.FollowingRunner`)."""

    def __init__(self, make_runner: Callable[[], Any], poll: float = 0.1,
                 log: Callable[[str], None] = _stderr, db: str | None = None) -> None:
        self.make_runner = make_runner
        self.poll = poll
        """Seconds between two looks at the log; a server waiting to read wakes it sooner
        (PostgreSQL ``NOTIFY``, :class:`adapters.infrastructure.leases.WakeListener`)."""
        self.listener = WakeListener(db) if db is not None else None
        self.log = log
        self.applied = 0
        self._stop = asyncio.Event()
        self._halt = threading.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="dudao-project")

    async def run(self) -> None:
        runner = await asyncio.to_thread(self.make_runner)
        failing = False
        try:
            while not self._stop.is_set():
                try:
                    done = await asyncio.to_thread(runner.catch_up, should_stop=self._halt.is_set)
                except Exception as e:  # the store unreachable, say: try again shortly
                    if not failing:
                        self.log(f"警告：读模型更新失败：{type(e).__name__}，稍后重试")
                        failing = True
                    done = 0
                    pause = 1.0
                else:
                    failing = False
                    pause = self.poll
                self.applied += done
                if not done and not self._stop.is_set():
                    if self.listener is not None and not failing:
                        await asyncio.to_thread(self.listener.wait, pause)
                    else:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stop.wait(), pause)
        finally:
            runner.engine.dispose()
            if self.listener is not None:
                self.listener.close()

    async def stop(self, timeout: float = 30.0) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        self._stop.set()
        self._halt.set()
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class LeasedRole:
    """A background role run only while this process holds its lease
    (:mod:`adapters.infrastructure.leases`).

    Until it holds the lease it tries every ``retry`` seconds; holding it, it starts the
    role's task and checks the lease every ``heartbeat`` seconds; a lost lease stops the
    task at once (the next holder does the rest). On stop the task ends first, then the
    lease is released for another process to take."""

    def __init__(self, role: str, lease: Any, make_task: Callable[[], Any], *,
                 retry: float = RETRY, heartbeat: float = HEARTBEAT,
                 log: Callable[[str], None] = _stderr,
                 on_start: Callable[[Any], None] | None = None) -> None:
        self.role = role
        self.lease = lease
        self.make_task = make_task
        self.retry = retry
        self.heartbeat = heartbeat
        self.log = log
        self.on_start = on_start
        self.inner: Any = None
        """The role's task while the lease is held (a SweepTask, PublisherTask, ProjectorTask)."""
        self.acquired = 0
        self._stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def skipped(self) -> int:
        return int(getattr(self.inner, "skipped", 0))

    async def start(self) -> None:
        # On SQLite the lease is this process's at once: start the role before returning.
        if not isinstance(self.lease, PgLease) and self.lease.try_acquire():
            await self._begin()
        self.task = asyncio.create_task(self.run(), name=f"dudao-lease-{self.role}")

    async def _begin(self) -> None:
        self.acquired += 1
        holder = self.lease.holder
        if isinstance(self.lease, PgLease):
            self.log(f"取得租约：{ROLE_NAMES[self.role]}（{holder}）")
        self.inner = self.make_task()
        if self.on_start is not None:
            self.on_start(self.inner)
        await self.inner.start()

    async def _end(self) -> None:
        inner, self.inner = self.inner, None
        if inner is not None:
            await inner.stop()

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.inner is None:
                    if await asyncio.to_thread(self.lease.try_acquire):
                        if self._stop.is_set():
                            break
                        await self._begin()
                    else:
                        await self._wait(self.retry)
                    continue
                await self._wait(self.heartbeat)
                if self._stop.is_set():
                    break
                if not await asyncio.to_thread(self.lease.alive):
                    self.log(f"警告：失去租约：{ROLE_NAMES[self.role]}，已停止，将重新争取")
                    await self._end()
        finally:
            await self._end()
            await asyncio.to_thread(self.lease.release)

    async def stop(self, timeout: float = 40.0) -> None:
        task, self.task = self.task, None
        self._stop.set()
        if task is None:
            await self._end()
            self.lease.release()
            return
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


ROLE_ORDER = ("publish", "sweep", "project")
"""The order the roles start in (the sweep wakes a publisher of its own process)."""


def default_roles(db: str, sweep: bool = True) -> tuple[str, ...]:
    """What a ``dudao serve`` runs beside the API: on SQLite the sweep and the publisher
    (reads catch the read models up themselves, as before); on PostgreSQL the projector
    too, every role under its lease."""
    roles = ["publish"] + (["sweep"] if sweep else [])
    if is_postgres(db):
        roles.append("project")
    return tuple(roles)


def hooks(options: ServeOptions, lifecycle: Any, *, server: str | None = None,
          sweep: bool = True, log: Callable[[str], None] = _stderr,
          roles: Sequence[str] | None = None) -> None:
    """Add the background roles' startup and shutdown hooks to ``lifecycle``: the sweep,
    the publisher and (on PostgreSQL) the projector, each under its lease; ``roles``
    chooses them (default :func:`default_roles`)."""
    running: dict[str, LeasedRole] = {}

    async def start(c: Any) -> None:
        from adapters.bootstrap import notice_publisher, read_models, sweeper, system_clock

        chosen = tuple(roles) if roles is not None else default_roles(c.db, sweep)
        background = getattr(c, "background", None)  # where /health finds them
        publishers: list[Any] = []

        def wake(_n: int) -> None:
            for publisher in publishers:
                publisher.wake()

        def make_publisher() -> PublisherTask:
            publisher = notice_publisher(c.app, c.db, server, c.settings, log=log)
            publishers[:] = [publisher]
            return PublisherTask(publisher)

        makers: dict[str, Callable[[], Any]] = {
            "publish": make_publisher,
            "sweep": lambda: SweepTask(lambda: sweeper(c.app, c.db, None, c.settings),
                                       options.sweep_interval, after=wake, log=log,
                                       clock=c.app.now),
            "project": lambda: ProjectorTask(lambda: read_models(c.app, c.db), log=log,
                                             db=c.db),
        }
        for role in ROLE_ORDER:
            if role not in chosen:
                continue
            leased = LeasedRole(role, lease_for(c.db, role, wall=system_clock), makers[role],
                                log=log)
            running[role] = leased
            if background is not None:
                background[role] = leased
            await leased.start()

    async def stop(_c: Any) -> None:
        for role in reversed(ROLE_ORDER):
            leased = running.pop(role, None)
            getattr(_c, "background", {}).pop(role, None)
            if leased is not None:
                await leased.stop()

    lifecycle.startup.append(start)
    lifecycle.shutdown.append(stop)
