"""Steps of the findings' feature files in features/ (units, findings, rectification, the
escalation sweep, policies), driving ``dudao`` as an operator would.

Every step runs the command line in process, with ``--db`` a fresh SQLite file, ``--now``
the day of the step and ``--json``, so the policy the feature files state is the policy the
command line applies. tests/bdd/test_features.py imports these steps (pytest-bdd looks
steps up among the module's fixtures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from domain.rungs import LADDER
from tests.bdd.steps.common import run_cli, run_dudao, run_text

FEATURES = Path(__file__).resolve().parents[3] / "features"

SEVERITY = {"一般": "general", "较重": "serious", "严重": "major"}


def _rung_names() -> dict[str, str]:
    """The rungs' names in the default policy and the example policies: name → code."""
    from rules.policy import load_policy

    names = {r.name: r.code for r in LADDER}
    for path in sorted((FEATURES / "策略示例").glob("*.toml")):
        names.update({r.name: code for code, r in load_policy(str(path)).rungs.items()})
    return names


RUNG_BY_NAME = _rung_names()
RUNG = "|".join(sorted(RUNG_BY_NAME, key=len, reverse=True))
DATE = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"
NOTHING = {"无", "没有", "（无）"}


def d(name: str) -> str:
    return DATE.format(name)


@dataclass
class World:
    """One scenario's store and what its steps did."""

    db: Path
    units: dict[str, str] = field(default_factory=dict)
    finding: str | None = None
    findings: dict[str, str] = field(default_factory=dict)  # by text
    last_order_deadline: str | None = None
    last_sweep: list[dict[str, Any]] = field(default_factory=list)
    last_now: str | None = None
    policy: str | None = None

    def env(self) -> dict[str, str]:
        # the operator's policy (DUDAO_POLICY): what the reports and notices follow too
        return {"DUDAO_POLICY": self.policy} if self.policy else {}

    def run(self, now: str, *args: str, actor: str = "特性测试") -> tuple[int, str, str]:
        status, out, err = run_dudao(self.db, now, *args, actor=actor, env=self.env())
        return status, out.strip(), err

    def cli(self, now: str, *args: str, actor: str = "特性测试") -> Any:
        return run_cli(self.db, now, *args, actor=actor, env=self.env())

    def policy_args(self) -> list[str]:
        return ["--policy", self.policy] if self.policy else []

    def cli_text(self, now: str, *args: str) -> str:
        """What a command prints for people (a document, a report)."""
        return run_text(self.db, now, *args, env=self.env())

    def sweep(self, day: str, time: str = "09:00") -> None:
        self.last_now = f"{day}T{time}"
        self.last_sweep = self.cli(self.last_now, "escalate", *self.policy_args())["escalations"]

    def rungs_so_far(self, finding: str | None = None) -> list[str]:
        finding = finding or self.finding
        assert finding
        shown = self.cli(self.last_now or "2030-01-01T09:00", "finding", "show", finding)
        return [e["name"] for e in shown["escalations"]]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(db=tmp_path / "features.db")


def names(text: str) -> list[str]:
    text = text.strip()
    if text in NOTHING:
        return []
    return [n for n in text.replace("，", "、").split("、") if n]


# ------------------------------------------------------------------ given


@given(parsers.re(r"责任单位“(?P<name>[^”]+)”已登记(?:，主要负责人“(?P<principal>[^”]+)”)?$"))
def unit_registered(world: World, name: str, principal: str | None) -> None:
    code = f"U{len(world.units) + 1}"
    world.units[name] = code
    world.cli("2024-01-02T09:00", "unit", "add", code, "--name", name,
              "--principal", principal or "主要负责人")


