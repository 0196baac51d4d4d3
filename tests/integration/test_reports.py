"""Report and bulletin figures against a hand-counted scenario; as-of; rebuild; crash.

The scenario (now = 2024-11-01 17:00, Asia/Shanghai). Unit U1:

| f  | sev     | what happened                                                    | counts as            |
|----|---------|------------------------------------------------------------------|----------------------|
| f1 | general | deadline 10-14, report 10-11, passed 10-16                       | closed on time       |
| f2 | serious | deadline 10-14, report 10-15, passed 10-16                       | closed late          |
| f3 | major   | deadline 10-14 extended to 10-25, report 10-24, passed 10-28     | closed on time       |
| f4 | general | deadline 10-14, 督办 due 10-28, report 10-25, passed 10-30         | closed late (督办 due is no deadline in force) |
| f5 | general | report 10-11, failed 10-12 (new deadline 10-18), report 10-17, passed 10-21 | closed on time |
| f6 | serious | deadline 10-21, no report; 督办, 约谈 (held 10-30), 通报            | open, overdue, late  |
| f7 | general | deadline 10-21, report 10-18, not yet reviewed                   | open, awaiting review, not overdue |
| f8 | general | recorded 10-30, no order                                         | open                 |
| f9 | general | ordered 10-28, deadline 11-11; 预警                               | open                 |

U1: 9 findings, 5 closed, 3 on time, 4 open, 1 overdue (late), 1 awaiting review of a report
made in time:
on-time rate = 3 / (5 + 1) = 0.5. Escalations: reminder 1, supervise 2,
interview 1, public_notice 1, accountability 0; interviews held 1.

U2: g1 deadline 10-14, report 10-10, passed 10-12: rate 1.0, commended.
U3: h1 major, deadline 10-14, no report; 督办, 约谈, 问责: rate 0.0.
U4: no findings: not ranked.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from adapters.bootstrap import read_models
from adapters.rendering.reports import as_of, live
from adapters.rendering.reports.render import render, to_json
from adapters.service_layer.application import Dudao
from domain.time import SHANGHAI
from projections.accountability import (
    AccountabilityProjection,
    escalations,
    findings,
    units,
)
from tests.conftest import Clock

D = date.fromisoformat



@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    """Engines made by runners in a test hold pooled connections: let them go afterwards
    (PostgreSQL is shared and has a connection limit)."""
    yield
    gc.collect()

def esc(app: Dudao, fid: Any, code: str, threshold: str, due: str | None = None) -> None:
    app.record_escalation(fid, code=code, rule=f"test-{code}", policy="default",
                          policy_version=1, threshold=D(threshold),
                          due=D(due) if due else None, facts={})


def scenario(app: Dudao, clock: Clock, on_day: Any = None) -> dict[str, Any]:
    """Record the scenario day by day; ``on_day(day)`` runs at the end of each day."""
    f: dict[str, Any] = {}

    def day(text: str) -> None:
        if on_day is not None and clock.moment.date() < D(text):
            on_day(clock.moment.date().isoformat())
        clock.at(text)

    def rec(name: str, unit: str, on: str, severity: str = "general") -> None:
        f[name] = app.record_finding(unit=unit, on=D(on), inspector="督学", text=f"问题{name}",
                                     severity=severity, actor="t")

    clock.at("2024-09-02")
    for code in ("U1", "U2", "U3", "U4"):
        app.add_unit(code, f"单位{code}", principal=f"负责人{code}", actor="t")
    day("2024-09-20")
    for name, sev in [("f1", "general"), ("f2", "serious"), ("f3", "major"), ("f4", "general"),
                      ("f5", "general"), ("f6", "serious"), ("f7", "general")]:
        rec(name, "U1", "2024-09-20", sev)
    rec("g1", "U2", "2024-09-20")
    rec("h1", "U3", "2024-09-20", "major")
    day("2024-09-25")
    for name in ("f1", "f2", "f3", "f4", "f5", "g1", "h1"):
        assert app.order_rectification(f[name], on=D("2024-09-25"), within=10,
                                       actor="t") == D("2024-10-14")
    day("2024-10-08")
    for name in ("f6", "f7"):
        assert app.order_rectification(f[name], on=D("2024-10-08"), within=10,
                                       actor="t") == D("2024-10-21")
    day("2024-10-10")
    app.extend(f["f3"], on=D("2024-10-10"), to=D("2024-10-25"), reason="施工", actor="t")
    app.submit_report(f["g1"], on=D("2024-10-10"), text="已整改", actor="t")
    day("2024-10-11")
    app.submit_report(f["f1"], on=D("2024-10-11"), text="已整改", actor="t")
    app.submit_report(f["f5"], on=D("2024-10-11"), text="部分整改", actor="t")
    day("2024-10-12")
    assert app.review(f["f5"], on=D("2024-10-12"), passed=False, within=5,
                      actor="t") == D("2024-10-18")
    app.review(f["g1"], on=D("2024-10-12"), passed=True, actor="t")
    day("2024-10-15")
    app.submit_report(f["f2"], on=D("2024-10-15"), text="已整改", actor="t")
    esc(app, f["f4"], "supervise", "2024-10-15", "2024-10-28")
    esc(app, f["h1"], "supervise", "2024-10-15", "2024-10-28")
    day("2024-10-16")
    app.review(f["f1"], on=D("2024-10-16"), passed=True, actor="t")
    app.review(f["f2"], on=D("2024-10-16"), passed=True, actor="t")
    day("2024-10-17")
    app.submit_report(f["f5"], on=D("2024-10-17"), text="全部整改", actor="t")
    day("2024-10-18")
    app.submit_report(f["f7"], on=D("2024-10-18"), text="已整改", actor="t")
    day("2024-10-21")
    app.review(f["f5"], on=D("2024-10-21"), passed=True, actor="t")
    day("2024-10-22")
    esc(app, f["f6"], "supervise", "2024-10-22", "2024-11-04")
    day("2024-10-24")
    app.submit_report(f["f3"], on=D("2024-10-24"), text="已整改", actor="t")
    day("2024-10-25")
    app.submit_report(f["f4"], on=D("2024-10-25"), text="已整改", actor="t")
    day("2024-10-28")
    app.review(f["f3"], on=D("2024-10-28"), passed=True, actor="t")
    rec("f9", "U1", "2024-10-28")
    app.order_rectification(f["f9"], on=D("2024-10-28"), within=10, actor="t")
    day("2024-10-29")
    esc(app, f["f6"], "interview", "2024-10-29", "2024-11-04")
    esc(app, f["h1"], "interview", "2024-10-29", "2024-11-04")
    day("2024-10-30")
    app.review(f["f4"], on=D("2024-10-30"), passed=True, actor="t")
    rec("f8", "U1", "2024-10-30")
    app.hold_interview(f["f6"], on=D("2024-10-30"), interviewee="负责人U1", minutes="限期整改",
                       actor="t")
    day("2024-10-31")
    esc(app, f["f6"], "public_notice", "2024-10-31")
    esc(app, f["h1"], "accountability", "2024-10-31")
    esc(app, f["f9"], "reminder", "2024-10-31")
    day("2024-11-01")
    return f


def test_unit_report_matches_the_hand_count(app: Dudao, db: str, clock: Clock) -> None:
    f = scenario(app, clock)
    with live(app, db) as v:
        r = v.unit("U1")
    assert (r["findings"], r["open"], r["overdue"], r["late"]) == (9, 4, 1, 1)
    assert r["awaiting_review_on_time"] == 1
    assert (r["closed"], r["closed_on_time"], r["on_time_rate"]) == (5, 3, 0.5)
    assert r["by_severity"] == {"general": 6, "serious": 2, "major": 1}
    assert r["by_status"] == {"recorded": 1, "rectifying": 2, "under_review": 1, "closed": 5}
    assert r["escalations"] == {"reminder": 1, "supervise": 2, "interview": 1,
                                "public_notice": 1, "accountability": 0}
    assert (r["interviews"], r["public_notices"], r["accountability"]) == (1, 1, 0)
    on_time = {c["finding_id"]: c["closed_on_time"] for c in r["closed_findings"]}
    assert on_time == {str(f["f1"]): True, str(f["f2"]): False, str(f["f3"]): True,
                       str(f["f4"]): False, str(f["f5"]): True}
    opened = {o["finding_id"]: o for o in r["open_findings"]}
    assert set(opened) == {str(f[n]) for n in ("f6", "f7", "f8", "f9")}
    f6 = opened[str(f["f6"])]
    assert (f6["overdue"], f6["late"], f6["days_overdue"], f6["rung"]) == (
        True, True, 11, "public_notice")
    assert f6["current_deadline"] == D("2024-11-04")
    assert [t["kind"] for t in f6["timeline"]] == [
        "Recorded", "RectificationOrdered", "EscalationRaised", "EscalationRaised",
        "InterviewHeld", "EscalationRaised"]
    # a report submitted before its deadline, awaiting review: neither overdue nor late
    f7 = opened[str(f["f7"])]
    assert (f7["overdue"], f7["late"], f7["days_overdue"], f7["awaiting_review_on_time"]) == (
        False, False, 0, True)
    assert opened[str(f["f9"])]["overdue"] is False
    # the month's rate counts the overdue open findings whose deadline fell in it (f6), as
    # the headline rate does, and says how many findings it is over (n)
    assert r["monthly"] == [{"month": "2024-10", "closed": 5, "closed_on_time": 3, "late": 1,
                             "n": 6, "on_time_rate": 0.5}]
    peers = r["peers"]
    assert (peers["units"], peers["rank"], peers["ranked"]) == (4, 2, 3)
    assert peers["average_on_time_rate"] == 0.5


def test_monthly_chart_months_without_closures(app: Dudao, db: str, clock: Clock) -> None:
    """U3 closed nothing: its one month holds h1, overdue (0%, n=1), not an empty 0%. A
    month between two with findings shows as having none, not as 0%."""
    scenario(app, clock)
    with live(app, db) as v:
        u3 = v.unit("U3")
    assert u3["monthly"] == [{"month": "2024-10", "closed": 0, "closed_on_time": 0, "late": 1,
                              "n": 1, "on_time_rate": 0.0}]
    from projections.reports import monthly

    rows = [{"status": "closed", "closed_on": D("2024-08-05"), "closed_on_time": True},
            {"status": "closed", "closed_on": D("2024-10-05"), "closed_on_time": False}]
    months = monthly(rows, D("2024-11-01"))
    assert [(m["month"], m["n"], m["on_time_rate"]) for m in months] == [
        ("2024-08", 1, 1.0), ("2024-09", 0, None), ("2024-10", 1, 0.0)]
    from adapters.rendering.reports.render import rate_chart

    svg = rate_chart(months)
    assert ">100% (n=1)<" in svg and ">0% (n=1)<" in svg
    assert ">无销号<" in svg and "(n=0)" not in svg  # September is not drawn as 0%


def test_group_units_are_in_the_bulletin_like_any_unit(app: Dudao, db: str,
                                                       clock: Clock) -> None:
    """A group unit (各县(市)人民政府, from a plan) with a finding is ranked, named and counted."""
    from tests.conftest import SAMPLE_PLANS

    clock.at("2024-09-02")
    path = SAMPLE_PLANS / "county-high-schools-2023-2025.txt"
    plan = app.import_plan(path.read_bytes(), source=path.name, code="XZ", actor="t")
    group = plan["unit_codes"]["各县(市)人民政府"]
    assert app.get_unit(group).kind == "group"
    clock.at("2024-09-20")
    fid = app.record_finding(unit=group, on=D("2024-09-20"), inspector="督学", text="群组问题",
                             actor="t")
    clock.at("2024-09-25")
    app.order_rectification(fid, on=D("2024-09-25"), within=10, actor="t")
    esc(app, fid, "public_notice", "2024-10-20")
    clock.at("2024-11-01")
    with live(app, db) as v:
        b = v.bulletin()
        r = v.unit(group)
    assert [u["unit"] for u in b["ranking"]] == [group]
    assert [u["name"] for u in b["public_notice"]] == ["各县(市)人民政府"]
    assert b["overall"]["overdue"] == 1 and b["overall"]["units"] == plan["units"]
    assert r["peers"] is not None and r["overdue"] == 1


def test_bulletin_matches_the_hand_count(app: Dudao, db: str, clock: Clock) -> None:
    f = scenario(app, clock)
    with live(app, db) as v:
        b = v.bulletin()
    o = b["overall"]
    assert (o["units"], o["findings"], o["closed"], o["closed_on_time"]) == (4, 11, 6, 4)
    assert (o["open"], o["overdue"], o["late"], o["on_time_rate"]) == (5, 2, 2, 0.5)
    assert o["escalations"] == {"reminder": 1, "supervise": 3, "interview": 2,
                                "public_notice": 1, "accountability": 1}
    assert [(u["rank"], u["unit"], u["on_time_rate"]) for u in b["ranking"]] == [
        (1, "U2", 1.0), (2, "U1", 0.5), (3, "U3", 0.0)]
    assert [u["unit"] for u in b["unranked"]] == ["U4"]
    assert [(u["unit"], [x["finding_id"] for x in u["findings"]]) for u in b["public_notice"]] == [
        ("U1", [str(f["f6"])])]
    assert [(u["unit"], [x["finding_id"] for x in u["findings"]])
            for u in b["accountability"]] == [("U3", [str(f["h1"])])]
    assert [u["unit"] for u in b["commended"]] == ["U2"]
    md = render(b, "md")
    assert "单位U3" in md.split("## 四、问责")[1] and "问题h1" in md
    html = render(b, "html")
    assert "<svg" in html and "http-equiv" not in html and "<script src" not in html


def tables(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for t, key in ((units, units.c.code), (findings, findings.c.finding_id),
                       (escalations, escalations.c.position)):
            out[t.name] = [tuple(r) for r in conn.execute(select(t).order_by(key))]
    return out


def test_as_of_equals_the_report_that_was_current_then(app: Dudao, db: str,
                                                      clock: Clock) -> None:
    captured: dict[str, tuple[datetime, str, str]] = {}
    days = {"2024-10-12", "2024-10-16", "2024-10-29"}

    def capture(day: str) -> None:
        if day in days:
            clock.at(day, 20)
            with live(app, db) as v:
                captured[day] = (clock.moment, to_json(v.unit("U1")), to_json(v.bulletin()))

    scenario(app, clock, on_day=capture)
    assert set(captured) == days
    runner = read_models(app, db)
    before = tables(runner.engine)
    for moment, unit_json, bulletin_json in captured.values():
        with as_of(app, moment) as v:
            assert to_json(v.unit("U1")) == unit_json
            assert to_json(v.bulletin()) == bulletin_json
    assert tables(runner.engine) == before  # the live read models were not touched
    # and the figures did change over time, so the comparison means something
    rates = [json.loads(c[1])["closed"] for c in captured.values()]
    assert rates == [0, 2, 4]


def test_rebuild_equals_incremental(app: Dudao, db: str, clock: Clock) -> None:
    runner = read_models(app, db)
    steps: list[int] = []
    scenario(app, clock, on_day=lambda day: steps.append(runner.catch_up(batch=3)))
    steps.append(runner.catch_up(batch=3))
    assert sum(steps) == app.event_count() and len([s for s in steps if s]) > 10
    incremental = tables(runner.engine)
    assert len(incremental["acc_findings"]) == 11
    runner.rebuild()
    assert tables(runner.engine) == incremental


class Crash(BaseException):
    """The process killed (like KeyboardInterrupt): not an event the runner may skip."""


class CrashingProjection(AccountabilityProjection):
    """Fails on the n-th page it writes, like a process killed mid-batch."""

    def __init__(self, on_call: int) -> None:
        super().__init__()
        self.on_call = on_call
        self.calls = 0

    def apply_many(self, conn: Any, batch: Any) -> None:
        self.calls += 1
        super().apply_many(conn, batch)  # writes happen, then the process dies
        if self.calls == self.on_call:
            raise Crash


def test_killed_mid_batch_resumes_without_double_counting(app: Dudao, db: str,
                                                          clock: Clock) -> None:
    scenario(app, clock)
    runner = read_models(app, db, [CrashingProjection(on_call=3)])
    with pytest.raises(Crash):
        runner.catch_up(batch=10)
    assert runner.positions() == {"accountability": 20}
    resumed = read_models(app, db)
    resumed.catch_up(batch=10)
    with live(app, db, catch_up=False) as v:
        r = v.unit("U1")
    assert (r["findings"], r["closed"], r["closed_on_time"], r["interviews"]) == (9, 5, 3, 1)
    assert sum(r["escalations"].values()) == 5
    incremental = tables(resumed.engine)
    resumed.rebuild()
    assert tables(resumed.engine) == incremental


def test_as_of_before_anything_and_unknown_unit(app: Dudao, db: str, clock: Clock) -> None:
    scenario(app, clock)
    with as_of(app, datetime(2024, 9, 20, 12, tzinfo=SHANGHAI)) as v:
        b = v.bulletin()
        assert b["overall"]["findings"] == 0 and b["overall"]["units"] == 4
        from domain.errors import NotFound

        with pytest.raises(NotFound):
            v.unit("U9")


def test_command_line(sqlite_db: str, clock: Clock, capsys: Any, tmp_path: Any) -> None:
    from adapters.bootstrap import load_calendar
    from adapters.entrypoints.cli import cli
    from adapters.entrypoints.cli.base import run
    from adapters.infrastructure.event_store import store_env

    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    scenario(app, clock)
    app.close()
    base = ["--db", sqlite_db, "--now", "2024-11-01T17:00"]
    capsys.readouterr()
    assert run(cli, [*base, "projections", "rebuild"]) == 0
    assert "重放" in capsys.readouterr().out
    assert run(cli, [*base, "report", "unit", "U1", "--format", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("unit", "findings", "open", "overdue", "closed", "closed_on_time",
                "on_time_rate", "escalations", "interviews", "public_notices", "accountability"):
        assert key in r
    assert (r["findings"], r["closed_on_time"], r["on_time_rate"]) == (9, 3, 0.5)
    assert run(cli, [*base, "report", "unit", "U1", "--as-of", "2024-10-16T20:00",
                     "--format", "json"]) == 0
    then = json.loads(capsys.readouterr().out)
    assert (then["findings"], then["closed"], then["as_of"]) == (7, 2, "2024-10-16T20:00:00+08:00")
    out = tmp_path / "b.html"
    assert run(cli, [*base, "--json", "report", "bulletin", "--format", "html", "-o",
                     str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == {"written": str(out)}
    html = out.read_text(encoding="utf-8")
    assert "督 导 通 报" in html
    # print-ready: the default 发文机关, 成文日期 in Chinese form, headers repeated on each
    # page, page numbers, dates that do not wrap
    assert '<span id="issuer">××市人民政府教育督导室</span>' in html
    assert '<span class="date" id="dated">2024年11月1日</span>' in html
    assert "<thead><tr><th class=\"num\">名次</th>" in html
    assert "thead { display: table-header-group; }" in html
    assert "counter(page)" in html and "counter(pages)" in html and "@page" in html
    assert ".date, td.date { white-space: nowrap; }" in html
    assert run(cli, [*base, "report", "bulletin", "--format", "html", "--issue-no",
                     "2024年第3期", "--issuer", "汉中市人民政府教育督导室", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert '<div class="doc-no issue-no" id="issue-no">2024年第3期</div>' in html
    assert html.count("汉中市人民政府教育督导室") == 2  # masthead and signature
    assert run(cli, [*base, "report", "bulletin", "--issuer", " "]) == 1
    assert "发文机关" in capsys.readouterr().err
    assert run(cli, [*base, "report", "bulletin"]) == 0
    assert "## 二、按期整改率排名" in capsys.readouterr().out
    assert run(cli, [*base, "report", "bulletin", "--since", "2024-10-20", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["findings"] == 8
    assert run(cli, [*base, "report", "unit", "U9"]) == 1
    assert "U9" in capsys.readouterr().err


def test_bulletin_for_a_period_matches_the_hand_count(app: Dudao, db: str, clock: Clock) -> None:
    """From 2024-10-20: f1, f2 (closed 10-16) and g1 (closed 10-12) are off the table, and
    so are the escalations before 10-20 (f4's and h1's 督办 of 10-15).

    U1: f3 (on time), f4 (late), f5 (on time) closed; f6 late, f7 overdue awaiting review,
    f8, f9 open: 7 findings, 3 closed, 2 on time, rate 2 / (3 + 1) = 0.5.
    U2: nothing on the table: not ranked, not commended. U3: h1 late: 0.0.
    """
    f = scenario(app, clock)
    with live(app, db) as v:
        b = v.period(D("2024-10-20")).bulletin()
        u1 = v.period(D("2024-10-20")).unit("U1")
        whole = v.bulletin()
    assert b["since"] == D("2024-10-20") and whole["since"] is None
    assert (u1["findings"], u1["closed"], u1["closed_on_time"], u1["late"],
            u1["on_time_rate"]) == (7, 3, 2, 1, 0.5)
    assert u1["escalations"] == {"reminder": 1, "supervise": 1, "interview": 1,
                                 "public_notice": 1, "accountability": 0}
    o = b["overall"]
    assert (o["findings"], o["closed"], o["closed_on_time"], o["on_time_rate"]) == (8, 3, 2, 0.4)
    assert o["escalations"] == {"reminder": 1, "supervise": 1, "interview": 2,
                                "public_notice": 1, "accountability": 1}
    assert [(u["unit"], u["on_time_rate"]) for u in b["ranking"]] == [("U1", 0.5), ("U3", 0.0)]
    assert [u["unit"] for u in b["unranked"]] == ["U2", "U4"]
    assert b["commended"] == []
    assert [u["unit"] for u in b["accountability"]] == ["U3"]
    assert str(f["h1"]) in str(b["accountability"])
    assert "本期 2024-10-20 起" in render(b, "md")


def test_peers_are_compared_within_their_kind(app: Dudao, db: str, clock: Clock) -> None:
    """区政府 is compared with other 区政府, not with 市直部门; a unit with a parent with its
    parent's units; a changed kind (unit edit --kind) moves the unit to its new peers."""
    clock.at("2024-09-02")
    for code, name in (("HT", "汉台区人民政府"), ("NZ", "南郑区人民政府"),
                       ("JYJ", "市教育局"), ("CZJ", "市财政局"), ("ZX", "市第一中学")):
        app.add_unit(code, name, actor="t")
    app.add_unit("HTJY", "汉台区教育局", parent="HT", actor="t")
    app.add_unit("HTCZ", "汉台区财政局", parent="HT", actor="t")
    clock.at("2024-11-01")
    with live(app, db) as v:
        ht, jyj, htjy = v.unit("HT")["peers"], v.unit("JYJ")["peers"], v.unit("HTJY")["peers"]
        zx = v.unit("ZX")["peers"]
    assert (ht["group"], ht["units"], ht["kind"]) == ("政府类单位", 2, "government")
    assert {r["unit"] for r in ht["table"]} == {"HT", "NZ"}
    assert {r["unit"] for r in jyj["table"]} == {"JYJ", "CZJ"}
    assert (htjy["group"], {r["unit"] for r in htjy["table"]}) == ("汉台区人民政府",
                                                                  {"HTJY", "HTCZ"})
    assert {r["unit"] for r in zx["table"]} == {"ZX"}
    app.change_unit_kind("ZX", "department", actor="t")
    with live(app, db) as v:
        zx = v.unit("ZX")["peers"]
        md = render(v.unit("ZX"), "md")
    assert {r["unit"] for r in zx["table"]} == {"JYJ", "CZJ", "ZX"}
    assert "与同级单位比较（部门类单位）" in md
