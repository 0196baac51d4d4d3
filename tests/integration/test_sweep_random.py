"""Random histories swept every day: nothing decided twice, nothing left stuck as due."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.bootstrap import load_calendar, sweeper
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.errors import DudaoError
from tests.conftest import Clock


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_daily_sweeps_over_random_histories(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    db = str(tmp_path / "random.db")
    clock = Clock()
    clock.at("2024-09-02", 9)
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        app.add_unit("U", "单位", actor="t")
        findings = []
        for i in range(12):
            fid = app.record_finding(unit="U", on=date(2024, 9, 2), inspector="督学",
                                     text=f"问题{i}", actor="t",
                                     severity=rnd.choice(["general", "serious", "major"]))
            app.order_rectification(fid, on=date(2024, 9, 2), within=rnd.randint(3, 15),
                                    actor="t")
            findings.append(fid)
        sweep = sweeper(app, db)
        day = date(2024, 9, 3)
        while day <= date(2025, 1, 31):
            clock.at(day, 10)
            for fid in findings:
                if rnd.random() < 0.05:
                    f = app.get_finding(fid)
                    action = rnd.choice(["report", "review", "extend", "interview"])
                    try:
                        if action == "report":
                            app.submit_report(fid, on=day, text="报告", actor="t")
                        elif action == "review":
                            app.review(fid, on=day, passed=rnd.random() < 0.3,
                                       within=None if rnd.random() < 0.3 else 5, actor="t")
                        elif action == "extend" and f.deadline is not None:
                            app.extend(fid, on=day, to=f.deadline + timedelta(days=10),
                                       reason="延期", actor="t")
                        elif action == "interview":
                            app.hold_interview(fid, on=day, interviewee="负责人",
                                               minutes="纪要", actor="t")
                    except DudaoError:
                        pass  # refused in this state: nothing recorded
            clock.at(day, 20)
            sweep.run()
            assert sweep.run() == [], day  # the same now decides nothing new
            stuck = sweep.due(day)
            assert stuck == [], (day, [(s["finding_id"][:8], s["status"], s["top"]) for s in stuck])
            day += timedelta(days=1)
        for fid in findings:
            f = app.get_finding(fid)
            codes = [e["code"] for e in f.escalations if e["code"] != "reminder"]
            assert len(codes) == len(set(codes))  # each rung at most once
            assert codes == sorted(codes, key=lambda c: ["supervise", "interview",
                                                         "public_notice",
                                                         "accountability"].index(c))
    finally:
        app.close()
