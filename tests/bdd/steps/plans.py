"""Steps of features/工作滞后.feature, driving ``dudao`` as an operator would.

Import these into any test module that runs that feature file (pytest-bdd looks
steps up among the module's fixtures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps.common import run_cli, run_dudao

DAY = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"


@dataclass
class PlanWorld:
    db: Path
    plan: str = "P"
    units: dict[str, str] = field(default_factory=dict)  # name -> code
    recorded: list[dict[str, Any]] = field(default_factory=list)  # every lag finding so far
    last: list[dict[str, Any]] = field(default_factory=list)  # the last check's
    day: str = ""  # the day of the last check

    def cli(self, now: str, *args: str) -> Any:
        return run_cli(self.db, now, *args)


@pytest.fixture
def plan_world(tmp_path: Path) -> PlanWorld:
    return PlanWorld(db=tmp_path / "plans.db")


@given(parsers.re(DAY.format("day") + r"导入实施方案："))
def import_plan(plan_world: PlanWorld, day: str, docstring: str) -> None:
    path = plan_world.db.parent / "方案.txt"
    path.write_text(docstring, encoding="utf-8")
    out = plan_world.cli(f"{day}T09:00", "plan", "import", str(path), "--code", plan_world.plan)
    plan_world.units = out["unit_codes"]


@given(parsers.re(r"(?P<unit>\S+?)于" + DAY.format("day")
                  + r"填报任务(?P<task>\d+)指标(?P<n>\d+)为(?P<value>[\d.]+)"))
def report(plan_world: PlanWorld, unit: str, day: str, task: str, n: str, value: str) -> None:
    plan_world.cli(f"{day}T17:00", "task", "progress", f"{plan_world.plan}-{task}",
                   "--indicator", n, "--value", value, "--on", day,
                   "--unit", plan_world.units[unit])


@given(parsers.re(r"督学于" + DAY.format("day") + r"对任务(?P<task>\d+)签字销号"))
def close(plan_world: PlanWorld, day: str, task: str) -> None:
    plan_world.cli(f"{day}T17:00", "task", "close", f"{plan_world.plan}-{task}", "--on", day,
                   "--inspector", "张督学")


@then("没有新的工作滞后问题")
def nothing_new(plan_world: PlanWorld) -> None:
    assert plan_world.last == []


@then(parsers.re(r"任务(?P<task>\d+)对(?P<units>\S+?)(?:各)?登记一条工作滞后问题，自"
                 + DAY.format("since") + r"起，整改期限" + DAY.format("deadline")))
def recorded(plan_world: PlanWorld, task: str, units: str, since: str, deadline: str) -> None:
    code = f"{plan_world.plan}-{task}"
    want = {plan_world.units[u] for u in units.split("、")}
    got = {r["unit"]: r for r in plan_world.recorded if r["task"] == code}
    assert set(got) == want
    for r in got.values():
        assert (r["threshold"], r["deadline"]) == (since, deadline)
        shown = plan_world.cli(f"{since}T23:00", "finding", "show", r["finding_id"])
        assert (shown["on"], shown["deadline"], shown["task"]) == (since, deadline, code)
        assert shown["text"].startswith("工作滞后：")


@then(parsers.re(r"问题写明“(?P<text>.+)”$"))
def finding_text(plan_world: PlanWorld, text: str) -> None:
    texts = [plan_world.cli("2030-01-01T09:00", "finding", "show", r["finding_id"])["text"]
             for r in plan_world.recorded]
    assert text in texts, texts


@then(parsers.re(r"一共登记了(?P<n>\d+)条工作滞后问题"))
def total(plan_world: PlanWorld, n: str) -> None:
    assert len(plan_world.recorded) == int(n)


@when(parsers.re(DAY.format("day") + r"进行升级扫描（含工作滞后检查）"))
def sweep_with_lagging(plan_world: PlanWorld, day: str) -> None:
    plan_world.day = day
    out = plan_world.cli(f"{day}T09:00", "escalate")
    plan_world.last = out["lagging"]
    plan_world.recorded += plan_world.last


def _escalations(plan_world: PlanWorld) -> list[list[dict[str, Any]]]:
    assert plan_world.recorded
    return [plan_world.cli("2030-01-01T09:00", "finding", "show", r["finding_id"])["escalations"]
            for r in plan_world.recorded]


@then(parsers.re(r"每条工作滞后问题至今的升级依次是：(?P<names>.+)"))
def lag_rungs(plan_world: PlanWorld, names: str) -> None:
    from domain.rungs import rung_name

    for escalations in _escalations(plan_world):
        assert [rung_name(e["code"]) for e in escalations] == names.split("、")


@then(parsers.re(r"每条工作滞后问题的督办期限是" + DAY.format("due")))
def lag_supervise_due(plan_world: PlanWorld, due: str) -> None:
    for escalations in _escalations(plan_world):
        assert [e["due"] for e in escalations if e["code"] == "supervise"] == [due]


# ------------------------------------------------ jurisdiction, groups, fair lagging


def _names(text: str) -> list[str]:
    return [n for n in text.split("、") if n]


@when(parsers.re(DAY.format("day") + r"检查工作滞后的任务"))
def check_day_kept(plan_world: PlanWorld, day: str) -> None:
    plan_world.day = day
    plan_world.last = plan_world.cli(f"{day}T09:00", "plan", "lagging", "--record")["recorded"]
    plan_world.recorded += plan_world.last


@given(parsers.re(r"于" + DAY.format("day") + r"为整个任务(?P<task>\d+)填报指标(?P<n>\d+)为"
                  r"(?P<value>[\d.]+)"))
def report_whole(plan_world: PlanWorld, day: str, task: str, n: str, value: str) -> None:
    plan_world.cli(f"{day}T17:00", "task", "progress", f"{plan_world.plan}-{task}",
                   "--indicator", n, "--value", value, "--on", day)


@then(parsers.re(r"任务(?P<task>\d+)没有登记工作滞后问题"))
def task_not_recorded(plan_world: PlanWorld, task: str) -> None:
    assert [r for r in plan_world.recorded if r["task"] == f"{plan_world.plan}-{task}"] == []


@then(parsers.re(r"(?P<units>\S+?)的任务(?P<task>\d+)列为滞后，提请政府关注"))
def listed_outside(plan_world: PlanWorld, units: str, task: str) -> None:
    code = f"{plan_world.plan}-{task}"
    out = plan_world.cli(f"{plan_world.day}T10:00", "plan", "lagging")
    outside = {u["unit"]: [t["task"] for t in u["tasks"]] for u in out["outside"]}
    for name in _names(units):
        unit = plan_world.units[name]
        assert code in outside.get(unit, []), (name, outside)
        # and no finding was recorded against it, nor would be
        assert all(r["unit"] != unit for r in plan_world.recorded)
        assert all(r["unit"] != unit for r in out["lagging"])


@then(parsers.re(r"工作台账中(?P<unit>\S+?)的任务(?P<task>\d+)显示为滞后"))
def ledger_shows_lagging(plan_world: PlanWorld, unit: str, task: str) -> None:
    status, out, err = run_dudao(plan_world.db, f"{plan_world.day}T10:00", "plan", "show",
                                 plan_world.plan, as_json=False)
    assert status == 0, err
    block = out.split(f"■ {unit}", 1)[1].split("\n■ ", 1)[0]
    assert "提请政府关注" in block.splitlines()[0]
    line = next(x for x in block.splitlines() if f"{plan_world.plan}-{task} " in x)
    assert line.rstrip().endswith("滞后") and "逾期" not in line


@then(parsers.re(r"督导通报列出滞后的单位：(?P<units>.+)"))
def bulletin_lists_outside(plan_world: PlanWorld, units: str) -> None:
    bulletin = plan_world.cli(f"{plan_world.day}T10:00", "report", "bulletin")
    assert sorted(u["name"] for u in bulletin["lagging_outside"]) == sorted(_names(units))
    status, md, err = run_dudao(plan_world.db, f"{plan_world.day}T10:00", "report", "bulletin",
                                as_json=False)
    assert status == 0, err
    section = md.split("工作滞后（提请政府关注）", 1)[1]
    assert all(name in section for name in _names(units))


@then(parsers.re(r"督导通报的单位名单中有(?P<unit>\S+)"))
def bulletin_lists_unit(plan_world: PlanWorld, unit: str) -> None:
    bulletin = plan_world.cli(f"{plan_world.day}T10:00", "report", "bulletin")
    names = [u["name"] for u in bulletin["ranking"]] + [u["name"] for u in bulletin["unranked"]]
    assert unit in names, names


@given(parsers.re(DAY.format("day") + r"把(?P<unit>\S+?)的类别改为(?P<kind>\S+)"))
def change_kind(plan_world: PlanWorld, day: str, unit: str, kind: str) -> None:
    plan_world.cli(f"{day}T09:00", "unit", "edit", plan_world.units[unit], "--kind", kind)


@then(parsers.re(r"(?P<unit>\S+?)的类别是(?P<kind>\S+?)，原来是(?P<old>\S+)"))
def kind_is(plan_world: PlanWorld, unit: str, kind: str, old: str) -> None:
    from domain.units import KINDS

    shown = plan_world.cli("2030-01-01T09:00", "unit", "show", plan_world.units[unit])
    assert shown["kind_label"] == kind
    assert [(KINDS[h["previous"]], KINDS[h["kind"]]) for h in shown["kind_history"]] == [
        (old, kind)]


@when(parsers.re(DAY.format("day") + r"试运行升级扫描"))
def dry_run(plan_world: PlanWorld, day: str) -> None:
    plan_world.day = day
    out = plan_world.cli(f"{day}T09:00", "escalate", "--dry-run")
    assert out["dry_run"] is True
    plan_world.last = out["lagging"]


@then(parsers.re(r"试运行列出将对(?P<units>\S+?)登记的任务(?P<task>\d+)工作滞后问题"))
def dry_run_lists(plan_world: PlanWorld, units: str, task: str) -> None:
    code = f"{plan_world.plan}-{task}"
    assert {r["unit"] for r in plan_world.last if r["task"] == code} == {
        plan_world.units[n] for n in _names(units)}
    assert all(r["text"].startswith("工作滞后：") for r in plan_world.last)


@then("每条工作滞后问题至今没有升级")
def no_escalation(plan_world: PlanWorld) -> None:
    assert all(e == [] for e in _escalations(plan_world))


@then(parsers.re(r"每条工作滞后问题的升级都不早于" + DAY.format("day")))
def escalations_not_before(plan_world: PlanWorld, day: str) -> None:
    for escalations in _escalations(plan_world):
        assert escalations and all(e["threshold"] >= day for e in escalations)


@given(parsers.re(DAY.format("day") + r"登记单位(?P<units>.+)"))
def add_units(plan_world: PlanWorld, day: str, units: str) -> None:
    import re

    for name, code in re.findall(r"(\S+?)（代码 (\w+)）", units):
        plan_world.cli(f"{day}T09:00", "unit", "add", code, "--name", name.lstrip("、"))
        plan_world.units[name.lstrip("、")] = code


@given(parsers.re(DAY.format("day") + r"登记(?P<group>\S+?)的成员：(?P<codes>.+)"))
def group_members(plan_world: PlanWorld, day: str, group: str, codes: str) -> None:
    out = plan_world.cli(f"{day}T09:00", "unit", "group", plan_world.units[group], "--members",
                         ",".join(_names(codes)))
    assert out["members"] == _names(codes)


@given(parsers.re(r"(?P<unit>\S+?)于" + DAY.format("day") + r"补报任务(?P<task>\d+)指标(?P<n>\d+)在"
                  + DAY.format("on") + r"已达到(?P<value>[\d.]+)"))
def report_late(plan_world: PlanWorld, unit: str, day: str, task: str, n: str, on: str,
                value: str) -> None:
    plan_world.cli(f"{day}T17:00", "task", "progress", f"{plan_world.plan}-{task}",
                   "--indicator", n, "--value", value, "--on", on,
                   "--unit", plan_world.units[unit])


@then(parsers.re(r"(?P<unit>\S+?)的问责报告列出任务(?P<task>\d+)，作为(?P<role>\S+?)，"
                 r"(?P<status>\S+)"))
def report_lists_task(plan_world: PlanWorld, unit: str, task: str, role: str,
                      status: str) -> None:
    report = plan_world.cli(f"{plan_world.day}T10:00", "report", "unit", plan_world.units[unit])
    rows = {r["task"]: r for r in report["tasks"]}
    row = rows[f"{plan_world.plan}-{task}"]
    assert (row["role_label"], row["status_label"]) == (role, status)
