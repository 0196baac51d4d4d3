"""Accountability cases (问责案件) on the service: opening, the steps people take, reads.

A rung the policy marks ``decided_by = "committee"`` opens a case when it fires, in
the same commit as its escalation (``Dudao.record_escalations`` calls
:func:`cases_opened_by`); the case's id is ``uuid5(finding id, "accountability:" +
code)``, so a repeated or concurrent sweep cannot open two. The rules never decide one.

The entry points call one function per step, passing who acts (``actor``), their
role and, for a ``unit`` caller, their unit; the aggregate checks everything else:

=================  ==========================================  ==================
step               function                                    who
=================  ==========================================  ==================
调查核实           :func:`investigate`                          inspector, committee
告知               :func:`notify`                               inspector, committee
陈述申辩           :func:`submit_statement`                     the unit itself, or staff for it
决定               :func:`decide`                               committee
不予问责           :func:`dismiss`                              committee
list / one case    :func:`list_cases` / :func:`case_view`       readers
问责决定书         :func:`decision_document`                    readers
=================  ==========================================  ==================

(The roles an HTTP route may use are in ``adapters.infrastructure.tokens.PERMISSIONS``;
the role checks here are the ones the domain itself makes: only the committee
decides, and a unit states its own case only.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.accountability import (
    CASE_STATUSES,
    DEFAULT_AGGRAVATION_MONTHS,
    DEFAULT_STATEMENT_DAYS,
    AccountabilityCase,
    check_status,
    history_summary,
)
from domain.errors import NotFound, Refused
from domain.findings import SEVERITIES, Finding
from domain.rungs import PERSON_MODES, UNIT_MODES, rung_name
from domain.units import check_code

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao
    from projections.runner import Runner

COMMITTEE = "committee"
UNIT_ROLE = "unit"
DECIDED_TOPIC = get_topic(AccountabilityCase.Decided)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ opening


def opens_case(decision: Mapping[str, Any]) -> bool:
    """Whether an escalation decision is a committee rung's (it proposes 问责)."""
    return decision.get("decided_by") == COMMITTEE


def cases_opened_by(app: Dudao, finding: Finding, decisions: Sequence[Mapping[str, Any]],
                    history: Callable[[], Sequence[Mapping[str, Any]]], *, actor: str,
                    recorded_at: Any) -> list[AccountabilityCase]:
    """The cases (not yet saved) that these just-raised escalations of ``finding`` open
    (those of committee rungs), to be saved in the same commit as the escalations.
    ``history`` gives the finding's events as records (``event_record``), the new
    escalations included: the facts the case holds (asked for only when a case opens)."""
    proposing = [d for d in decisions if opens_case(d)]
    if not proposing:
        return []
    facts = history_summary(history())
    unit = app.find_unit(finding.unit)
    out: list[AccountabilityCase] = []
    for d in proposing:
        out.append(AccountabilityCase.open(
            finding_id=finding.id, unit=finding.unit,
            unit_name=unit.name if unit is not None else finding.unit,
            finding_text=finding.text, severity=finding.severity, code=d["code"],
            rung_name=d.get("rung_name") or rung_name(d["code"]) or d["code"],
            policy=d["policy"], policy_version=d["policy_version"], opened_on=d["threshold"],
            statement_days=d.get("statement_days") or DEFAULT_STATEMENT_DAYS,
            aggravation_months=d.get("aggravation_months") or DEFAULT_AGGRAVATION_MONTHS,
            history=facts, actor=actor, recorded_at=recorded_at,
        ))
    return out


# -------------------------------------------------------------------- steps


def find_case(app: Dudao, case_id: UUID | str) -> AccountabilityCase | None:
    try:
        cid = case_id if isinstance(case_id, UUID) else UUID(str(case_id).strip())
    except ValueError:
        return None
    found = app._find(cid, AccountabilityCase)
    return found if isinstance(found, AccountabilityCase) else None


def get_case(app: Dudao, case_id: UUID | str) -> AccountabilityCase:
    case = find_case(app, case_id)
    if case is None:
        raise NotFound(f"问责案件 {case_id} 不存在", f"unknown accountability case {case_id}",
                       field="case")
    return case


