"""Group commit in the served service, on a real store: a lost race is a conflict."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from adapters.bootstrap import load_calendar
from adapters.entrypoints.server import ServedDudao, service_env
from domain.errors import Conflict


def test_the_served_service_turns_a_lost_race_into_conflict(sqlite_db: str, clock: Any) -> None:
    app = ServedDudao(clock=clock, calendar=load_calendar(None), env=service_env(sqlite_db))
    try:
        app.add_unit("HTQ", "汉台区人民政府", actor="t")
        fid = app.record_finding(unit="HTQ", on=date(2024, 9, 2), inspector="甲", text="问题",
                                 actor="t")
        stale = app.get_finding(fid)
        app.order_rectification(fid, on=date(2024, 9, 2), within=10, actor="t")
        stale.order_rectification(on=date(2024, 9, 2), within=5, calendar_days=False,
                                  calendar=app.calendar, actor="t", recorded_at=clock())
        with pytest.raises(Conflict):
            app.commit(stale)
        assert app.get_finding(fid).deadline == date(2024, 9, 14)  # 09-14: a make-up Saturday
        assert app.event_count() == 3 and app.committer.saves == 4  # the stale one stored nothing
    finally:
        app.close()
