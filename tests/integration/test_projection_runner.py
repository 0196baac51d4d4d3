"""The runner applies each event once, resumes after a crash, and rebuild equals incremental."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from projections.findings import FindingsProjection, findings, list_findings


def seed(app: Dudao, n: int) -> list[Any]:
    app.add_unit("U1", "一中", actor="t")
    app.add_unit("U2", "二中", actor="t")
    ids = []
    for i in range(n):
        fid = app.record_finding(unit="U1" if i % 2 else "U2", on=date(2024, 9, 20),
                                 inspector="督学", text=f"问题{i}", actor="t")
        app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="t")
        ids.append(fid)
    return ids


def snapshot(runner: Any) -> list[dict[str, Any]]:
    with runner.engine.connect() as conn:
        rows = conn.execute(select(findings).order_by(findings.c.finding_id)).all()
    return [dict(r._mapping) for r in rows]


def test_catch_up_then_rebuild_gives_the_same_rows(app: Dudao, db: str) -> None:
    ids = seed(app, 6)
    app.submit_report(ids[0], on=date(2024, 10, 8), text="已整改", actor="t")
    app.review(ids[0], on=date(2024, 10, 9), passed=True, actor="t")
    app.submit_report(ids[1], on=date(2024, 10, 8), text="部分整改", actor="t")
    app.review(ids[1], on=date(2024, 10, 9), passed=False, within=5, actor="t")
    runner = read_models(app, db)
    assert runner.catch_up() == app.event_count()
    assert runner.catch_up() == 0  # nothing new
    incremental = snapshot(runner)
    assert len(incremental) == 6
    by_id = {r["finding_id"]: r for r in incremental}
    assert by_id[str(ids[0])]["status"] == "closed"
    assert by_id[str(ids[1])]["strikes"] == 1
    # 5 working days from Wed 10-09: 10-10, 10-11, 10-12 (make-up Saturday), 10-14, 10-15
    assert by_id[str(ids[1])]["deadline"] == date(2024, 10, 15)
    with runner.engine.connect() as conn:
        assert len(list_findings(conn, unit="U1")) == 3
        assert len(list_findings(conn, status="closed")) == 1
    runner.rebuild()
    assert snapshot(runner) == incremental


class Crash(BaseException):
    """The process killed (like KeyboardInterrupt): not an event the runner may skip."""


class CrashingProjection(FindingsProjection):
    """Fails on the n-th event it applies, like a process killed mid-batch."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.applied = 0

    def apply_many(self, conn: Any, batch: Any) -> None:
        for position, event in batch:
            self.applied += 1
            if self.applied == self.after:
                raise Crash
            super().apply_many(conn, [(position, event)])


def test_killed_mid_batch_resumes_without_double_counting(app: Dudao, db: str) -> None:
    seed(app, 10)
    runner = read_models(app, db, [CrashingProjection(after=15)])
    with pytest.raises(Crash):
        runner.catch_up(batch=8)
    # the first batch of 8 committed; the second rolled back whole
    assert runner.positions() == {"findings": 8}
    resumed = read_models(app, db, [FindingsProjection()])
    resumed.catch_up(batch=8)
    rows = snapshot(resumed)
    assert len(rows) == 10
    assert all(r["status"] == "rectifying" for r in rows)
    fresh = read_models(app, db, [FindingsProjection()])
    fresh.rebuild()
    assert snapshot(fresh) == rows


def test_findings_view_worked_out_with_the_accountability_projection_equals_its_own(
        app: Dudao, db: str) -> None:
    ids = seed(app, 7)
    app.submit_report(ids[0], on=date(2024, 10, 8), text="已整改", actor="t")
    app.review(ids[0], on=date(2024, 10, 9), passed=True, actor="t")
    app.submit_report(ids[1], on=date(2024, 10, 8), text="部分整改", actor="t")
    app.review(ids[1], on=date(2024, 10, 9), passed=False, within=5, actor="t")
    live = read_models(app, db)  # findings_view follows the accountability projection
    assert any(getattr(p, "follow", None) is not None for p in live.projections)
    live.catch_up(batch=4)
    followed = snapshot(live)
    alone = read_models(app, db, [FindingsProjection()])
    alone.rebuild()
    assert snapshot(alone) == followed and len(followed) == 7
    assert {r["status"] for r in followed} == {"closed", "rectifying"}


def test_rebuild_makes_the_indexes_and_a_runner_makes_missing_ones(app: Dudao, db: str) -> None:
    from sqlalchemy import inspect, text

    seed(app, 3)
    runner = read_models(app, db)
    wanted = {"ix_findings_view_unit_status", "ix_findings_view_status_deadline"}

    def indexes() -> set[str]:
        return {i["name"] for i in inspect(runner.engine).get_indexes("findings_view")}

    assert runner.rebuild() == app.event_count()
    assert wanted <= indexes()
    with runner.engine.begin() as conn:  # as if a rebuild had been killed before the end
        conn.execute(text("DROP INDEX ix_findings_view_unit_status"))
    assert not wanted <= indexes()
    read_models(app, db)
    assert wanted <= indexes()
