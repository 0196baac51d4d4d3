"""One home for each fact (issue 12): the rung vocabulary, the 督办 deadline rule, the
aggregate's own checks, and projections that match events by class.

Most of these read the source: a second copy of a fact is a line of code, and the
test names the file and line that holds it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from domain.calendar import WorkCalendar
from domain.errors import InvalidInput
from domain.findings import Finding
from domain.rungs import CODES, LADDER, MODES, deadline_after_escalation, rung_name, rung_of
from domain.time import SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("domain", "rules", "projections", "adapters", "bench")


def sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def hits(pattern: str, *dirs: str, skip: tuple[str, ...] = ()) -> list[str]:
    found = []
    regex = re.compile(pattern)
    for path in sources(*dirs):
        rel = path.relative_to(ROOT).as_posix()
        if rel in skip:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    return found


# ------------------------------------------------------------ the rung table


def test_the_rung_vocabulary_is_written_once_in_domain_rungs() -> None:
    copies = []
    for rung in LADDER:
        # a code next to its Chinese name: "supervise": "督办", "supervise": (1, "督办")
        copies += hits(rf"""["']{rung.code}["']\s*[:,]\s*\(?\s*(\d+\s*,\s*)?["']{rung.name}""",
                       *CODE_DIRS, skip=("domain/rungs.py",))
    # the codes listed out in order (an enum, a Literal, a list)
    copies += hits(r"""["']reminder["']\s*,\s*["']supervise["']""", *CODE_DIRS,
                   skip=("domain/rungs.py",))
    # a default notice text per rung
    copies += hits(r"""["'](reminder|supervise|interview|public_notice|accountability)["']\s*:"""
                   r"""\s*\(\s*$""", *CODE_DIRS, skip=("domain/rungs.py",))
    assert copies == []


def test_the_table_is_ordered_and_every_part_derives_from_it() -> None:
    from adapters.infrastructure.notice_messages import DEFAULT_TEXTS
    from adapters.service_layer.audit import trail  # noqa: F401  (imports the rung names it shows)
    from projections.reports import by_rung

    assert [r.order for r in LADDER] == list(range(len(LADDER)))
    assert CODES == ("reminder", "supervise", "interview", "public_notice", "accountability")
    assert [rung_name(c) for c in CODES] == ["预警", "督办", "约谈", "通报", "问责"]
    assert rung_name("firing") == "firing" and rung_name(None) is None
    assert [rung_of(c) for c in CODES] == [0, 1, 2, 3, 4]
    assert {r.code: r.notice for r in LADDER} == DEFAULT_TEXTS
    assert [(e["rung"], e["code"], e["label"]) for e in by_rung({})] == \
        [(r.order, r.code, r.name) for r in LADDER]


def openapi_components(*models: type) -> dict[str, Any]:
    """The models' schemas as an OpenAPI document's components."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(  # type: ignore[attr-defined]
            ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {"components": {"schemas": schemas}}


@pytest.mark.parametrize("source", ["built-in", "features/策略示例/listed.toml"])
def test_the_api_enums_and_counts_come_from_the_loaded_policy(source: str) -> None:
    # Rungs are data (issue 13): the OpenAPI document states the loaded policy's rungs.
    from adapters.entrypoints.api import models as m
    from rules.policy import load_policy

    ladder = LADDER if source == "built-in" else load_policy(str(ROOT / source)).ladder()
    codes = [r.code for r in ladder]
    if source != "built-in":
        assert "listed_supervision" in codes and codes != list(CODES)
    doc = m.with_rungs(openapi_components(m.UnitReportOut, m.FindingOut, m.FindingRow),
                       ladder)
    schemas = doc["components"]["schemas"]
    code = schemas["EscalationOut"]["properties"]["code"]
    assert code["enum"] == codes and code["type"] == "string"
    for r in ladder:
        assert f"{r.code} {r.name}" in code["description"]
    assert "x-dudao-rung" not in str(doc) and m.RUNGS_TEXT not in str(doc)
    counts = schemas["EscalationCounts"]["properties"]
    assert list(counts) == codes
    assert [counts[c]["description"] for c in codes] == [f"{r.name}次数（升级事件数）" for r in ladder]
    assert all(counts[c]["default"] == 0 and counts[c]["type"] == "integer" for c in codes)
    for model in ("FindingOut", "FindingRow"):
        rung = schemas[model]["properties"]["rung"]
        assert {"enum": codes, "type": "string", "maxLength": 20} in rung["anyOf"]
    mode = schemas["EscalationOut"]["properties"]["mode"]
    assert mode["enum"] == list(MODES)


# ------------------------------------------------- a 督办's due date is the deadline


def test_a_supervise_due_date_becomes_the_deadline_in_one_function() -> None:
    # Rungs are data (issue 13): the rung's sets_deadline, which the event records, decides.
    d, due = date(2024, 10, 14), date(2024, 10, 28)
    assert deadline_after_escalation(True, due, d) == due
    assert deadline_after_escalation(True, None, d) == d
    assert deadline_after_escalation(False, due, d) == d
    assert deadline_after_escalation(True, "2024-10-28", "2024-10-14") == "2024-10-28"
    assert [r.code for r in LADDER if r.sets_deadline] == ["supervise"]
    # the aggregate and the three projections call it; nobody tests the code by hand
    copies = hits(r"""code\s*==\s*["']supervise["']|["']supervise["']\s*==\s*code""",
                  "domain", "projections", "rules", "adapters")
    assert copies == []
    callers = {h.split(":")[0] for h in hits(r"deadline_after_escalation\(", "domain",
                                                 "projections")}
    assert callers >= {"domain/findings.py", "projections/findings.py",
                       "projections/accountability.py", "projections/escalation.py"}


