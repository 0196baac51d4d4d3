"""Issue 11: a provisional deadline is shown as 暂定 wherever a person reads it, and
``dudao calendar check`` lists the open deadlines the calendar now in force would put
elsewhere (recorded deadlines are never rewritten)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from projections.accountability import findings as acc_findings
from projections.findings import findings, list_findings
from tests.conftest import Cli, Clock

HOLIDAYS_2027 = "# 国务院办公厅 2027 年部分节假日安排（测试用）\n2027-01-01 休\n2027-01-04 休\n"


def two_findings(dudao: Cli) -> tuple[str, str]:
    """A finding ordered 2026-12-18 within 10 working days (→ 2027-01-04, provisional) and
    one ordered 2024-09-25 within 10 working days (→ 2024-10-14, package calendar)."""
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2024-09-25T09:00")
    _, old, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2024-09-25",
                      "--inspector", "张督学", "--text", "食堂台账不全", now="2024-09-25T10:00")
    assert dudao("rectify", "order", old.strip(), "--on", "2024-09-25", "--within", "10",
                 now="2024-09-25T11:00")[0] == 0
    _, new, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2026-12-18",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2026-12-18T10:00")
    assert dudao("rectify", "order", new.strip(), "--on", "2026-12-18", "--within", "10",
                 now="2026-12-18T11:00")[0] == 0
    return new.strip(), old.strip()


def seed_app(app: Dudao, clock: Clock) -> tuple[Any, Any]:
    clock.at("2024-09-25")
    app.add_unit("CGX", "城固县人民政府", actor="t")
    old = app.record_finding(unit="CGX", on=date(2024, 9, 25), inspector="张督学",
                             text="食堂台账不全", actor="t")
    app.order_rectification(old, on=date(2024, 9, 25), within=10, actor="t")
    clock.at("2026-12-18")
    new = app.record_finding(unit="CGX", on=date(2026, 12, 18), inspector="张督学",
                             text="教师全员培训学时未达标", actor="t")
    assert app.order_rectification(new, on=date(2026, 12, 18), within=10,
                                   actor="t") == date(2027, 1, 4)
    return new, old


# ------------------------------------------------------------- the 暂定 marker


def test_finding_show_marks_a_provisional_deadline(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    new, old = two_findings(dudao)
    code, out, err = dudao("finding", "show", new, now="2026-12-20T09:00")
    assert code == 0, err
    assert "期限 2027-01-04（暂定）" in out
    code, out, err = dudao("finding", "show", old, now="2026-12-20T09:00")
    assert code == 0, err
    assert "期限 2024-10-14" in out and "暂定" not in out
    assert dudao.json("finding", "show", new)["deadline_provisional"] is True
    assert dudao.json("finding", "show", old)["deadline_provisional"] is False


def test_an_extension_is_no_longer_provisional(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    new, _ = two_findings(dudao)
    assert dudao("rectify", "extend", new, "--on", "2026-12-20", "--to", "2027-01-20",
                 "--reason", "寒假", now="2026-12-20T09:00")[0] == 0
    shown = dudao.json("finding", "show", new, now="2026-12-20T10:00")
    assert shown["deadline"] == "2027-01-20" and shown["deadline_provisional"] is False


def test_read_models_keep_the_provisional_flag(app: Dudao, db: str, clock: Clock) -> None:
    new, old = seed_app(app, clock)
    runner = read_models(app, db)
    runner.catch_up()
    with runner.engine.connect() as conn:
        rows = {r["finding_id"]: r for r in list_findings(conn)}
        acc = {r.finding_id: r.deadline_provisional
               for r in conn.execute(select(acc_findings))}
    assert rows[str(new)]["deadline_provisional"] is True
    assert rows[str(old)]["deadline_provisional"] is False
    assert acc == {str(new): True, str(old): False}
    runner.engine.dispose()


def test_an_existing_store_gets_the_new_column(app: Dudao, db: str, clock: Clock) -> None:
    """Read models made before the column existed are rebuilt by the next runner."""
    new, old = seed_app(app, clock)
    runner = read_models(app, db)
    runner.catch_up()
    with runner.engine.begin() as conn:  # as an older dudao left them
        for table in ("findings_view", "acc_findings"):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN deadline_provisional"))
    runner.engine.dispose()
    again = read_models(app, db)
    assert again.positions()["findings"] == 0  # to be replayed
    assert again.positions()["plans"] == app.last_position()  # untouched
    again.catch_up()
    with again.engine.connect() as conn:
        flags = dict(conn.execute(select(findings.c.finding_id,
                                         findings.c.deadline_provisional)).all())
        acc = dict(conn.execute(select(acc_findings.c.finding_id,
                                       acc_findings.c.deadline_provisional)).all())
    assert flags == {str(new): True, str(old): False} == acc
    assert again.positions()["findings"] == app.last_position()
    again.engine.dispose()


# ------------------------------------------------------------- calendar check


def test_calendar_check_lists_deadlines_an_operator_file_moves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    new, old = two_findings(dudao)
    # under the calendar the deadlines were counted on, nothing differs
    assert dudao.json("calendar", "check", now="2026-12-20T09:00") == {"differing": []}
    code, out, err = dudao("calendar", "check", now="2026-12-20T09:00")
    assert code == 0, err
    assert "没有" in out
    holidays = tmp_path / "holidays-2027.txt"
    holidays.write_text(HOLIDAYS_2027, encoding="utf-8")
    monkeypatch.setenv("DUDAO_HOLIDAYS", str(holidays))
    checked = dudao.json("calendar", "check", now="2026-12-20T09:00")
    assert checked == {"differing": [{
        "finding_id": new, "unit": "CGX", "unit_name": "城固县人民政府",
        "ordered_on": "2026-12-18", "within": 10, "calendar_days": False,
        "recorded_deadline": "2027-01-04", "recorded_provisional": True,
        "current_deadline": "2027-01-05", "current_provisional": False,
    }]}
    code, out, err = dudao("calendar", "check", now="2026-12-20T09:00")
    assert code == 0, err
    assert "城固县人民政府" in out and new in out
    assert "2027-01-04（暂定）" in out and "2027-01-05" in out
    # the recorded deadline is never rewritten
    assert dudao.json("finding", "show", new)["deadline"] == "2027-01-04"
    # a closed finding is not listed
    assert dudao("rectify", "report", new, "--on", "2026-12-21", "--text", "已整改",
                 now="2026-12-21T09:00")[0] == 0
    assert dudao("rectify", "review", new, "--on", "2026-12-22", "--pass",
                 now="2026-12-22T09:00")[0] == 0
    assert dudao.json("calendar", "check", now="2026-12-22T10:00") == {"differing": []}
    assert old not in out


def test_calendar_check_recounts_a_failed_review_and_skips_an_extension(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    new, _ = two_findings(dudao)
    _, other, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2026-12-18",
                        "--inspector", "张督学", "--text", "图书室开放时间不足",
                        now="2026-12-18T10:30")
    other = other.strip()
    dudao("rectify", "order", other, "--on", "2026-12-18", "--within", "3",
          now="2026-12-18T11:00")
    dudao("rectify", "report", other, "--on", "2026-12-21", "--text", "部分整改",
          now="2026-12-21T09:00")
    # failed on 2026-12-28 (Mon): 5 working days → 2027-01-05 provisional (01-01 off)
    code, out, err = dudao("rectify", "review", other, "--on", "2026-12-28", "--fail",
                           "--within", "5", now="2026-12-28T09:00")
    assert code == 0, err
    assert "2027-01-05（暂定）" in out
    assert dudao("rectify", "extend", new, "--on", "2026-12-20", "--to", "2027-01-08",
                 "--reason", "寒假", now="2026-12-20T09:00")[0] == 0
    holidays = tmp_path / "holidays-2027.txt"
    holidays.write_text(HOLIDAYS_2027, encoding="utf-8")
    monkeypatch.setenv("DUDAO_HOLIDAYS", str(holidays))
    differing = dudao.json("calendar", "check", now="2026-12-29T09:00")["differing"]
    # the extended deadline is an inspector's date, not a count: not listed
    assert [(d["finding_id"], d["ordered_on"], d["within"], d["recorded_deadline"],
             d["current_deadline"]) for d in differing] == [
        (other, "2026-12-28", 5, "2027-01-05", "2027-01-06")]
