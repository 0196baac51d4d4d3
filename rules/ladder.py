"""When each rung of a policy applies to one finding: calendar facts, not decisions.

For an open finding this works out, for every rung of the policy, the day from
whose start the rung applies (its *threshold*) and the deadline it would set
(its *due*), counting each rung from the threshold or deadline of the rung
it counts from — never from the day a sweep happens to run. Rungs already fired
keep the threshold and due they were recorded with; rungs not yet fired are
worked out as if every earlier rung fired on its own threshold, so a late
sweep sees the same thresholds a punctual one would have. Values that depend on
severity are taken for the finding's severity.

Inspectors' decisions come first: a rung not yet fired that counts from another
rung never counts from a day before the finding's current deadline (its anchor is
the later of its normal anchor and the current deadline), so after an extension or
a failed review no rung above the highest reached fires before that deadline has
passed, and the next one counts its interval from the deadline's end. A held
interview counts from the later of the day it was held and its due date, so holding
it early never brings a later rung forward.

A rung may also fire on an event, from that event's day: the n-th failed review,
a review finding the report false (弄虚作假), an interview not held by its due date
(拒不接受约谈, from the day after the due). A manual rung fires only when an
inspector raises it. Whether a rung fires is decided by the ruleset
(:mod:`rules.engine`), on the facts built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain.calendar import WorkCalendar
from rules.policy import Policy

NEVER = date(9999, 12, 31)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """One rung for one finding: from when it applies, and what it would set."""

    code: str
    day: date  # the threshold: the rung applies from the start of this day
    due: date | None  # the deadline this rung sets, if any
    anchor: date  # the day whose end the rung counts from
    via: str  # "deadline", the rung it counts from, or the event: "failed_reviews", …
    fired: bool


def _d(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def add_days(cal: WorkCalendar, day: date, n: int, kind: str) -> date:
    """``n`` working (``kind = "working"``) or calendar days after ``day``."""
    return cal.add_days(day, n, calendar_days=kind == "calendar")


_add = add_days


def _sub(cal: WorkCalendar, day: date, n: int, kind: str) -> date:
    if kind == "calendar":
        return day - timedelta(days=n)
    return cal.subtract_working_days(day, n)


def passed(cal: WorkCalendar, anchor: date, n: int, kind: str) -> date:
    """The day from whose start n days have passed since the end of ``anchor``."""
    return _add(cal, anchor, n, kind) + ONE_DAY if n else anchor + ONE_DAY


@dataclass(frozen=True)
class _Spec:
    """One rung of a policy for one severity, its values looked up once."""

    code: str
    manual: bool
    per_deadline: bool
    calendar: bool  # days = "calendar"
    source: str | None  # "deadline", the rung it counts from, or None
    before: int | None
    after: int
    due: int | None
    failed_reviews: int | None
    falsified: bool  # on = "falsified"
    interview: str | None  # on = "interview_missed": the interview it watches
    takes_over: bool  # its source is skipped for this severity
    source_sets_deadline: bool
    source_is_interview: bool


_SPECS: dict[tuple[int, str], tuple[Policy, tuple[_Spec, ...]]] = {}


def _specs(policy: Policy, severity: str) -> tuple[_Spec, ...]:
    """The policy's rungs for one severity (cached; the policy is kept with them)."""
    key = (id(policy), severity)
    cached = _SPECS.get(key)
    if cached is not None and cached[0] is policy:
        return cached[1]
    specs = []
    for code in policy.order:
        rung = policy.rungs[code]
        source = policy.rungs.get(rung.from_ or "")
        interview = policy.interview_before(code) if "interview_missed" in rung.on else None
        if interview is not None and severity in policy.rungs[interview].skip_for:
            interview = None  # skipped for this severity: never asked for, never missed
        specs.append(_Spec(
            code=code, manual=rung.manual, per_deadline=rung.per_deadline,
            calendar=rung.days == "calendar", source=rung.from_,
            before=rung.value("before", severity), after=rung.value("after", severity) or 0,
            due=rung.value("due", severity) or None,
            failed_reviews=rung.value("failed_reviews", severity) or None,
            falsified="falsified" in rung.on, interview=interview,
            takes_over=source is not None and severity in source.skip_for,
            source_sets_deadline=source is not None and source.sets_deadline,
            source_is_interview=source is not None and source.mode == "interview"))
    if len(_SPECS) > 64:
        _SPECS.clear()
    _SPECS[key] = (policy, tuple(specs))
    return _SPECS[key][1]


