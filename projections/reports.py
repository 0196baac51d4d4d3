"""The figures of the accountability reports, computed from the ``acc_*`` read model.

Definitions (README "问责报告" states them for users; tests/integration/test_reports.py
counts them by hand):

- **deadline in force** (整改期限): set by the rectification order, replaced by
  the new deadline of a failed review, moved by an extension. A 督办's due
  date is not a deadline in force: it is the remedy for having missed one.
- **open**: not closed (销号). **closed**: closed by a passed review.
- **overdue** (逾期, 逾期未整改): open, ordered, the deadline in force has passed at
  ``now`` (its whole day, Asia/Shanghai, is over), and not awaiting review of a report
  submitted on or before that deadline. Such a finding (**awaiting_review_on_time**,
  按期提交、待复查) is neither counted nor shown as overdue: the unit did its part in
  time, and it may still close on time.
- **closed on time** (按期销号): the review that closed it passed a report
  submitted on or before the deadline in force when the review passed. The
  review itself may come later: review time is the inspector's, not the unit's.
- **late**: the same findings as overdue (kept as its own key for the rate's formula).
- **on-time rate** (按期整改率) = closed on time / (closed + late): the share
  of findings whose timeliness is settled that were rectified on time; null
  when none is settled.
- **monthly** (按月按期整改率): per month, the closures of that month (closed, closed on
  time) and the overdue open findings whose deadline in force fell in it (late); n =
  closed + late, rate = closed on time / n, so the months add up to the headline rate.
  Every month from the first to the last is listed; a month with n = 0 has rate null
  (shown as 无销号, not 0%).
- **escalations**: escalation events per rung code (a repeating rung such as 预警
  counted once per deadline): every rung of the policy's ladder, then any other code
  the events hold (recorded under another policy), with the name it was recorded with;
  **public_notices**: escalations to a rung whose mode is 督导通报 (public_notice),
  **interviews**: interviews held (举行约谈, InterviewHeld); **interview_rung**: findings
  escalated to a rung whose mode is 约谈 (a rung reached is not an interview held);
  **interviews_pending**: of those, the open ones with no interview held yet.
- **accountability**: accountability cases opened (问责建议: a committee rung fired;
  in a period, opened on or after its first day); **accountability_decided** /
  **accountability_dismissed**: cases decided (决定问责) / dismissed (不予问责), in a
  period on or after its first day; **accountability_pending**: cases opened and
  not yet decided or dismissed. The rules only propose: a decision is the 督导委员会's.
- **units**: every registered unit, a group unit (各县区党委、政府, from a plan) like any
  other: it is ranked, named in the lists and counted.
- **peers**: the units with the same parent unit; a unit without a parent is compared
  with the units of its kind (政府, 部门, 学校…, ``domain.units.KINDS``) that have no
  parent either -- never 区政府 with 市直部门; rank by on-time rate among those that
  have one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import mean
from typing import Any

import orjson
from sqlalchemy import and_, case, distinct, func, not_, or_, select
from sqlalchemy.engine import Connection

from domain.accountability import CASE_STATUSES
from domain.calendar import PROVISIONAL_MARK
from domain.findings import SEVERITIES, STATUSES
from domain.rungs import BULLETIN_WORDS, LADDER, MODES, PERSON_MODES, UNIT_MODES, Ladder, rung_name
from domain.time import SHANGHAI, local_date
from domain.units import KINDS
from projections.accountability import escalations, findings, units
from projections.cases import OPEN_STATUSES, cases_by_unit
from projections.persons import commitments_of, interviews_of, principal_on, principals
from projections.persons import has_tables as has_person_tables
from projections.plans import unit_tasks as plan_unit_tasks

TIMELINE_LABELS = {
    "Recorded": "登记问题",
    "RectificationOrdered": "限期整改",
    "ReportSubmitted": "整改报告",
    "ReviewPassed": "复查通过",
    "ReviewFailed": "复查未通过",
    "ReportFoundFalse": "弄虚作假",
    "ExtensionGranted": "延期",
    "InterviewHeld": "约谈",
    "EscalationRaised": "升级",
    "ExtensionRequested": "申请延期",
    "ExtensionRequestDecided": "审批延期申请",
}


@dataclass
class ReadModel:
    """Everything the reports read, loaded in a few queries."""

    units: dict[str, dict[str, Any]]
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    escalations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # 问责案件
    # persons_view (projections/persons.py): each unit's principals, the interviews by finding
    principals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    interviews: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def principal(self, code: str, day: date) -> str | None:
        """The unit's principal on ``day``: the person recorded as principal then, else the
        principal registered with the unit."""
        return principal_on(self.principals.get(code, []), day,
                            self.units[code]["principal"])


def load(conn: Connection, unit: str | None = None, *, with_timelines: bool = False) -> ReadModel:
    """The read model (of one ``unit``: its row, findings, escalations and interviews, no
    cases or principals: :class:`Reports` holds those); the findings'
    ``timeline`` column (the heaviest) only ``with_timelines`` (else :meth:`Reports.unit`
    reads those it shows, see :func:`timeline_rows`)."""
    uq = select(units) if unit is None else select(units).where(units.c.code == unit)
    unit_rows = {r.code: dict(r._mapping) for r in conn.execute(uq)}
    by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    columns = [c for c in findings.c if with_timelines or c.name != "timeline"]
    q = select(*columns).order_by(findings.c.on, findings.c.recorded_at, findings.c.finding_id)
    if unit is not None:
        q = q.where(findings.c.unit == unit)
    result = conn.execute(q)
    names = list(result.keys())  # one dict per row by zip: far cheaper than row._mapping
    for r in result:
        row = dict(zip(names, r, strict=True))
        by_unit[row["unit"]].append(row)
    esc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    eq = select(escalations).order_by(escalations.c.position)
    if unit is not None:
        eq = eq.where(escalations.c.unit == unit)
    result = conn.execute(eq)
    names = list(result.keys())
    for r in result:
        row = dict(zip(names, r, strict=True))
        esc[row["unit"]].append(row)
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if has_person_tables(conn):
        ids = None if unit is None else [f["finding_id"] for f in by_unit.get(unit, [])]
        for i in interviews_of(conn, finding_ids=ids):
            held[i["finding_id"]].append(i)
    if unit is not None:
        return ReadModel(unit_rows, dict(by_unit), dict(esc), {}, {}, dict(held))
    return ReadModel(unit_rows, dict(by_unit), dict(esc), cases_by_unit(conn), principals(conn),
                     dict(held))


# ------------------------------------------------ the same figures, counted in SQL
#
# The pages at 1,000 units and 20,000 findings cannot load every finding into Python
# after each write (bench/pages.py): the per-unit figures, the bulletin's monthly rates
# and the rows it names are GROUP BY queries over the read model instead, the same
# definitions as ``figures``/``monthly`` above (tests/integration/test_reports.py
# checks the two agree on every figure).


def _awaiting_sql(today: date) -> Any:
    f = findings.c
    return and_(f.status == "under_review", f.deadline.is_not(None), f.deadline < today,
                f.last_report_on.is_not(None), f.last_report_on <= f.deadline)


def _overdue_sql(today: date) -> Any:
    f = findings.c
    return and_(f.status != "closed", f.deadline.is_not(None), f.deadline < today,
                not_(_awaiting_sql(today)))


def _in_period(since: date | None) -> list[Any]:
    """The findings on the table from ``since`` on (see :func:`for_period`)."""
    f = findings.c
    return [] if since is None else [or_(f.status != "closed", f.closed_on >= since)]


def _esc_in_period(since: date | None) -> list[Any]:
    return [] if since is None else [escalations.c.threshold >= since]


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def counted_figures(conn: Connection, unit_rows: dict[str, dict[str, Any]], today: date,
                    case_rows: dict[str, list[dict[str, Any]]], since: date | None = None,
                    ladder: Ladder = LADDER
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[int, str]],
                               dict[str, set[str]]]:
    """Every unit's ``figures`` (with its code and name), counted by GROUP BY; the order
    and name each escalation code was last recorded with; each unit's escalation modes."""
    f, e = findings.c, escalations.c
    tallies: dict[str, dict[str, Any]] = {
        code: {"findings": 0, "closed": 0, "on_time": 0, "interviews": 0, "overdue": 0,
               "awaiting": 0, "by_severity": dict.fromkeys(SEVERITIES, 0),
               "by_status": dict.fromkeys(STATUSES, 0), "esc": {r.code: 0 for r in ladder},
               "by_mode": dict.fromkeys(MODES, 0), "reached": 0, "pending": 0}
        for code in unit_rows}
    severities = list(SEVERITIES)
    q = (select(f.unit, f.status, func.count(), _count(f.closed_on_time.is_(True)),
                func.coalesce(func.sum(f.interviews), 0), _count(_overdue_sql(today)),
                _count(_awaiting_sql(today)), *(_count(f.severity == s) for s in severities))
         .where(*_in_period(since)).group_by(f.unit, f.status))
    for unit, status, n, on_time, interviews, overdue, awaiting, *by_severity in conn.execute(q):
        t = tallies.get(unit)
        if t is None:
            continue
        t["findings"] += n
        for severity, count in zip(severities, by_severity, strict=True):
            t["by_severity"][severity] += count
        t["by_status"][status] += n
        t["interviews"] += interviews
        if status == "closed":
            t["closed"] += n
            t["on_time"] += on_time
        else:
            t["overdue"] += overdue
            t["awaiting"] += awaiting
    modes: dict[str, set[str]] = defaultdict(set)
    eq = (select(e.unit, e.code, e.mode, func.count()).where(*_esc_in_period(since))
          .group_by(e.unit, e.code, e.mode))
    for unit, code, mode, n in conn.execute(eq):
        modes[unit].add(mode)
        t = tallies.get(unit)
        if t is None:
            continue
        t["esc"][code] = t["esc"].get(code, 0) + n
        t["by_mode"][mode] = t["by_mode"].get(mode, 0) + n
    interview = and_(e.mode == "interview", *_esc_in_period(since))
    for unit, n in conn.execute(select(e.unit, func.count(distinct(e.finding_id)))
                                .where(interview).group_by(e.unit)):
        if unit in tallies:
            tallies[unit]["reached"] = n
    waiting = (select(e.unit, func.count(distinct(e.finding_id)))
               .join(findings, f.finding_id == e.finding_id)
               .where(interview, f.status != "closed", f.interviews == 0).group_by(e.unit))
    for unit, n in conn.execute(waiting):
        if unit in tallies:
            tallies[unit]["pending"] = n
    latest: dict[str, tuple[int, int, str]] = {}
    rq = (select(e.code, e.rung, e.name, func.max(e.position)).where(*_esc_in_period(since))
          .group_by(e.code, e.rung, e.name))
    for code, rung, name, position in conn.execute(rq):
        if code not in latest or position > latest[code][0]:
            latest[code] = (position, rung, name)
    recorded = {code: (rung, name) for code, (_, rung, name) in latest.items()}
    summary = {}
    for code, t in tallies.items():
        late = t["overdue"]
        summary[code] = {
            "unit": code, "name": unit_rows[code]["name"],
            "findings": t["findings"], "open": t["findings"] - t["closed"],
            "overdue": t["overdue"], "late": late, "awaiting_review_on_time": t["awaiting"],
            "closed": t["closed"], "closed_on_time": t["on_time"],
            "on_time_rate": rate(t["on_time"], t["closed"] + late),
            "by_severity": t["by_severity"], "by_status": t["by_status"], "escalations": t["esc"],
            "interviews": t["interviews"], "interview_rung": t["reached"],
            "interviews_pending": t["pending"], "public_notices": t["by_mode"]["public_notice"],
            **case_counts(case_rows.get(code, []), since),
        }
    return summary, recorded, dict(modes)