# ------------------------------------------------------ the aggregate's own rules

NOW = datetime(2031, 3, 31, 18, tzinfo=SHANGHAI)  # 2031: a provisional calendar year
CAL = WorkCalendar()


def new(on: date) -> Finding:
    return Finding.record(id=uuid4(), unit="U1", on=on, inspector="张督学", text="问题",
                          actor="t", recorded_at=NOW)


def test_the_aggregate_counts_its_deadline_and_flags_a_provisional_year() -> None:
    f = new(date(2024, 9, 20))
    deadline = f.order_rectification(on=date(2024, 9, 25), within=10, calendar_days=False,
                                     calendar=CAL, actor="t", recorded_at=NOW)
    assert (deadline, f.deadline, f.deadline_provisional) == (date(2024, 10, 14),) * 2 + (False,)
    assert CAL.source(2031) == "provisional"
    g = new(date(2031, 3, 2))
    deadline = g.order_rectification(on=date(2031, 3, 3), within=5, calendar_days=False,
                                     calendar=CAL, actor="t", recorded_at=NOW)
    assert (deadline, g.deadline_provisional) == (date(2031, 3, 10), True)
    g.submit_report(on=date(2031, 3, 5), text="已整改", actor="t", recorded_at=NOW)
    new_deadline = g.fail_review(on=date(2031, 3, 6), within=3, calendar_days=True,
                                 calendar=CAL, note=None, actor="t", recorded_at=NOW)
    assert (new_deadline, g.deadline, g.strikes) == (date(2031, 3, 9), date(2031, 3, 9), 1)
    assert g.grant_extension(on=date(2031, 3, 7), to=date(2031, 3, 20), reason="汛期",
                             calendar=CAL, actor="t", recorded_at=NOW) == date(2031, 3, 20)


def test_the_aggregate_checks_its_own_values() -> None:
    with pytest.raises(InvalidInput) as e:
        new(date(2031, 4, 1))  # after today
    assert e.value.field == "on"
    with pytest.raises(InvalidInput) as e:
        Finding.record(id=uuid4(), unit="U1", on=date(2024, 9, 2), inspector="甲", text="\x00",
                       actor="t", recorded_at=NOW)
    assert e.value.field == "text"
    f = new(date(2024, 9, 20))
    with pytest.raises(InvalidInput) as e:
        f.order_rectification(on=date(2024, 9, 25), within=3651, calendar_days=False,
                              calendar=CAL, actor="t", recorded_at=NOW)
    assert e.value.field == "within"
    f.order_rectification(on=date(2024, 9, 25), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    for call, field in (
        (lambda: f.submit_report(on=date(2024, 10, 8), text="  ", actor="t",
                                 recorded_at=NOW), "text"),
        (lambda: f.grant_extension(on=date(2024, 10, 8), to=date(2024, 10, 31), reason="",
                                   calendar=CAL, actor="t", recorded_at=NOW), "reason"),
    ):
        with pytest.raises(InvalidInput) as e:
            call()
        assert e.value.field == field
    assert list(f.collect_events())[-1].__class__ is Finding.RectificationOrdered


def test_no_code_outside_domain_calls_a_private_method_of_an_aggregate() -> None:
    private = hits(r"\b([Ff]inding|[Tt]ask|[Pp]lan|[Uu]nit|[Ii]nspection|ActionPlan)\._[a-z]\w*\(",
                   "adapters", "rules", "projections", "bench")
    assert private == []


# ------------------------------------------------------ projections match by class


def test_projections_and_consumers_match_events_by_class_not_by_name() -> None:
    parsed = hits(r"__qualname__|topic\)?\.(r?split|endswith|startswith)|"
                  r"""["'](Finding|Unit|Task|ActionPlan|Inspection)\.[A-Z]\w*["']""",
                  "projections", "adapters")
    assert parsed == []


def test_topics_resolve_once_to_the_event_classes_the_read_models_match() -> None:
    from eventsourcing.utils import get_topic, register_topic

    from projections.events import ESCALATION_RAISED, FINDING_EVENTS, event_class

    escalated = getattr(Finding, "EscalationRaised")  # noqa: B009
    assert ESCALATION_RAISED is escalated and FINDING_EVENTS[escalated] == "EscalationRaised"
    assert event_class(get_topic(escalated)) is escalated
    # a class stored under an older name (eventsourcing's topic registry) is still that class
    register_topic("dudao_old.findings:Finding.Escalated", escalated)
    assert event_class("dudao_old.findings:Finding.Escalated") is escalated
    assert event_class("nowhere.module:Nothing") is None
    # every event a finding records is one the read models match (none silently skipped)
    recorded = {k for k, v in vars(Finding).items() if isinstance(v, type)
                and issubclass(v, Finding.Event) and k not in ("Event", "Created")}
    assert set(FINDING_EVENTS.values()) == recorded
