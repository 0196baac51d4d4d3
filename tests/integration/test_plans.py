"""Importing plans into the store, the ledger, progress, sign-off and lagging tasks."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run
from adapters.service_layer import action_plans as plans
from adapters.service_layer.application import Dudao
from domain.errors import Conflict, InvalidInput, NotFound, Refused
from tests.conftest import SAMPLE_PLANS, Clock

PLANS = SAMPLE_PLANS
COUNTY = PLANS / "county-high-schools-2023-2025.txt"
HANZHONG = PLANS / "hanzhong-education-quality-2023-2025.txt"
JIAGEDAQI = PLANS / "jiagedaqi-compulsory-education-balance-2023.txt"


def imp(app: Dudao, path: Path, code: str | None = None) -> dict:  # type: ignore[type-arg]
    return app.import_plan(path.read_bytes(), source=path.name, code=code, actor="导入员")


def test_three_plans_import_with_their_figures(app: Dudao, clock: Clock) -> None:
    clock.at("2024-01-02")
    # figures counted by hand in tests/unit/test_plan_parser.py
    got = {p.name: imp(app, p) for p in (COUNTY, HANZHONG, JIAGEDAQI)}
    figures = {k: (v["tasks"], v["units"], v["indicators"]) for k, v in got.items()}
    # indicators: a periodic target is one per year or term (issue 15): 21 → 38, 25 → 34
    # as read; the periods that ended in 2023, before this import, are not recorded (汉中
    # 7, 加格达奇 3): 31 and 31
    assert figures == {COUNTY.name: (13, 9, 5), HANZHONG.name: (28, 22, 31),
                       JIAGEDAQI.name: (16, 11, 31)}
    assert any("前已结束，未登记" in w for w in got[HANZHONG.name]["warnings"])
    county = got[COUNTY.name]
    assert county["plan"] == "county-high-schools-2023-2025"
    assert county["groups"] == ["各县(市)人民政府"]
    assert county["unit_codes"]["市教育局"] == "SJYJ"
    assert any("群组单位" in w and "各县(市)人民政府" in w for w in county["warnings"])
    assert all(w.startswith("第") for w in county["warnings"])
    # 市教育局, 市财政局… were registered by the first plan: the second matches them by name
    hz = got[HANZHONG.name]
    assert "SJYJ" not in hz["new_units"] and "SCZJ" not in hz["new_units"]
    assert hz["unit_codes"]["市教育局"] == "SJYJ"
    assert app.get_unit("GXQDWZF").kind == "group"
    assert app.get_unit("GXQDWZF").name == "各县区党委、政府"
    t = app.get_task("hanzhong-education-quality-2023-2025-1")
    assert (t.lead, t.responsible) == (["SJYJ"], ["SWZZB", "SWBB", "SRSJ", "GXQDWZF"])
    assert t.indicators[0]["deadline"] == date(2023, 12, 31)


def test_importing_the_same_file_twice_records_nothing(app: Dudao, clock: Clock) -> None:
    first = imp(app, JIAGEDAQI, "JGDQ")
    count = app.event_count()
    again = imp(app, JIAGEDAQI, "JGDQ")
    assert app.event_count() == count
    assert again["new"] is False and first["new"] is True
    assert (again["tasks"], again["units"], again["indicators"]) == (16, 11, 31)
    assert again["warnings"] == first["warnings"]
    # the same text under another file name or code is the same plan
    renamed = app.import_plan(JIAGEDAQI.read_bytes(), source="加格达奇.txt", code="OTHER",
                              actor="t")
    assert (renamed["plan"], renamed["new"]) == ("JGDQ", False)
    assert app.event_count() == count
    # the same code for another text is refused, and records nothing
    with pytest.raises(Conflict):
        imp(app, COUNTY, "JGDQ")
    assert app.event_count() == count


def test_units_match_existing_ones_by_name_and_codes_never_clash(app: Dudao) -> None:
    app.add_unit("EDU", "市教育局", principal="王建国", actor="t")
    app.add_unit("SCZJ", "市场总局", actor="t")  # takes 市财政局's readable code
    result = imp(app, COUNTY, "XZ")
    codes = result["unit_codes"]
    assert codes["市教育局"] == "EDU"
    assert codes["市财政局"].startswith("SCZJ-")
    assert app.get_unit(codes["市财政局"]).name == "市财政局"
    assert "EDU" not in result["new_units"]
    assert app.get_task("XZ-1").responsible == ["GXSRMZF", "SZRZYJ", codes["市财政局"], "EDU"]


def garbled_gb_text(n: int = 400) -> bytes:
    """Random GB2312 characters: decodes as 'Chinese' but is garbage."""
    rng = random.Random(8)
    return bytes(b for _ in range(n) for b in (rng.randint(0xB0, 0xD7), rng.randint(0xA1, 0xFE)))


@pytest.mark.parametrize("raw, words", [
    (b"", "空的"),
    (bytes(range(256)) * 8, "二进制"),
    (garbled_gb_text(), "没有找到任何任务"),
    ("一、主要任务\n1.改善办学条件。逐步改善。\n2.配齐教师。达到100%。\n".encode(), "没有一项标注了责任单位"),
])
def test_bad_plans_record_nothing(app: Dudao, raw: bytes, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        app.import_plan(raw, source="bad.txt", actor="t")
    assert words in e.value.zh
    assert app.event_count() == 0


def test_ledger_statuses_progress_and_sign_off(app: Dudao, clock: Clock) -> None:
    clock.at("2024-01-02")
    imp(app, COUNTY, "XZ")
    imp(app, HANZHONG, "HZ")
    # county task (四): 班额 <= 55 人; the group reports 56, then 52
    clock.at("2024-06-01")
    app.report_progress("XZ-4", indicator=1, value="56", on=date(2024, 5, 20), unit="GXSRMZF",
                        actor="unit")
    task = app.get_task("XZ-4")
    assert task.met(1, unit="GXSRMZF") is False
    app.report_progress("XZ-4", indicator=1, value="52", on=date(2024, 5, 31), unit="GXSRMZF",
                        actor="unit")
    assert app.get_task("XZ-4").met(1, unit="GXSRMZF") is True
    assert app.get_task("XZ-4").met(1, unit="SJYJ") is None  # 市教育局 has not reported
    app.close_task("XZ-5", on=date(2024, 6, 1), inspector="张督学", actor="张督学")
    ledger = app.plan_ledger("XZ")
    group = next(u for u in ledger["units"] if u["unit"] == "GXSRMZF")
    assert group["kind"] == "group"
    rows = {r["task"]: r for r in group["tasks"]}
    assert rows["XZ-5"]["status"] == "closed"
    assert rows["XZ-4"]["status"] == "on_track"
    assert rows["XZ-4"]["indicators"][0]["value"] == "52"
    assert rows["XZ-4"]["indicators"][0]["status"] == "met"
    assert [r["task"] for r in ledger["unassigned"]] == ["XZ-11", "XZ-12", "XZ-13"]
    # 汉中 task 1's indicator was due 2023-12-31 and is unmet: overdue; task 7 too
    hz = app.plan_ledger("HZ")
    edu = {r["task"]: r for r in next(u for u in hz["units"] if u["unit"] == "SJYJ")["tasks"]}
    assert edu["HZ-1"]["status"] == "overdue" and edu["HZ-1"]["role"] == "lead"
    assert edu["HZ-7"]["status"] == "overdue"
    assert edu["HZ-2"]["status"] == "on_track" and edu["HZ-2"]["role"] == "responsible"
    # periodic targets are one indicator a year or term (issue 15): task 17's 2023 autumn
    # term (每学期至少兼任一门, due 2024-01-31, after the import) passed unmet
    assert edu["HZ-17"]["status"] == "overdue"
    assert hz["counts"] == {"on_track": 25, "overdue": 3, "closed": 0}
    # the unit report's part: every plan's tasks naming the unit
    mine = app.unit_tasks("SJYJ")
    assert {r["task"] for r in mine} >= {"XZ-1", "XZ-4", "HZ-1", "HZ-28"}
    assert all(r["role"] in ("lead", "responsible") for r in mine)


def test_refusals_record_nothing(app: Dudao, clock: Clock) -> None:
    clock.at("2024-06-01")
    imp(app, COUNTY, "XZ")
    count = app.event_count()
    with pytest.raises(InvalidInput):
        app.report_progress("XZ-4", indicator=3, value="1", on=date(2024, 6, 1), actor="u")
    with pytest.raises(InvalidInput):
        app.report_progress("XZ-4", indicator=1, value="五十", on=date(2024, 6, 1), actor="u")
    with pytest.raises(InvalidInput):
        app.report_progress("XZ-4", indicator=1, value="50", on=date(2024, 6, 2), actor="u")
    with pytest.raises(InvalidInput):  # 市网信局 is not a unit of task (四)
        app.report_progress("XZ-4", indicator=1, value="50", on=date(2024, 6, 1),
                            unit="SWXJ", actor="u")
    with pytest.raises(NotFound):
        app.report_progress("XZ-99", indicator=1, value="50", on=date(2024, 6, 1), actor="u")
    assert app.event_count() == count
    app.close_task("XZ-4", actor="张督学")
    with pytest.raises(Refused):
        app.close_task("XZ-4", actor="张督学")
    with pytest.raises(Refused):
        app.report_progress("XZ-4", indicator=1, value="50", on=date(2024, 6, 1), actor="u")
    assert app.event_count() == count + 1


def test_lagging_tasks_become_findings_once(app: Dudao, clock: Clock) -> None:
    clock.at("2023-12-01")  # imported a month before the first deadlines (2023-12-31)
    imp(app, HANZHONG, "HZ")
    assert plans.lagging(app, as_of=date(2023, 12, 31)) == []
    # task 1: 市教育局 (lead) reported 92% on time (unmet); 市委组织部 100% too late
    app.report_progress("HZ-1", indicator=1, value="92", on=date(2023, 12, 1), unit="SJYJ",
                        actor="u")
    clock.at("2024-01-02")
    # a value reported after the deadline does not count for the deadline that passed
    app.report_progress("HZ-1", indicator=1, value="100", on=date(2024, 1, 2), unit="SWZZB",
                        actor="u")
    # task 7 (no indicators, due 2023-12-31) signed off on time
    app.close_task("HZ-7", on=date(2023, 12, 29), actor="张督学")
    clock.at("2024-01-10")
    found = plans.lagging(app)
    lags = {(t.code, lag.unit): lag for t, lag in found if t.code == "HZ-1"}
    # the party organs (市委组织部, 市委编办) are outside the 督导室's jurisdiction
    assert set(lags) == {("HZ-1", "SJYJ"), ("HZ-1", "SRSJ"), ("HZ-1", "GXQDWZF")}
    # the other tasks lagging then: only for their 2023 yearly targets (每年…, one indicator
    # a year, the first due 2023-12-31; issue 15), nothing reported
    periodic = [(t, lag) for t, lag in found if t.code != "HZ-1"]
    assert periodic and all(lag.threshold == date(2024, 1, 1) and lag.unmet for _, lag in periodic)
    assert all(t.indicator(n).get("period") and t.indicator(n)["deadline"] == date(2023, 12, 31)
               for t, lag in periodic for n in lag.unmet)
    outside = plans.lagging_outside(app)
    assert [(u["unit"], u["kind"]) for u in outside
            if any(t["task"] == "HZ-1" for t in u["tasks"])] == [
        ("SWBB", "party_organ"), ("SWZZB", "party_organ")]
    assert lags[("HZ-1", "SRSJ")].threshold == date(2024, 1, 1)
    assert lags[("HZ-1", "SRSJ")].unmet == (1,)
    recorded = [r for r in app.record_lagging() if r["task"] == "HZ-1"]
    assert len(recorded) == 3
    f = app.get_finding(recorded[0]["finding_id"])
    assert f.text.startswith("工作滞后：")
    assert "中小学校标准化党组织覆盖率≥100%" in f.text
    assert (f.task, f.on, f.status) == ("HZ-1", date(2024, 1, 1), "rectifying")
    assert f.deadline == date(2024, 1, 15)  # 10 working days from 2024-01-01 (a holiday)
    count = app.event_count()
    assert app.record_lagging() == []  # running again decides nothing new
    assert app.event_count() == count
    # a late sweep decides what a punctual one would have: same findings, same dates
    clock.at("2024-03-01")
    late = app.record_lagging()
    # only what fell due since: task 17's 2023 autumn term (每学期…, due 2024-01-31; issue
    # 15), for its two units; task 1's findings are not recorded again
    assert {(r["task"], r["unit"], r["threshold"]) for r in late} == {
        ("HZ-17", "SJYJ", date(2024, 2, 1)), ("HZ-17", "GXQDWZF", date(2024, 2, 1))}


def test_a_plan_imported_after_its_deadlines_lags_from_its_import(app: Dudao,
                                                                   clock: Clock) -> None:
    clock.at("2024-01-02")  # after HZ's first deadlines (2023-12-31)
    imp(app, HANZHONG, "HZ")
    # the grace: 10 working days after the import (2024-01-03 .. 2024-01-16)
    assert plans.lagging(app, as_of=date(2024, 1, 16)) == []
    clock.at("2024-01-17")
    recorded = app.record_lagging()
    assert recorded and {r["threshold"] for r in recorded} == {date(2024, 1, 17)}
    f = app.get_finding(recorded[0]["finding_id"])
    assert (f.on, f.deadline) == (date(2024, 1, 17), date(2024, 1, 31))
    assert "截至2023-12-31未完成" in f.text  # the deadline that passed is still named


def test_cli_import_show_progress_close(sqlite_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", sqlite_db, "--now", "2024-06-01T10:00", "--actor", "张督学"]
    assert run(cli, [*base, "--json", "plan", "import", str(COUNTY), "--code", "XZ"]) == 0
    out = capsys.readouterr().out
    assert '"tasks": 13' in out and '"units": 9' in out and '"indicators": 5' in out
    assert run(cli, [*base, "task", "progress", "XZ-4", "--indicator", "1", "--value", "50",
                     "--on", "2024-05-31"]) == 0
    assert "已达标" in capsys.readouterr().out
    assert run(cli, [*base, "task", "close", "XZ-4"]) == 0
    assert "已于 2024-06-01 销号" in capsys.readouterr().out
    assert run(cli, [*base, "plan", "show", "XZ"]) == 0
    out = capsys.readouterr().out
    assert "工作台账" in out and "已销号" in out and "各县(市)人民政府（群组）" in out
    assert run(cli, [*base, "plan", "import", str(PLANS / "missing.txt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "missing.txt" in err and len(err.strip().splitlines()) == 1


def test_demo_imports_the_sample_plans_first(tmp_path: Path) -> None:
    from adapters.demo.year import run_demo

    lines: list[str] = []
    run_demo(tmp_path / "out", lines.append)
    # indicators: periodic targets one a year or term, those ended before the import not
    # recorded (issue 15)
    assert lines[0].startswith("实施方案：XZ-2023 任务13 单位9 指标5；HZ-2023 任务28 单位22 指标31；"
                               "JGDQ-2023 任务16 单位11 指标31；工作滞后 0 条")
    text = "\n".join(lines)
    # nothing lags retroactively: the tasks due before the import lag after the grace,
    # 市委组织部 (a party organ) is listed as 滞后 and receives no finding
    lag_lines = [line for line in text.splitlines() if line.startswith("2024-01-17 工作滞后")]
    assert lag_lines and "市人社局" in lag_lines[0] and "市委组织部" not in lag_lines[0]
    assert any("不在督导室问责范围" in line and "市委组织部" in line
               for line in text.splitlines())
    reports = tmp_path / "out" / "reports" / "units"
    if reports.is_dir():  # the unit reports list the unit's plan tasks
        md = (reports / "SWZZB.md").read_text(encoding="utf-8")
        assert "实施方案任务（工作台账）" in md and "HZ-2023-1 推进中小学校党建创优行动" in md