@given(parsers.re(d("on") + r"，督学在“(?P<unit>[^”]+)”发现一条(?P<severity>一般|较重|严重)问题：(?P<text>.+)"))
@when(parsers.re(d("on") + r"，督学在“(?P<unit>[^”]+)”发现一条(?P<severity>一般|较重|严重)问题：(?P<text>.+)"))
def finding_recorded(world: World, on: str, unit: str, severity: str, text: str) -> None:
    out = world.cli(f"{on}T10:00", "finding", "record", "--unit", world.units[unit], "--on", on,
                    "--inspector", "张督学", "--text", text, "--severity", SEVERITY[severity])
    world.finding = out["finding_id"]
    world.findings[text] = out["finding_id"]


@given(parsers.re(d("on") + r"下达整改通知，限(?P<n>\d+)个(?P<kind>工作日|自然日)内整改"))
@when(parsers.re(d("on") + r"下达整改通知，限(?P<n>\d+)个(?P<kind>工作日|自然日)内整改"))
def order(world: World, on: str, n: str, kind: str) -> None:
    extra = ["--calendar-days"] if kind == "自然日" else []
    out = world.cli(f"{on}T11:00", "rectify", "order", str(world.finding), "--on", on,
                    "--within", n, *extra)
    world.last_order_deadline = out["deadline"]


def example_policy(title: str) -> Path:
    """The example policy file under features/策略示例/ with this title."""
    from rules.policy import load_policy

    for path in sorted((FEATURES / "策略示例").glob("*.toml")):
        if load_policy(str(path)).title == title:
            return path
    raise AssertionError(f"features/策略示例/ 里没有标题为“{title}”的策略")


@given(parsers.re(r"按督导室修改后的“(?P<title>[^”]+)”执行"))
def use_policy(world: World, title: str) -> None:
    world.policy = str(example_policy(title))


# ------------------------------------------------------------------- when


@when(parsers.re(d("day") + r"(?:\s*(?P<time>\d{2}:\d{2}))?进行升级扫描"))
@given(parsers.re(d("day") + r"(?:\s*(?P<time>\d{2}:\d{2}))?进行升级扫描"))
def sweep(world: World, day: str, time: str | None) -> None:
    world.sweep(day, time or "09:00")


@when("在同一时刻再扫描一次")
def sweep_again(world: World) -> None:
    assert world.last_now
    world.last_sweep = world.cli(world.last_now, "escalate", *world.policy_args())["escalations"]


@when(parsers.re(r"从" + d("start") + r"到" + d("end") + r"每个工作日都进行升级扫描"))
@given(parsers.re(r"从" + d("start") + r"到" + d("end") + r"每个工作日都进行升级扫描"))
def sweep_daily(world: World, start: str, end: str) -> None:
    from datetime import date, timedelta

    from domain.calendar import WorkCalendar

    cal = WorkCalendar()
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    decided: list[dict[str, Any]] = []
    while day <= last:
        if cal.is_working_day(day):
            world.sweep(day.isoformat())
            decided += world.last_sweep
        day += timedelta(days=1)
    world.last_sweep = decided


@when(parsers.re(r"单位于" + d("on") + r"提交整改报告"))
@given(parsers.re(r"单位于" + d("on") + r"提交整改报告"))
def report(world: World, on: str) -> None:
    world.cli(f"{on}T15:00", "rectify", "report", str(world.finding), "--on", on,
              "--text", "已按要求整改，附整改台账")


@when(parsers.re(r"督学于" + d("on") + r"复查未通过，限(?P<n>\d+)个工作日内重新整改"))
@given(parsers.re(r"督学于" + d("on") + r"复查未通过，限(?P<n>\d+)个工作日内重新整改"))
def review_failed(world: World, on: str, n: str) -> None:
    out = world.cli(f"{on}T16:00", "rectify", "review", str(world.finding), "--on", on,
                    "--fail", "--within", n, "--note", "整改不到位")
    world.last_order_deadline = (out or {}).get("deadline")


@when(parsers.re(r"督学于" + d("on") + r"复查通过，予以销号"))
@given(parsers.re(r"督学于" + d("on") + r"复查通过，予以销号"))
def review_passed(world: World, on: str) -> None:
    world.cli(f"{on}T16:00", "rectify", "review", str(world.finding), "--on", on, "--pass")


