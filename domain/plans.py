"""Action plans (实施方案) and their tasks (任务), as events; the ledger's rules.

An ``ActionPlan`` is recorded once, by importing its text; each of its tasks is
a ``Task`` aggregate of its own, because units report progress on tasks and
inspectors sign tasks off (销号) one at a time.

Status of a task on a day (the ledger, 工作台账):

* ``closed`` (已销号): an inspector signed it off;
* ``overdue`` (逾期): not signed off, and its deadline has passed, or an
  indicator's own deadline has passed with the indicator unmet;
* ``on_track`` (推进中): otherwise.

Lagging (工作滞后): a task lags for a unit from the day after a deadline that
passed unmet -- the task's deadline without a sign-off on or before it, or an
indicator's deadline with the indicator not met by a value the unit (or the
task as a whole) reported on or before that deadline. Only values reported
with a business date up to the deadline count, so a late sweep decides what a
punctual one would have. A task without indicators lags when its deadline
passes without a sign-off.

Fairness (issue 15): an indicator met for the task (the latest value reported for it by
any of its units, or for the whole task, on or before its deadline meets the target) does
not lag for anyone, nor does a unit's own part it met; a task signed off on or before its
deadline lags for no one. Nothing lags retroactively: the first day a task counts as
lagging is never before the day its plan was imported plus the policy's ``grace``
(:meth:`LagPolicy.threshold_of`), so a plan imported after its deadlines records its
lagging tasks once, from that day. Which units a lagging task holds to account is the
policy's ``accountable`` kinds (domain.units.KINDS); a group with members answers
through its members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.calendar import WorkCalendar
from domain.errors import InvalidInput, Refused
from domain.time import local_date
from domain.units import KINDS, check_code
from domain.values import check_not_in_future, check_number, check_text

TASK_STATUSES = {"on_track": "推进中", "overdue": "逾期", "closed": "已销号"}
INDICATOR_STATES = {"met": "达标", "unmet": "未达标", "no_report": "待填报", "overdue": "逾期未达标"}
ROLES = {"lead": "牵头单位", "responsible": "责任单位", "member": "群组成员"}
COMPARATOR_TEXT = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}


def check_value(value: str | int | float | Decimal, field: str = "value") -> str:
    """A reported value: a finite decimal number, returned as its canonical text."""
    return check_number(value, field)


def meets(value: str, comparator: str, target: str) -> bool:
    v, t = Decimal(value), Decimal(target)
    return {
        ">=": v >= t, "<=": v <= t, ">": v > t, "<": v < t, "=": v == t,
    }[comparator]


def target_text(ind: dict[str, Any]) -> str:
    return f"{COMPARATOR_TEXT.get(ind['comparator'], ind['comparator'])}{ind['value']}{ind['unit']}"


class ActionPlan(Aggregate):
    """A plan as imported: its title, goals, stages, tasks (by code) and units."""

    @event("Imported")
    def __init__(
        self,
        id: UUID,
        code: str,
        title: str | None,
        source: str,
        digest: str,
        period: list[int] | None,
        end: date | None,
        goals: list[dict[str, Any]],
        stages: list[dict[str, Any]],
        tasks: list[str],
        units: list[dict[str, Any]],
        indicators: int,
        warnings: list[str],
        actor: str,
        recorded_at: datetime,
    ) -> None:
        self.code = code
        self.title = title
        self.source = source
        self.digest = digest
        self.period = period
        self.end = end
        self.goals = goals
        self.stages = stages
        self.tasks = tasks
        self.units = units
        self.indicators = indicators
        self.warnings = warnings
        self.imported_by = actor
        self.imported_at = recorded_at

    def edit(self, *, title: str | None = None, end: date | None = None, actor: str,
             recorded_at: datetime) -> dict[str, Any]:
        """Correct the plan's title or end (an event; the history keeps both); returns the
        fields changed (nothing recorded when none changes)."""
        changes: dict[str, Any] = {}
        if title is not None:
            title = check_text(title, "title", "方案标题", max_len=500)
            if title != self.title:
                changes["title"] = title
        if end is not None:
            if not isinstance(end, date):
                raise InvalidInput("期限应是日期", "end must be a date", field="end")
            if end != self.end:
                changes["end"] = end
        if changes:
            previous = {k: getattr(self, k) for k in changes}
            self._edited(changes=changes, previous=previous, actor=actor,
                         recorded_at=recorded_at)
        return changes

    @event("Edited")
    def _edited(self, changes: dict[str, Any], previous: dict[str, Any], actor: str,
                recorded_at: datetime) -> None:
        for k, v in changes.items():
            setattr(self, k, v)

    def add_units(self, *, units: list[dict[str, Any]], actor: str,
                  recorded_at: datetime) -> None:
        """Units a corrected task names that the plan did not (``task edit``)."""
        known = {u["code"] for u in self.units}
        new = [u for u in units if u["code"] not in known]
        if new:
            self._units_added(units=new, actor=actor, recorded_at=recorded_at)

    @event("UnitsAdded")
    def _units_added(self, units: list[dict[str, Any]], actor: str,
                     recorded_at: datetime) -> None:
        self.units = [*self.units, *units]


ACCOUNTABLE_KINDS = ("government", "department", "school")
"""The kinds a 督导室 holds to account by default: the governments below it, the
departments of its government and the schools (not party organs, not itself)."""


def check_accountable(kinds: Any, field: str = "accountable") -> tuple[str, ...]:
    """The kinds lagging findings may be opened against: known kinds, never the 督导室."""
    out = []
    for k in kinds:
        if k not in KINDS:
            raise InvalidInput(f"单位类别 {k!r} 无效", f"unknown unit kind {k!r}", field=field)
        if k == "supervision_office":
            raise InvalidInput("督导室不能对自己登记工作滞后问题",
                               "the supervision office is never a target of its own findings",
                               field=field)
        if k not in out:
            out.append(k)
    return tuple(out)


@dataclass(frozen=True)
class LagPolicy:
    """The lagging rule's parameters (工作滞后): when a task lags and what it records.

    ``after`` days (``days``: working or calendar) after a deadline pass before
    the task counts as lagging, from the next day; the finding is ordered
    rectified within ``within`` working days of that first day. That first day is never
    before the plan's import plus ``grace`` days (``days``) after it: nothing lags
    retroactively. ``accountable``: the unit kinds lagging findings are opened against;
    the others' lagging tasks are listed as 滞后 and open nothing.
    """

    name: str = "工作滞后"
    after: int = 0
    days: str = "working"
    within: int = 10
    severity: str = "serious"
    inspector: str = "督导室（任务滞后规则）"
    text: str = "工作滞后：{plan}任务{number}“{title}”{reason}，截至{deadline}未完成"
    grace: int = 10
    accountable: tuple[str, ...] = ACCOUNTABLE_KINDS

    def __post_init__(self) -> None:
        object.__setattr__(self, "accountable", check_accountable(self.accountable))

    def holds_to_account(self, kind: str) -> bool:
        return kind in self.accountable

    def earliest(self, calendar: WorkCalendar, imported_on: date | None) -> date | None:
        """The first day anything of a plan imported on ``imported_on`` may lag."""
        if imported_on is None:
            return None
        if self.grace <= 0:
            return imported_on
        last = calendar.add_days(imported_on, self.grace, calendar_days=self.days == "calendar")
        return last + timedelta(days=1)

    def threshold_of(self, calendar: WorkCalendar,
                     imported_on: date | None = None) -> Callable[[date], date]:
        floor = self.earliest(calendar, imported_on)

        def threshold(deadline: date) -> date:
            if self.after <= 0:
                day = deadline + timedelta(days=1)
            else:
                day = calendar.add_days(deadline, self.after,
                                        calendar_days=self.days == "calendar")
                day += timedelta(days=1)
            return max(day, floor) if floor is not None else day
        return threshold


def day_after(deadline: date) -> date:
    return deadline + timedelta(days=1)


@dataclass(frozen=True)
class Lag:
    """Why a task lags for one unit, and from which day."""

    unit: str
    threshold: date  # the first day the task counts as lagging
    deadline: date  # the deadline that passed
    unmet: tuple[int, ...]  # the indicators unmet at that deadline (empty: no sign-off)


class TaskRules:
    """The ledger's rules over a task's data: shared by the aggregate and the read model."""

    code: str
    lead: list[str]
    responsible: list[str]
    indicators: list[dict[str, Any]]
    deadline: date | None
    reports: list[dict[str, Any]]
    closed_on: date | None
    imported_on: date | None = None  # the day its plan was imported (lagging's floor)

    @property
    def units(self) -> list[str]:
        return [*self.lead, *(u for u in self.responsible if u not in self.lead)]

    def role_of(self, unit: str) -> str | None:
        if unit in self.lead:
            return "lead"
        if unit in self.responsible:
            return "responsible"
        return None

    def indicator(self, n: int) -> dict[str, Any]:
        for ind in self.indicators:
            if ind["n"] == n:
                return ind
        raise InvalidInput(
            f"任务 {self.code} 没有第 {n} 项指标（共 {len(self.indicators)} 项）",
            f"task {self.code} has no indicator {n} (it has {len(self.indicators)})",
            field="indicator",
        )

    def latest(self, n: int, *, unit: str | None = None,
               as_of: date | None = None, via: str | None = None) -> dict[str, Any] | None:
        """The latest report of indicator n: the unit's own, else (for a member of a group
        named on the task) the group's ``via``, else one for the whole task."""
        def pick(reports: list[dict[str, Any]]) -> dict[str, Any] | None:
            chosen = None
            for r in reports:  # in recorded order; later business dates win
                if as_of is not None and r["on"] > as_of:
                    continue
                if chosen is None or r["on"] >= chosen["on"]:
                    chosen = r
            return chosen
        mine = [r for r in self.reports if r["indicator"] == n]
        for who in (unit, via):
            if who is not None:
                own = pick([r for r in mine if r["unit"] == who])
                if own is not None:
                    return own
        return pick([r for r in mine if r["unit"] is None])

    def met(self, n: int, *, unit: str | None = None, as_of: date | None = None,
            via: str | None = None) -> bool | None:
        """True/False by the latest value; None when nothing was reported."""
        report = self.latest(n, unit=unit, as_of=as_of, via=via)
        if report is None:
            return None
        ind = self.indicator(n)
        return meets(report["value"], ind["comparator"], ind["value"])

    def met_for_task(self, n: int, as_of: date) -> bool:
        """Indicator n is met for the whole task: the latest value reported for it by one of
        the units the task names, or for the whole task, on or before ``as_of`` meets the
        target (a group member's value is its own part only)."""
        latest = None
        named = self.units
        for r in self.reports:
            if r["unit"] is not None and r["unit"] not in named:
                continue
            if r["indicator"] == n and r["on"] <= as_of and (
                    latest is None or r["on"] >= latest["on"]):
                latest = r
        if latest is None:
            return False
        ind = self.indicator(n)
        return meets(latest["value"], ind["comparator"], ind["value"])

    def _met_at(self, n: int, unit: str | None, due: date, via: str | None) -> bool:
        return self.met_for_task(n, due) or self.met(n, unit=unit, as_of=due, via=via) is True

    def closed_by_day(self, day: date) -> bool:
        return self.closed_on is not None and self.closed_on <= day

    def status(self, today: date, unit: str | None = None, via: str | None = None) -> str:
        if self.closed_by_day(today):
            return "closed"
        if self.lags(today, unit, via=via):
            return "overdue"
        return "on_track"

    def lags(self, today: date, unit: str | None = None,
             threshold_of: Callable[[date], date] = day_after, *,
             via: str | None = None) -> Lag | None:
        """The earliest unmet deadline whose threshold has come by ``today`` (module doc).

        ``threshold_of(deadline)`` is the first day a missed deadline counts as
        lagging (by default the next day). ``via``: the group named on the task that
        ``unit`` is a member of (its reports count for the member).
        """
        found: Lag | None = None
        candidates: list[tuple[date, tuple[int, ...]]] = []
        for ind in self.indicators:
            due = ind.get("deadline") or self.deadline
            if due is None:
                continue
            if not self._met_at(ind["n"], unit, due, via):
                candidates.append((due, (ind["n"],)))
        if self.deadline is not None:
            unmet = tuple(i["n"] for i in self.indicators
                          if not self._met_at(i["n"], unit, self.deadline, via))
            if unmet or not self.indicators:
                candidates.append((self.deadline, unmet))
        for due, unmet in sorted(candidates):
            if self.closed_by_day(due) or today <= due:
                continue
            threshold = threshold_of(due)
            if today < threshold:
                continue
            if found is None:
                found = Lag(unit=unit or "", threshold=threshold, deadline=due, unmet=unmet)
            elif due == found.deadline:
                found = Lag(found.unit, found.threshold, due,
                            tuple(sorted(set(found.unmet) | set(unmet))))
        return found



