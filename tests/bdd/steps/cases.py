"""Steps of features/问责决定.feature (accountability cases), driving ``dudao`` as an
operator would, on the scenario's store (the ``world`` fixture of tests/bdd/steps/findings.py).

The case of "this finding" is the one its committee rung opened: found in
``dudao accountability list`` by the finding's id.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import parsers, then, when

from domain.rungs import PERSON_MODES, UNIT_MODES
from tests.bdd.steps.common import run_refused

DAY = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"
UNIT_MODE_OF = {name: code for code, name in UNIT_MODES.items()}
PERSON_MODE_OF = {name: code for code, name in PERSON_MODES.items()}
QUOTED = re.compile(r"“([^”]+)”")


def _cases(world: Any, now: str | None = None) -> list[dict[str, Any]]:
    out = world.cli(now or world.last_now or "2030-01-01T09:00", "accountability", "list")
    return [c for c in out["cases"] if c["finding_id"] == world.finding]


def case_of(world: Any) -> str:
    """The id of this finding's case (there must be exactly one)."""
    found = _cases(world)
    assert len(found) == 1, found
    return str(found[0]["case_id"])


def show(world: Any) -> dict[str, Any]:
    return world.cli(world.last_now or "2030-01-01T09:00", "accountability", "show",  # type: ignore[no-any-return]
                     case_of(world))


def refused(world: Any, now: str, *args: str) -> str:
    """Run a command that must be refused; its one-line error."""
    return run_refused(world.db, now, *args)


def _names(text: str) -> list[str]:
    return [n for n in text.strip().split("、") if n]


# ------------------------------------------------------------------- when


@when(parsers.re(r"督学于" + DAY.format("on") + r"调查核实：(?P<note>.+)"))
def investigate(world: Any, on: str, note: str) -> None:
    world.last_now = f"{on}T10:00"
    world.cli(world.last_now, "accountability", "investigate", case_of(world), "--on", on,
              "--note", note)


@when(parsers.re(r"督导委员会办公室于" + DAY.format("on") + r"告知单位(?:及(?P<persons>.+))?"))
def notify(world: Any, on: str, persons: str | None) -> None:
    world.last_now = f"{on}T11:00"
    named = [a for p in QUOTED.findall(persons or "") for a in ("--person", p)]
    world.cli(world.last_now, "accountability", "notify", case_of(world), "--on", on, *named)


@when(parsers.re(r"单位于" + DAY.format("on") + r"提出陈述申辩：(?P<text>.+)"))
def statement(world: Any, on: str, text: str) -> None:
    world.last_now = f"{on}T15:00"
    unit = world.cli(world.last_now, "finding", "show", world.finding)["unit"]
    world.cli(world.last_now, "accountability", "statement", case_of(world), "--on", on,
              "--text", text, "--by-unit", unit)


def _decide_args(unit_modes: str, persons: str | None, basis: str) -> list[str]:
    args = [a for name in _names(unit_modes) for a in ("--unit-mode", UNIT_MODE_OF[name])]
    for part in (persons or "").split("；"):
        m = re.fullmatch(r"对“([^”]+)”(.+)", part.strip())
        if m:
            modes = ",".join(PERSON_MODE_OF[n] for n in _names(m.group(2)))
            args += ["--person", m.group(1), "--person-mode", modes]
    return [*args, "--basis", basis]


@when(parsers.re(r"督导委员会于" + DAY.format("on") + r"决定问责：对单位(?P<unit_modes>[^；]+)"
                 r"(?:；(?P<persons>.+?))?；依据“(?P<basis>[^”]+)”"))
def decide(world: Any, on: str, unit_modes: str, persons: str | None, basis: str) -> None:
    world.last_now = f"{on}T16:00"
    world.cli(world.last_now, "accountability", "decide", case_of(world), "--on", on,
              *_decide_args(unit_modes, persons, basis))


@when(parsers.re(r"督导委员会于" + DAY.format("on") + r"决定不予问责，理由：(?P<reason>.+)"))
def dismiss(world: Any, on: str, reason: str) -> None:
    world.last_now = f"{on}T16:00"
    world.cli(world.last_now, "accountability", "dismiss", case_of(world), "--on", on,
              "--reason", reason)


# ------------------------------------------------------------------- then


