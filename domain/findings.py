"""A finding (问题) and the whole of its life, as events.

recorded ──order──▶ rectifying ──report──▶ under_review ──pass──▶ closed
                       ▲                        │
                       └──────── fail ──────────┘   (a new deadline, a strike)

A review may also find the report false (弄虚作假): the finding goes back to
rectifying with its deadline unchanged, and the policy's rungs may escalate on it.

Escalations are decided by the rules (or raised by an inspector, with a reason);
the rungs are the policy's, and each command brings its rung's properties (code,
order, name, mode, whether its due date becomes the deadline, whether it repeats
per deadline), which the event records. This aggregate keeps the invariants: a
finding that is closed or has no order cannot escalate, each rung fires at most
once per finding (a repeating one at most once per deadline), and the ladder never
goes back down (no rung at or below the highest reached, but a repeating one for a new
deadline; an inspector raises only above it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, NotFound, Refused
from domain.evidence import EvidenceFile, check_files
from domain.rungs import (
    CODE,
    MODES,
    RUNGS,
    Rung,
    deadline_after_escalation,
    recorded_rung,
    rung_of,
)
from domain.time import local_date
from domain.values import check_day, check_not_in_future, check_text

if TYPE_CHECKING:
    from domain.calendar import WorkCalendar
    from domain.persons import Person

__all__ = ["MAX_WITHIN", "RUNGS", "SEVERITIES", "STATUSES", "Finding", "check_commitments",
           "check_rung", "check_severity", "check_within", "rung_of"]

SEVERITIES = {"general": "一般", "serious": "较重", "major": "严重"}
STATUSES = {
    "recorded": "已登记",
    "rectifying": "整改中",
    "under_review": "待复查",
    "closed": "已销号",
}
MAX_WITHIN = 3650  # days of a rectification period, at most
MAX_COMMITMENTS = 20  # 整改承诺 at one interview
MAX_COMMITMENT = 500  # characters of one


def check_severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise InvalidInput(
            f"严重程度 {severity!r} 无效，应为 general（一般）、serious（较重）或 major（严重）",
            f"invalid severity {severity!r}: expected general, serious or major",
            field="severity",
        )
    return severity


def check_commitments(items: Sequence[tuple[date, str]], interview_on: date,
                      field: str = "commitment") -> list[dict[str, Any]]:
    """整改承诺 made at an interview: each a date (on or after the interview) and a text."""
    if len(items) > MAX_COMMITMENTS:
        raise InvalidInput(
            f"整改承诺过多（{len(items)}条，最多{MAX_COMMITMENTS}条）",
            f"too many commitments ({len(items)} > {MAX_COMMITMENTS})",
            field=field,
        )
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidInput(f"第{i + 1}条整改承诺应为（日期，内容）",
                               f"commitment {i + 1} must be (date, text)", field=field)
        day, text = item
        check_day(day, field)
        if day < interview_on:
            raise InvalidInput(
                f"第{i + 1}条整改承诺的日期 {day} 早于约谈日期 {interview_on}",
                f"commitment {i + 1}'s date {day} is before the interview ({interview_on})",
                field=field,
            )
        out.append({"on": day, "text": check_text(text, field, f"第{i + 1}条整改承诺内容",
                                                  max_len=MAX_COMMITMENT)})
    return out


def check_within(within: int, field: str = "within") -> int:
    if isinstance(within, bool) or not isinstance(within, int) or within <= 0:
        raise InvalidInput(
            f"整改期限必须是正整数天数，收到 {within!r}",
            f"{field} must be a positive number of days, got {within!r}",
            field=field,
        )
    if within > MAX_WITHIN:
        raise InvalidInput(
            f"整改期限过长（{within}天，最多{MAX_WITHIN}天）",
            f"{field} is too long ({within} > {MAX_WITHIN} days)",
            field=field,
        )
    return within


_CHECKED: dict[int, Rung] = {}
"""Rungs already found valid, by identity (a policy's rungs are checked once, not at every
escalation a sweep records); the rung is kept, so its id is never reused."""


def check_rung(rung: Rung) -> Rung:
    """A rung's properties as a command brings them: a code ``[a-z_]+``, an order, a
    Chinese name and a mode of the fixed vocabulary."""
    if _CHECKED.get(id(rung)) is rung:
        return rung
    if not isinstance(rung.code, str) or not CODE.match(rung.code):
        raise InvalidInput(
            f"升级级别代码 {rung.code!r} 无效（只能是小写字母和下划线，至多20个字符）",
            f"invalid rung code {rung.code!r}: lower-case letters and underscores only",
            field="code",
        )
    if isinstance(rung.order, bool) or not isinstance(rung.order, int) or rung.order < 0:
        raise InvalidInput(f"升级级别 {rung.code} 的序号 {rung.order!r} 无效",
                           f"invalid order {rung.order!r} of rung {rung.code}", field="rung")
    check_text(rung.name, "name", "升级级别名称", max_len=40)
    if rung.mode not in MODES:
        raise InvalidInput(
            f"升级级别 {rung.code} 的方式 {rung.mode!r} 无效，应为 {'、'.join(MODES)} 之一",
            f"invalid mode {rung.mode!r} of rung {rung.code}", field="mode",
        )
    if len(_CHECKED) < 1000:
        _CHECKED[id(rung)] = rung
    return rung


def _builtin(code: str) -> Rung:
    rung = RUNGS.get(code)
    if rung is None:
        raise InvalidInput(
            f"升级级别 {code!r} 无效：未给出该级别的属性，内置级别为 {'、'.join(RUNGS)}",
            f"invalid escalation code {code!r}: no rung given and not one of {', '.join(RUNGS)}",
            field="code",
        )
    return rung


class Finding(Aggregate):
    """A problem an inspector found at a responsible unit."""

    @event("Recorded")
    def __init__(
        self,
        id: UUID,
        unit: str,
        on: date,
        inspector: str,
        text: str,
        severity: str,
        task: str | None,
        inspection_id: UUID | None,
        actor: str,
        recorded_at: datetime,
        files: list[dict[str, Any]] | None = None,
    ) -> None:
        self.unit = unit
        self.on = on
        self.inspector = inspector
        self.text = text
        self.severity = severity
        self.task = task
        self.inspection_id = inspection_id
        self.recorded_by = actor
        self.recorded_at = recorded_at
        self.status = "recorded"
        self.ordered_on: date | None = None
        self.deadline: date | None = None
        self.deadline_set_on: date | None = None
        self.deadline_provisional = False  # counted on a provisional calendar year
        self.last_report_on: date | None = None
        self.reports = 0
        self.strikes = 0
        self.falsified = 0  # reviews that found the report false (弄虚作假)
        self.extensions = 0
        self.escalations: list[dict[str, Any]] = []
        self.interview_held_on: date | None = None
        self.interviewee: str | None = None
        self.interview_person_id: str | None = None  # the person interviewed (persons.py)
        self.commitments: list[dict[str, Any]] = []  # 整改承诺: [{"on": date, "text": str}]
        self.closed_on: date | None = None
        # 佐证材料 of every report, with its number (0: 登记时的现场材料, recorded with the
        # finding; events from before findings had files have none)
        self.files: list[dict[str, Any]] = [{**f, "report": 0, "on": on} for f in files or []]
        self.extension_requests: list[dict[str, Any]] = []  # 延期申请, oldest first

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        unit: str,
        on: date,
        inspector: str,
        text: str,
        severity: str = "general",
        task: str | None = None,
        inspection_id: UUID | None = None,
        actor: str,
        recorded_at: datetime,
        files: Sequence[EvidenceFile] = (),
    ) -> Finding:
        """登记问题: a new finding, after checking every value (the unit's existence is
        the service's to check). ``files``: 现场材料 (photos from the field, say), already
        stored (content-addressed); the event records each as a report's files are."""
        check_day(on, "on")
        check_severity(severity)
        inspector = check_text(inspector, "inspector", "督学姓名", max_len=100)
        text = check_text(text, "text", "问题描述", max_len=4000)
        task = (check_text(task, "task", "实施方案任务编号", max_len=100)
                if task and task.strip() else None)
        check_not_in_future(on, recorded_at)
        recorded = check_files(files)
        if recorded:
            return cls(
                id=id, unit=unit, on=on, inspector=inspector, text=text, severity=severity,
                task=task, inspection_id=inspection_id, actor=actor, recorded_at=recorded_at,
                files=recorded,
            )
        return cls(
            id=id, unit=unit, on=on, inspector=inspector, text=text, severity=severity,
            task=task, inspection_id=inspection_id, actor=actor, recorded_at=recorded_at,
        )

    # ------------------------------------------------------------------ queries

    @property
    def top(self) -> dict[str, Any] | None:
        """The escalation with the highest order so far (the latest of equals), or None."""
        best: dict[str, Any] | None = None
        for e in self.escalations:
            if best is None or e["rung"] >= best["rung"]:
                best = e
        return best

    @property
    def rung(self) -> str | None:
        """The highest escalation code so far (the reminder counts), or None."""
        top = self.top
        return top["code"] if top is not None else None

    @property
    def rung_label(self) -> str | None:
        """The Chinese name the highest escalation was recorded with, or None."""
        top = self.top
        return top["name"] if top is not None else None

    def has_escalated(self, code: str) -> bool:
        return any(e["code"] == code for e in self.escalations)

    def has_mode(self, mode: str) -> bool:
        """Whether some escalation so far stood for this mode (约谈, say)."""
        return any(e["mode"] == mode for e in self.escalations)

    def escalation(self, code: str) -> dict[str, Any] | None:
        for e in self.escalations:
            if e["code"] == code:
                return e
        return None

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    # ----------------------------------------------------------------- guards

    def _refuse_if_closed(self, zh_action: str, en_action: str) -> None:
        if self.status == "closed":
            raise Refused(
                f"该问题已于{self.closed_on}销号，不能{zh_action}",
                f"the finding was closed on {self.closed_on}; cannot {en_action}",
                field="finding",
            )

    @staticmethod
    def _not_before(on: date, earliest: date | None, what_zh: str, what_en: str,
                    field: str = "on") -> None:
        if earliest is not None and on < earliest:
            raise InvalidInput(
                f"日期 {field}={on} 早于{what_zh}（{earliest}）",
                f"{field}={on} is before {what_en} ({earliest})",
                field=field,
            )

    # --------------------------------------------------------------- commands

    def order_rectification(
        self,
        *,
        on: date,
        within: int,
        calendar_days: bool,
        calendar: WorkCalendar,
        actor: str,
        recorded_at: datetime,
    ) -> date:
        """限期整改: order rectification within ``within`` working (or calendar) days of
        ``on``; returns the deadline (flagged provisional when counted on a provisional
        calendar year)."""
        check_day(on, "on")
        check_within(within)
        deadline, provisional = calendar.deadline(on, within, calendar_days=calendar_days)
        self._refuse_if_closed("下达整改通知", "order rectification")
        if self.status != "recorded":
            raise Refused(
                f"该问题已下达整改通知（期限{self.deadline}），如需调整期限请办理延期",
                f"rectification was already ordered (deadline {self.deadline}); "
                "grant an extension instead",
                field="finding",
            )
        self._not_before(on, self.on, "问题登记日期", "the date the finding was recorded")
        check_not_in_future(on, recorded_at)
        if deadline <= on:
            raise InvalidInput(
                f"整改期限 {deadline} 必须晚于下达日期 {on}",
                f"deadline {deadline} must be after the order date {on}",
                field="within",
            )
        self._ordered(
            on=on, within=within, calendar_days=calendar_days, deadline=deadline,
            actor=actor, recorded_at=recorded_at, provisional=provisional,
        )
        return deadline

    @event("RectificationOrdered")
    def _ordered(
        self, on: date, within: int, calendar_days: bool, deadline: date,
        actor: str, recorded_at: datetime, provisional: bool = False,
    ) -> None:
        self.status = "rectifying"
        self.ordered_on = on
        self.deadline = deadline
        self.deadline_set_on = on
        self.deadline_provisional = provisional

    def submit_report(self, *, on: date, text: str, actor: str, recorded_at: datetime,
                      files: Sequence[EvidenceFile] = (), by_unit: bool = False) -> None:
        """整改报告: the unit reports what it rectified; escalation pauses for review.

        ``files``: its 佐证材料, already stored (content-addressed); the event records each
        one's name, type, size and hash. ``by_unit``: the unit itself submits it, so its
        date is the day it is recorded (a unit cannot backdate a report); staff recording a
        paper report on the unit's behalf give its date and are named as the actor."""
        check_day(on, "on")
        text = check_text(text, "text", "整改报告内容", max_len=8000)
        recorded = check_files(files)
        self._refuse_if_closed("提交整改报告", "submit a report")
        if self.status == "recorded":
            raise Refused(
                "该问题尚未下达整改通知，不能提交整改报告",
                "no rectification was ordered for this finding; cannot submit a report",
                field="finding",
            )
        if self.status == "under_review":
            raise Refused(
                f"该问题已有{self.last_report_on}提交的整改报告待复查，复查后才能再次提交",
                f"a report submitted on {self.last_report_on} awaits review",
                field="finding",
            )
        self._not_before(on, self.deadline_set_on, "整改通知日期", "the order date")
        check_not_in_future(on, recorded_at)
        if by_unit and on != local_date(recorded_at):
            raise InvalidInput(
                f"责任单位提交的整改报告以提交当天（{local_date(recorded_at)}）为报告日期，"
                f"不能填写 {on}；补录纸质报告请由督导室工作人员办理",
                f"a unit's report is dated the day it is recorded ({local_date(recorded_at)}),"
                f" not {on}",
                field="on",
            )
        self._reported(on=on, text=text, actor=actor, recorded_at=recorded_at, files=recorded)

    @event("ReportSubmitted")
    def _reported(self, on: date, text: str, actor: str, recorded_at: datetime,
                  files: list[dict[str, Any]] | None = None) -> None:
        self.status = "under_review"
        self.last_report_on = on
        self.reports += 1
        for f in files or []:
            self.files.append({**f, "report": self.reports, "on": on})

    def file(self, sha256: str) -> dict[str, Any] | None:
        """The 佐证材料 of this finding with that hash (the latest report naming it)."""
        for f in reversed(self.files):
            if f["sha256"] == sha256:
                return f
        return None

    # ------------------------------------------------------- extension requests

    @property
    def open_extension_request(self) -> dict[str, Any] | None:
        for r in self.extension_requests:
            if r["status"] == "pending":
                return r
        return None

    def extension_request(self, request_id: str) -> dict[str, Any] | None:
        for r in self.extension_requests:
            if r["request_id"] == request_id:
                return r
        return None

    def request_extension(self, *, to: date, reason: str, actor: str,
                          recorded_at: datetime) -> str:
        """申请延期: the unit asks for its deadline to move to ``to``, with a reason; dated
        the day it is recorded. One open request at a time. Returns the request's id:
        ``<finding id>.<n>``, its number on this finding."""
        check_day(to, "to")
        reason = check_text(reason, "reason", "延期理由", max_len=2000)
        self._refuse_if_closed("申请延期", "request an extension")
        if self.status == "recorded" or self.deadline is None:
            raise Refused("该问题尚未下达整改通知，没有可延长的期限",
                          "no rectification was ordered; there is no deadline to extend",
                          field="finding")
        pending = self.open_extension_request
        if pending is not None:
            raise Refused(
                f"该问题已有{pending['on']}提出的延期申请（延至{pending['to']}）待审批，"
                "审批后才能再次申请",
                f"the extension request of {pending['on']} awaits a decision",
                field="finding")
        if to <= self.deadline:
            raise InvalidInput(
                f"申请延期后的期限 {to} 必须晚于当前期限 {self.deadline}",
                f"the requested deadline {to} must be after the current deadline {self.deadline}",
                field="to")
        request_id = f"{self.id}.{len(self.extension_requests) + 1}"
        self._extension_requested(request_id=request_id, on=local_date(recorded_at), to=to,
                                  previous=self.deadline, reason=reason, actor=actor,
                                  recorded_at=recorded_at)
        return request_id

    @event("ExtensionRequested")
    def _extension_requested(self, request_id: str, on: date, to: date, previous: date,
                             reason: str, actor: str, recorded_at: datetime) -> None:
        self.extension_requests.append({
            "request_id": request_id, "on": on, "to": to, "previous": previous,
            "reason": reason, "by": actor, "status": "pending", "decided_on": None,
            "note": None, "decided_by": None,
        })

    def decide_extension(self, *, request_id: str, grant: bool, note: str | None,
                         calendar: WorkCalendar, actor: str, recorded_at: datetime) -> date | None:
        """批准或不批准延期申请, dated the day it is recorded. A granted request grants the
        extension (:meth:`grant_extension`, to the requested date, the reason the request's)
        in the same commit; returns the new deadline, or None when refused."""
        note = check_text(note, "note", "审批意见", max_len=2000) if note and note.strip() else None
        request = self.extension_request(request_id)
        if request is None:
            raise NotFound(f"延期申请 {request_id} 不存在", f"unknown extension request {request_id}",
                           field="request")
        if request["status"] != "pending":
            word = "批准" if request["status"] == "granted" else "不批准"
            raise Refused(f"该延期申请已于{request['decided_on']}审批（{word}）",
                          f"the request was already decided on {request['decided_on']}",
                          field="request")
        today = local_date(recorded_at)
        deadline = None
        if grant:
            self._refuse_if_closed("批准延期", "grant the extension")
            deadline = self.grant_extension(on=today, to=request["to"], reason=request["reason"],
                                            calendar=calendar, actor=actor,
                                            recorded_at=recorded_at)
        self._extension_request_decided(request_id=request_id, on=today, granted=grant,
                                        note=note, actor=actor, recorded_at=recorded_at)
        return deadline

    @event("ExtensionRequestDecided")
    def _extension_request_decided(self, request_id: str, on: date, granted: bool,
                                   note: str | None, actor: str, recorded_at: datetime) -> None:
        for r in self.extension_requests:
            if r["request_id"] == request_id:
                r.update(status="granted" if granted else "refused", decided_on=on, note=note,
                         decided_by=actor)

    def _check_reviewable(self, on: date, recorded_at: datetime) -> None:
        """Refuses unless a report awaits review and ``on`` is between it and today."""
        check_day(on, "on")
        self._refuse_if_closed("复查", "review it")
        if self.status != "under_review":
            raise Refused(
                "该问题没有待复查的整改报告，不能复查",
                "there is no rectification report awaiting review",
                field="finding",
            )
        self._not_before(on, self.last_report_on, "整改报告日期", "the report date")
        check_not_in_future(on, recorded_at)

    def pass_review(
        self, *, on: date, note: str | None, actor: str, recorded_at: datetime
    ) -> None:
        """复查通过: the finding is rectified and signed off (销号)."""
        self._check_reviewable(on, recorded_at)
        self._review_passed(on=on, note=note, actor=actor, recorded_at=recorded_at)

    @event("ReviewPassed")
    def _review_passed(
        self, on: date, note: str | None, actor: str, recorded_at: datetime
    ) -> None:
        self.status = "closed"
        self.closed_on = on

    def find_report_false(
        self, *, on: date, note: str, actor: str, recorded_at: datetime
    ) -> None:
        """复查认定弄虚作假: the review finds the report false. The finding goes back to
        rectifying with its deadline unchanged; it is no failed review (no strike, no new
        deadline): the policy's rungs escalate on it, and one of them may set a deadline."""
        check_day(on, "on")
        note = check_text(note, "note", "弄虚作假的认定意见", max_len=2000)
        self._check_reviewable(on, recorded_at)
        self._found_false(on=on, note=note, actor=actor, recorded_at=recorded_at)

    @event("ReportFoundFalse")
    def _found_false(self, on: date, note: str, actor: str, recorded_at: datetime) -> None:
        self.status = "rectifying"
        self.falsified += 1

    def fail_review(
        self,
        *,
        on: date,
        within: int,
        calendar_days: bool,
        calendar: WorkCalendar,
        note: str | None,
        actor: str,
        recorded_at: datetime,
    ) -> date:
        """复查未通过: a new deadline ``within`` days of ``on`` (returned), and a strike."""
        check_day(on, "on")
        check_within(within)
        self._check_reviewable(on, recorded_at)
        deadline, provisional = calendar.deadline(on, within, calendar_days=calendar_days)
        if deadline <= on:
            raise InvalidInput(
                f"新的整改期限 {deadline} 必须晚于复查日期 {on}",
                f"new deadline {deadline} must be after the review date {on}",
                field="within",
            )
        self._review_failed(
            on=on, within=within, calendar_days=calendar_days, deadline=deadline,
            note=note, actor=actor, recorded_at=recorded_at, provisional=provisional,
        )
        return deadline

    @event("ReviewFailed")
    def _review_failed(
        self, on: date, within: int, calendar_days: bool, deadline: date,
        note: str | None, actor: str, recorded_at: datetime, provisional: bool = False,
    ) -> None:
        self.status = "rectifying"
        self.strikes += 1
        self.deadline = deadline
        self.deadline_set_on = on
        self.deadline_provisional = provisional

    def grant_extension(
        self, *, on: date, to: date, reason: str, calendar: WorkCalendar, actor: str,
        recorded_at: datetime,
    ) -> date:
        """延期: an inspector moves the deadline later (to ``to``, returned), with a reason.
        ``to``'s year must be one the calendar knows."""
        check_day(on, "on")
        check_day(to, "to")
        reason = check_text(reason, "reason", "延期理由", max_len=2000)
        calendar.is_working_day(to)  # the new deadline's year must be known
        self._refuse_if_closed("延期", "extend it")
        if self.status == "recorded" or self.deadline is None:
            raise Refused(
                "该问题尚未下达整改通知，没有可延长的期限",
                "no rectification was ordered; there is no deadline to extend",
                field="finding",
            )
        self._not_before(on, self.deadline_set_on, "整改通知日期", "the order date")
        check_not_in_future(on, recorded_at)
        if to <= self.deadline:
            raise InvalidInput(
                f"延期后的期限 {to} 必须晚于当前期限 {self.deadline}",
                f"the extended deadline {to} must be after the current deadline {self.deadline}",
                field="to",
            )
        self._extended(on=on, to=to, previous=self.deadline, reason=reason,
                       actor=actor, recorded_at=recorded_at)
        return to

    @event("ExtensionGranted")
    def _extended(
        self, on: date, to: date, previous: date, reason: str,
        actor: str, recorded_at: datetime,
    ) -> None:
        self.deadline = to
        self.deadline_provisional = False  # an inspector's date, not a count
        self.extensions += 1

    def hold_interview(
        self, *, on: date, interviewee: str | None, minutes: str, actor: str,
        recorded_at: datetime, person: Person | None = None,
        commitments: Sequence[tuple[date, str]] = (),
    ) -> None:
        """约谈: the unit's principal (or another of its persons) was interviewed.

        ``person``: the person interviewed (domain/persons.py), of this finding's unit and
        in post on ``on``; the interviewee's name defaults to theirs. ``commitments``:
        整改承诺, each (the date by which, what), on or after the interview."""
        check_day(on, "on")
        if person is not None:
            if person.unit != self.unit:
                raise Refused(
                    f"人员{person.name}属于单位 {person.unit}，不是该问题的责任单位 {self.unit}",
                    f"the person belongs to {person.unit}, not to the finding's unit {self.unit}",
                    field="person",
                )
            if not person.in_post(on):
                until = f"至{person.to_date}" if person.to_date else "起"
                raise Refused(
                    f"{on} 人员{person.name}不在任（任职：{person.from_date}{until}）",
                    f"{person.name} was not in post on {on}",
                    field="person",
                )
            if interviewee is None or not interviewee.strip():
                interviewee = person.name
        interviewee = check_text(interviewee, "interviewee", "被约谈人", max_len=100)
        if person is not None and interviewee != person.name:
            raise InvalidInput(
                f"被约谈人“{interviewee}”与所选人员“{person.name}”不一致",
                f"interviewee {interviewee!r} is not the person named ({person.name!r})",
                field="interviewee",
            )
        minutes = check_text(minutes, "minutes", "约谈纪要", max_len=8000)
        promised = check_commitments(commitments, on)
        self._refuse_if_closed("约谈", "hold an interview")
        if not self.has_mode("interview"):
            raise Refused(
                "该问题尚未升级到约谈，不能登记约谈",
                "the finding has not escalated to an interview",
                field="finding",
            )
        if self.interview_held_on is not None:
            raise Refused(
                f"该问题的约谈已于{self.interview_held_on}登记",
                f"the interview was already held on {self.interview_held_on}",
                field="finding",
            )
        self._not_before(on, self.on, "问题登记日期", "the date the finding was recorded")
        check_not_in_future(on, recorded_at)
        self._interview_held(on=on, interviewee=interviewee, minutes=minutes,
                             actor=actor, recorded_at=recorded_at,
                             person_id=str(person.id) if person is not None else None,
                             commitments=promised)

    @event("InterviewHeld")
    def _interview_held(
        self, on: date, interviewee: str, minutes: str, actor: str, recorded_at: datetime,
        person_id: str | None = None, commitments: list[dict[str, Any]] | None = None,
    ) -> None:
        self.interview_held_on = on
        self.interviewee = interviewee
        self.interview_person_id = person_id
        self.commitments = list(commitments or [])

    def _check_escalation(self, rung: Rung) -> date:
        """Refuses a rung that cannot fire now: closed, no order, already fired (for this
        deadline, if it repeats), or below the highest rung reached; returns the deadline."""
        self._refuse_if_closed("升级", "escalate it")
        if self.status == "recorded" or self.deadline is None:
            raise Refused(
                "该问题尚未下达整改通知，不能升级",
                "no rectification was ordered; the finding cannot escalate",
                field="finding",
            )
        code = rung.code
        if rung.per_deadline:
            if any(e["code"] == code and e["deadline"] == self.deadline
                   for e in self.escalations):
                raise Refused(
                    f"期限 {self.deadline} 的{rung.name}已经发出",
                    f"the {code} for deadline {self.deadline} was already raised",
                    field="code",
                )
        elif self.has_escalated(code):
            raise Refused(
                f"该问题已经{rung.name}，每一级只升级一次",
                f"the finding already escalated to {code}; each rung fires once",
                field="code",
            )
        top = self.top
        # Never back down: nothing below the highest rung reached, but a rung that repeats
        # per deadline (a 预警 for a new deadline), which has fired for this one.
        if top is not None and not rung.per_deadline and rung.order <= top["rung"]:
            raise Refused(
                f"该问题已升级至{top['name']}（第{top['rung']}级），不能再升级到"
                f"{rung.name}（第{rung.order}级）：升级只升不降",
                f"the finding is at {top['code']} (rung {top['rung']}); {code} "
                f"(rung {rung.order}) is not above it",
                field="code",
            )
        return self.deadline

    def raise_escalation(
        self,
        *,
        code: str,
        rule: str,
        policy: str,
        policy_version: int,
        threshold: date,
        due: date | None,
        facts: dict[str, Any],
        decided_at: datetime,
        actor: str,
        recorded_at: datetime,
        rung: Rung | None = None,
    ) -> None:
        """Record an escalation the rules decided.

        ``rung`` brings the rung's properties from the policy (without it, ``code`` must
        be one of the built-in rungs). ``threshold`` is the first day on which the rung
        applied; later deadlines count from it, never from when the sweep ran.
        """
        rung = check_rung(rung) if rung is not None else _builtin(code)
        if rung.code != code:
            raise InvalidInput(f"升级级别 {code!r} 与所给级别 {rung.code!r} 不符",
                               f"code {code!r} does not match the rung {rung.code!r}",
                               field="code")
        deadline = self._check_escalation(rung)
        self._escalated(
            code=code, rung=rung.order, rule=rule, policy=policy,
            policy_version=policy_version, threshold=threshold, due=due,
            deadline=deadline, facts=facts, decided_at=decided_at,
            actor=actor, recorded_at=recorded_at, name=rung.name, mode=rung.mode,
            sets_deadline=rung.sets_deadline, per_deadline=rung.per_deadline,
        )

    def raise_manually(
        self,
        *,
        rung: Rung,
        on: date,
        due: date | None,
        reason: str,
        policy: str,
        policy_version: int,
        actor: str,
        recorded_at: datetime,
    ) -> None:
        """手动升级: an inspector raises a rung above the highest reached (重大事故 and the
        like), from ``on``, with a reason; the event records the inspector and the reason."""
        check_rung(rung)
        check_day(on, "on")
        reason = check_text(reason, "reason", "手动升级的理由", max_len=2000)
        top = self.top
        if self.status != "closed" and top is not None and rung.order <= top["rung"]:
            raise Refused(
                f"该问题已升级至{top['name']}（第{top['rung']}级），手动升级只能升到更高的级别，"
                f"不能再升级到{rung.name}（第{rung.order}级）",
                f"the finding is at {top['code']} (rung {top['rung']}); raise a rung above it",
                field="rung")
        deadline = self._check_escalation(rung)
        self._not_before(on, self.ordered_on, "整改通知日期", "the order date")
        if top is not None:
            self._not_before(on, top["threshold"], "最近一次升级的起算日",
                             "the latest escalation's threshold")
        check_not_in_future(on, recorded_at)
        self._escalated(
            code=rung.code, rung=rung.order, rule=f"{rung.code}.manual", policy=policy,
            policy_version=policy_version, threshold=on, due=due, deadline=deadline,
            facts={"manual": True, "reason": reason, "rung_so_far": self.rung,
                   "deadline": deadline.isoformat()},
            decided_at=recorded_at, actor=actor, recorded_at=recorded_at, name=rung.name,
            mode=rung.mode, sets_deadline=rung.sets_deadline, per_deadline=rung.per_deadline,
        )

    @event("EscalationRaised")
    def _escalated(
        self, code: str, rung: int, rule: str, policy: str, policy_version: int,
        threshold: date, due: date | None, deadline: date, facts: dict[str, Any],
        decided_at: datetime, actor: str, recorded_at: datetime, name: str | None = None,
        mode: str | None = None, sets_deadline: bool | None = None,
        per_deadline: bool | None = None,
    ) -> None:
        if name is None or mode is None or sets_deadline is None or per_deadline is None:
            # An event recorded before events carried their rung's properties takes them
            # from the built-in table.
            props = recorded_rung({"code": code, "rung": rung, "name": name, "mode": mode,
                                   "sets_deadline": sets_deadline,
                                   "per_deadline": per_deadline})
            name, mode = props["name"], props["mode"]
            sets_deadline, per_deadline = props["sets_deadline"], props["per_deadline"]
        self.escalations.append({
            "code": code, "rung": rung, "name": name, "mode": mode,
            "sets_deadline": sets_deadline, "per_deadline": per_deadline, "rule": rule,
            "policy": policy, "policy_version": policy_version, "threshold": threshold,
            "due": due, "deadline": deadline, "decided_at": decided_at, "actor": actor,
            # an inspector's raise: the reason is one of the facts it records
            "reason": facts.get("reason") if rule.endswith(".manual") else None,
        })
        # A rung that sets the deadline (督办): its due date becomes the deadline.
        after = deadline_after_escalation(bool(sets_deadline), due, self.deadline)
        if after != self.deadline:
            self.deadline = after
            self.deadline_provisional = False  # the event does not say how it was counted
