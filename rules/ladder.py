"""When each rung of a policy applies to one finding: calendar facts, not decisions.

For an open finding this works out, for every rung of the policy, the day from
whose start the rung applies (its *threshold*) and the deadline it would set
(its *due*), counting each rung from the threshold or deadline of the rung
before it — never from the day a sweep happens to run. Rungs already fired
keep the threshold and due they were recorded with; rungs not yet fired are
worked out as if every earlier rung fired on its own threshold, so a late
sweep sees the same thresholds a punctual one would have.

Whether a rung fires is decided by the ruleset (:mod:`rules.engine`), on the
facts built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.calendar import WorkCalendar
from domain.rungs import RUNGS, rung_of
from rules.policy import Policy, Rung

NEVER = date(9999, 12, 31)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """One rung for one finding: from when it applies, and what it would set."""

    code: str
    day: date  # the threshold: the rung applies from the start of this day
    due: date | None  # the deadline this rung sets, if any
    anchor: date  # the day whose end the rung counts from
    via: str  # "deadline", the rung it counts from, or "failed_reviews"
    fired: bool


def _d(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _add(cal: WorkCalendar, day: date, n: int, kind: str) -> date:
    return cal.add_days(day, n, calendar_days=kind == "calendar")


def _sub(cal: WorkCalendar, day: date, n: int, kind: str) -> date:
    if kind == "calendar":
        return day - timedelta(days=n)
    return cal.subtract_working_days(day, n)


def passed(cal: WorkCalendar, anchor: date, n: int, kind: str) -> date:
    """The day from whose start n days have passed since the end of ``anchor``."""
    return _add(cal, anchor, n, kind) + ONE_DAY if n else anchor + ONE_DAY


def plan(state: dict[str, Any], policy: Policy, cal: WorkCalendar) -> dict[str, Step]:
    """Every rung of the policy for this finding (state as kept by the read model)."""
    deadline = _d(state.get("deadline"))
    if deadline is None:
        return {}
    fired: dict[str, dict[str, Any]] = state.get("fired") or {}
    held = _d(state.get("interview_held_on"))
    failed = [_d(x) for x in state.get("failed_reviews") or []]
    steps: dict[str, Step] = {}
    for code in policy.order:
        rung = policy.rungs[code]
        if code in fired and code != "reminder":
            record = fired[code]
            steps[code] = Step(code, _d(record["threshold"]) or NEVER, _d(record.get("due")),
                               _d(record.get("anchor")) or NEVER, record.get("via", "recorded"),
                               True)
            continue
        if rung.from_ == "deadline":
            anchor = deadline
            if rung.before is not None:
                day = _sub(cal, deadline, rung.before, rung.days)
            else:
                day = passed(cal, deadline, rung.after or 0, rung.days)
            via = "deadline"
        else:
            anchor, via = _anchor_after(rung.from_, steps[rung.from_], deadline, held), rung.from_
            day = passed(cal, anchor, rung.after or 0, rung.days)
        if rung.failed_reviews and len(failed) >= rung.failed_reviews:
            strike = failed[rung.failed_reviews - 1]
            assert strike is not None
            if strike < day:
                # The n-th failed review: the rung applies from that day on.
                anchor, day, via = strike, strike, "failed_reviews"
        due = _add(cal, anchor, rung.due, rung.days) if rung.due else None
        reminded = code == "reminder" and deadline.isoformat() in (state.get("reminded") or [])
        steps[code] = Step(code, day, due, anchor, via, reminded)
    return steps


def _anchor_after(source: str, step: Step, deadline: date, held: date | None) -> date:
    """The day whose end a rung counting from ``source`` counts from."""
    if step.due is None:
        return step.day - ONE_DAY  # counts from the start of the source's threshold
    if RUNGS[source].sets_deadline and step.fired:
        # The 督办 deadline became the finding's deadline: extensions and failed
        # reviews after it move it, and the next rung counts from it.
        return deadline
    if source == "interview" and held is not None and held <= step.due:
        return held  # held in time: count from the day it was held
    return step.due


def effective_day(code: str, steps: dict[str, Step], policy: Policy, severity: str) -> date:
    """The day a rung would fire for this severity: a rung that takes over a skipped one
    fires when the skipped one would have."""
    rung = policy.rungs[code]
    source = policy.rungs.get(rung.from_)
    if source is not None and severity in source.skip_for:
        return steps[rung.from_].day
    return steps[code].day


def next_threshold(state: dict[str, Any], steps: dict[str, Step], policy: Policy) -> date | None:
    """The earliest day on which some rung could still fire, for the indexed query.

    None when nothing can fire (closed, no order, ladder finished, or a report
    under review that pauses every remaining rung). A lower bound: the ruleset
    still decides.
    """
    if state.get("status") in ("closed", "recorded") or not steps:
        return None
    top = state.get("top", -1)
    report_on = _d(state.get("report_on"))
    severity = state.get("severity", "general")
    best: date | None = None
    for code, step in steps.items():
        rung: Rung = policy.rungs[code]
        if step.fired or severity in rung.skip_for:
            continue
        if rung_of(code) <= top and not (code == "reminder" and top < 1):
            continue
        day = effective_day(code, steps, policy, severity)
        if report_on is not None and report_on < day:
            continue  # paused until the report is reviewed
        if best is None or day < best:
            best = day
    return best
