"""The accountability cases read model (问责案件): one row per case, for lists and reports.

``dudao accountability list``, the unit reports and the bulletin read this table
instead of replaying the cases. The runner writes a page's rows and the
projection's position in one transaction (projections/runner.py), like every
other read model; ``as_of`` ignores the events recorded after that moment (a
report as the system knew it then).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    inspect,
    select,
)
from sqlalchemy.engine import Connection

from projections.events import CASE_EVENTS
from projections.paging import Key, Page, page
from projections.runner import metadata

cases = Table(
    "acc_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("finding_id", String(36), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("finding_text", Text, nullable=False),
    Column("severity", String(20), nullable=False),
    Column("code", String(40), nullable=False),  # the rung that opened the case
    Column("rung_name", String(40), nullable=False),
    Column("policy", String(100), nullable=False),
    Column("policy_version", Integer, nullable=False),
    # proposed | notified | stated | decided | dismissed (domain.accountability)
    Column("status", String(20), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("investigations", Integer, nullable=False),
    Column("notified_on", Date),
    Column("notified_persons", JSON, nullable=False),
    Column("statement_due", Date),
    Column("statements", Integer, nullable=False),
    Column("last_statement_on", Date),
    Column("decided_on", Date),  # the decision's date, or the dismissal's
    Column("effective_on", Date),
    Column("unit_modes", JSON, nullable=False),
    Column("persons", JSON, nullable=False),  # [{"name", "modes"}]
    Column("basis", Text),
    Column("reason", Text),  # 不予问责的理由
    Column("aggravated", Boolean, nullable=False, server_default=false()),  # 从重
    Column("aggravated_by", JSON, nullable=False),  # earlier case ids
    Column("position", Integer, nullable=False),
    Index("ix_acc_cases_unit", "unit", "status"),
    Index("ix_acc_cases_status", "status"),
)

OPEN_STATUSES = ("proposed", "notified", "stated")


class CasesProjection:
    """Applies AccountabilityCase events to ``acc_cases``."""

    tables = (cases,)

    def __init__(self, as_of: datetime | None = None, name: str = "cases") -> None:
        self.as_of = as_of
        self.name = name

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, batch: Sequence[tuple[int, Any]]) -> None:
        kinds = CASE_EVENTS
        as_of = self.as_of
        for position, event in batch:
            kind = kinds.get(type(event))
            if kind is None or (as_of is not None and event.recorded_at > as_of):
                continue
            cid = str(event.originator_id)
            if kind == "Opened":
                conn.execute(cases.insert().values(
                    case_id=cid, finding_id=str(event.finding_id), unit=event.unit,
                    unit_name=event.unit_name, finding_text=event.finding_text,
                    severity=event.severity, code=event.code, rung_name=event.rung_name,
                    policy=event.policy, policy_version=event.policy_version,
                    status="proposed", opened_on=event.opened_on, investigations=0,
                    notified_persons=[], statements=0, unit_modes=[], persons=[],
                    aggravated=False, aggravated_by=[], position=position,
                ))
                continue
            values: dict[str, Any] = {"position": position}
            if kind == "Investigated":
                values["investigations"] = cases.c.investigations + 1
            elif kind == "Notified":
                values.update(status="notified", notified_on=event.on,
                              notified_persons=list(event.persons),
                              statement_due=event.statement_due)
            elif kind == "Stated":
                values.update(status="stated", statements=cases.c.statements + 1,
                              last_statement_on=event.on)
            elif kind == "Decided":
                by = event.aggravated_by
                earlier = sorted({r["case_id"] for r in
                                  [*by["unit"], *(x for v in by["persons"].values() for x in v)]})
                values.update(status="decided", decided_on=event.on,
                              effective_on=event.effective_on, unit_modes=list(event.unit_modes),
                              persons=[dict(p) for p in event.persons], basis=event.basis,
                              aggravated=bool(earlier), aggravated_by=earlier)
            elif kind == "Dismissed":
                values.update(status="dismissed", decided_on=event.on, reason=event.reason)
            conn.execute(cases.update().where(cases.c.case_id == cid).values(**values))


def list_cases(conn: Connection, *, status: str | None = None,
               unit: str | None = None) -> list[dict[str, Any]]:
    """Cases, newest first, optionally of one status and/or one unit."""
    query = select(cases).order_by(cases.c.opened_on.desc(), cases.c.position.desc())
    if status is not None:
        query = query.where(cases.c.status == status)
    if unit is not None:
        query = query.where(cases.c.unit == unit)
    return [dict(r._mapping) for r in conn.execute(query)]


NEWEST_FIRST = (Key(cases.c.opened_on, descending=True), Key(cases.c.case_id, descending=True))


def page_cases(conn: Connection, *, status: str | None = None, unit: str | None = None,
               limit: int, cursor: str | None = None) -> Page:
    """One page of :func:`list_cases`'s rows, newest first (then by id), after ``cursor``."""
    query = select(cases)
    if status is not None:
        query = query.where(cases.c.status == status)
    if unit is not None:
        query = query.where(cases.c.unit == unit)
    return page(conn, query, NEWEST_FIRST, limit=limit, cursor=cursor)


def finding_cases(conn: Connection, finding_id: str) -> list[dict[str, Any]]:
    """The cases of one finding (its id, status, opened on), oldest first; empty when the
    database has no case table."""
    if not inspect(conn).has_table(cases.name):
        return []
    query = (select(cases.c.case_id, cases.c.status, cases.c.opened_on)
             .where(cases.c.finding_id == finding_id)
             .order_by(cases.c.opened_on, cases.c.position))
    return [dict(r._mapping) for r in conn.execute(query)]


def cases_by_unit(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every case, by unit, oldest first; empty when the database has no case table (a
    runner without this projection)."""
    if not inspect(conn).has_table(cases.name):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(select(cases).order_by(cases.c.opened_on, cases.c.position)):
        out.setdefault(r.unit, []).append(dict(r._mapping))
    return out