@dataclass
class TaskView(TaskRules):
    """A task as a read model holds it (for reports as of any moment)."""

    code: str
    plan: str
    number: str
    title: str
    category: str | None
    lead: list[str]
    responsible: list[str]
    indicators: list[dict[str, Any]]
    deadline: date | None
    deadline_source: str
    reports: list[dict[str, Any]]
    closed_on: date | None
    closed_by: str | None
    imported_on: date | None = None


def check_unit_codes(codes: Any, field: str) -> list[str]:
    if not isinstance(codes, (list, tuple)):
        raise InvalidInput("单位应是单位代码的列表", "units must be a list of unit codes",
                           field=field)
    out: list[str] = []
    for c in codes:
        c = check_code(c.strip() if isinstance(c, str) else c, field)
        if c not in out:
            out.append(c)
    return out


class Task(TaskRules, Aggregate):
    """One task of a plan: its units, indicators and deadline; progress and sign-off."""

    @event("Created")
    def __init__(
        self,
        id: UUID,
        code: str,
        plan: str,
        ordinal: int,
        number: str,
        title: str,
        text: str,
        category: str | None,
        lead: list[str],
        responsible: list[str],
        indicators: list[dict[str, Any]],
        deadline: date | None,
        deadline_source: str,
        line: int,
        actor: str,
        recorded_at: datetime,
        stages: list[str] | None = None,
    ) -> None:
        self.code = code
        self.plan = plan
        self.ordinal = ordinal
        # the plan's stages that govern it: the 整改 stage it is due in, the 复评 one after
        self.stages = list(stages or [])
        self.number = number
        self.title = title
        self.text = text
        self.category = category
        self.lead = lead
        self.responsible = responsible
        self.indicators = indicators
        self.deadline = deadline
        self.deadline_source = deadline_source
        self.line = line
        self.reports: list[dict[str, Any]] = []
        self.closed_on: date | None = None
        self.closed_by: str | None = None
        self.imported_on = local_date(recorded_at)

    # ----------------------------------------------------------- commands

    def _refuse_if_closed(self, zh: str, en: str) -> None:
        if self.closed_on is not None:
            raise Refused(
                f"任务 {self.code} 已于{self.closed_on}销号，不能{zh}",
                f"task {self.code} was signed off on {self.closed_on}; cannot {en}",
                field="TASK",
            )

    def report_progress(self, *, indicator: int, value: str, on: date, unit: str | None,
                        note: str | None, actor: str, recorded_at: datetime,
                        member_of: str | None = None) -> None:
        """A unit reports the value an indicator has reached (a member of a group the task
        names, ``member_of``, reports its own part)."""
        self._refuse_if_closed("填报进度", "report progress")
        self.indicator(indicator)
        value = check_value(value)
        if unit is not None and unit not in self.units and member_of not in self.units:
            raise InvalidInput(
                f"单位 {unit} 不是任务 {self.code} 的牵头或责任单位",
                f"unit {unit} is not a lead or responsible unit of task {self.code}",
                field="unit",
            )
        check_not_in_future(on, recorded_at)
        self._progress(indicator=indicator, value=value, on=on, unit=unit, note=note,
                       actor=actor, recorded_at=recorded_at)

    @event("ProgressReported")
    def _progress(self, indicator: int, value: str, on: date, unit: str | None,
                  note: str | None, actor: str, recorded_at: datetime) -> None:
        self.reports.append({"indicator": indicator, "value": value, "on": on, "unit": unit,
                             "note": note, "actor": actor})

    def close(self, *, on: date, inspector: str, note: str | None, actor: str,
              recorded_at: datetime) -> None:
        """销号: an inspector signs the task off."""
        self._refuse_if_closed("再次销号", "sign it off again")
        check_not_in_future(on, recorded_at)
        self._closed(on=on, inspector=inspector, note=note, actor=actor,
                     recorded_at=recorded_at)

    EDITABLE = ("title", "deadline", "lead", "responsible")

    def edit(self, *, title: str | None = None, deadline: date | None = None,
             lead: list[str] | None = None, responsible: list[str] | None = None,
             actor: str, recorded_at: datetime) -> dict[str, Any]:
        """Correct the task as recorded (an event; the history keeps both): its title,
        deadline, 牵头单位, 责任单位. Returns the fields changed; nothing is recorded when
        none changes. A task signed off is not edited."""
        changes: dict[str, Any] = {}
        if title is not None:
            title = check_text(title, "title", "任务名称", max_len=500)
            if title != self.title:
                changes["title"] = title
        if deadline is not None:
            if not isinstance(deadline, date):
                raise InvalidInput("期限应是日期", "deadline must be a date", field="deadline")
            if deadline != self.deadline:
                changes["deadline"] = deadline
        if lead is not None:
            lead = check_unit_codes(lead, "lead")
            if lead != self.lead:
                changes["lead"] = lead
        if responsible is not None:
            responsible = check_unit_codes(responsible, "units")
            if responsible != self.responsible:
                changes["responsible"] = responsible
        new_lead = changes.get("lead", self.lead)
        new_resp = changes.get("responsible", self.responsible)
        if not new_lead and not new_resp and (lead is not None or responsible is not None):
            raise InvalidInput("任务至少要有一个牵头或责任单位",
                               "a task needs at least one lead or responsible unit",
                               field="units")
        if not changes:
            return {}
        self._refuse_if_closed("修改", "edit it")
        previous = {k: getattr(self, k) for k in changes}
        if "deadline" in changes:
            changes["deadline_source"] = "edited"
            previous["deadline_source"] = self.deadline_source
        self._edited(changes=changes, previous=previous, actor=actor, recorded_at=recorded_at)
        return changes

    @event("Edited")
    def _edited(self, changes: dict[str, Any], previous: dict[str, Any], actor: str,
                recorded_at: datetime) -> None:
        for k, v in changes.items():
            setattr(self, k, list(v) if isinstance(v, list) else v)

    @event("Closed")
    def _closed(self, on: date, inspector: str, note: str | None, actor: str,
                recorded_at: datetime) -> None:
        self.closed_on = on
        self.closed_by = inspector