ADDED = ("findings", "open", "overdue", "late", "awaiting_review_on_time", "closed",
         "closed_on_time", "interviews", "interview_rung", "interviews_pending", "public_notices")


def added_up(items: list[dict[str, Any]], case_rows: list[dict[str, Any]],
             since: date | None, ladder: Ladder = LADDER) -> dict[str, Any]:
    """The figures of all these units together (what ``figures`` gives over their rows)."""
    out: dict[str, Any] = dict.fromkeys(ADDED, 0)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    esc = {r.code: 0 for r in ladder}
    for i in items:
        for k in ADDED:
            out[k] += i[k]
        for table, mine in ((by_severity, i["by_severity"]), (by_status, i["by_status"]),
                            (esc, i["escalations"])):
            for k, n in mine.items():
                table[k] = table.get(k, 0) + n
    head = ("findings", "open", "overdue", "late", "awaiting_review_on_time", "closed",
            "closed_on_time")
    return {**{k: out[k] for k in head},  # the order ``figures`` gives them in
            "on_time_rate": rate(out["closed_on_time"], out["closed"] + out["late"]),
            "by_severity": by_severity, "by_status": by_status, "escalations": esc,
            **{k: out[k] for k in ADDED if k not in head}, **case_counts(case_rows, since)}


NAMED_COLUMNS = ("finding_id", "text", "severity", "status", "deadline", "deadline_provisional")


