"""Property: on any store, ``escalate --dry-run`` at a moment lists exactly what the real
sweep at that moment then records (the same findings, codes, thresholds, dues, rules, the
same 工作滞后 findings), and records nothing itself."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import load_calendar, sweeper
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.errors import DudaoError
from domain.time import SHANGHAI
from projections.events import ESCALATION_RAISED, FINDING_RECORDED
from tests.conftest import Clock

START = date(2024, 9, 2)
# A plan whose tasks lag from 2024-07-01 and 2024-11-01 (工作滞后.feature's, and one more).
PLAN_TEXT = """关于印发《某区义务教育提升实施方案(2024-2025)》的通知
二、主要任务
1.消除大班额。到2024年6月底,义务教育学校班额不得超过45人。(牵头单位:区教育局;责任单位:区财政局)
2.建设智慧校园。2024年10月底前完成智慧校园建设方案。[责任单位:区教育局]
3.配齐教师。到2025年底,专任教师持证上岗率达到100%。[责任单位:区人社局、区教育局]
"""
_EXPLORE = int(os.environ.get("DUDAO_PROPERTY_EXAMPLES", "0"))

ACTIONS = ("report", "pass", "fail", "extend", "interview", "sweep")

finding_spec = st.fixed_dictionaries({
    "unit": st.integers(0, 2),
    "on": st.integers(0, 40),
    "severity": st.sampled_from(["general", "serious", "major"]),
    "within": st.integers(0, 15).map(lambda n: n or None),  # None: never ordered
    "calendar_days": st.booleans(),
})

store_spec = st.fixed_dictionaries({
    "units": st.integers(1, 3),
    "plan": st.integers(0, 3).map(lambda n: n != 1),
    "findings": st.lists(finding_spec, min_size=1, max_size=6),
    # (finding index, action, day after START, hours)
    "actions": st.lists(st.tuples(st.integers(0, 5), st.sampled_from(ACTIONS),
                                  st.integers(0, 200), st.integers(1, 20)), max_size=30),
    "now": st.integers(0, 300).map(lambda n: 300 - n),
    "hour": st.integers(0, 23),
})


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def escalations_after(app: Dudao, position: int) -> list[tuple[Any, ...]]:
    out = []
    for n in app.read_log(position + 1, 100_000):
        event = app.decode(n)
        if isinstance(event, ESCALATION_RAISED):
            out.append((str(event.originator_id), event.code, event.rung, event.rule,
                        event.policy, event.policy_version, event.threshold, event.due))
    return sorted(out)


def findings_after(app: Dudao, position: int) -> list[str]:
    return sorted(str(app.decode(n).originator_id) for n in app.read_log(position + 1, 100_000)
                  if isinstance(app.decode(n), FINDING_RECORDED))


def build(app: Dudao, clock: Clock, spec: dict[str, Any], db: str) -> None:
    units = [f"U{i}" for i in range(spec["units"])]
    for code in units:
        app.add_unit(code, f"单位{code}", actor="t")
    if spec["plan"]:
        app.import_plan(PLAN_TEXT.encode(), source="plan.txt", actor="t")
    ids = []
    for f in spec["findings"]:
        on = START + timedelta(days=f["on"])
        clock.moment = at(on, 9)
        fid = app.record_finding(unit=units[f["unit"] % len(units)], on=on, inspector="督学",
                                 text="问题", severity=f["severity"], actor="t")
        if f["within"] is not None:
            app.order_rectification(fid, on=on, within=f["within"],
                                    calendar_days=f["calendar_days"], actor="t")
        ids.append(fid)
    sweep = sweeper(app, db)
    try:
        for index, action, offset, hour in sorted(spec["actions"], key=lambda a: (a[2], a[3])):
            day = START + timedelta(days=offset)
            if at(day, hour) < clock.moment:
                continue  # the clock never goes back
            clock.moment = at(day, hour)
            if action == "sweep":
                sweep.run()
                continue
            if not ids:
                continue
            fid = ids[index % len(ids)]
            try:
                if action == "report":
                    app.submit_report(fid, on=day, text="报告", actor="t")
                elif action == "pass":
                    app.review(fid, on=day, passed=True, actor="t")
                elif action == "fail":
                    app.review(fid, on=day, passed=False, within=5, actor="t")
                elif action == "extend":
                    deadline = app.get_finding(fid).deadline
                    if deadline is not None:
                        app.extend(fid, on=day, to=deadline + timedelta(days=7), reason="延期",
                                   actor="t")
                elif action == "interview":
                    app.hold_interview(fid, on=day, interviewee="负责人", minutes="纪要",
                                       actor="t")
            except DudaoError:
                pass  # refused in this state: nothing recorded
    finally:
        sweep.runner.engine.dispose()


@settings(max_examples=_EXPLORE or 60, deadline=None, database=None, derandomize=not _EXPLORE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=store_spec)
def test_the_dry_run_lists_what_the_real_run_records(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "store.db")
        clock = Clock(at(START, 8))
        app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
        try:
            build(app, clock, spec, db)
            now = max(clock.moment, at(START + timedelta(days=spec["now"]), spec["hour"]))
            clock.moment = now
            sweep = sweeper(app, db)
            try:
                before = app.event_count()
                dry = sweep.run(now, dry_run=True)
                dry_lagged = list(sweep.lagged)
                assert app.event_count() == before  # the dry run recorded nothing
                real = sweep.run(now)
                real_lagged = list(sweep.lagged)
            finally:
                sweep.runner.engine.dispose()
            listed = sorted((d.finding_id, d.code, d.rung, d.rule, d.policy, d.policy_version,
                             d.threshold, d.due) for d in dry)
            assert listed == escalations_after(app, before)
            assert [d.notice for d in dry] == [d.notice for d in real]
            event(f"escalations listed: {min(len(dry), 5)}+" if len(dry) >= 5
                  else f"escalations listed: {len(dry)}")
            event(f"lagging findings: {bool(dry_lagged)}")
            assert dry_lagged == real_lagged
            assert sorted(r["finding_id"] for r in dry_lagged) == findings_after(app, before)
        finally:
            app.close()
