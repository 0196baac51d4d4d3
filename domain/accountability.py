"""An accountability case (问责案件): proposed by the ladder, decided by people.

Under the 教育督导问责办法 (2021), accountability is a decision of the 督导委员会
after the facts are established, the party is told and may state its case. A rung
that the policy marks ``decided_by = "committee"`` therefore decides nothing: when
it fires, the sweep records the escalation (提请问责) and opens a case here with the
facts; people move it on::

    proposed ──notify──▶ notified ──statement──▶ stated
       │                    │ (window over)        │
       │                    └──────── decide ──────┴──▶ decided      (决定, committee)
       └──────────────── dismiss (不予问责, committee) ──▶ dismissed

- 调查核实: investigation notes, any number, until the case is decided or dismissed.
- 告知: the unit, and the persons named, are told the facts and that they may state
  their case within ``statement_days`` working days; the last day is recorded.
- 陈述申辩: the unit's statement (by the unit itself, or recorded by staff on its
  behalf), within that window only; a unit may not state another unit's case.
- 决定: by the ``committee`` role only, after the notice, and once the statement
  window is over unless a statement was received: one or more of the unit modes,
  for each person named modes of their own, the basis (依据) and the effective date.
- 不予问责: by the committee, with reasons, at any time before a decision.
- 从重: a decision for a unit (or a person of that unit) that was decided 问责 in the
  ``aggravation_months`` before this decision's date is marked 从重, naming the
  earlier case. It is worked out when the case is decided, not when it is opened:
  persons are named only in a decision, and an earlier case of the same unit may be
  decided while this one is still open.

Every refusal names its field and records nothing (the aggregate checks before the
event). The case holds the policy's ``statement_days`` and ``aggravation_months`` as
they were when it was opened, so a policy changed later does not change an open case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, Refused
from domain.rungs import PERSON_MODES, UNIT_MODES
from domain.values import check_day, check_not_in_future, check_text

if TYPE_CHECKING:
    from domain.calendar import WorkCalendar

__all__ = ["CASE_STATUSES", "DECIDING_ROLE", "PERSON_MODES", "UNIT_MODES",
           "AccountabilityCase", "case_id", "check_status", "history_summary",
           "months_before"]

DEFAULT_STATEMENT_DAYS = 5
MAX_STATEMENT_DAYS = 60
DEFAULT_AGGRAVATION_MONTHS = 12
MAX_AGGRAVATION_MONTHS = 120

DECIDING_ROLE = "committee"  # 督导委员会（办公室）
MAX_PERSONS = 50

CASE_STATUSES = {
    "proposed": "问责建议（待告知）",
    "notified": "已告知，陈述申辩期内",
    "stated": "已陈述申辩",
    "decided": "已决定问责",
    "dismissed": "不予问责",
}
FINAL = ("decided", "dismissed")


def case_id(finding_id: UUID, code: str) -> UUID:
    """The case a rung opens for a finding: the same id however often, or however many
    sweeps at once, try to open it."""
    return uuid5(finding_id, f"accountability:{code}")


def check_status(status: str, field: str = "status") -> str:
    if status not in CASE_STATUSES:
        raise InvalidInput(
            f"案件状态 {status!r} 无效，应为 {'、'.join(CASE_STATUSES)} 之一",
            f"invalid case status {status!r}: expected one of {', '.join(CASE_STATUSES)}",
            field=field,
        )
    return status


def _modes(values: Sequence[str], known: Mapping[str, str], field: str, zh: str,
           whom: str = "") -> list[str]:
    out: list[str] = []
    for value in values:
        if value not in known:
            listed = "、".join(f"{code}（{name}）" for code, name in known.items())
            raise InvalidInput(
                f"{whom}{zh} {value!r} 无效，应为 {listed} 之一",
                f"invalid {field} {value!r}: expected one of {', '.join(known)}",
                field=field,
            )
        if value not in out:
            out.append(value)
    return out


def check_unit_modes(modes: Sequence[str]) -> list[str]:
    """One or more of :data:`UNIT_MODES`, each once, in the order given."""
    if isinstance(modes, str):
        modes = [modes]
    out = _modes(modes, UNIT_MODES, "unit_mode", "单位问责方式")
    if not out:
        raise InvalidInput(
            "决定问责须至少写明一种对单位的问责方式（" + "、".join(UNIT_MODES.values()) + "）",
            "a decision needs at least one unit mode", field="unit_mode")
    return out


def check_persons(persons: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any]]:
    """[(name, modes), ...] → [{"name", "modes"}], a name given twice has its modes joined;
    each person needs one or more of :data:`PERSON_MODES`."""
    out: dict[str, list[str]] = {}
    for name, modes in persons:
        name = check_text(name, "person", "被问责人员姓名", max_len=50)
        if isinstance(modes, str):
            modes = [modes]
        checked = _modes(modes, PERSON_MODES, "person_mode", "人员问责方式", f"{name}的")
        if not checked:
            raise InvalidInput(f"须写明对{name}的问责方式（--person-mode）",
                               f"no person mode given for {name}", field="person_mode")
        joined = out.setdefault(name, [])
        joined.extend(m for m in checked if m not in joined)
    if len(out) > MAX_PERSONS:
        raise InvalidInput(f"被问责人员过多（最多{MAX_PERSONS}人）",
                           f"too many persons (> {MAX_PERSONS})", field="person")
    return [{"name": n, "modes": m} for n, m in out.items()]


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when that
    month is shorter: 2025-03-31 less one month is 2025-02-28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# What a case keeps of each event of its finding (the facts it was opened on).
HISTORY_FIELDS: dict[str, tuple[str, ...]] = {
    "Recorded": ("on", "inspector", "text", "severity"),
    "RectificationOrdered": ("on", "within", "calendar_days", "deadline"),
    "ReportSubmitted": ("on", "text"),
    "ReviewPassed": ("on", "note"),
    "ReviewFailed": ("on", "deadline", "note"),
    "ExtensionGranted": ("on", "previous", "to", "reason"),
    "InterviewHeld": ("on", "interviewee", "minutes"),
    "EscalationRaised": ("threshold", "code", "name", "rung", "due", "deadline", "rule",
                         "policy", "policy_version"),
}
_SKIP = {"type", "version", "actor", "recorded_at", "facts", "decided_at"}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def history_summary(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The facts of a finding's history, oldest first, as plain data: each event's type,
    its date (``on``; an escalation's threshold) and what the case needs to show of it.
    ``records`` are the finding's events as ``{"type": ..., attribute: value, ...}``;
    an event type this module does not know keeps its plain attributes."""
    out: list[dict[str, Any]] = []
    for r in records:
        kind = str(r.get("type"))
        fields = HISTORY_FIELDS.get(kind)
        if fields is None:
            fields = tuple(k for k in r if k not in _SKIP)
        item: dict[str, Any] = {"event": kind}
        for k in fields:
            if k in r:
                item[k] = _plain(r[k])
        if kind == "EscalationRaised":
            item["on"] = item.pop("threshold", None)
        out.append(item)
    return out