@when(parsers.re(r"督学于" + d("on") + r"批准延期至" + d("to")))
@given(parsers.re(r"督学于" + d("on") + r"批准延期至" + d("to")))
def extend(world: World, on: str, to: str) -> None:
    world.cli(f"{on}T16:00", "rectify", "extend", str(world.finding), "--on", on, "--to", to,
              "--reason", "客观原因，需延后")


@when(parsers.re(r"于" + d("on") + r"约谈了单位主要负责人"))
@given(parsers.re(r"于" + d("on") + r"约谈了单位主要负责人"))
def interview_held(world: World, on: str) -> None:
    world.cli(f"{on}T16:00", "interview", "hold", str(world.finding), "--on", on,
              "--interviewee", "主要负责人", "--minutes", "说明了整改滞后的原因并作出承诺")


@when(parsers.re(r"督学于" + d("on") + r"复查认定整改报告弄虚作假"))
@given(parsers.re(r"督学于" + d("on") + r"复查认定整改报告弄虚作假"))
def review_falsified(world: World, on: str) -> None:
    world.cli(f"{on}T16:00", "rectify", "review", str(world.finding), "--on", on,
              "--falsified", "--note", "整改报告所附台账与现场核查不符，系弄虚作假")


def raise_args(world: World, on: str, rung: str, reason: str) -> list[str]:
    return ["escalate", "raise", str(world.finding), "--rung", RUNG_BY_NAME[rung],
            "--reason", reason, "--on", on, *world.policy_args()]


@when(parsers.re(r"督学于" + d("on") + r"手动升级为(?P<rung>" + RUNG + r")，理由“(?P<reason>[^”]*)”$"))
def raise_by_hand(world: World, on: str, rung: str, reason: str) -> None:
    out = world.cli(f"{on}T17:00", *raise_args(world, on, rung, reason), actor="王督学")
    world.last_sweep = [out]


@when(parsers.re(r"督学于" + d("on") + r"手动升级为(?P<rung>" + RUNG + r")，理由“(?P<reason>[^”]*)”，"
                 r"被拒绝：(?P<why>.+)$"))
def raise_refused(world: World, on: str, rung: str, reason: str, why: str) -> None:
    status, _, err = world.run(f"{on}T17:00", *raise_args(world, on, rung, reason), actor="王督学")
    assert status != 0 and why in err, err


# ------------------------------------------------------------------- then


@then(parsers.re(r"这条问题的整改期限现在是" + d("deadline") + r"，状态是(?P<status>.+)$"))
def deadline_now(world: World, deadline: str, status: str) -> None:
    assert world.finding
    shown = world.cli(world.last_now or "2030-01-01T09:00", "finding", "show", world.finding)
    from domain.findings import STATUSES

    assert (shown["deadline"], STATUSES[shown["status"]]) == (deadline, status), shown


@then(parsers.re(r"通知里写着“(?P<text>[^”]+)”"))
def notice_says(world: World, text: str) -> None:
    assert len(world.last_sweep) == 1 and text in world.last_sweep[0]["notice"], world.last_sweep


@then(parsers.re(r"(?P<rung>" + RUNG + r")记下操作人“(?P<actor>[^”]+)”和理由“(?P<reason>[^”]+)”"))
def manual_recorded(world: World, rung: str, actor: str, reason: str) -> None:
    assert world.finding
    history = world.cli(world.last_now or "2030-01-01T09:00", "audit", "trail", world.finding)
    raised = [e for e in history["events"] if e["type"] == "EscalationRaised"
              and e["code"] == RUNG_BY_NAME[rung]]
    assert [(e["actor"], e["reason"], e["rule"]) for e in raised] == [
        (actor, reason, f"{RUNG_BY_NAME[rung]}.manual")], raised


