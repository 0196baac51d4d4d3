"""The escalation sweep at the service level, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters.bootstrap import sweeper
from adapters.service_layer.application import Dudao
from domain.errors import Refused
from rules.policy import POLICY_DIR

D = date.fromisoformat


def ordered(app: Dudao, clock, severity: str = "general") -> str:  # type: ignore[no-untyped-def]
    clock.at("2024-09-25", 9)
    app.add_unit("CGX", "城固县人民政府", actor="t")
    fid = app.record_finding(unit="CGX", on=D("2024-09-25"), inspector="张督学",
                             text="教师全员培训学时未达标", severity=severity, actor="t")
    assert app.order_rectification(fid, on=D("2024-09-25"), within=10, actor="t") == D("2024-10-14")
    return str(fid)


def sweep_at(app: Dudao, sweep, clock, day: str) -> list:  # type: ignore[no-untyped-def]
    clock.at(day, 9)
    return sweep.run()


def test_worked_example_day_by_day(app: Dudao, db: str, clock) -> None:  # type: ignore[no-untyped-def]
    fid = ordered(app, clock)
    sweep = sweeper(app, db)
    fired = {}
    day = D("2024-09-26")
    while day <= D("2024-12-31"):
        for d in sweep_at(app, sweep, clock, day.isoformat()):
            fired[d.code] = (day.isoformat(), d.threshold.isoformat(), d.due and d.due.isoformat())
        day = date.fromordinal(day.toordinal() + 1)
    assert fired == {
        "reminder": ("2024-10-10", "2024-10-10", None),
        "supervise": ("2024-10-15", "2024-10-15", "2024-10-28"),
        "interview": ("2024-10-29", "2024-10-29", "2024-11-04"),
        "public_notice": ("2024-11-19", "2024-11-19", None),
        "accountability": ("2024-12-17", "2024-12-17", None),
    }
    finding = app.get_finding(fid)
    assert finding.deadline == D("2024-10-28")  # the 督办 deadline became the finding's
    events = [e for e in app.history(fid) if e["type"] == "EscalationRaised"]
    assert [e["code"] for e in events] == list(fired)
    first = events[0]
    assert (first["rule"], first["policy"], first["policy_version"]) == (
        "reminder.before_deadline", "default", 2)
    assert first["facts"]["threshold"] == "2024-10-10"
    assert first["facts"]["today"] == "2024-10-10"
    assert first["decided_at"].date() == D("2024-10-10")
    assert first["actor"] == "dudao:rules"


def test_late_sweep_equals_punctual_and_is_idempotent(app: Dudao, db: str, clock) -> None:  # type: ignore[no-untyped-def]
    fid = ordered(app, clock, severity="major")
    sweep = sweeper(app, db)
    decisions = sweep_at(app, sweep, clock, "2025-01-15")
    assert [(d.code, str(d.threshold), d.due and str(d.due), d.rule) for d in decisions] == [
        ("reminder", "2024-10-10", None, "reminder.before_deadline"),
        ("supervise", "2024-10-15", "2024-10-28", "supervise.after_deadline"),
        ("interview", "2024-10-29", "2024-11-04", "interview.after_supervise"),
        ("accountability", "2024-11-19", None, "accountability.instead_of_public_notice"),
    ]
    assert sweep.run() == []
    assert sweeper(app, db).run() == []  # a fresh process decides nothing new either
    assert app.get_finding(fid).rung == "accountability"


def test_closed_finding_is_not_even_queried(app: Dudao, db: str, clock) -> None:  # type: ignore[no-untyped-def]
    fid = ordered(app, clock)
    clock.at("2024-10-09")
    app.submit_report(fid, on=D("2024-10-09"), text="已整改", actor="t")
    clock.at("2024-10-10")
    app.review(fid, on=D("2024-10-10"), passed=True, actor="t")
    sweep = sweeper(app, db)
    clock.at("2025-06-30")
    sweep.runner.catch_up()
    assert sweep.due(D("2025-06-30")) == []
    assert sweep.run() == []
    with pytest.raises(Refused):
        app.record_escalation(fid, code="supervise", rule="manual", policy="default",
                              policy_version=1, threshold=D("2024-10-15"), due=None, facts={})


def test_edited_policy_file_moves_the_threshold(app: Dudao, db: str, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ordered(app, clock)
    text = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")
    lenient = text.replace('policy = "default"', 'policy = "lenient"').replace(
        "version = 2", "version = 3").replace("after = 0\ndays = \"working\"\ndue = 10",
                                              "after = 2\ndays = \"working\"\ndue = 10")
    path = tmp_path / "lenient.toml"
    path.write_text(lenient, encoding="utf-8")
    sweep = sweeper(app, db, str(path))
    assert [d.code for d in sweep_at(app, sweep, clock, "2024-10-16")] == ["reminder"]
    decided = sweep_at(app, sweep, clock, "2024-10-17")
    assert [(d.code, str(d.threshold), d.policy, d.policy_version) for d in decided] == [
        ("supervise", "2024-10-17", "lenient", 3)]


def test_sweep_with_a_past_now_is_a_simulation(app: Dudao, db: str, clock) -> None:  # type: ignore[no-untyped-def]
    ordered(app, clock)
    clock.at("2024-12-31")
    app.add_unit("SJYJ", "市教育局", actor="t")  # the store's latest record: 2024-12-31
    sweep = sweeper(app, db)
    decided = sweep_at(app, sweep, clock, "2024-10-15")
    assert [d.code for d in decided] == ["reminder", "supervise"]


def test_a_finding_closed_after_the_decision_is_left_out(app: Dudao, db: str, clock) -> None:  # type: ignore[no-untyped-def]
    fid = ordered(app, clock)
    other = app.record_finding(unit="CGX", on=D("2024-09-25"), inspector="张督学",
                               text="另一条问题", actor="t")
    app.order_rectification(other, on=D("2024-09-25"), within=10, actor="t")
    sweep = sweeper(app, db)
    clock.at("2024-10-16", 9)
    decided = sweep.decide(clock())
    assert len(decided) == 4
    app.submit_report(fid, on=D("2024-10-16"), text="已整改", actor="t")
    app.review(fid, on=D("2024-10-16"), passed=True, actor="t")  # closed meanwhile
    recorded = app.record_escalations(
        [{"finding_id": d.finding_id, "code": d.code, "rule": d.rule, "policy": d.policy,
          "policy_version": d.policy_version, "threshold": d.threshold, "due": d.due,
          "facts": d.facts} for d in decided])
    assert sorted(recorded) == [(str(other), "reminder"), (str(other), "supervise")]
    assert app.get_finding(fid).escalations == []
    assert sweep.run() == []