class AccountabilityCase(Aggregate):
    """An accountability case (问责案件) opened for one finding by one rung."""

    @event("Opened")
    def __init__(
        self,
        id: UUID,
        finding_id: UUID,
        unit: str,
        unit_name: str,
        finding_text: str,
        severity: str,
        code: str,
        rung_name: str,
        policy: str,
        policy_version: int,
        opened_on: date,
        statement_days: int,
        aggravation_months: int,
        history: list[dict[str, Any]],
        actor: str,
        recorded_at: datetime,
    ) -> None:
        self.finding_id = finding_id
        self.unit = unit
        self.unit_name = unit_name
        self.finding_text = finding_text
        self.severity = severity
        self.code = code
        self.rung_name = rung_name
        self.policy = policy
        self.policy_version = policy_version
        self.opened_on = opened_on
        self.statement_days = statement_days
        self.aggravation_months = aggravation_months
        self.history = history
        self.opened_by = actor
        self.opened_at = recorded_at
        self.status = "proposed"
        self.investigations: list[dict[str, Any]] = []
        self.notified_on: date | None = None
        self.notified_persons: list[str] = []
        self.statement_due: date | None = None
        self.statement_due_provisional = False
        self.statements: list[dict[str, Any]] = []
        self.decision: dict[str, Any] | None = None
        self.dismissal: dict[str, Any] | None = None
        self.closed_on: date | None = None  # decided or dismissed on

    @classmethod
    def open(
        cls,
        *,
        finding_id: UUID,
        unit: str,
        unit_name: str,
        finding_text: str,
        severity: str,
        code: str,
        rung_name: str,
        policy: str,
        policy_version: int,
        opened_on: date,
        statement_days: int = DEFAULT_STATEMENT_DAYS,
        aggravation_months: int = DEFAULT_AGGRAVATION_MONTHS,
        history: Sequence[Mapping[str, Any]] = (),
        actor: str,
        recorded_at: datetime,
    ) -> AccountabilityCase:
        """问责建议: a case for ``finding_id`` opened by rung ``code`` on ``opened_on`` (the
        day the rung applied), holding the finding's history as facts."""
        check_day(opened_on, "opened_on")
        for value, field, top in ((statement_days, "statement_days", MAX_STATEMENT_DAYS),
                                  (aggravation_months, "aggravation_months",
                                   MAX_AGGRAVATION_MONTHS)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise InvalidInput(f"{field} 应为1至{top}之间的整数，收到 {value!r}",
                                   f"{field} must be a whole number in 1..{top}", field=field)
        return cls(
            id=case_id(finding_id, code), finding_id=finding_id, unit=unit,
            unit_name=unit_name, finding_text=finding_text, severity=severity, code=code,
            rung_name=rung_name, policy=policy, policy_version=policy_version,
            opened_on=opened_on, statement_days=statement_days,
            aggravation_months=aggravation_months, history=[dict(h) for h in history],
            actor=actor, recorded_at=recorded_at,
        )

    # ------------------------------------------------------------------ queries

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL

    @property
    def aggravated(self) -> bool:
        """从重: the decision names an earlier decided case of the unit or of a person."""
        if self.decision is None:
            return False
        by = self.decision["aggravated_by"]
        return bool(by["unit"] or any(by["persons"].values()))

    def window_closed(self, on: date) -> bool:
        """The statement window is over on ``on`` (its last day has passed)."""
        return self.statement_due is not None and on > self.statement_due

    # ----------------------------------------------------------------- guards

    def _refuse_if_closed(self, zh: str, en: str) -> None:
        if self.status == "decided":
            raise Refused(f"该案件已于{self.closed_on}作出问责决定，不能{zh}",
                          f"the case was decided on {self.closed_on}; cannot {en}", field="case")
        if self.status == "dismissed":
            raise Refused(f"该案件已于{self.closed_on}决定不予问责，不能{zh}",
                          f"the case was dismissed on {self.closed_on}; cannot {en}",
                          field="case")

    @staticmethod
    def _not_before(on: date, earliest: date | None, zh: str, en: str) -> None:
        if earliest is not None and on < earliest:
            raise InvalidInput(f"日期 on={on} 早于{zh}（{earliest}）",
                               f"on={on} is before {en} ({earliest})", field="on")

    @staticmethod
    def _committee(role: str | None, zh: str, en: str) -> None:
        if role != DECIDING_ROLE:
            raise Refused(
                f"只有督导委员会（角色 committee）才能{zh}",
                f"only the committee role may {en} (role {role!r})", field="role")

    def _last_step_on(self) -> date:
        """The date of the case's last step (opened, notified, last statement)."""
        days = [self.opened_on, self.notified_on, *(s["on"] for s in self.statements)]
        return max(d for d in days if d is not None)

    # --------------------------------------------------------------- commands

    def investigate(self, *, on: date, note: str, actor: str, recorded_at: datetime) -> None:
        """调查核实: a note of what was verified, and how."""
        check_day(on, "on")
        note = check_text(note, "note", "调查核实情况", max_len=8000)
        self._refuse_if_closed("登记调查核实", "record an investigation")
        self._not_before(on, self.opened_on, "立案日期", "the day the case was opened")
        check_not_in_future(on, recorded_at)
        self._investigated(on=on, note=note, actor=actor, recorded_at=recorded_at)

    @event("Investigated")
    def _investigated(self, on: date, note: str, actor: str, recorded_at: datetime) -> None:
        self.investigations.append({"on": on, "note": note, "actor": actor})

    def notify(
        self, *, on: date, persons: Sequence[str] = (), calendar: WorkCalendar, actor: str,
        recorded_at: datetime,
    ) -> date:
        """告知: the unit (and ``persons``, by name) are told the facts and may state their
        case within the case's ``statement_days`` working days of ``on``; returns the
        last day of that window."""
        check_day(on, "on")
        if isinstance(persons, str):
            persons = [persons]
        names: list[str] = []
        for name in persons:
            name = check_text(name, "person", "被告知人员姓名", max_len=50)
            if name not in names:
                names.append(name)
        if len(names) > MAX_PERSONS:
            raise InvalidInput(f"被告知人员过多（最多{MAX_PERSONS}人）",
                               f"too many persons (> {MAX_PERSONS})", field="person")
        self._refuse_if_closed("告知", "notify")
        if self.notified_on is not None:
            raise Refused(f"该案件已于{self.notified_on}告知，陈述申辩期限至{self.statement_due}",
                          f"the case was notified on {self.notified_on}", field="case")
        self._not_before(on, self.opened_on, "立案日期", "the day the case was opened")
        check_not_in_future(on, recorded_at)
        due, provisional = calendar.deadline(on, self.statement_days)
        self._notified(on=on, persons=names, statement_days=self.statement_days,
                       statement_due=due, provisional=provisional, actor=actor,
                       recorded_at=recorded_at)
        return due

    @event("Notified")
    def _notified(self, on: date, persons: list[str], statement_days: int, statement_due: date,
                  provisional: bool, actor: str, recorded_at: datetime) -> None:
        self.status = "notified"
        self.notified_on = on
        self.notified_persons = list(persons)
        self.statement_due = statement_due
        self.statement_due_provisional = provisional

    def submit_statement(
        self, *, on: date, text: str, by_unit: str | None, actor: str, recorded_at: datetime,
    ) -> None:
        """陈述申辩: the unit's statement. ``by_unit`` is the unit that submits it itself
        (a unit's own account); None when staff record it on the unit's behalf."""
        check_day(on, "on")
        text = check_text(text, "text", "陈述申辩内容", max_len=8000)
        if by_unit is not None and by_unit != self.unit:
            raise Refused(f"单位 {by_unit} 不能为其他单位（{self.unit_name}）的问责案件陈述申辩",
                          f"unit {by_unit} may not state the case of unit {self.unit}",
                          field="unit")
        self._refuse_if_closed("陈述申辩", "submit a statement")
        if self.notified_on is None or self.statement_due is None:
            raise Refused("该案件尚未告知，告知后才能陈述申辩",
                          "the case was not notified yet; a statement comes after the notice",
                          field="case")
        self._not_before(on, self.notified_on, "告知日期", "the notice")
        check_not_in_future(on, recorded_at)
        if on > self.statement_due:
            raise Refused(f"陈述申辩期限已于{self.statement_due}届满，{on}的陈述申辩不予受理",
                          f"the statement window closed on {self.statement_due}", field="on")
        self._stated(on=on, text=text, by_unit=by_unit is not None, actor=actor,
                     recorded_at=recorded_at)

    @event("Stated")
    def _stated(self, on: date, text: str, by_unit: bool, actor: str,
                recorded_at: datetime) -> None:
        self.status = "stated"
        self.statements.append({"on": on, "text": text, "by_unit": by_unit, "actor": actor})

    def decide(
        self,
        *,
        on: date,
        unit_modes: Sequence[str],
        persons: Sequence[tuple[str, Sequence[str]]] = (),
        basis: str,
        effective_on: date | None = None,
        earlier: Sequence[Mapping[str, Any]] = (),
        role: str | None,
        actor: str,
        recorded_at: datetime,
    ) -> None:
        """决定: the committee's decision. ``earlier`` are the decided cases of the same unit
        (``{"case_id", "decided_on", "persons": [names]}``): those within the case's
        ``aggravation_months`` before ``on`` make this one 从重."""
        self._committee(role, "作出问责决定", "decide a case")
        check_day(on, "on")
        effective_on = on if effective_on is None else check_day(effective_on, "effective_on")
        modes = check_unit_modes(unit_modes)
        named = check_persons(persons)
        basis = check_text(basis, "basis", "问责依据", max_len=4000)
        self._refuse_if_closed("再作决定", "decide it again")
        if self.notified_on is None or self.statement_due is None:
            raise Refused("该案件尚未告知：须先告知单位及有关人员、听取陈述申辩，才能作出问责决定",
                          "the case was not notified; a decision comes after the notice",
                          field="case")
        unknown = [p["name"] for p in named if p["name"] not in self.notified_persons]
        if unknown:
            told = "、".join(self.notified_persons) or "无"
            raise Refused(f"{'、'.join(unknown)}未被告知，不能对其作出问责决定（已告知人员：{told}）",
                          f"{', '.join(unknown)} were not notified", field="person")
        self._not_before(on, self._last_step_on(), "案件上一步的日期",
                         "the case's last step")
        check_not_in_future(on, recorded_at)
        if not self.statements and not self.window_closed(on):
            raise Refused(
                f"陈述申辩期限至{self.statement_due}，期满（或收到陈述申辩）后才能作出问责决定",
                f"the statement window runs to {self.statement_due}; decide after it",
                field="on")
        if effective_on < on:
            raise InvalidInput(f"生效日期 {effective_on} 早于决定日期 {on}",
                               f"effective_on {effective_on} is before the decision {on}",
                               field="effective_on")
        aggravated_by = self._aggravation(on, named, earlier)
        self._decided(on=on, unit=self.unit, unit_modes=modes, persons=named, basis=basis,
                      effective_on=effective_on, aggravated_by=aggravated_by, role=role or "",
                      actor=actor, recorded_at=recorded_at)

    def _aggravation(self, on: date, named: list[dict[str, Any]],
                     earlier: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        start = months_before(on, self.aggravation_months)
        within = [e for e in earlier
                  if str(e["case_id"]) != str(self.id) and start <= _day(e["decided_on"]) <= on]
        within.sort(key=lambda e: (_day(e["decided_on"]), str(e["case_id"])))

        def ref(e: Mapping[str, Any]) -> dict[str, str]:
            return {"case_id": str(e["case_id"]), "decided_on": _day(e["decided_on"]).isoformat()}

        return {
            "since": start.isoformat(),
            "unit": [ref(e) for e in within],
            "persons": {p["name"]: [ref(e) for e in within if p["name"] in e.get("persons", ())]
                        for p in named},
        }

    @event("Decided")
    def _decided(self, on: date, unit: str, unit_modes: list[str], persons: list[dict[str, Any]],
                 basis: str, effective_on: date, aggravated_by: dict[str, Any], role: str,
                 actor: str, recorded_at: datetime) -> None:
        self.status = "decided"
        self.closed_on = on
        self.decision = {"on": on, "unit_modes": list(unit_modes),
                         "persons": [dict(p) for p in persons], "basis": basis,
                         "effective_on": effective_on, "aggravated_by": aggravated_by,
                         "actor": actor}

    def dismiss(self, *, on: date, reason: str, role: str | None, actor: str,
                recorded_at: datetime) -> None:
        """不予问责: the committee decides not to hold the unit to account, with reasons."""
        self._committee(role, "决定不予问责", "dismiss a case")
        check_day(on, "on")
        reason = check_text(reason, "reason", "不予问责的理由", max_len=4000)
        self._refuse_if_closed("决定不予问责", "dismiss it")
        self._not_before(on, self._last_step_on(), "案件上一步的日期", "the case's last step")
        check_not_in_future(on, recorded_at)
        self._dismissed(on=on, reason=reason, role=role or "", actor=actor,
                        recorded_at=recorded_at)

    @event("Dismissed")
    def _dismissed(self, on: date, reason: str, role: str, actor: str,
                   recorded_at: datetime) -> None:
        self.status = "dismissed"
        self.closed_on = on
        self.dismissal = {"on": on, "reason": reason, "actor": actor}


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