@then(parsers.re(r"这条问题有一个问责案件，" + DAY.format("day") + r"立案，状态是“(?P<status>[^”]+)”"))
def has_case(world: Any, day: str, status: str) -> None:
    case = show(world)
    assert (case["opened_on"], case["status_name"]) == (day, status), case
    assert case["finding_id"] == world.finding


@then("仍然只有一个问责案件")
def still_one_case(world: Any) -> None:
    assert len(_cases(world)) == 1


@then(parsers.re(r"案件写明所依据的策略“(?P<policy>[^”]+)”第(?P<version>\d+)版，事实里有(?P<facts>.+)"))
def case_facts(world: Any, policy: str, version: str, facts: str) -> None:
    case = show(world)
    assert (case["policy"], case["policy_version"]) == (policy, int(version))
    from domain.rungs import rung_name

    passed = {(rung_name(h["code"]), h["on"]) for h in case["history"]
              if h["event"] == "EscalationRaised"}
    for name, day in re.findall(r"(\S+?)（(\d{4}-\d{2}-\d{2})）、?", facts):
        assert (name, day) in passed, (name, day, passed)


@then(parsers.re(r"单位报告里提请问责(?P<opened>\d+)件、决定问责(?P<decided>\d+)件"))
def report_counts(world: Any, opened: str, decided: str) -> None:
    now = world.last_now or "2030-01-01T09:00"
    unit = world.cli(now, "finding", "show", world.finding)["unit"]
    report = world.cli(now, "report", "unit", unit, "--format", "json")
    assert (report["accountability"], report["accountability_decided"]) == (
        int(opened), int(decided)), report


@then(parsers.re(r"陈述申辩期限是" + DAY.format("day")))
def statement_due(world: Any, day: str) -> None:
    assert show(world)["statement_due"] == day


@then(parsers.re(r"案件状态是“(?P<status>[^”]+)”"))
def case_status(world: Any, status: str) -> None:
    assert show(world)["status_name"] == status


@then(parsers.re(r"问责决定书写明：(?P<texts>.+)"))
def document_says(world: Any, texts: str) -> None:
    now = world.last_now or "2030-01-01T09:00"
    md = world.cli_text(now, "accountability", "document", case_of(world))
    html = world.cli_text(now, "accountability", "document", case_of(world), "--format", "html")
    for text in _names(texts):
        assert text in md, (text, md)
        assert text in html, text
    assert "<script" not in html and "http" not in html.split("<body>")[1]


@then(parsers.re(r"单位于" + DAY.format("on") + r"提出陈述申辩被拒绝，错误指明“(?P<field>[^”]+)”"))
def statement_refused(world: Any, on: str, field: str) -> None:
    before = show(world)
    error = refused(world, f"{on}T15:00", "accountability", "statement", case_of(world),
                    "--on", on, "--text", "陈述")
    assert error.startswith(f"错误：{field}: "), error
    assert show(world) == before  # nothing recorded


@then(parsers.re(r"督导委员会于" + DAY.format("on") + r"决定问责被拒绝，错误指明“(?P<field>[^”]+)”"))
def decide_refused(world: Any, on: str, field: str) -> None:
    before = show(world)
    error = refused(world, f"{on}T16:00", "accountability", "decide", case_of(world),
                    "--on", on, "--unit-mode", "public_criticism", "--basis", "依据")
    assert error.startswith(f"错误：{field}: "), error
    assert show(world) == before


@then(parsers.re(r"案件标为从重：单位和“(?P<person>[^”]+)”，前次案件是" + DAY.format("day")
                 + r"决定的那一件"))
def aggravated(world: Any, person: str, day: str) -> None:
    case = show(world)
    assert case["aggravated"] is True
    decision = case["decision"]
    earlier = [c for c in world.cli(world.last_now, "accountability", "list",
                                    "--status", "decided")["cases"]
               if c["decided_on"] == day]
    assert len(earlier) == 1
    assert [r["case_id"] for r in decision["aggravated_by"]] == [earlier[0]["case_id"]]
    by_person = {p["name"]: [r["case_id"] for r in p["aggravated_by"]]
                 for p in decision["persons"]}
    assert by_person[person] == [earlier[0]["case_id"]]
    assert all(not ids for name, ids in by_person.items() if name != person), by_person
