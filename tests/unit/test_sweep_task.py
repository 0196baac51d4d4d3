"""The sweep task of ``dudao serve`` without a store: when it runs next, and a failed start."""

from __future__ import annotations

import asyncio
from typing import Any


def test_the_sweep_also_runs_just_after_midnight() -> None:
    from datetime import datetime

    from adapters.entrypoints.background import SweepTask
    from domain.time import SHANGHAI

    moment = [datetime(2024, 10, 14, 23, 59, 59, 500000, tzinfo=SHANGHAI)]
    task = SweepTask(lambda: None, 60.0, clock=lambda: moment[0])
    assert 0.5 <= task.pause() < 0.51  # the deadline of 2024-10-14 passes in half a second
    moment[0] = datetime(2024, 10, 15, 12, tzinfo=SHANGHAI)
    assert task.pause() == 60.0
    assert SweepTask(lambda: None, 5.0).pause() == 5.0


def test_a_sweep_that_cannot_start_says_why_and_stops() -> None:
    from adapters.entrypoints.background import SweepTask
    from domain.errors import InvalidInput

    said: list[str] = []

    def broken() -> Any:
        raise InvalidInput("策略文件有误", "bad policy file", field="--policy")

    async def scenario() -> None:
        task = SweepTask(broken, 1.0, log=said.append)
        await task.start()
        assert task.task is not None
        await asyncio.wait_for(task.task, 5)
        await task.stop()

    asyncio.run(scenario())
    assert said == ["错误：升级巡检未能启动：策略文件有误"]