def _unit_may_see(case: AccountabilityCase, role: str | None, unit: str | None) -> None:
    """A unit caller knows its own cases only: another unit's is "not found"."""
    if role == UNIT_ROLE and unit != case.unit:
        raise NotFound(f"问责案件 {case.id} 不存在", f"unknown accountability case {case.id}",
                       field="case")


def visible_case(app: Dudao, case_id: UUID | str, *, role: str | None = None,
                 unit: str | None = None) -> AccountabilityCase:
    case = get_case(app, case_id)
    _unit_may_see(case, role, unit)
    return case


def investigate(app: Dudao, case_id: UUID | str, *, on: date, note: str,
                actor: str) -> AccountabilityCase:
    """调查核实: a note of what was verified."""
    case = get_case(app, case_id)
    case.investigate(on=on, note=note, actor=actor, recorded_at=app.now())
    app.commit(case)
    return case


def notify(app: Dudao, case_id: UUID | str, *, on: date, persons: Sequence[str] = (),
           actor: str) -> AccountabilityCase:
    """告知: the unit (and ``persons``) told, with the statement window counted on the
    work calendar; the last day is on the case (``statement_due``)."""
    case = get_case(app, case_id)
    case.notify(on=on, persons=persons, calendar=app.calendar, actor=actor,
                recorded_at=app.now())
    app.commit(case)
    return case


def submit_statement(app: Dudao, case_id: UUID | str, *, on: date, text: str, actor: str,
                     role: str | None = None, unit: str | None = None) -> AccountabilityCase:
    """陈述申辩. A ``unit`` caller (``role="unit"``, ``unit`` its code) submits its own
    statement; any other caller records one on the unit's behalf."""
    case = get_case(app, case_id)
    by_unit = None
    if role == UNIT_ROLE:
        if unit is None:
            raise Refused("责任单位令牌未绑定单位，不能陈述申辩",
                          "a unit caller without a unit cannot submit a statement", field="unit")
        by_unit = unit
    case.submit_statement(on=on, text=text, by_unit=by_unit, actor=actor,
                          recorded_at=app.now())
    app.commit(case)
    return case


def earlier_decisions(app: Dudao, unit: str) -> list[dict[str, Any]]:
    """The decided cases of ``unit`` (from their ``Decided`` events in the log): what the
    aggregate checks for 从重. Read from the event log itself, not a read model, so a
    decision just recorded elsewhere counts at once."""
    out: list[dict[str, Any]] = []
    start = 1
    while True:
        page = list(app.recorder.select_notifications(start=start, limit=1000,
                                                      topics=[DECIDED_TOPIC]))
        if not page:
            return out
        for n in page:
            e: Any = app.mapper.to_domain_event(n)
            if e.unit == unit:
                out.append({"case_id": str(e.originator_id), "decided_on": e.on,
                            "persons": [p["name"] for p in e.persons]})
        start = page[-1].id + 1


def decide(app: Dudao, case_id: UUID | str, *, on: date, unit_modes: Sequence[str],
           persons: Sequence[tuple[str, Sequence[str]]] = (), basis: str,
           effective_on: date | None = None, actor: str,
           role: str | None) -> AccountabilityCase:
    """决定 (committee only): ``unit_modes`` from UNIT_MODES, ``persons`` as
    ``[(name, [modes from PERSON_MODES])]``, the basis and the effective date (default:
    the decision's date). 从重 is worked out from the unit's earlier decided cases."""
    case = get_case(app, case_id)
    earlier = earlier_decisions(app, case.unit) if role == COMMITTEE else []
    case.decide(on=on, unit_modes=unit_modes, persons=persons, basis=basis,
                effective_on=effective_on, earlier=earlier, role=role, actor=actor,
                recorded_at=app.now())
    app.commit(case)
    return case


def dismiss(app: Dudao, case_id: UUID | str, *, on: date, reason: str, actor: str,
            role: str | None) -> AccountabilityCase:
    """不予问责 (committee only), with reasons."""
    case = get_case(app, case_id)
    case.dismiss(on=on, reason=reason, role=role, actor=actor, recorded_at=app.now())
    app.commit(case)
    return case


# -------------------------------------------------------------------- reads


