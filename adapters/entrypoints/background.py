"""What ``dudao serve`` runs beside the API: the periodic escalation sweep and the notices publisher.

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
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

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


def hooks(options: ServeOptions, lifecycle: Any, *, server: str | None = None,
          sweep: bool = True, log: Callable[[str], None] = _stderr) -> None:
    """Add the sweep's and the publisher's startup and shutdown hooks to ``lifecycle``."""
    running: dict[str, Any] = {}

    async def start(c: Any) -> None:
        from adapters.bootstrap import notice_publisher, sweeper

        publisher = notice_publisher(c.app, c.db, server, c.settings, log=log)
        running["publisher"] = PublisherTask(publisher)
        await running["publisher"].start()
        if sweep:
            running["sweep"] = SweepTask(lambda: sweeper(c.app, c.db, None, c.settings), options.sweep_interval,
                                         after=lambda _n: publisher.wake(), log=log,
                                         clock=c.app.now)
            background = getattr(c, "background", None)  # where /health finds it
            if background is not None:
                background["sweep"] = running["sweep"]
            await running["sweep"].start()

    async def stop(_c: Any) -> None:
        for name in ("sweep", "publisher"):
            task = running.pop(name, None)
            getattr(_c, "background", {}).pop(name, None)
            if task is not None:
                await task.stop()

    lifecycle.startup.append(start)
    lifecycle.shutdown.append(stop)