# ------------------------------------------------------------- the ledger


def indicator_rows(t: TaskRules, today: date, unit: str | None = None,
                   via: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for ind in t.indicators:
        latest = t.latest(ind["n"], unit=unit, via=via)
        met = t.met(ind["n"], unit=unit, via=via)
        due = ind.get("deadline") or t.deadline
        state = "met" if met else ("unmet" if met is False else "no_report")
        if state != "met" and due is not None and has_passed_day(due, today):
            state = "overdue"
        rows.append({
            "n": ind["n"], "name": ind["name"], "comparator": ind["comparator"],
            "target": ind["value"], "unit": ind["unit"], "deadline": due,
            "value": latest["value"] if latest else None,
            "reported_on": latest["on"] if latest else None,
            "reported_by": latest["unit"] if latest else None,
            "status": state,
            "target_text": target_text(ind),
            "status_label": INDICATOR_STATES[state],
        })
    return rows


def has_passed_day(deadline: date, today: date) -> bool:
    return today > deadline


def task_row(t: Task | TaskView, today: date, unit: str | None = None,
             via: str | None = None) -> dict[str, Any]:
    """The ledger's row of a task, for ``unit`` (a member of the group ``via`` the task
    names: its own part, role 群组成员)."""
    lag = t.lags(today, unit, via=via)
    role = (t.role_of(unit) or ("member" if via else None)) if unit else None
    status = t.status(today, unit, via)
    return {
        "task": t.code, "plan": t.plan, "number": t.number, "title": t.title,
        "category": t.category, "role": role,
        "lead": t.lead, "responsible": t.responsible,
        "deadline": t.deadline, "deadline_source": t.deadline_source,
        "status": status, "closed_on": t.closed_on, "closed_by": t.closed_by,
        "status_label": TASK_STATUSES[status],
        "role_label": ROLES.get(role or "") if unit else None,
        "lagging_since": lag.threshold if lag and not t.closed_by_day(today) else None,
        "indicators": indicator_rows(t, today, unit, via),
    }