@then(parsers.re(r"督导通报的“(?P<heading>[^”]+)”一节列出“(?P<unit>[^”]+)”"))
def bulletin_lists(world: World, heading: str, unit: str) -> None:
    bulletin = world.cli(world.last_now or "2030-01-01T09:00", "report", "bulletin",
                         "--format", "json")
    sections = {s["heading"]: [u["name"] for u in s["units"]] for s in bulletin["sections"]}
    assert unit in sections.get(heading, []), sections


@then(parsers.re(r"“(?P<unit>[^”]+)”的问责报告里各级升级次数依次是：(?P<counts>.+)$"))
def report_counts(world: World, unit: str, counts: str) -> None:
    report = world.cli(world.last_now or "2030-01-01T09:00", "report", "unit",
                       world.units[unit], "--format", "json")
    got = "、".join(f"{e['label']}{e['count']}次" for e in report["escalations_by_rung"])
    assert got == counts, got


@then(parsers.re(r"整改期限是" + d("deadline")))
def deadline_is(world: World, deadline: str) -> None:
    assert world.last_order_deadline == deadline


@then("没有新的升级")
def nothing_new(world: World) -> None:
    assert world.last_sweep == [], [(e["code"], e["threshold"]) for e in world.last_sweep]


@then(parsers.re(r"(?:发出|升级为)(?P<rung>" + RUNG + r")(?:，新的期限是" + d("due") + ")?$"))
def escalated_to(world: World, rung: str, due: str | None) -> None:
    got = [(e["code"], e["due"]) for e in world.last_sweep]
    assert [c for c, _ in got] == [RUNG_BY_NAME[rung]], got
    if due is not None:
        assert got[0][1] == due, got


@then(parsers.re(r"(?:一次|依次)升级如下："))
def escalated_table(world: World, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    col = {name: i for i, name in enumerate(header)}
    want = []
    for row in rows:
        due = row[col["新的期限"]].strip() if "新的期限" in col else ""
        want.append((RUNG_BY_NAME[row[col["级别"]].strip()], row[col["自哪天起"]].strip(),
                     None if due in ("", "—", "-") else due))
    got = [(e["code"], e["threshold"], e["due"]) for e in world.last_sweep]
    assert got == want, got


@then(parsers.re(r"这条问题至今的升级依次是：?(?P<rungs>.+)"))
def rungs_so_far(world: World, rungs: str) -> None:
    assert world.rungs_so_far() == names(rungs)


@then(parsers.re(r"“(?P<text>[^”]+)”这条问题至今的升级依次是：?(?P<rungs>.+)"))
def rungs_of(world: World, text: str, rungs: str) -> None:
    assert world.rungs_so_far(world.findings[text]) == names(rungs)


@then("这条问题的整改期限标为暂定")
def deadline_provisional(world: World) -> None:
    assert world.finding
    shown = world.cli(world.last_now or "2030-01-01T09:00", "finding", "show", world.finding)
    assert shown["deadline_provisional"] is True, shown


@then(parsers.re(r"(?P<rung>" + RUNG + r")的起算日是" + d("day")))
def threshold_of(world: World, rung: str, day: str) -> None:
    assert world.finding
    shown = world.cli(world.last_now or "2030-01-01T09:00", "finding", "show", world.finding)
    found = [e["threshold"] for e in shown["escalations"] if e["code"] == RUNG_BY_NAME[rung]]
    assert found and found[-1] == day, found


@then(parsers.re(r"每一次升级都记下所依据的策略：“(?P<title>[^”]+)”第(?P<version>\d+)版"))
def policy_recorded(world: World, title: str, version: str) -> None:
    from rules.policy import load_policy

    name = load_policy(str(example_policy(title))).policy
    assert world.finding
    history = world.cli(world.last_now or "2030-01-01T09:00", "audit", "trail", world.finding)
    raised = [e for e in history["events"] if e["type"] == "EscalationRaised"]
    assert raised
    assert {(e["policy"], e["policy_version"]) for e in raised} == {(name, int(version))}
