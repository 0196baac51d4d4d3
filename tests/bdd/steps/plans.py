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

from tests.bdd.steps.common import run_cli

DAY = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"


@dataclass
class PlanWorld:
    db: Path
    plan: str = "P"
    units: dict[str, str] = field(default_factory=dict)  # name -> code
    recorded: list[dict[str, Any]] = field(default_factory=list)  # every lag finding so far
    last: list[dict[str, Any]] = field(default_factory=list)  # the last check's

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


@when(parsers.re(DAY.format("day") + r"检查工作滞后的任务"))
def check(plan_world: PlanWorld, day: str) -> None:
    plan_world.last = plan_world.cli(f"{day}T09:00", "plan", "lagging", "--record")["recorded"]
    plan_world.recorded += plan_world.last


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
