"""The service layer: one eventsourcing Application that every entrypoint calls.

The command line, the HTTP API and the escalation sweep all go through these
methods; no rule lives twice. Each method loads, lets the aggregate decide,
and saves; a refusal raises before anything is saved, so nothing is recorded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Notification,
    OperationalError,
    StoredEvent,
    Transcoding,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import get_topic

from adapters.infrastructure.hash_chain import Checkpoint, EventRow, Report, event_hash, verify_rows
from adapters.infrastructure.sealing_recorders import SealPlan, repairing
from adapters.infrastructure.unavailable import StoreUnavailable
from domain.audit import ChainRepair, new_repair
from domain.calendar import WorkCalendar
from domain.errors import Conflict, DudaoError, InvalidInput, NotFound, Refused
from domain.evidence import EvidenceFile
from domain.findings import Finding
from domain.ids import keyed_id, parse_id, unit_id
from domain.inspections import Inspection, check_inspectors
from domain.rungs import LADDER, Ladder, Rung
from domain.time import Clock
from domain.units import UNIT_KINDS, Unit, check_code, check_kind, check_text, guess_kind
from domain.values import check_day, check_not_in_future

log = logging.getLogger(__name__)
REPAIR_TOPIC = get_topic(ChainRepair.Sealed)  # type: ignore[attr-defined]
REPORT_TOPIC = get_topic(Finding.ReportSubmitted)  # type: ignore[attr-defined]
FILE_TOPICS = {REPORT_TOPIC, get_topic(Finding.Recorded)}  # type: ignore[attr-defined]
"""The events that name 佐证材料: a report's, and a finding's recorded with 现场材料."""


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


EVENT_META = ("originator_id", "originator_version", "timestamp", "originator_topic")


def event_record(event: Any) -> dict[str, Any]:
    """A domain event as plain data: its type, version and attributes."""
    data = {k: v for k, v in event.__dict__.items() if k not in EVENT_META}
    return {
        "type": type(event).__name__,
        "version": event.originator_version,
        **data,
    }


class Dudao(Application[UUID]):
    """The dudao application service."""

    name = "dudao"

    ladder_source: Callable[[], Ladder] | None = None
    """The rungs of the escalation policy in force (the composition root sets it from the
    settings); without one, or when that policy cannot be loaded, the built-in rungs."""

    lag_source: Callable[[], Any] | None = None
    """The lagging rule (domain.plans.LagPolicy) of the policy in force (set with
    ``ladder_source``); without one, or when it cannot be loaded, the built-in rule."""

    @property
    def lag_policy(self) -> Any:
        """The policy's 工作滞后 rule: the ledger's and the bulletin's jurisdiction."""
        from adapters.service_layer.action_plans import LAG_POLICY

        rule = self.__dict__.get("_lag_policy")
        if rule is None:
            rule = LAG_POLICY
            if self.lag_source is not None:
                try:
                    rule = self.lag_source()
                except DudaoError as e:
                    log.warning("升级策略无法加载，工作滞后按内置规则：%s", e)
            self.__dict__["_lag_policy"] = rule
        return rule

    @property
    def ladder(self) -> Ladder:
        """The policy's rungs, in order: what the reports, the API and the pages show."""
        ladder: Ladder | None = self.__dict__.get("_ladder")
        if ladder is None:
            ladder = LADDER
            if self.ladder_source is not None:
                try:
                    ladder = self.ladder_source()
                except DudaoError as e:  # a broken policy file: the sweep says so
                    log.warning("升级策略无法加载，报告按内置级别显示：%s", e)
            self.__dict__["_ladder"] = ladder
        return ladder

    def __init__(
        self,
        *,
        clock: Clock,
        calendar: WorkCalendar,
        env: dict[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.calendar = calendar
        # Units are registered once and never change: a known unit can be remembered.
        self._units: dict[str, Unit] = {}
        try:
            super().__init__(env=env)
        except OperationalError as e:
            raise _unavailable(e) from e

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ------------------------------------------------------------- plumbing

    def commit(self, *aggregates: Aggregate) -> None:
        """Save, turning a lost race into a clear conflict error."""
        with _saving():
            self.save(*aggregates)

    def commit_events(self, events: list[Any]) -> None:
        """Save events already collected from this application's aggregates (a sweep's
        page), as ``commit`` would: the event store's ``put`` without ``save``'s check of
        every object against eventsourcing's runtime Protocols (typing walks a protocol's
        attributes on each such ``isinstance``: some 8 µs an event). Nothing else of
        ``save`` applies to events: no aggregate to cache, no snapshot, no follower."""
        with _saving():
            self.events.put(events)

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            raise
        except OperationalError as e:
            raise _unavailable(e) from e

    def now(self) -> datetime:
        return self.clock()

    # ---------------------------------------------------------------- units

    def add_unit(
        self,
        code: str,
        name: str,
        *,
        parent: str | None = None,
        principal: str | None = None,
        kind: str = "unit",
        category: str | None = None,
        actor: str,
    ) -> Unit:
        """Register a unit; registering the same unit again changes nothing.

        ``category``: what the unit is (domain.units.KINDS); guessed from its name when
        not given."""
        check_code(code)
        name = check_text(name, "name", "单位名称")
        category = check_kind(category) if category is not None else guess_kind(name)
        principal = (check_text(principal, "principal", "主要负责人姓名", max_len=50)
                     if principal and principal.strip() else None)
        if kind not in UNIT_KINDS:
            raise DudaoError(f"单位类别 {kind!r} 无效", f"invalid unit kind {kind!r}", field="kind")
        if parent is not None:
            check_code(parent, "parent")
            self.get_unit(parent, field="parent")
            if parent == code:
                raise Conflict("单位不能是自己的上级", "a unit cannot be its own parent",
                               field="parent")
        existing = self.find_unit(code)
        if existing is not None:
            if existing.same_as(name, parent, principal, kind):
                return existing  # (its kind is changed by ``unit edit --kind``)
            raise Conflict(
                f"单位代码 {code} 已被“{existing.name}”使用",
                f"unit code {code} is already used by {existing.name!r}",
                field="code",
            )
        unit = Unit(
            id=unit_id(code), code=code, name=name, parent=parent, principal=principal,
            kind=kind, actor=actor, recorded_at=self.now(), category=category,
        )
        self.commit(unit)
        return unit

    def change_unit_kind(self, code: str, kind: str, *, actor: str) -> Unit:
        """Set what a unit is (its kind, 单位类别); the history keeps the one before."""
        kind = check_kind(kind)
        unit = self._fresh_unit(code)
        if unit.change_kind(kind, actor=actor, recorded_at=self.now()):
            self.commit(unit)
        self._units[code] = unit
        return unit

    def set_group_members(self, code: str, members: list[str], *, actor: str) -> Unit:
        """The units a group answers through: each member then answers for its part of
        the tasks naming the group (lagging findings go to members, not the group)."""
        unit = self._fresh_unit(code)
        for m in members:
            if isinstance(m, str) and m.strip():
                member = self.get_unit(m.strip(), field="members")
                if member.members:
                    raise Conflict(f"单位 {member.code}（{member.name}）本身是有成员的群组，"
                                   "不能再作为成员", f"unit {member.code} is itself a group "
                                   "with members", field="members")
        if unit.set_members(members, actor=actor, recorded_at=self.now()):
            self.commit(unit)
        self._units[code] = unit
        return unit

    def _fresh_unit(self, code: str) -> Unit:
        """A unit read from the store (not the memo), to record an event on."""
        check_code(code)
        self._units.pop(code, None)
        return self.get_unit(code, field="code")

    def find_unit(self, code: str) -> Unit | None:
        known = self._units.get(code)
        if known is not None:
            return known
        try:
            unit: Unit = self._get(unit_id(code))
        except AggregateNotFoundError:
            return None
        self._units[code] = unit
        return unit

    def get_unit(self, code: str, *, field: str = "unit") -> Unit:
        unit = self.find_unit(code) if isinstance(code, str) else None
        if unit is None:
            raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field=field)
        return unit

    def check_unit_exists(self, code: str, *, field: str = "unit") -> None:
        """Refuse an unknown unit. Units are never removed, so a unit once seen is remembered
        (this saves a store read on every finding recorded)."""
        known: set[str] = self.__dict__.setdefault("_known_units", set())
        if code in known:
            return
        self.get_unit(code, field=field)
        known.add(code)

    # ------------------------------------------------------------- findings

    def new_finding(
        self,
        *,
        unit: str,
        on: date,
        inspector: str,
        text: str,
        severity: str = "general",
        task: str | None = None,
        inspection_id: UUID | None = None,
        finding_id: UUID | None = None,
        actor: str,
        files: Sequence[EvidenceFile] = (),
    ) -> Finding:
        """Build (not save) a finding after checking every field (``files``: its 现场材料,
        examined, see adapters/service_layer/evidence.py)."""
        self.check_unit_exists(unit)
        return Finding.record(
            id=finding_id or uuid4(), unit=unit, on=on, inspector=inspector, text=text,
            severity=severity, task=task, inspection_id=inspection_id, actor=actor,
            recorded_at=self.now(), files=files,
        )

    def record_finding(
        self,
        *,
        unit: str,
        on: date,
        inspector: str,
        text: str,
        severity: str = "general",
        task: str | None = None,
        key: str | None = None,
        actor: str,
        files: Any = (),
    ) -> UUID:
        """Record a finding. Under an idempotency key, a repeat returns the first one.
        ``files``: 现场材料 ((name, seekable source) each, as a report's; see
        adapters/service_layer/evidence.py), stored before the finding is recorded; a
        refused file records nothing."""
        finding_id = keyed_id("finding", key) if key else None
        if finding_id is not None:
            existing = self.find_finding(finding_id)
            if existing is not None:
                same = (existing.unit, existing.on, existing.text, existing.severity,
                        existing.task) == (unit, on, text.strip(), severity,
                                           (task or "").strip() or None)
                if not same:
                    raise Conflict(
                        f"幂等键 {key} 已用于另一条不同的问题",
                        f"idempotency key {key!r} was already used for a different finding",
                        field="key",
                    )
                return finding_id
        if files:
            from adapters.service_layer import evidence

            return evidence.record_finding(self, files, unit=unit, on=on, inspector=inspector,
                                           text=text, severity=severity, task=task,
                                           finding_id=finding_id, actor=actor)
        finding = self.new_finding(
            unit=unit, on=on, inspector=inspector, text=text, severity=severity,
            task=task, finding_id=finding_id, actor=actor,
        )
        self.commit(finding)
        return finding.id  # type: ignore[no-any-return]

    def record_inspection(
        self,
        *,
        unit: str,
        on: date,
        inspectors: list[str],
        findings: list[dict[str, Any]],
        key: str | None = None,
        actor: str,
    ) -> tuple[UUID, list[UUID]]:
        """督导检查: record a visit and its findings together, in one atomic save.

        ``findings`` holds dicts with ``text`` and optional ``severity`` and ``task``.
        Under an idempotency key a repeat returns the first inspection's ids.
        """
        self.check_unit_exists(unit)
        names = check_inspectors(inspectors)
        inspector = "、".join(names)
        if len(inspector) > 100:
            raise InvalidInput("督学姓名合计过长（最多100字）",
                               "the inspectors' names are too long together (> 100)",
                               field="inspectors")
        if not isinstance(findings, list):
            raise InvalidInput("findings 必须是问题列表", "findings must be a list",
                               field="findings")
        Inspection.check_findings_count(len(findings))
        check_day(on, "on")
        check_not_in_future(on, self.now())
        inspection_id = keyed_id("inspection", key) if key else uuid4()
        if key:
            existing = self._find(inspection_id, Inspection)
            if existing is not None:
                if (existing.unit, existing.on, existing.inspectors, len(existing.finding_ids)) \
                        != (unit, on, names, len(findings)):
                    raise Conflict(
                        f"幂等键 {key} 已用于另一次不同的检查",
                        f"idempotency key {key!r} was already used for a different inspection",
                        field="key",
                    )
                return existing.id, list(existing.finding_ids)
        built: list[Finding] = []
        for i, item in enumerate(findings):
            try:
                built.append(self.new_finding(
                    unit=unit, on=on, inspector=inspector, text=item.get("text", ""),
                    severity=item.get("severity") or "general", task=item.get("task"),
                    inspection_id=inspection_id,
                    finding_id=keyed_id("inspection-finding", f"{key}:{i}") if key else None,
                    actor=actor,
                ))
            except DudaoError as e:
                e.field = f"findings[{i}].{e.field}" if e.field else f"findings[{i}]"
                raise
        inspection = Inspection(
            id=inspection_id, unit=unit, on=on, inspectors=names,
            finding_ids=[f.id for f in built], actor=actor, recorded_at=self.now(),
        )
        self.commit(inspection, *built)
        return inspection_id, [f.id for f in built]

    def get_inspection(self, inspection_id: UUID | str) -> Inspection:
        iid = parse_id(inspection_id)
        inspection = self._find(iid, Inspection) if iid is not None else None
        if inspection is None:
            raise NotFound(f"检查 {inspection_id} 不存在", f"unknown inspection {inspection_id}",
                           field="inspection")
        return inspection  # type: ignore[no-any-return]

    def _find(self, aggregate_id: UUID, kind: type) -> Any:
        try:
            aggregate = self._get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def find_finding(self, finding_id: UUID) -> Finding | None:
        try:
            aggregate = self._get(finding_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, Finding) else None

    def get_finding(self, finding_id: UUID | str) -> Finding:
        fid = parse_id(finding_id)
        finding = self.find_finding(fid) if fid is not None else None
        if finding is None:
            raise NotFound(f"问题 {finding_id} 不存在", f"unknown finding {finding_id}",
                           field="finding")
        return finding

    def order_rectification(
        self, finding_id: UUID | str, *, on: date, within: int,
        calendar_days: bool = False, actor: str,
    ) -> date:
        """限期整改: returns the deadline (N working days, or calendar days, from ``on``)."""
        finding = self.get_finding(finding_id)
        deadline = finding.order_rectification(
            on=on, within=within, calendar_days=calendar_days, calendar=self.calendar,
            actor=actor, recorded_at=self.now(),
        )
        self.commit(finding)
        return deadline

    MAX_BULK = 200
    """Findings one bulk order may name."""

    def order_rectifications(
        self, finding_ids: Sequence[UUID | str], *, on: date, within: int,
        calendar_days: bool = False, actor: str, visible: Callable[[str], bool] | None = None,
    ) -> dict[str, date]:
        """限期整改 of several findings at once, with one deadline rule: all or nothing.
        Each finding is checked by the domain as one order would be; when any is refused,
        the error names each one refused (by its text) and nothing is recorded; otherwise
        every order is saved in one commit. ``visible``: a unit code the caller may see
        (else that finding is unknown to it). Returns each finding's deadline."""
        ids = list(dict.fromkeys(str(f).strip() for f in finding_ids if str(f).strip()))
        if not ids:
            raise InvalidInput("请至少选择一个问题", "no finding selected", field="finding")
        if len(ids) > self.MAX_BULK:
            raise InvalidInput(f"一次最多为{self.MAX_BULK}个问题下达整改通知，选了{len(ids)}个",
                               f"at most {self.MAX_BULK} findings at once", field="finding")
        findings: list[Finding] = []
        refused: list[tuple[str, DudaoError]] = []
        deadlines: dict[str, date] = {}
        now = self.now()
        for n, fid in enumerate(ids, 1):
            name = f"第{n}项"
            try:
                finding = self.get_finding(fid)
                if visible is not None and not visible(finding.unit):
                    raise NotFound(f"问题 {fid} 不存在", f"unknown finding {fid}",
                                   field="finding")
                name = f"“{finding.text[:30]}”"
                deadlines[str(finding.id)] = finding.order_rectification(
                    on=on, within=within, calendar_days=calendar_days, calendar=self.calendar,
                    actor=actor, recorded_at=now)
                findings.append(finding)
            except (InvalidInput, NotFound, Refused) as e:
                refused.append((name, e))
        shared = [e for _, e in refused if e.field in ("on", "within", "calendar_days")]
        if shared:  # the order's own values: the same refusal for every finding, said once
            one = shared[0]
            raise type(one)(f"未下达任何整改通知：{one.zh}", f"no order recorded: {one.en}",
                            field=one.field)
        if refused:
            first = refused[0][1]
            zh = "；".join(f"{name}：{e.zh}" for name, e in refused)
            raise type(first)(f"未下达任何整改通知（共选{len(ids)}个问题，{len(refused)}个不能下达）：{zh}",
                              f"no order recorded: {len(refused)} of {len(ids)} findings refused: "
                              + "; ".join(e.en for _, e in refused), field=first.field)
        self.commit(*findings)
        return deadlines

    def submit_report(self, finding_id: UUID | str, *, on: date | None, text: str, actor: str,
                      files: Any = (), role: str | None = None) -> list[dict[str, Any]]:
        """整改报告, with its 佐证材料 ((name, seekable source) each; see
        adapters/service_layer/evidence.py): returns the files as recorded. A unit's report
        is dated today (``on`` may be left out); staff give the date."""
        from adapters.service_layer import evidence

        return evidence.submit_report(self, finding_id, on=on, text=text, actor=actor,
                                      files=files, role=role)

    def request_extension(self, finding_id: UUID | str, *, to: date, reason: str,
                          actor: str) -> str:
        """申请延期 (the unit): returns the request's id, ``<finding id>.<n>``."""
        from adapters.service_layer import evidence

        return evidence.request_extension(self, finding_id, to=to, reason=reason, actor=actor)

    def decide_extension(self, request_id: str, *, grant: bool, note: str | None = None,
                         actor: str) -> dict[str, Any]:
        """批准/不批准延期申请: a grant moves the deadline in the same commit."""
        from adapters.service_layer import evidence

        return evidence.decide_extension(self, request_id, grant=grant, note=note, actor=actor)

    def review(
        self, finding_id: UUID | str, *, on: date, passed: bool, within: int | None = None,
        calendar_days: bool = False, note: str | None = None, actor: str,
        falsified: bool = False,
    ) -> date | None:
        """复查: pass closes the finding; fail orders a new deadline (returned); falsified
        (弄虚作假, with a note) sends it back to rectifying, its deadline unchanged."""
        finding = self.get_finding(finding_id)
        if falsified:
            if passed:
                raise DudaoError("认定弄虚作假时不能同时复查通过",
                                 "a review that finds the report false cannot pass",
                                 field="falsified")
            if within is not None:
                raise DudaoError("认定弄虚作假时不给出新的整改期限（期限不变，除非升级策略另定）",
                                 "a review that finds the report false takes no new deadline",
                                 field="within")
            finding.find_report_false(on=on, note=note or "", actor=actor,
                                      recorded_at=self.now())
            self.commit(finding)
            return None
        note = check_text(note, "note", "复查意见", max_len=2000) if note and note.strip() else None
        now = self.now()
        if passed:
            if within is not None:
                raise DudaoError("复查通过时不应给出新的整改期限",
                                 "a passed review takes no new deadline", field="within")
            finding.pass_review(on=on, note=note, actor=actor, recorded_at=now)
            self.commit(finding)
            return None
        if within is None:
            raise DudaoError("复查未通过时必须给出新的整改期限天数",
                             "a failed review needs a new deadline (within)", field="within")
        deadline = finding.fail_review(
            on=on, within=within, calendar_days=calendar_days, calendar=self.calendar,
            note=note, actor=actor, recorded_at=now,
        )
        self.commit(finding)
        return deadline

    def extend(
        self, finding_id: UUID | str, *, on: date, to: date, reason: str, actor: str
    ) -> date:
        finding = self.get_finding(finding_id)
        finding.grant_extension(on=on, to=to, reason=reason, calendar=self.calendar,
                                actor=actor, recorded_at=self.now())
        self.commit(finding)
        return to

    def hold_interview(
        self, finding_id: UUID | str, *, on: date, interviewee: str | None = None,
        minutes: str, person: UUID | str | None = None,
        commitments: list[tuple[date, str]] | None = None, actor: str,
    ) -> None:
        """约谈: ``person`` (an id) names the person interviewed (the interviewee's name
        defaults to theirs); ``commitments``: 整改承诺, (date, text) each."""
        finding = self.get_finding(finding_id)
        interviewed = self.get_person(person) if person is not None else None
        finding.hold_interview(on=on, interviewee=interviewee, minutes=minutes, actor=actor,
                               recorded_at=self.now(), person=interviewed,
                               commitments=commitments or ())
        self.commit(finding)

    # --------------------------------------------------------------- persons (人员)

    def add_person(self, *, unit: str, name: str, post: str | None = None,
                   principal: bool = False, from_date: date, to_date: date | None = None,
                   actor: str) -> UUID:
        """登记人员 (adapters/service_layer/persons.py): returns the person's id."""
        from adapters.service_layer import persons

        return persons.add_person(self, unit=unit, name=name, post=post, principal=principal,
                                  from_date=from_date, to_date=to_date, actor=actor)

    def end_person(self, person_id: UUID | str, *, on: date, actor: str) -> Any:
        """离任: ``on`` is the last day in post."""
        from adapters.service_layer import persons

        return persons.end_person(self, person_id, on=on, actor=actor)

    def get_person(self, person_id: UUID | str) -> Any:
        from adapters.service_layer import persons

        return persons.get_person(self, person_id)

    def principal_at(self, unit: str, day: date) -> str | None:
        """The unit's principal on ``day``: the person recorded as principal then, else the
        principal registered with the unit."""
        from adapters.service_layer import persons

        return persons.principal_at(self, unit, day)

    def record_escalation(
        self, finding_id: UUID | str, *, code: str, rule: str, policy: str,
        policy_version: int, threshold: date, due: date | None, facts: dict[str, Any],
        actor: str = "dudao:rules", rung: Rung | None = None, decided_by: str = "rules",
        rung_name: str | None = None, statement_days: int | None = None,
        aggravation_months: int | None = None,
    ) -> Finding:
        """Record an escalation the rules decided (decided_at is the clock's now); ``rung``:
        the policy's rung (without it, ``code`` must be a built-in one). A rung
        ``decided_by="committee"`` also opens its accountability case, in the same commit
        (see :meth:`record_escalations`)."""
        finding = self.get_finding(finding_id)
        now = self.now()
        finding.raise_escalation(
            code=code, rule=rule, policy=policy, policy_version=policy_version,
            threshold=threshold, due=due, facts=facts, decided_at=now, actor=actor,
            recorded_at=now, rung=rung,
        )
        self._commit_raised(finding, {
            "code": code, "policy": policy, "policy_version": policy_version,
            "threshold": threshold, "decided_by": decided_by, "rung_name": rung_name,
            "statement_days": statement_days, "aggravation_months": aggravation_months},
            actor=actor, now=now)
        return finding

    def _commit_raised(self, finding: Finding, decision: dict[str, Any], *, actor: str,
                       now: datetime) -> None:
        """Save a finding's just-raised escalation with the accountability case it opens
        (a committee rung's), in one commit."""
        from adapters.service_layer import accountability as cases

        opened = cases.cases_opened_by(
            self, finding, [decision], lambda: self._records(finding, finding.pending_events),
            actor=actor, recorded_at=now)
        self.commit(finding, *opened)

    def raise_manually(
        self, finding_id: UUID | str, *, rung: Rung, on: date, due: date | None, reason: str,
        policy: str, policy_version: int, actor: str, decided_by: str = "rules",
        statement_days: int | None = None, aggravation_months: int | None = None,
    ) -> Finding:
        """手动升级 (see ``Finding.raise_manually``): the inspector is the actor. A rung the
        committee decides (问责) opens its accountability case, in the same commit."""
        finding = self.get_finding(finding_id)
        now = self.now()
        finding.raise_manually(rung=rung, on=on, due=due, reason=reason, policy=policy,
                               policy_version=policy_version, actor=actor, recorded_at=now)
        self._commit_raised(finding, {
            "code": rung.code, "policy": policy, "policy_version": policy_version,
            "threshold": on, "decided_by": decided_by, "rung_name": rung.name,
            "statement_days": statement_days, "aggravation_months": aggravation_months},
            actor=actor, now=now)
        return finding

    # ---------------------------------------------------- action plans (实施方案)

    def import_plan(self, raw: bytes, *, source: str, code: str | None = None,
                    actor: str, default_unit: str | None = None) -> dict[str, Any]:
        """Import a plan's text: its units, the plan and its tasks, in one transaction."""
        from adapters.service_layer import action_plans as plans

        return plans.import_plan(self, raw, source=source, code=code, actor=actor,
                                 default_unit=default_unit)

    def preview_plan(self, raw: bytes, *, source: str, code: str | None = None,
                     default_unit: str | None = None) -> tuple[bytes, dict[str, Any]]:
        """The preview ledger (xlsx) of a plan file, as an import would read it; records
        nothing."""
        from adapters.service_layer import action_plans as plans

        return plans.preview_plan(self, raw, source=source, code=code,
                                  default_unit=default_unit)

    def get_plan(self, code: str) -> Any:
        from adapters.service_layer import action_plans as plans

        return plans.get_plan(self, code)

    def get_task(self, code: str) -> Any:
        from adapters.service_layer import action_plans as plans

        return plans.get_task(self, code)

    def report_progress(self, task: str, *, indicator: int, value: str, on: date,
                        unit: str | None = None, note: str | None = None, actor: str) -> Any:
        """A unit's reported value of one indicator of a task."""
        from adapters.service_layer import action_plans as plans

        return plans.report_progress(self, task, indicator=indicator, value=value, on=on,
                                     unit=unit, note=note, actor=actor)

    def close_task(self, task: str, *, on: date | None = None, inspector: str | None = None,
                   note: str | None = None, actor: str) -> Any:
        """销号: an inspector signs a task off."""
        from adapters.service_layer import action_plans as plans

        return plans.close_task(self, task, on=on, inspector=inspector, note=note, actor=actor)

    def edit_task(self, task: str, *, title: str | None = None, deadline: date | None = None,
                  lead: list[str] | None = None, responsible: list[str] | None = None,
                  actor: str) -> tuple[Any, dict[str, Any]]:
        """Correct a recorded task (title, deadline, units): an event, history keeps both."""
        from adapters.service_layer import action_plans as plans

        return plans.edit_task(self, task, title=title, deadline=deadline, lead=lead,
                               responsible=responsible, actor=actor)

    def edit_plan(self, code: str, *, title: str | None = None, end: date | None = None,
                  actor: str) -> tuple[Any, dict[str, Any]]:
        """Correct a recorded plan's title or end."""
        from adapters.service_layer import action_plans as plans

        return plans.edit_plan(self, code, title=title, end=end, actor=actor)

    def plan_ledger(self, code: str) -> dict[str, Any]:
        from adapters.service_layer import action_plans as plans

        return plans.ledger(self, code)

    def unit_tasks(self, unit: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
        """The plan tasks naming a unit, with their status (for the unit report)."""
        from adapters.service_layer import action_plans as plans

        return plans.unit_tasks(self, unit, as_of=as_of)

    def record_lagging(self, *, policy: Any = None, today: date | None = None,
                       actor: str = "dudao:rules") -> list[dict[str, Any]]:
        """工作滞后: a finding against each unit of each lagging task (idempotent)."""
        from adapters.service_layer import action_plans as plans

        return plans.record_lagging(self, policy=policy or self.lag_policy, today=today,
                                    actor=actor)

    def lagging_findings(self, *, policy: Any = None, today: date | None = None,
                         actor: str = "dudao:rules") -> tuple[list[dict[str, Any]], list[Any]]:
        """What :meth:`record_lagging` would record, not saved: its rows and the findings
        holding their pending events (the sweep's dry run)."""
        from adapters.service_layer import action_plans as plans

        return plans.lagging_findings(self, policy=policy or self.lag_policy, today=today,
                                      actor=actor)


    # ------------------------------------------------ accountability cases (问责案件)

    def get_case(self, case_id: UUID | str) -> Any:
        from adapters.service_layer import accountability as cases

        return cases.get_case(self, case_id)

    def investigate_case(self, case_id: UUID | str, *, on: date, note: str,
                         actor: str) -> Any:
        """调查核实."""
        from adapters.service_layer import accountability as cases

        return cases.investigate(self, case_id, on=on, note=note, actor=actor)

    def notify_case(self, case_id: UUID | str, *, on: date, persons: list[str] | None = None,
                    actor: str) -> Any:
        """告知: returns the case, its statement window counted."""
        from adapters.service_layer import accountability as cases

        return cases.notify(self, case_id, on=on, persons=persons or [], actor=actor)

    def submit_statement(self, case_id: UUID | str, *, on: date, text: str, actor: str,
                         role: str | None = None, unit: str | None = None) -> Any:
        """陈述申辩 (a ``unit`` caller for its own case only)."""
        from adapters.service_layer import accountability as cases

        return cases.submit_statement(self, case_id, on=on, text=text, actor=actor,
                                      role=role, unit=unit)

    def decide_case(self, case_id: UUID | str, *, on: date, unit_modes: list[str],
                    persons: list[tuple[str, list[str]]] | None = None, basis: str,
                    effective_on: date | None = None, actor: str, role: str | None) -> Any:
        """决定 (committee only)."""
        from adapters.service_layer import accountability as cases

        return cases.decide(self, case_id, on=on, unit_modes=unit_modes, persons=persons or [],
                            basis=basis, effective_on=effective_on, actor=actor, role=role)

    def dismiss_case(self, case_id: UUID | str, *, on: date, reason: str, actor: str,
                     role: str | None) -> Any:
        """不予问责 (committee only)."""
        from adapters.service_layer import accountability as cases

        return cases.dismiss(self, case_id, on=on, reason=reason, actor=actor, role=role)
    def record_escalations(
        self, decisions: list[dict[str, Any]], *, decided_at: datetime | None = None,
        actor: str = "dudao:rules", batch: int = 2000,
        should_stop: Callable[[], bool] | None = None,
        save: bool = True, unsaved: dict[UUID, Finding] | None = None,
    ) -> list[tuple[str, str]]:
        """Record many escalations (a sweep's decisions), each finding loaded once, saved
        a page at a time. Each dict holds the arguments of :meth:`record_escalation`; a
        finding's decisions are applied in the order given. A decision the finding refuses
        (say it was closed since the sweep looked) is left out with the rest of that
        finding's. Returns the (finding_id, code) pairs recorded.

        A page is ``batch`` findings: their events are read in a few queries, each finding
        is rebuilt from its events and raises its escalations (the aggregate checks every
        one), and the new events of the page are saved in one transaction. A decision with
        ``"decided_by": "committee"`` (a rung that proposes 问责) also opens its
        accountability case in that transaction (``adapters.service_layer.accountability``;
        the dict may carry ``rung_name``, ``statement_days`` and ``aggravation_months``). ``should_stop``
        is asked before each page: when it says so, the pages saved so far stay saved and
        the rest is left to the next sweep (which decides them again).

        ``save=False`` is the dry run: every finding raises its escalations exactly as above
        (the aggregate refusing what it would refuse) and nothing is saved; ``unsaved`` holds
        findings that exist only in memory (the 工作滞后 findings a dry run would record),
        used instead of the store's. A decision with ``"decided_by": "committee"`` (a rung
        that proposes 问责) also opens its accountability case in that transaction
        (``adapters.service_layer.accountability``; the dict may carry ``rung_name``,
        ``statement_days`` and ``aggravation_months``)."""
        from adapters.service_layer import accountability as cases

        now = self.now()
        moment = decided_at or now
        by_finding: dict[str, list[dict[str, Any]]] = {}
        for d in decisions:
            by_finding.setdefault(str(d["finding_id"]), []).append(d)
        recorded: list[tuple[str, str]] = []
        ids = {fid: UUID(fid) for fid in by_finding}
        pages = list(by_finding)
        for start in range(0, len(pages), batch):
            if should_stop is not None and should_stop():
                break
            page = pages[start:start + batch]
            fresh = unsaved or {}
            loaded = self._load_many([ids[fid] for fid in page if ids[fid] not in fresh])
            pending: list[Any] = []
            for fid in page:
                finding = (fresh.get(ids[fid]) or loaded.get(ids[fid])
                           or self.find_finding(ids[fid]))
                if finding is None:
                    continue
                raised = []
                for d in by_finding[fid]:
                    try:
                        finding.raise_escalation(
                            code=d["code"], rule=d["rule"], policy=d["policy"],
                            policy_version=d["policy_version"], threshold=d["threshold"],
                            due=d["due"], facts=d["facts"], decided_at=moment, actor=actor,
                            recorded_at=now, rung=d.get("rung"),
                        )
                    except Refused:
                        break
                    recorded.append((fid, d["code"]))
                    raised.append(d)
                new = finding.collect_events()
                pending.extend(new)
                if any(cases.opens_case(d) for d in raised):
                    for case in cases.cases_opened_by(
                            self, finding, raised, partial(self._records, finding, new),
                            actor=actor, recorded_at=now):
                        pending.extend(case.collect_events())
            if pending and save:
                self.commit_events(pending)
        return recorded

    def _records(self, finding: Finding, new: Any) -> list[dict[str, Any]]:
        """A finding's stored events and its ``new`` (unsaved) ones, as plain data."""
        try:
            stored = list(self.events.get(finding.id))
        except OperationalError as e:
            raise _unavailable(e) from e
        return [event_record(e) for e in [*stored, *new]]

    def _load_many(self, ids: list[UUID], chunk: int = 500) -> dict[UUID, Any]:
        """Many aggregates at once: one query per chunk on SQLite (the embedded store);
        elsewhere, the repository one by one. Each stored event is decoded as the mapper
        would (orjson, :class:`projections.decode.FastDecoder`, falling back to the mapper
        for anything unusual) and the aggregate is replayed from its events in order."""
        recorder = self.recorder
        found: dict[UUID, Any] = {}
        if not isinstance(recorder, SQLiteAggregateRecorder):
            for aggregate_id in ids:
                with contextlib.suppress(AggregateNotFoundError):
                    found[aggregate_id] = self._get(aggregate_id)
            return found
        from projections.decode import FastDecoder

        decode = FastDecoder(self.mapper.to_domain_event)
        table = recorder.events_table_name
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            by_key = {i.hex: i for i in part}
            statement = (f"SELECT originator_id, originator_version, topic, state FROM {table} "
                         f"WHERE originator_id IN ({','.join('?' * len(part))}) "
                         f"ORDER BY originator_id, originator_version")
            try:
                with recorder.datastore.transaction(commit=False) as c:
                    c.execute(statement, list(by_key))
                    rows = c.fetchall()
            except OperationalError as e:
                raise _unavailable(e) from e
            events: dict[Any, list[Any]] = {}
            for key, version, topic, state in rows:
                originator_id = by_key.get(key) or recorder.convert_originator_id(key)
                events.setdefault(originator_id, []).append(decode(StoredEvent(
                    originator_id=originator_id, originator_version=version,
                    topic=topic, state=state)))
            for aggregate_id, domain_events in events.items():
                found[UUID(str(aggregate_id))] = _project(None, domain_events)
        return found

    # ---------------------------------------------------------------- reads

    def history(self, finding_id: UUID | str) -> list[dict[str, Any]]:
        """Every event of a finding, in order, as plain data."""
        finding = self.get_finding(finding_id)
        try:
            return [event_record(e) for e in self.events.get(finding.id)]
        except OperationalError as e:
            raise _unavailable(e) from e

    def event_count(self) -> int:
        """How many events the store holds (its last notification id)."""
        try:
            return self.recorder.max_notification_id() or 0
        except OperationalError as e:
            raise _unavailable(e) from e

    # The event log, for projections, publishers and auditors (projections.runner.EventSource).

    def read_log(self, start: int, limit: int) -> list[Any]:
        """Stored notifications from position ``start`` (inclusive), at most ``limit``."""
        try:
            return list(self.recorder.select_notifications(start=start, limit=limit))
        except OperationalError as e:
            raise _unavailable(e) from e

    def decode(self, notification: Any) -> Any:
        """The domain event of a stored notification."""
        return self.mapper.to_domain_event(notification)

    def last_position(self) -> int:
        return self.event_count()

    # The audit chain (adapters.infrastructure.hash_chain, adapters.infrastructure.sealing_recorders).

    def verify(self, checkpoint: Checkpoint | None = None, *,
               progress: Callable[[int], None] | None = None) -> Report:
        """Check every stored event against its seal (and a checkpoint, if given).

        The repairs recorded in the log (``audit seal --repair``) are listed in the
        report, whether or not it passes: an auditor sees who sealed what, and when.
        """
        recorder: Any = self.recorder
        found: list[EventRow] = []
        reports: list[tuple[int, str, list[dict[str, Any]]]] = []  # 佐证材料 named

        def tap(rows: Iterator[EventRow]) -> Iterator[EventRow]:
            for row in rows:
                if row[3] == REPAIR_TOPIC:
                    found.append((row[0], row[1], row[2], row[3], bytes(row[4])))
                elif row[3] in FILE_TOPICS and b'"sha256"' in bytes(row[4]):
                    files = self._report_files(row)
                    if files:
                        reports.append((row[0], str(UUID(str(row[1]))), files))
                yield row

        try:
            with recorder.snapshot() as snap:
                report = verify_rows(tap(recorder.read_events(snap)),
                                     recorder.read_chain(snap), checkpoint, progress=progress)
        except OperationalError as e:
            raise _unavailable(e) from e
        report.repairs = [self._repair_record(row) for row in found]
        from adapters.service_layer.evidence import check_files

        check_files(self, reports, report)  # every file an event names, re-hashed
        return report

    def _report_files(self, row: EventRow) -> list[dict[str, Any]]:
        try:
            e = self.decode(Notification(id=row[0], originator_id=UUID(str(row[1])),
                                         originator_version=row[2], topic=row[3],
                                         state=bytes(row[4])))
        except Exception:  # a tampered row: verification names it already
            return []
        return list(getattr(e, "files", None) or [])

    def _repair_record(self, row: EventRow) -> dict[str, Any]:
        try:
            e = self.decode(Notification(id=row[0], originator_id=UUID(row[1]),
                                         originator_version=row[2], topic=row[3], state=row[4]))
            return {"position": row[0], "by": e.by, "reason": e.reason, "actor": e.actor,
                    "recorded_at": e.recorded_at.isoformat(), "after": e.after,
                    "count": e.count, "ranges": [list(r) for r in e.ranges]}
        except Exception as error:  # a tampered row: verification names it already
            return {"position": row[0], "error": f"{type(error).__name__}"}

    def seal_plan(self) -> SealPlan:
        """The events after the chain head that have no seal (what a repair would seal)."""
        recorder: Any = self.recorder
        try:
            return recorder.seal_plan()  # type: ignore[no-any-return]
        except OperationalError as e:
            raise _unavailable(e) from e

    def repair_chain(self, plan: SealPlan, *, by: str, reason: str | None,
                     actor: str) -> dict[str, Any]:
        """Seal the planned unsealed events, in order, and record who did it, when and why.

        The repair is an event of its own (``ChainRepair.Sealed``), stored in the same
        transaction as the seals it adds and sealed right after them; if the unsealed
        events are no longer exactly the planned ones, nothing is sealed or recorded.
        """
        if not plan.ranges:
            raise Refused("没有未封存的事件，无需补封，什么也没有记录",
                          "there are no unsealed events; nothing was sealed or recorded",
                          field="--repair")
        repair = new_repair(by=by, reason=reason, ranges=plan.ranges, after=plan.head,
                            actor=actor, recorded_at=self.now())
        with repairing(plan.ranges):
            self.commit(repair)
        position = self.positions_of(repair.id).get(1)
        return {"repaired": True, "repair_id": str(repair.id), "position": position,
                "by": repair.by, "reason": repair.reason, "actor": actor,
                "recorded_at": repair.recorded_at.isoformat(), "after": plan.head,
                "count": repair.count, "ranges": repair.ranges,
                "first_unsealed_position": plan.first}

    def chain_head(self) -> Checkpoint:
        """The stored chain head, after checking that its own event still matches it."""
        recorder: Any = self.recorder
        try:
            head, event, seal_row = recorder.head()
        except OperationalError as e:
            raise _unavailable(e) from e
        if seal_row is not None and (event is None or event_hash(*event) != bytes(seal_row[1])):
            raise Conflict(
                f"链头位置 {head.position} 的事件与封存不符，不能给出检查点；请运行 dudao audit verify",
                f"the event at the chain head ({head.position}) does not match its seal; "
                "no checkpoint given; run dudao audit verify",
                field="db",
            )
        return head

    def positions_of(self, aggregate_id: UUID) -> dict[int, int]:
        """Originator version → position in the log, for one aggregate."""
        recorder: Any = self.recorder
        try:
            return recorder.positions_of(aggregate_id)  # type: ignore[no-any-return]
        except OperationalError as e:
            raise _unavailable(e) from e

    def all_notifications(self, batch: int = 1000) -> Iterator[Any]:
        start = 1
        while True:
            page = self.read_log(start, batch)
            if not page:
                return
            yield from page
            start = page[-1].id + 1


def _project(aggregate: Any, events: Any) -> Any:
    """Replay events onto an aggregate (eventsourcing's own projector does the same, plus a
    runtime protocol check per event that costs more than the replay itself)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


@contextlib.contextmanager
def _saving() -> Iterator[None]:
    """A lost race becomes a clear conflict error; an unreachable store, StoreUnavailable."""
    try:
        yield
    except IntegrityError as e:
        raise Conflict(
            "并发冲突：该记录刚被他人修改，请刷新后重试，本次操作未记录",
            "conflict: the record was changed by someone else at the same time; "
            "nothing was recorded, retry",
        ) from e
    except OperationalError as e:
        raise _unavailable(e) from e


def _unavailable(e: Exception) -> StoreUnavailable:
    return StoreUnavailable(
        f"事件库无法访问：{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}",
        f"the event store is unreachable: {type(e).__name__}",
        field="--db",
    )
