"""The plan tasks read model: each task, its units, and the values units reported.

For reports as of any moment (``audit replay --as-of`` rebuilds it from the
events recorded up to then): :func:`unit_tasks` gives a unit's tasks with the
same statuses as the ledger, computed by the same rules (``domain.plans``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Index, Integer, String, Table, Text, inspect, select
from sqlalchemy.engine import Connection

from domain.plans import TaskView, task_row
from domain.time import local_date
from projections.events import TASK_EVENTS, UNIT_MEMBERS_SET
from projections.runner import metadata

plan_tasks = Table(
    "plan_tasks_view",
    metadata,
    Column("task", String(120), primary_key=True),
    Column("task_id", String(36), nullable=False, unique=True),
    Column("plan", String(64), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("number", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("category", Text),
    Column("lead", JSON, nullable=False),
    Column("responsible", JSON, nullable=False),
    Column("indicators", JSON, nullable=False),
    Column("deadline", Date),
    Column("deadline_source", String(10), nullable=False),
    Column("closed_on", Date),
    Column("closed_by", String(100)),
    Column("imported_on", Date),  # the day the task was recorded (lagging's floor)
    Column("position", Integer, nullable=False),
    Index("ix_plan_tasks_view_plan", "plan", "ordinal"),
)

plan_task_units = Table(
    "plan_task_units_view",
    metadata,
    Column("task", String(120), primary_key=True),
    Column("unit", String(64), primary_key=True),
    Column("role", String(20), nullable=False),
    Index("ix_plan_task_units_view_unit", "unit"),
)

plan_group_members = Table(
    "plan_group_members_view",
    metadata,
    Column("group", String(64), primary_key=True),
    Column("member", String(64), primary_key=True),
    Index("ix_plan_group_members_view_member", "member"),
)

plan_task_reports = Table(
    "plan_task_reports_view",
    metadata,
    Column("position", Integer, primary_key=True),
    Column("task", String(120), nullable=False),
    Column("indicator", Integer, nullable=False),
    Column("unit", String(64)),
    Column("value", String(40), nullable=False),
    Column("on", Date, nullable=False),
    Index("ix_plan_task_reports_view_task", "task"),
)


def _json_indicators(indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**i, "deadline": i["deadline"].isoformat() if i.get("deadline") else None}
            for i in indicators]


def _indicators(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**i, "deadline": date.fromisoformat(i["deadline"]) if i.get("deadline") else None}
            for i in data]


class PlansProjection:
    """Applies Task events to the three plan tables.

    ``as_of`` makes it ignore every event recorded after that moment (a scratch
    replay for a report as of then).
    """

    tables = (plan_tasks, plan_task_units, plan_task_reports, plan_group_members)

    def __init__(self, as_of: datetime | None = None, name: str = "plans") -> None:
        self.as_of = as_of
        self.name = name

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        kind = TASK_EVENTS.get(type(event))
        if kind is None:
            if type(event) is UNIT_MEMBERS_SET and (self.as_of is None
                                                    or event.recorded_at <= self.as_of):
                conn.execute(plan_group_members.delete()
                             .where(plan_group_members.c.group == event.code))
                if event.members:
                    conn.execute(plan_group_members.insert(), [
                        {"group": event.code, "member": m} for m in event.members])
            return
        if self.as_of is not None and event.recorded_at > self.as_of:
            return
        if kind == "Created":
            conn.execute(plan_tasks.insert().values(
                task=event.code, task_id=str(event.originator_id), plan=event.plan, ordinal=event.ordinal, number=event.number,
                title=event.title, category=event.category, lead=list(event.lead),
                responsible=list(event.responsible),
                indicators=_json_indicators(event.indicators), deadline=event.deadline,
                deadline_source=event.deadline_source, position=position,
                imported_on=local_date(event.recorded_at),
            ))
            roles = {u: "responsible" for u in event.responsible}
            roles.update({u: "lead" for u in event.lead})
            if roles:
                conn.execute(plan_task_units.insert(), [
                    {"task": event.code, "unit": u, "role": r} for u, r in roles.items()])
        elif kind == "ProgressReported":
            conn.execute(plan_task_reports.insert().values(
                position=position, task=_code(conn, event), indicator=event.indicator,
                unit=event.unit, value=event.value, on=event.on,
            ))
        elif kind == "Edited":
            code = _code(conn, event)
            values = dict(event.changes)
            conn.execute(plan_tasks.update().where(plan_tasks.c.task == code).values(**values))
            if "lead" in values or "responsible" in values:
                row = conn.execute(select(plan_tasks.c.lead, plan_tasks.c.responsible)
                                   .where(plan_tasks.c.task == code)).one()
                roles = {u: "responsible" for u in row.responsible}
                roles.update({u: "lead" for u in row.lead})
                conn.execute(plan_task_units.delete().where(plan_task_units.c.task == code))
                if roles:
                    conn.execute(plan_task_units.insert(), [
                        {"task": code, "unit": u, "role": r} for u, r in roles.items()])
        elif kind == "Closed":
            conn.execute(plan_tasks.update().where(plan_tasks.c.task == _code(conn, event))
                         .values(closed_on=event.on, closed_by=event.inspector))


def _code(conn: Connection, event: Any) -> str:
    """A task's code from its id (events after Created do not repeat the code)."""
    code: str = conn.execute(select(plan_tasks.c.task)
                             .where(plan_tasks.c.task_id == str(event.originator_id))).scalar_one()
    return code