def plan(state: dict[str, Any], policy: Policy, cal: WorkCalendar) -> dict[str, Step]:
    """Every rung of the policy for this finding (state as kept by the read model)."""
    deadline = _d(state.get("deadline"))
    if deadline is None:
        return {}
    severity = state.get("severity") or "general"
    fired: dict[str, dict[str, Any]] = state.get("fired") or {}
    repeats: dict[str, list[str]] = state.get("repeats") or {}
    held = _d(state.get("interview_held_on"))
    failed = state.get("failed_reviews") or []
    falsified = state.get("falsified") or []
    add = cal.add_days
    steps: dict[str, Step] = {}
    for spec in _specs(policy, severity):
        code = spec.code
        if not spec.per_deadline and code in fired:
            record = fired[code]
            steps[code] = Step(code, _d(record["threshold"]) or NEVER, _d(record.get("due")),
                               _d(record.get("anchor")) or NEVER, record.get("via", "recorded"),
                               True)
            continue
        if spec.manual:
            steps[code] = Step(code, NEVER, None, NEVER, "manual", False)
            continue
        day = anchor = NEVER
        via = "never"
        source = spec.source
        if source == "deadline":
            anchor, via = deadline, "deadline"
            if spec.before is not None:
                day = _sub(cal, deadline, spec.before, "calendar" if spec.calendar else "working")
            elif spec.after:
                day = add(deadline, spec.after, calendar_days=spec.calendar) + ONE_DAY
            else:
                day = deadline + ONE_DAY
        elif source is not None:
            step = steps[source]
            via = source
            if spec.takes_over and not step.fired:
                # The source is skipped for this severity: this rung takes over, from the
                # day the source would have applied and counting from what it counted from.
                day, anchor = step.day, step.anchor
            else:
                if spec.source_sets_deadline and step.fired:
                    # Its due date became the finding's deadline: extensions and failed
                    # reviews after it move it, and the next rung counts from it.
                    anchor = deadline
                else:
                    # its due date, else the start of its threshold
                    anchor = step.day - ONE_DAY if step.due is None else step.due
                    if spec.source_is_interview and held is not None and held > anchor:
                        anchor = held  # held early counts as held on its due date
                # Inspectors' decisions come first: never before the current deadline.
                if anchor < deadline:
                    anchor = deadline
                day = (add(anchor, spec.after, calendar_days=spec.calendar) + ONE_DAY
                       if spec.after else anchor + ONE_DAY)
        # Event triggers: the rung applies from the event's day when that comes first.
        n = spec.failed_reviews
        if n and len(failed) >= n:
            strike = _d(failed[n - 1])
            assert strike is not None
            if strike < day:  # the n-th failed review
                anchor, day, via = strike, strike, "failed_reviews"
        if spec.falsified and falsified:
            found = _d(falsified[0])
            assert found is not None
            if found < day:  # the report found false (弄虚作假)
                anchor, day, via = found, found, "falsified"
        if spec.interview is not None:
            missed = _interview_missed(steps[spec.interview], held)
            if missed is not None and missed + ONE_DAY < day:  # 拒不接受约谈
                anchor, day, via = missed, missed + ONE_DAY, "interview_missed"
        due = (add(anchor, spec.due, calendar_days=spec.calendar)
               if spec.due and day != NEVER else None)
        done = spec.per_deadline and deadline.isoformat() in repeats.get(code, ())
        steps[code] = Step(code, day, due, anchor, via, done)
    return steps


def _interview_missed(interview: Step, held: date | None) -> date | None:
    """The interview's due date when it passed with no interview held by then."""
    due = interview.due
    if due is None or (held is not None and held <= due):
        return None
    return due


def next_threshold(state: dict[str, Any], steps: dict[str, Step], policy: Policy) -> date | None:
    """The earliest day on which some rung could still fire, for the indexed query.

    None when nothing can fire (closed, no order, ladder finished, or a report
    under review that pauses every remaining rung). A lower bound: the ruleset
    still decides.
    """
    step = next_step(state, steps, policy)
    return None if step is None else step.day


def next_step(state: dict[str, Any], steps: dict[str, Step], policy: Policy) -> Step | None:
    """The rung that could fire next and its threshold (:func:`next_threshold`'s day; the
    first in the policy's order on a tie): what the desks show as the next rung."""
    if state.get("status") in ("closed", "recorded") or not steps:
        return None
    top = state.get("top", -1)
    report_on = _d(state.get("report_on"))
    severity = state.get("severity", "general")
    best: Step | None = None
    for n, (code, step) in enumerate(steps.items()):
        rung = policy.rungs[code]
        if step.fired or severity in rung.skip_for or step.day == NEVER:
            continue
        if n < top or (n == top and not rung.per_deadline):
            continue
        day = step.day
        if report_on is not None and report_on < day:
            continue  # paused until the report is reviewed
        if best is None or day < best.day:
            best = step
    return best
