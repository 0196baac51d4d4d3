"""The ladder's arithmetic under the rule of issue 13, on the read model's state directly:
inspectors' decisions come first (a rung counting from another never counts from a day
before the current deadline), a held interview counts from max(held, due), event triggers
(弄虚作假, 拒不接受约谈) fire from their day, a rung taking over a skipped one counts its
due properly, a manual rung never fires by itself. Each case names the dates of the issue."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.calendar import WorkCalendar
from rules.engine import compiled
from rules.ladder import NEVER, next_step, next_threshold, plan
from rules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
CAL = WorkCalendar()
D = date.fromisoformat


def example(name: str) -> Policy:
    return load_policy(str(ROOT / "features" / "策略示例" / f"{name}.toml"))


DEFAULT = load_policy("default")


def state(deadline: str, *, severity: str = "general", fired: dict[str, Any] | None = None,
          top: int = -1, **more: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "finding_id": "f", "unit": "U1", "severity": severity, "status": "rectifying",
        "deadline": deadline, "report_on": None, "failed_reviews": [], "falsified": [],
        "interview_held_on": None, "fired": fired or {}, "repeats": {}, "top": top}
    s.update(more)
    return s


# the default ladder up to 约谈 (ordered 2024-09-25 within 10 working days: deadline 10-14)
TO_INTERVIEW = {"supervise": {"threshold": "2024-10-15", "due": "2024-10-28"},
                "interview": {"threshold": "2024-10-29", "due": "2024-11-04"}}
TO_NOTICE = {**TO_INTERVIEW, "public_notice": {"threshold": "2024-11-19", "due": None}}


def test_the_happy_path_dates_are_unchanged() -> None:
    steps = plan(state("2024-10-14"), DEFAULT, CAL)
    assert {c: (str(s.day), s.due and str(s.due)) for c, s in steps.items()} == {
        "reminder": ("2024-10-10", None), "supervise": ("2024-10-15", "2024-10-28"),
        "interview": ("2024-10-29", "2024-11-04"), "public_notice": ("2024-11-19", None),
        "accountability": ("2024-12-17", None)}


def test_an_extension_after_the_public_notice_holds_accountability_past_it() -> None:
    # issue: extended to 2025-01-10 after 通报, 问责 still fired 2024-12-17
    steps = plan(state("2025-01-10", fired=TO_NOTICE, top=3), DEFAULT, CAL)
    assert steps["accountability"].anchor == D("2025-01-10")
    assert steps["accountability"].day == D("2025-02-14")  # 20 working days after its end


def test_a_failed_review_at_the_interview_holds_the_public_notice_past_the_new_deadline() -> None:
    # issue: new deadline 11-26 at the 约谈 stage, yet 通报 11-19 and 问责 12-17
    steps = plan(state("2024-11-26", fired=TO_INTERVIEW, top=2,
                       failed_reviews=["2024-11-05"]), DEFAULT, CAL)
    assert (steps["public_notice"].anchor, steps["public_notice"].day) == (
        D("2024-11-26"), D("2024-12-11"))
    assert steps["accountability"].day == D("2025-01-09")


@pytest.mark.parametrize(("held", "notice"), [
    (None, "2024-11-19"), ("2024-10-30", "2024-11-19"), ("2024-11-04", "2024-11-19"),
    ("2024-11-06", "2024-11-21")])
def test_a_held_interview_counts_from_the_later_of_held_and_due(held: str | None,
                                                                notice: str) -> None:
    # issue: held early on 10-30 brought 通报 forward to 11-14 and 问责 to 12-12
    steps = plan(state("2024-10-28", fired=TO_INTERVIEW, top=2, interview_held_on=held),
                 DEFAULT, CAL)
    assert steps["public_notice"].day == D(notice)


def test_a_rung_taking_over_a_skipped_one_counts_its_due_from_what_that_one_counted_from() -> None:
    # issue: skip_for = ["major"] on 督办 left the 约谈 with no due date
    steps = plan(state("2024-10-14", severity="major"), example("skip_supervise"), CAL)
    interview = steps["interview"]
    assert (interview.day, interview.due, interview.via) == (
        D("2024-10-15"), D("2024-10-21"), "supervise")
    assert steps["accountability"].day == steps["public_notice"].day == D("2024-11-05")
    general = plan(state("2024-10-14"), example("skip_supervise"), CAL)
    assert (general["interview"].day, general["interview"].due) == (D("2024-10-29"), D("2024-11-04"))


def test_values_by_severity() -> None:
    policy = example("by_severity")
    major = plan(state("2024-10-14", severity="major"), policy, CAL)
    assert [(c, str(s.day)) for c, s in major.items()][1:] == [
        ("supervise", "2024-10-15"), ("interview", "2024-10-22"),
        ("public_notice", "2024-11-05"), ("accountability", "2024-11-19")]
    assert major["supervise"].due == D("2024-10-21")
    serious = plan(state("2024-10-14", severity="serious"), policy, CAL)
    assert serious["accountability"].day == D("2024-12-17")  # not listed: general's 20


def test_a_report_found_false_fires_its_rung_from_that_day() -> None:
    steps = plan(state("2024-10-28", fired=TO_INTERVIEW, top=2, falsified=["2024-11-01"]),
                 example("strict"), CAL)
    notice = steps["public_notice"]
    assert (notice.day, notice.via, notice.due) == (D("2024-11-01"), "falsified", D("2024-11-29"))
    default = plan(state("2024-10-28", fired=TO_INTERVIEW, top=2, falsified=["2024-11-01"]),
                   DEFAULT, CAL)
    assert default["public_notice"].day == D("2024-11-19")  # the default policy has no such rung


@pytest.mark.parametrize(("held", "day", "via"), [
    (None, "2024-11-05", "interview_missed"), ("2024-11-06", "2024-11-05", "interview_missed"),
    ("2024-11-04", "2024-11-19", "interview")])
def test_an_interview_not_held_by_its_due_date_fires_the_day_after(held: str | None, day: str,
                                                                   via: str) -> None:
    steps = plan(state("2024-10-28", fired=TO_INTERVIEW, top=2, interview_held_on=held),
                 example("strict"), CAL)
    assert (steps["public_notice"].day, steps["public_notice"].via) == (D(day), via)


def test_a_manual_rung_never_fires_by_itself() -> None:
    policy = example("strict")
    s = state("2024-12-02", fired={**TO_NOTICE, "public_notice": {
        "threshold": "2024-11-19", "due": "2024-12-02"}}, top=3)
    steps = plan(s, policy, CAL)
    assert steps["resource_adjustment"].day == NEVER
    assert next_threshold(s, steps, policy) == D("2024-12-31")  # 问责, from 通报's deadline
    ruleset = compiled(policy)
    assert not any(code == "resource_adjustment" for code in ruleset.rules.values())
    assert {"public_notice.after_interview", "public_notice.falsified",
            "public_notice.interview_missed", "accountability.after_public_notice",
            "accountability.instead_of_public_notice"} <= set(ruleset.rules)


def test_the_ruleset_fires_on_the_trigger_the_ladder_found_first() -> None:
    policy = example("strict")
    ruleset = compiled(policy)
    s = state("2024-10-28", fired=TO_INTERVIEW, top=2, falsified=["2024-11-01"])
    steps = plan(s, policy, CAL)
    fired = ruleset.decide([ruleset.facts(s, steps, D("2024-11-01"), "t")], sid="ladder-test")
    assert [(f.code, f.rule) for f in fired] == [("public_notice", "public_notice.falsified")]
    before = ruleset.decide([ruleset.facts(s, steps, D("2024-10-31"), "t")], sid="ladder-test")
    assert before == []


def test_next_step_names_the_rung_next_threshold_dates() -> None:
    """The desks' next rung: the rung whose threshold is next_threshold's day; above the
    highest reached; none while a report awaits review past it, nor when closed."""
    fresh = state("2024-10-14")
    steps = plan(fresh, DEFAULT, CAL)
    got = next_step(fresh, steps, DEFAULT)
    assert got is not None and (got.code, got.day) == ("reminder", D("2024-10-10"))
    assert next_threshold(fresh, steps, DEFAULT) == got.day
    reached = state("2024-10-28", fired=TO_INTERVIEW, top=2)
    steps = plan(reached, DEFAULT, CAL)
    got = next_step(reached, steps, DEFAULT)
    assert got is not None and (got.code, got.day) == ("public_notice", D("2024-11-19"))
    paused = state("2024-10-28", fired=TO_INTERVIEW, top=2, status="under_review",
                   report_on="2024-11-01")
    assert next_step(paused, plan(paused, DEFAULT, CAL), DEFAULT) is None
    closed = state("2024-10-28", status="closed")
    assert next_step(closed, plan(closed, DEFAULT, CAL), DEFAULT) is None