def task_views(conn: Connection, codes: list[str]) -> list[TaskView]:
    if not codes:
        return []
    rows = conn.execute(select(plan_tasks).where(plan_tasks.c.task.in_(codes))
                        .order_by(plan_tasks.c.plan, plan_tasks.c.ordinal)).all()
    reports: dict[str, list[dict[str, Any]]] = {c: [] for c in codes}
    for r in conn.execute(select(plan_task_reports).where(plan_task_reports.c.task.in_(codes))
                          .order_by(plan_task_reports.c.position)):
        reports[r.task].append({"indicator": r.indicator, "value": r.value, "on": r.on,
                                "unit": r.unit})
    return [TaskView(
        code=r.task, plan=r.plan, number=r.number, title=r.title, category=r.category,
        lead=list(r.lead), responsible=list(r.responsible),
        indicators=_indicators(r.indicators), deadline=r.deadline,
        deadline_source=r.deadline_source, reports=reports[r.task], closed_on=r.closed_on,
        closed_by=r.closed_by, imported_on=r.imported_on,
    ) for r in rows]


def unit_tasks(conn: Connection, unit: str, today: date) -> list[dict[str, Any]]:
    """A unit's tasks in every plan, with their status on ``today`` (the ledger's rows);
    then the tasks naming a group it is a member of (its own part, role 群组成员), as
    ``adapters.service_layer.action_plans.unit_tasks`` gives them."""
    if not inspect(conn).has_table(plan_task_units.name):
        return []
    codes = [r.task for r in conn.execute(
        select(plan_task_units.c.task).where(plan_task_units.c.unit == unit))]
    rows = [task_row(t, today, unit) for t in task_views(conn, codes)]
    if not inspect(conn).has_table(plan_group_members.name):
        return rows
    seen = set(codes)
    groups = sorted(r.group for r in conn.execute(
        select(plan_group_members.c.group).where(plan_group_members.c.member == unit)))
    for group in groups:
        mine = [r.task for r in conn.execute(
            select(plan_task_units.c.task).where(plan_task_units.c.unit == group))
            if r.task not in seen]
        seen.update(mine)
        rows += [task_row(t, today, unit, via=group) for t in task_views(conn, mine)]
    return rows


def plan_codes(conn: Connection) -> list[str]:
    """The codes of the plans with tasks in the read model, in order."""
    if not inspect(conn).has_table(plan_tasks.name):
        return []
    return list(conn.execute(select(plan_tasks.c.plan).distinct().order_by(plan_tasks.c.plan))
                .scalars())


def lagging_outside(conn: Connection, units: dict[str, dict[str, Any]], today: date,
                    policy: Any, calendar: Any) -> list[dict[str, Any]]:
    """滞后 for the government's attention (the bulletin): the lagging tasks of the units
    the lagging rule ``policy`` (domain.plans.LagPolicy) does not hold to account, by
    unit, by the same rule as the sweep's (``adapters.service_layer.action_plans``)."""
    if not inspect(conn).has_table(plan_task_units.name):
        return []
    outside = {code for code, u in units.items()
               if not policy.holds_to_account(u.get("category") or "other")}
    if not outside:
        return []
    by_task: dict[str, list[str]] = {}
    for r in conn.execute(select(plan_task_units.c.task, plan_task_units.c.unit)
                          .where(plan_task_units.c.unit.in_(sorted(outside)))):
        by_task.setdefault(r.task, []).append(r.unit)
    out: dict[str, dict[str, Any]] = {}
    for t in task_views(conn, sorted(by_task)):
        threshold_of = policy.threshold_of(calendar, t.imported_on)
        for unit in by_task[t.code]:
            lag = t.lags(today, unit, threshold_of)
            if lag is None:
                continue
            row = out.setdefault(unit, {"unit": unit, "name": units[unit]["name"],
                                        "kind": units[unit].get("category") or "other",
                                        "tasks": []})
            row["tasks"].append({"task": t.code, "plan": t.plan, "number": t.number,
                                 "title": t.title, "deadline": lag.deadline,
                                 "lagging_since": lag.threshold})
    return [out[k] for k in sorted(out)]