def counted_named(conn: Connection, codes: set[str], since: date | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
    """By unit, oldest first, the escalations to a rung that names units publicly (its
    mode one of ``NAMED_MODES``, or its code one of ``codes``) with their findings' facts."""
    e, f = escalations.c, findings.c
    q = (select(e.unit, e.code, e.mode, e.rung, e.name, e.threshold,
                *(f[c] for c in NAMED_COLUMNS))
         .join(findings, f.finding_id == e.finding_id)
         .where(or_(e.mode.in_(NAMED_MODES), e.code.in_(sorted(codes))), *_esc_in_period(since))
         .order_by(e.position))
    result = conn.execute(q)
    names = list(result.keys())
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in result:
        row = dict(zip(names, r, strict=True))
        out[row["unit"]].append(row)
    return dict(out)


def counted_monthly(conn: Connection, today: date, since: date | None = None) -> list[dict[str, Any]]:
    """``monthly`` over every finding, counted by GROUP BY on the day closed and the
    deadline of the overdue ones."""
    f = findings.c
    months: dict[str, list[int]] = {}
    q = (select(f.closed_on, func.count(), _count(f.closed_on_time.is_(True)))
         .where(f.status == "closed", f.closed_on.is_not(None), *_in_period(since))
         .group_by(f.closed_on))
    for day, n, on_time in conn.execute(q):
        m = months.setdefault(day.strftime("%Y-%m"), [0, 0, 0])
        m[0] += n
        m[1] += on_time
    q = select(f.deadline, func.count()).where(_overdue_sql(today)).group_by(f.deadline)
    for day, n in conn.execute(q):
        months.setdefault(day.strftime("%Y-%m"), [0, 0, 0])[2] += n
    return month_rows(months)


def describe(kind: str, args: list[Any]) -> str:
    """A timeline entry in Chinese."""
    if kind == "Recorded":
        return f"{args[0]}登记问题：{args[1]}"
    if kind == "RectificationOrdered":
        return (f"下达整改通知，{args[0]}{'自然日' if args[1] else '个工作日'}内整改，"
                f"期限{args[2]}{PROVISIONAL_MARK if len(args) > 3 and args[3] else ''}")
    if kind == "ReportSubmitted":
        return f"提交整改报告：{args[0]}"
    if kind == "ReviewPassed":
        return "复查通过，销号" + (f"（{args[0]}）" if args[0] else "")
    if kind == "ReviewFailed":
        return (f"复查未通过，重新限期至{args[0]}{PROVISIONAL_MARK if len(args) > 2 and args[2] else ''}"
                + (f"（{args[1]}）" if args[1] else ""))
    if kind == "ReportFoundFalse":
        return "复查认定整改报告弄虚作假，退回整改" + (f"（{args[0]}）" if args and args[0] else "")
    if kind == "ExtensionGranted":
        return f"延期：{args[0]} → {args[1]}（{args[2]}）"
    if kind == "InterviewHeld":
        promised = args[2] if len(args) > 2 and args[2] else []
        return f"约谈{args[0]}：{args[1]}" + (
            "；整改承诺：" + "；".join(f"{c['on']}前{c['text']}" for c in promised)
            if promised else "")
    if kind == "EscalationRaised":
        code, _rule, _policy, version, due = args[:5]
        label = (args[5] if len(args) > 5 else None) or rung_name(code)
        reason = args[6] if len(args) > 6 else None
        # what a person reads: the rung and its dates, the policy's version — never a rule id
        parts = [f"期限{due}"] if due else []
        parts += [f"理由：{reason}"] if reason else []
        parts += [f"依据升级策略第{version}版"]
        return f"升级：{label}（{'，'.join(parts)}）"
    if kind == "ExtensionRequested":
        return f"申请延期至{args[0]}（{args[1]}）"
    if kind == "ExtensionRequestDecided":
        return ("批准延期申请" if args[0] else "不批准延期申请") + (f"（{args[1]}）" if args[1] else "")
    return kind


def timelines(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The events of these findings, oldest first, from their rows' timeline column."""
    return {
        f["finding_id"]: [
            {"on": date.fromisoformat(on) if on else None, "kind": kind,
             "label": TIMELINE_LABELS.get(kind, kind), "detail": describe(kind, args),
             "actor": actor, "recorded_at": datetime.fromisoformat(recorded_at).astimezone(SHANGHAI)}
            for _position, kind, on, recorded_at, actor, args in orjson.loads(f["timeline"])
        ]
        for f in rows
    }


def timeline_rows(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """These findings' rows with their ``timeline`` column, read if they lack it."""
    missing = [f["finding_id"] for f in rows if "timeline" not in f]
    if not missing:
        return rows
    got: dict[str, str] = {}
    for i in range(0, len(missing), 500):
        q = select(findings.c.finding_id, findings.c.timeline).where(
            findings.c.finding_id.in_(missing[i:i + 500]))
        got.update((r.finding_id, r.timeline) for r in conn.execute(q))
    return [f if "timeline" in f else {**f, "timeline": got[f["finding_id"]]} for f in rows]


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def awaiting_on_time(f: dict[str, Any], today: date) -> bool:
    """Past its deadline, awaiting review of a report submitted on or before it."""
    return (f["status"] == "under_review" and f["deadline"] is not None
            and today > f["deadline"] and f["last_report_on"] is not None
            and f["last_report_on"] <= f["deadline"])


def finding_state(f: dict[str, Any], today: date) -> tuple[bool, bool]:
    """(overdue, late) of one finding on ``today``: the two are the same (逾期未整改); a
    report submitted in time and awaiting review is neither (the review is the
    inspector's time, not the unit's)."""
    if f["status"] == "closed" or f["deadline"] is None or today <= f["deadline"]:
        return False, False
    late = not awaiting_on_time(f, today)
    return late, late


def case_counts(case_rows: list[dict[str, Any]], since: date | None = None) -> dict[str, int]:
    """Accountability cases: opened (in a period: on or after ``since``), decided and
    dismissed (on or after ``since``), and still pending."""
    def after(day: date | None) -> bool:
        return since is None or (day is not None and day >= since)

    return {
        "accountability": sum(1 for c in case_rows if after(c["opened_on"])),
        "accountability_decided": sum(1 for c in case_rows if c["status"] == "decided"
                                      and after(c["decided_on"])),
        "accountability_dismissed": sum(1 for c in case_rows if c["status"] == "dismissed"
                                        and after(c["decided_on"])),
        "accountability_pending": sum(1 for c in case_rows if c["status"] in OPEN_STATUSES),
    }


def case_brief(c: dict[str, Any]) -> dict[str, Any]:
    """A case as the reports show it (mode names in Chinese)."""
    return {
        "case_id": c["case_id"], "finding_id": c["finding_id"], "unit": c["unit"],
        "unit_name": c["unit_name"], "finding_text": c["finding_text"], "status": c["status"],
        "status_label": CASE_STATUSES[c["status"]], "rung_name": c["rung_name"],
        "opened_on": c["opened_on"], "notified_on": c["notified_on"],
        "statement_due": c["statement_due"], "statements": c["statements"],
        "decided_on": c["decided_on"], "effective_on": c["effective_on"],
        "unit_modes": list(c["unit_modes"]),
        "unit_mode_labels": [UNIT_MODES.get(m, m) for m in c["unit_modes"]],
        "persons": [{"name": p["name"], "modes": list(p["modes"]),
                     "mode_labels": [PERSON_MODES.get(m, m) for m in p["modes"]]}
                    for p in c["persons"]],
        "aggravated": c["aggravated"], "aggravated_by": list(c["aggravated_by"]),
        "reason": c["reason"],
    }


def figures(rows: list[dict[str, Any]], esc_rows: list[dict[str, Any]],
            today: date, case_rows: list[dict[str, Any]] | None = None,
            since: date | None = None, ladder: Ladder = LADDER) -> dict[str, Any]:
    """The headline figures of a set of findings, their escalations and their cases."""
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    overdue = late = closed = on_time = interviews = awaiting = 0
    for f in rows:
        by_severity[f["severity"]] += 1
        by_status[f["status"]] += 1
        interviews += f["interviews"]
        if f["status"] == "closed":
            closed += 1
            on_time += bool(f["closed_on_time"])
        else:
            is_overdue, is_late = finding_state(f, today)
            overdue += is_overdue
            late += is_late
            awaiting += awaiting_on_time(f, today)
    esc = {r.code: 0 for r in ladder}
    by_mode = dict.fromkeys(MODES, 0)
    reached: set[str] = set()  # findings escalated to a 约谈 rung
    for e in esc_rows:
        esc[e["code"]] = esc.get(e["code"], 0) + 1
        by_mode[e["mode"]] = by_mode.get(e["mode"], 0) + 1
        if e["mode"] == "interview":
            reached.add(e["finding_id"])
    waiting = {f["finding_id"] for f in rows if f["status"] != "closed" and not f["interviews"]}
    return {
        "findings": len(rows),
        "open": len(rows) - closed,
        "overdue": overdue,
        "late": late,
        "awaiting_review_on_time": awaiting,
        "closed": closed,
        "closed_on_time": on_time,
        "on_time_rate": rate(on_time, closed + late),
        "by_severity": by_severity,
        "by_status": by_status,
        "escalations": esc,
        "interviews": interviews,
        "interview_rung": len(reached),
        "interviews_pending": len(reached & waiting),
        "public_notices": by_mode["public_notice"],
        **case_counts(case_rows or [], since),
    }


def month_range(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly(rows: list[dict[str, Any]], today: date | None = None) -> list[dict[str, Any]]:
    """The on-time rate by month, as the headline rate is counted: closures in their month
    of closing (how many on time), and the overdue open findings in the month their
    deadline fell in (``late``); ``n`` = closed + late, the rate = on time / n. Every month
    from the first to the last is listed: one with nothing settled has n 0 and rate None
    (no closures), not 0%."""
    months: dict[str, list[int]] = {}
    for f in rows:
        if f["status"] == "closed" and f["closed_on"] is not None:
            m = months.setdefault(f["closed_on"].strftime("%Y-%m"), [0, 0, 0])
            m[0] += 1
            m[1] += bool(f["closed_on_time"])
        elif today is not None and finding_state(f, today)[1]:
            months.setdefault(f["deadline"].strftime("%Y-%m"), [0, 0, 0])[2] += 1
    return month_rows(months)


def month_rows(months: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Every month from the first to the last of ``months`` ([closed, on time, late])."""
    if not months:
        return []
    out = []
    for k in month_range(min(months), max(months)):
        closed, on_time, late = months.get(k, [0, 0, 0])
        out.append({"month": k, "closed": closed, "closed_on_time": on_time, "late": late,
                    "n": closed + late, "on_time_rate": rate(on_time, closed + late)})
    return out


def by_rung(esc: dict[str, int], ladder: Ladder = LADDER,
            recorded: dict[str, tuple[int, str]] | None = None) -> list[dict[str, Any]]:
    """One column per rung: the ladder's, then the other codes counted (``recorded``:
    their order and name as the events recorded them)."""
    out = [{"rung": r.order, "code": r.code, "label": r.name, "count": esc.get(r.code, 0)}
           for r in ladder]
    known = {r.code for r in ladder}
    others = [c for c in esc if c not in known]
    for code in sorted(others, key=lambda c: ((recorded or {}).get(c, (99, c))[0], c)):
        order, name = (recorded or {}).get(code, (len(out), rung_name(code) or code))
        out.append({"rung": order, "code": code, "label": name, "count": esc[code]})
    return out


# The bulletin names the units of every rung whose mode is one of these, in ladder order.
NAMED_MODES = ("public_criticism", "public_notice", "listed_supervision",
               "resource_adjustment", "accountability")


def rank_key(item: dict[str, Any]) -> tuple[Any, ...]:
    """Higher on-time rate first, then fewer late, fewer overdue, more closed, code."""
    return (-(item["on_time_rate"] or 0.0), item["late"], item["overdue"], -item["closed"],
            item["unit"])


def ranking(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank the units that have an on-time rate; equal figures share a rank."""
    ranked = sorted((i for i in items if i["on_time_rate"] is not None), key=rank_key)
    out: list[dict[str, Any]] = []
    previous: tuple[Any, ...] | None = None
    for n, item in enumerate(ranked, 1):
        key = rank_key(item)[:-1]
        rank = out[-1]["rank"] if previous == key else n
        previous = key
        out.append({**item, "rank": rank})
    return out


def for_period(model: ReadModel, since: date) -> ReadModel:
    """The findings on the table from ``since`` on: still open, or closed on or after it;
    and the escalations whose threshold is on or after it."""
    return ReadModel(
        model.units,
        {u: [f for f in rows if f["status"] != "closed" or f["closed_on"] >= since]
         for u, rows in model.findings.items()},
        {u: [e for e in rows if e["threshold"] >= since] for u, rows in model.escalations.items()},
        period_cases(model.cases, since),
        model.principals,
        model.interviews,
    )


def period_cases(cases: dict[str, list[dict[str, Any]]], since: date
                 ) -> dict[str, list[dict[str, Any]]]:
    """The cases on the table from ``since`` on: open, or opened or decided since then."""
    return {u: [c for c in rows if c["status"] in OPEN_STATUSES or c["opened_on"] >= since
                or (c["decided_on"] is not None and c["decided_on"] >= since)]
            for u, rows in cases.items()}


class Reports:
    """Reports over one loaded read model at one moment; or (``model`` None, a ``conn``
    given) counted in SQL: the per-unit figures and the bulletin by GROUP BY, a unit's
    report from its own rows, the whole read model loaded only for :meth:`all_units`.

    The SQL-counted reports keep no connection: each method that reads takes one."""

    def __init__(self, model: ReadModel | None, now: datetime, since: date | None = None,
                 ladder: Ladder = LADDER, *, conn: Connection | None = None) -> None:
        self.since = since
        self.ladder = ladder
        self.now = now
        self.today = local_date(now)
        self.summary: dict[str, dict[str, Any]] = {}
        self._groups: dict[tuple[str, str], dict[str, Any]] = {}
        self._full: ReadModel | None = None
        # SQL-counted: each unit's report once asked (the reports are of one state of the
        # read models; a copy at another moment shares it and stamps its own as_of)
        self._unit_reports: dict[str, dict[str, Any]] = {}
        if model is None:
            if conn is None:
                raise TypeError("Reports needs a read model or a connection")
            result = conn.execute(select(units))
            names = list(result.keys())  # dicts by zip: row._mapping costs 40 ms per 1,000
            self.units: dict[str, dict[str, Any]] = {
                d["code"]: d for d in (dict(zip(names, r, strict=True)) for r in result)}
            cases = cases_by_unit(conn)
            self.cases = cases if since is None else period_cases(cases, since)
            self.principals = principals(conn)
            self.summary, self.recorded, self.modes = counted_figures(
                conn, self.units, self.today, self.cases, since, ladder)
            return
        self._full = model = model if since is None else for_period(model, since)
        self.units, self.cases, self.principals = model.units, model.cases, model.principals
        # the order and name each code was recorded with (a code not in the ladder)
        self.recorded = {
            e["code"]: (e["rung"], e["name"]) for rows in model.escalations.values()
            for e in rows}
        self.modes = {u: {e["mode"] for e in rows} for u, rows in model.escalations.items()}
        # every unit, a group unit (各县区党委、政府) too: it is ranked, named and counted
        for code, u in model.units.items():
            fig = figures(model.findings.get(code, []), model.escalations.get(code, []),
                          self.today, model.cases.get(code, []), since, ladder)
            self.summary[code] = {"unit": code, "name": u["name"], **fig}

    @property
    def model(self) -> ReadModel:
        """The loaded read model (of the period); not there for SQL-counted reports until
        :meth:`all_units` loaded it."""
        if self._full is None:
            raise RuntimeError("these reports were counted in SQL: no read model is loaded")
        return self._full

    def principal(self, code: str, day: date) -> str | None:
        """The unit's principal on ``day`` (see :meth:`ReadModel.principal`)."""
        return principal_on(self.principals.get(code, []), day, self.units[code]["principal"])

    def _rows(self, code: str, conn: Connection | None) -> ReadModel:
        """The read model the unit's report reads: the loaded one, or the unit's own rows."""
        if self._full is not None:
            return self._full
        if conn is None:
            raise TypeError("SQL-counted reports read a unit's rows through a connection")
        part = load(conn, unit=code)
        return part if self.since is None else for_period(part, self.since)

    PEER_TABLE = 10
    """A peer table lists the first ten of the group, and the unit itself."""

    def peer_key(self, code: str) -> tuple[str, str]:
        """Whom a unit is compared with: its parent's units, else the parentless of its kind."""
        u = self.units[code]
        if u["parent"]:
            return ("parent", u["parent"])
        return ("kind", u.get("category") or "other")

    def _group(self, key: tuple[str, str]) -> dict[str, Any]:
        group = self._groups.get(key)
        if group is None:
            members = [s for c, s in self.summary.items() if self.peer_key(c) == key]
            ranked = ranking(members)
            rank_of = {r["unit"]: r["rank"] for r in ranked}
            rates = [m["on_time_rate"] for m in members if m["on_time_rate"] is not None]
            ordered = sorted(members, key=lambda m: (m["on_time_rate"] is None, *rank_key(m)))
            rows = [{k: m[k] for k in ("unit", "name", "findings", "open", "overdue", "closed",
                                       "closed_on_time", "on_time_rate")}
                    | {"rank": rank_of.get(m["unit"])} for m in ordered]
            by, value = key
            parent = value if by == "parent" else None
            name = self.units.get(value, {}).get("name", value) if parent else None
            group = self._groups[key] = {
                "parent": parent,
                "kind": None if parent else value,
                "group": name if parent else f"{KINDS.get(value, '其他')}类单位",
                "units": len(members),
                "ranked": len(ranked),
                "average_on_time_rate": round(mean(rates), 4) if rates else None,
                "average_overdue": (round(mean(m["overdue"] for m in members), 2)
                                    if members else None),
                "rank_of": rank_of,
                "rows": rows,
            }
        return group

    def peers(self, code: str) -> dict[str, Any]:
        group = self._group(self.peer_key(code))
        table = group["rows"][:self.PEER_TABLE]
        if all(r["unit"] != code for r in table):
            table = table + [r for r in group["rows"] if r["unit"] == code]
        return {k: v for k, v in group.items() if k not in ("rank_of", "rows")} | {
            "rank": group["rank_of"].get(code), "table": table}

    def unit(self, code: str, lines: dict[str, list[dict[str, Any]]] | None = None,
             conn: Connection | None = None) -> dict[str, Any]:
        """The accountability report of one unit (INTERFACE.md fields and more)."""
        kept = self._unit_reports.get(code) if lines is None and self._full is None else None
        if kept is not None:
            return kept | {"as_of": self.now}
        report = self._unit(code, lines, conn)
        if lines is None and self._full is None:
            self._unit_reports[code] = report
        return report

    def _unit(self, code: str, lines: dict[str, list[dict[str, Any]]] | None,
              conn: Connection | None) -> dict[str, Any]:
        u = self.units[code]
        model = self._rows(code, conn)
        rows = model.findings.get(code, [])
        esc_rows = model.escalations.get(code, [])
        case_rows = self.cases.get(code, [])
        fig = self.summary.get(code) or {"unit": code, "name": u["name"],
                                         **figures(rows, esc_rows, self.today, case_rows,
                                                   self.since, self.ladder)}
        open_rows = [f for f in rows if f["status"] != "closed"]
        if lines is None:
            lines = timelines(timeline_rows(conn, open_rows) if conn is not None else open_rows)
        esc_by_finding: dict[str, list[str]] = defaultdict(list)
        label: dict[str, str] = {}
        for e in esc_rows:
            esc_by_finding[e["finding_id"]].append(e["code"])
            label[e["finding_id"]] = e["name"]  # the latest is the top

        def brief(f: dict[str, Any]) -> dict[str, Any]:
            overdue, late = finding_state(f, self.today)
            return {
                "finding_id": f["finding_id"], "text": f["text"], "severity": f["severity"],
                "severity_label": SEVERITIES[f["severity"]], "status": f["status"],
                "status_label": STATUSES[f["status"]], "on": f["on"],
                "deadline": f["deadline"], "deadline_provisional": f["deadline_provisional"],
                "current_deadline": f["current_deadline"], "overdue": overdue, "late": late,
                "awaiting_review_on_time": awaiting_on_time(f, self.today),
                "days_overdue": (self.today - f["deadline"]).days if overdue else 0,
                "rung": f["rung"],
                "rung_label": label.get(f["finding_id"]) or rung_name(f["rung"]),
                "escalations": esc_by_finding.get(f["finding_id"], []),
                "closed_on": f["closed_on"], "closed_on_time": f["closed_on_time"],
                "strikes": f["strikes"], "extensions": f["extensions"],
            }

        return {
            "report": "unit",
            "as_of": self.now,
            "since": self.since,
            "unit": code,
            "name": u["name"],
            "principal": self.principal(code, self.today),
            "parent": u["parent"],
            **{k: v for k, v in fig.items() if k not in ("unit", "name")},
            "escalations_by_rung": by_rung(fig["escalations"], self.ladder, self.recorded),
            "monthly": monthly(rows, self.today),
            "open_findings": [brief(f) | {"timeline": lines.get(f["finding_id"], [])}
                              for f in open_rows],
            "closed_findings": [brief(f) for f in rows if f["status"] == "closed"],
            # 整改承诺 made at the interviews of the unit's findings, by the date promised
            "commitments": commitments_of(
                [i for f in rows for i in model.interviews.get(f["finding_id"], [])],
                {f["finding_id"]: f["text"] for f in rows}),
            "cases": [case_brief(c) for c in case_rows],
            "peers": self.peers(code) if code in self.summary else None,
            # 工作台账: the unit's tasks in the action plans (projections/plans.py)
            "tasks": plan_unit_tasks(conn, code, self.today) if conn is not None else [],
        }

    def all_units(self, conn: Connection) -> dict[str, dict[str, Any]]:
        """Every unit's report, reading all open findings' timelines in one pass."""
        if self._full is None:
            self._full = load(conn) if self.since is None else for_period(load(conn), self.since)
        lines = timelines(timeline_rows(conn, [f for rows in self.model.findings.values()
                                               for f in rows if f["status"] != "closed"]))
        return {code: self.unit(code, lines, conn) for code in self.summary}

    def bulletin(self, conn: Connection | None = None) -> dict[str, Any]:
        """督导通报: ranking, units under public notice and accountability, units commended
        (SQL-counted reports read the rows it names and its months through ``conn``)."""
        all_cases = [c for code in sorted(self.summary) for c in self.cases.get(code, [])]
        items = list(self.summary.values())
        ranked = ranking(items)
        ranked_codes = {r["unit"] for r in ranked}
        section_codes = {r.code for r in self.ladder if r.mode in NAMED_MODES}
        if self._full is not None:
            model = self._full
            all_rows = [f for rows in model.findings.values() for f in rows]
            all_esc = [e for rows in model.escalations.values() for e in rows]
            overall = figures(all_rows, all_esc, self.today, all_cases, self.since, self.ladder)
            months = monthly(all_rows, self.today)
            rows_by_id = {f["finding_id"]: f for f in all_rows}
            hits_of = {u: [{**{c: rows_by_id[e["finding_id"]][c] for c in NAMED_COLUMNS}, **e}
                           for e in rows if e["mode"] in NAMED_MODES or e["code"] in section_codes]
                       for u, rows in model.escalations.items()}
        else:
            if conn is None:
                raise TypeError("SQL-counted reports read the bulletin through a connection")
            overall = added_up(items, all_cases, self.since, self.ladder)
            months = counted_monthly(conn, self.today, self.since)
            hits_of = counted_named(conn, section_codes, self.since)

        def named(test: Any) -> list[dict[str, Any]]:
            out = []
            for unit_code in sorted(self.summary):
                hits = [e for e in hits_of.get(unit_code, []) if test(e)]
                if not hits:
                    continue
                fs = [{"finding_id": e["finding_id"], "text": e["text"],
                       "severity": e["severity"], "severity_label": SEVERITIES[e["severity"]],
                       "status": e["status"], "status_label": STATUSES[e["status"]],
                       "deadline": e["deadline"],
                       "deadline_provisional": e["deadline_provisional"],
                       "threshold": e["threshold"]} for e in hits]
                out.append({"unit": unit_code, "name": self.summary[unit_code]["name"],
                            "principal": self.principal(unit_code, self.today),
                            "findings": fs})
            return out

        commended = [
            {"unit": s["unit"], "name": s["name"], "closed": s["closed"]}
            for s in sorted(items, key=lambda s: (-s["closed"], s["unit"]))
            if s["closed"] > 0 and s["closed_on_time"] == s["closed"] and s["overdue"] == 0
            and "supervise" not in self.modes.get(s["unit"], set())
        ]
        # every rung whose mode names units publicly, in ladder order (then other codes)
        named_rungs = [(r.code, r.name, r.mode) for r in self.ladder if r.mode in NAMED_MODES]
        known = {c for c, _, _ in named_rungs}
        seen = sorted({(e["rung"], e["code"], e["name"], e["mode"])
                       for rows in hits_of.values() for e in rows
                       if e["mode"] in NAMED_MODES and e["code"] not in known})
        named_rungs += [(c, n, m) for _, c, n, m in seen]
        sections = [{"code": c, "name": n, "mode": m,
                     "heading": BULLETIN_WORDS.get(m, (n, "起" + n))[0],
                     "verb": BULLETIN_WORDS.get(m, (n, "起" + n))[1],
                     "units": named(lambda e, c=c: e["code"] == c)}
                    for c, n, m in named_rungs]
        return {
            "report": "bulletin",
            "title": "督导通报",
            "as_of": self.now,
            "since": self.since,
            "overall": {"units": len(items), **overall,
                        "escalations_by_rung": by_rung(overall["escalations"], self.ladder,
                                                       self.recorded),
                        "monthly": months},
            "ranking": [{k: r[k] for k in ("rank", "unit", "name", "findings", "open", "overdue",
                                           "late", "closed", "closed_on_time", "on_time_rate",
                                           "public_notices", "accountability",
                                           "accountability_decided")}
                        for r in ranked],
            "unranked": [{"unit": s["unit"], "name": s["name"], "findings": s["findings"],
                          "open": s["open"]}
                         for s in sorted(items, key=lambda s: s["unit"])
                         if s["unit"] not in ranked_codes],
            "public_notice": named(lambda e: e["mode"] == "public_notice"),
            "accountability": named(lambda e: e["mode"] == "accountability"),
            "sections": sections,
            # 问责决定 and 不予问责 of the period: the 督导委员会's decisions, by unit
            "cases_decided": [case_brief(c) for c in all_cases if c["status"] == "decided"
                              and (self.since is None or c["decided_on"] >= self.since)],
            "cases_dismissed": [case_brief(c) for c in all_cases if c["status"] == "dismissed"
                                and (self.since is None or c["decided_on"] >= self.since)],
            "commended": commended,
        }
