"""Every transition and every refusal of a finding, on the aggregate alone (no store)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import pytest

from domain.calendar import WorkCalendar
from domain.errors import DudaoError, InvalidInput, Refused
from domain.findings import Finding
from domain.time import SHANGHAI

NOW = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)
CAL = WorkCalendar()
D = date.fromisoformat


def new(on: str = "2024-09-20", severity: str = "general") -> Finding:
    return Finding(id=uuid4(), unit="U1", on=D(on), inspector="张督学", text="问题",
                   severity=severity, task=None, inspection_id=None, actor="t", recorded_at=NOW)


def ordered() -> Finding:
    f = new()
    f.order_rectification(on=D("2024-09-25"), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    return f


def reported() -> Finding:
    f = ordered()
    f.submit_report(on=D("2024-10-08"), text="已整改", actor="t", recorded_at=NOW)
    return f


def escalate(f: Finding, code: str, due: str | None = None) -> None:
    f.raise_escalation(code=code, rule=f"r-{code}", policy="default", policy_version=1,
                       threshold=D("2024-10-15"), due=D(due) if due else None, facts={},
                       decided_at=NOW, actor="rules", recorded_at=NOW)


def pending(f: Finding) -> list[str]:
    return [type(e).__name__ for e in f.collect_events()]


def test_recorded() -> None:
    f = new()
    assert (f.status, f.deadline, f.rung, f.strikes) == ("recorded", None, None, 0)


def test_order_sets_deadline() -> None:
    f = ordered()
    assert (f.status, f.deadline, f.ordered_on) == ("rectifying", D("2024-10-14"), D("2024-09-25"))


def test_report_then_pass_closes() -> None:
    f = reported()
    assert f.status == "under_review"
    f.pass_review(on=D("2024-10-09"), note=None, actor="t", recorded_at=NOW)
    assert (f.status, f.closed_on) == ("closed", D("2024-10-09"))


def test_fail_orders_new_deadline_and_counts_a_strike() -> None:
    f = reported()
    f.fail_review(on=D("2024-10-09"), within=5, calendar_days=False, calendar=CAL,
                  note="不合格", actor="t", recorded_at=NOW)
    assert (f.status, f.deadline, f.strikes) == ("rectifying", D("2024-10-15"), 1)


def test_extension_moves_deadline() -> None:
    f = ordered()
    f.grant_extension(on=D("2024-10-08"), to=D("2024-10-31"), reason="汛期", calendar=CAL, actor="t",
                      recorded_at=NOW)
    assert (f.deadline, f.extensions) == (D("2024-10-31"), 1)


def test_supervise_escalation_sets_the_new_deadline() -> None:
    f = ordered()
    escalate(f, "supervise", due="2024-10-28")
    assert (f.deadline, f.rung) == (D("2024-10-28"), "supervise")


def test_interview_can_be_held_once_after_escalating_to_it() -> None:
    f = ordered()
    escalate(f, "supervise", due="2024-10-28")
    escalate(f, "interview", due="2024-11-04")
    f.hold_interview(on=D("2024-11-01"), interviewee="校长", minutes="纪要", actor="t",
                     recorded_at=NOW)
    assert f.interview_held_on == D("2024-11-01")
    with pytest.raises(Refused):
        f.hold_interview(on=D("2024-11-02"), interviewee="校长", minutes="纪要", actor="t",
                         recorded_at=NOW)


def test_rung_is_the_highest_code() -> None:
    f = ordered()
    escalate(f, "reminder")
    escalate(f, "supervise", due="2024-10-28")
    escalate(f, "reminder")  # a reminder for the new (督办) deadline is allowed
    assert f.rung == "supervise"
    assert [e["code"] for e in f.escalations] == ["reminder", "supervise", "reminder"]


# ------------------------------------------------------------------ refusals

REFUSALS = {
    "report without order": (new, lambda f: f.submit_report(
        on=D("2024-10-08"), text="x", actor="t", recorded_at=NOW), Refused),
    "review without report": (ordered, lambda f: f.pass_review(
        on=D("2024-10-08"), note=None, actor="t", recorded_at=NOW), Refused),
    "second report while under review": (reported, lambda f: f.submit_report(
        on=D("2024-10-09"), text="x", actor="t", recorded_at=NOW), Refused),
    "second order": (ordered, lambda f: f.order_rectification(
        on=D("2024-09-26"), within=5, calendar_days=False, calendar=CAL,
        actor="t", recorded_at=NOW), Refused),
    "order before the finding": (new, lambda f: f.order_rectification(
        on=D("2024-09-19"), within=5, calendar_days=False, calendar=CAL,
        actor="t", recorded_at=NOW), InvalidInput),
    "order in the future": (new, lambda f: f.order_rectification(
        on=D("2025-01-02"), within=5, calendar_days=False, calendar=CAL,
        actor="t", recorded_at=NOW), InvalidInput),
    "order within 0": (new, lambda f: f.order_rectification(
        on=D("2024-09-25"), within=0, calendar_days=False, calendar=CAL,
        actor="t", recorded_at=NOW), InvalidInput),
    "extension without order": (new, lambda f: f.grant_extension(
        on=D("2024-10-08"), to=D("2024-10-31"), reason="x", calendar=CAL, actor="t", recorded_at=NOW), Refused),
    "extension to an earlier date": (ordered, lambda f: f.grant_extension(
        on=D("2024-10-08"), to=D("2024-10-10"), reason="x", calendar=CAL, actor="t", recorded_at=NOW),
        InvalidInput),
    "extension to the same date": (ordered, lambda f: f.grant_extension(
        on=D("2024-10-08"), to=D("2024-10-14"), reason="x", calendar=CAL, actor="t", recorded_at=NOW),
        InvalidInput),
    "interview before escalating to it": (ordered, lambda f: f.hold_interview(
        on=D("2024-10-08"), interviewee="x", minutes="x", actor="t", recorded_at=NOW), Refused),
    "escalation without order": (new, lambda f: escalate(f, "supervise"), Refused),
    "unknown escalation code": (ordered, lambda f: escalate(f, "firing"), InvalidInput),
    "same rung twice": (ordered, lambda f: (escalate(f, "supervise"), escalate(f, "supervise")),
                        Refused),
    "reminder twice for one deadline": (ordered, lambda f: (escalate(f, "reminder"),
                                                            escalate(f, "reminder")), Refused),
    "review before the report": (reported, lambda f: f.pass_review(
        on=D("2024-10-07"), note=None, actor="t", recorded_at=NOW), InvalidInput),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal_records_nothing(case: str) -> None:
    make, command, error = REFUSALS[case]
    f = make()
    f.collect_events()  # what was there before the refused command
    before = (f.version, f.status, f.deadline, len(f.escalations))
    with pytest.raises(error) as e:
        command(f)
    assert isinstance(e.value, DudaoError)
    assert e.value.zh and e.value.en and e.value.zh != e.value.en
    # a refused command raised before its event: nothing new is pending
    pending_types = pending(f)
    if case in {"same rung twice", "reminder twice for one deadline"}:
        assert pending_types == ["EscalationRaised"]  # the first one only
    else:
        assert pending_types == []
        assert (f.version, f.status, f.deadline, len(f.escalations)) == before


@pytest.mark.parametrize("action", ["report", "review", "extend", "escalate", "interview", "order"])
def test_closed_finding_refuses_everything(action: str) -> None:
    f = reported()
    f.pass_review(on=D("2024-10-09"), note=None, actor="t", recorded_at=NOW)
    f.collect_events()
    calls = {
        "report": lambda: f.submit_report(on=D("2024-10-10"), text="x", actor="t", recorded_at=NOW),
        "review": lambda: f.pass_review(on=D("2024-10-10"), note=None, actor="t", recorded_at=NOW),
        "extend": lambda: f.grant_extension(on=D("2024-10-10"), to=D("2024-11-30"), reason="x",
                                            calendar=CAL, actor="t", recorded_at=NOW),
        "escalate": lambda: escalate(f, "supervise"),
        "interview": lambda: f.hold_interview(on=D("2024-10-10"), interviewee="x", minutes="x",
                                              actor="t", recorded_at=NOW),
        "order": lambda: f.order_rectification(on=D("2024-10-10"), within=5, calendar_days=False,
                                               calendar=CAL, actor="t", recorded_at=NOW),
    }
    with pytest.raises(Refused) as e:
        calls[action]()
    assert "销号" in e.value.zh
    assert pending(f) == []