def list_cases(runner: Runner, *, status: str | None = None, unit: str | None = None,
               catch_up: bool = True) -> list[dict[str, Any]]:
    """Cases from the read model (``acc_cases``), newest first; ``runner`` is the live
    read models' (it is caught up first: read your own writes)."""
    from projections.cases import list_cases as rows

    if status is not None:
        check_status(status)
    if unit is not None:
        check_code(unit, "unit")
    if catch_up:
        runner.catch_up()
    with runner.engine.connect() as conn:
        return rows(conn, status=status, unit=unit)


def page_cases(runner: Runner, *, status: str | None = None, unit: str | None = None,
               limit: int, cursor: str | None = None) -> Any:
    """One page of :func:`list_cases` (``projections.paging.Page``: rows, next_cursor)."""
    from projections.cases import page_cases as rows

    if status is not None:
        check_status(status)
    if unit is not None:
        check_code(unit, "unit")
    runner.catch_up()
    with runner.engine.connect() as conn:
        return rows(conn, status=status, unit=unit, limit=limit, cursor=cursor)


def _mode_names(modes: Sequence[str], table: Mapping[str, str]) -> list[str]:
    return [table.get(m, m) for m in modes]


def case_view(case: AccountabilityCase) -> dict[str, Any]:
    """A case as plain data, with the Chinese names beside every code."""
    decision = None
    if case.decision is not None:
        d = case.decision
        decision = {
            "on": d["on"], "effective_on": d["effective_on"], "basis": d["basis"],
            "unit_modes": list(d["unit_modes"]),
            "unit_mode_names": _mode_names(d["unit_modes"], UNIT_MODES),
            "persons": [{"name": p["name"], "modes": list(p["modes"]),
                         "mode_names": _mode_names(p["modes"], PERSON_MODES),
                         "aggravated_by": d["aggravated_by"]["persons"].get(p["name"], [])}
                        for p in d["persons"]],
            "aggravated_by": d["aggravated_by"]["unit"],
            "aggravation_since": d["aggravated_by"]["since"],
        }
    return {
        "case_id": str(case.id),
        "finding_id": str(case.finding_id),
        "unit": case.unit,
        "unit_name": case.unit_name,
        "status": case.status,
        "status_name": CASE_STATUSES[case.status],
        "finding_text": case.finding_text,
        "severity": case.severity,
        "severity_name": SEVERITIES.get(case.severity, case.severity),
        "code": case.code,
        "rung_name": case.rung_name,
        "policy": case.policy,
        "policy_version": case.policy_version,
        "opened_on": case.opened_on,
        "statement_days": case.statement_days,
        "aggravation_months": case.aggravation_months,
        "history": case.history,
        "investigations": [{"on": i["on"], "note": i["note"]} for i in case.investigations],
        "notified_on": case.notified_on,
        "notified_persons": list(case.notified_persons),
        "statement_due": case.statement_due,
        "statement_due_provisional": case.statement_due_provisional,
        "statements": [{"on": s["on"], "text": s["text"], "by_unit": s["by_unit"]}
                       for s in case.statements],
        "decision": decision,
        "dismissal": ({"on": case.dismissal["on"], "reason": case.dismissal["reason"]}
                      if case.dismissal is not None else None),
        "aggravated": case.aggravated,
    }


def decision_document(app: Dudao, case_id: UUID | str, *, role: str | None = None,
                      unit: str | None = None) -> dict[str, Any]:
    """What the 问责决定书 (or 不予问责决定书) shows: a decided or dismissed case only."""
    case = visible_case(app, case_id, role=role, unit=unit)
    if case.status not in ("decided", "dismissed"):
        raise Refused(
            f"该案件{CASE_STATUSES[case.status]}，尚未作出决定，不能出具问责决定书",
            f"the case is {case.status}; a decision document needs a decision", field="case")
    u = app.find_unit(case.unit)
    return case_view(case) | {"principal": u.principal if u is not None else None,
                              "earlier": _earlier_refs(case)}


def _earlier_refs(case: AccountabilityCase) -> list[dict[str, Any]]:
    if case.decision is None:
        return []
    seen: dict[str, dict[str, Any]] = {}
    by = case.decision["aggravated_by"]
    for ref in [*by["unit"], *(r for refs in by["persons"].values() for r in refs)]:
        seen.setdefault(ref["case_id"], ref)
    return list(seen.values())

