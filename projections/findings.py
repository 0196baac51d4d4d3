"""The findings read model: one row per finding, for lists and indexed queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    select,
)
from sqlalchemy.engine import Connection

from domain.rungs import deadline_after_escalation, sets_deadline
from projections.bulk import Bulk
from projections.events import FINDING_EVENTS
from projections.paging import Key, Page, page
from projections.runner import metadata

findings = Table(
    "findings_view",
    metadata,
    Column("finding_id", String(36), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("on", Date, nullable=False),
    Column("inspector", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("task", String(100)),
    Column("ordered_on", Date),
    Column("deadline", Date),
    # counted on a provisional calendar year (domain/calendar.py): shown as 暂定
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    # how the deadline was counted, for ``dudao calendar check``: from which date, how
    # many days, calendar or working days; null when it is a date someone set (延期, 督办)
    Column("deadline_from", Date),
    Column("deadline_within", Integer),
    Column("deadline_calendar_days", Boolean),
    Column("rung", String(20)),
    Column("rung_order", Integer),  # the order the highest escalation was recorded with
    Column("strikes", Integer, nullable=False, default=0),
    Column("reports", Integer, nullable=False, default=0),
    Column("closed_on", Date),
    # the day of the pending 延期申请 (the unit's), cleared by its decision: 延期申请 queue
    Column("extension_requested_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_findings_view_unit_status", "unit", "status"),
    Index("ix_findings_view_status_deadline", "status", "deadline"),
    # the lists' order (newest first; projections/paging.py walks it by keyset)
    Index("ix_findings_view_on_id", "on", "finding_id"),
    Index("ix_findings_view_unit_on_id", "unit", "on", "finding_id"),
)


class FindingsProjection:
    """Applies Finding events to ``findings_view``.

    A page of events is applied at once (``apply_many``): the rows of the
    findings it touches are read in one query, changed in memory and written
    back with the driver's executemany (projections/bulk.py).

    ``FindingsProjection(follow=accountability)`` (the live read models, see
    ``adapters.bootstrap.default_projections``) lets that projection, run just
    before it, work out the rows in its own pass over the page: given the same
    page in the same transaction, this one only writes them; otherwise (it is
    behind, or runs alone) it works them out itself.
    """

    name = "findings"
    tables: Sequence[Table] = (findings,)
    follow: Any = None

    def __init__(self, follow: Any = None) -> None:
        if follow is not None and getattr(follow, "as_of", None) is None:
            self.follow = follow
            follow.view = self

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, batch: Sequence[tuple[int, Any]]) -> None:
        leader = self.follow
        if leader is not None:
            page, leader.page = leader.page, None
            if page is not None and page[0] is batch and page[1] is conn:
                BULK.insert(conn, page[2])
                BULK.update(conn, page[3])
                return
        new: dict[str, dict[str, Any]] = {}
        work: list[tuple[int, str, str, Any]] = []
        touched: set[str] = set()
        recorded: set[str] = set()
        kinds = FINDING_EVENTS
        for position, event in batch:
            kind = kinds.get(type(event))
            if kind is None:
                continue
            fid = str(event.originator_id)
            if kind == "Recorded":
                recorded.add(fid)
            elif fid not in recorded:
                touched.add(fid)  # recorded on an earlier page: its row is read first
            work.append((position, fid, kind, event))
        rows = load(conn, touched)
        for position, fid, kind, e in work:
            if kind == "Recorded":
                new[fid] = {
                    "finding_id": fid, "unit": e.unit, "status": "recorded",
                    "severity": e.severity, "on": e.on, "inspector": e.inspector,
                    "text": e.text, "task": e.task, "ordered_on": None, "deadline": None,
                    **NO_COUNT, "deadline_provisional": False, "rung": None, "rung_order": None, "strikes": 0, "reports": 0, "closed_on": None,
                    "extension_requested_on": None, "recorded_at": e.recorded_at, "updated_at": e.recorded_at,
                    "version": e.originator_version, "position": position,
                }
                continue
            row = new.get(fid) or rows.get(fid)
            if row is None:
                continue
            apply_event(row, kind, e.__dict__, position)
        BULK.insert(conn, list(new.values()))
        BULK.update(conn, list(rows.values()))


NO_COUNT = {"deadline_from": None, "deadline_within": None, "deadline_calendar_days": None}


def _counted(row: dict[str, Any], d: dict[str, Any]) -> None:
    """The deadline of an order or a failed review: counted from its date."""
    row["deadline"] = d["deadline"]
    row["deadline_provisional"] = bool(d.get("provisional", False))
    row["deadline_from"] = d["on"]
    row["deadline_within"] = d["within"]
    row["deadline_calendar_days"] = bool(d["calendar_days"])


def _set_on(row: dict[str, Any], deadline: Any) -> None:
    """A deadline someone set (an extension, a 督办 due date): not a count."""
    row["deadline"] = deadline
    row["deadline_provisional"] = False
    row.update(NO_COUNT)


def apply_event(row: dict[str, Any], kind: str, d: dict[str, Any], position: int) -> None:
    """Change a ``findings_view`` row by a Finding event other than ``Recorded``
    (``d``: the event's attributes)."""
    row["updated_at"] = d["recorded_at"]
    row["version"] = d["originator_version"]
    row["position"] = position
    if kind == "RectificationOrdered":
        row["status"] = "rectifying"
        row["ordered_on"] = d["on"]
        _counted(row, d)
    elif kind == "ReportSubmitted":
        row["status"] = "under_review"
        row["reports"] += 1
    elif kind == "ReviewPassed":
        row["status"] = "closed"
        row["closed_on"] = d["on"]
    elif kind == "ReportFoundFalse":
        row["status"] = "rectifying"  # the deadline is unchanged (弄虚作假)
    elif kind == "ReviewFailed":
        row["status"] = "rectifying"
        _counted(row, d)
        row["strikes"] += 1
    elif kind == "ExtensionGranted":
        _set_on(row, d["to"])
    elif kind == "ExtensionRequested":
        row["extension_requested_on"] = d["on"]
    elif kind == "ExtensionRequestDecided":
        row["extension_requested_on"] = None
    elif kind == "EscalationRaised":
        # the highest so far (a repeating rung, 预警, may come again below it)
        order = d.get("rung", 0)
        if row["rung"] is None or order >= (row["rung_order"] or 0):
            row["rung"], row["rung_order"] = d["code"], order
        deadline = deadline_after_escalation(sets_deadline(d), d["due"], row["deadline"])
        if deadline != row["deadline"]:
            _set_on(row, deadline)


BULK = Bulk(findings, key="finding_id")


def load(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The rows of these findings, by id."""
    out: dict[str, dict[str, Any]] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), 500):
        chunk = id_list[i:i + 500]
        for r in conn.execute(select(findings).where(findings.c.finding_id.in_(chunk))):
            out[r.finding_id] = dict(r._mapping)
    return out


def list_findings(conn: Connection, *, unit: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    """Findings, newest first, optionally of one unit and/or one status."""
    query = findings.select().order_by(findings.c.on.desc(), findings.c.position.desc())
    if unit is not None:
        query = query.where(findings.c.unit == unit)
    if status is not None:
        query = query.where(findings.c.status == status)
    return [dict(row._mapping) for row in conn.execute(query)]


NEWEST_FIRST = (Key(findings.c.on, descending=True), Key(findings.c.finding_id, descending=True))
"""The lists' order: by inspection date, newest first, then by id (neither ever changes;
not the moment recorded: the bulk writer stores it as the driver formats it, which a
bound parameter would not match on SQLite)."""


def page_findings(conn: Connection, *, unit: str | None = None, status: str | None = None,
                  limit: int, cursor: str | None = None) -> Page:
    """One page of :func:`list_findings`'s rows, newest first, after ``cursor``."""
    query = findings.select()
    if unit is not None:
        query = query.where(findings.c.unit == unit)
    if status is not None:
        query = query.where(findings.c.status == status)
    return page(conn, query, NEWEST_FIRST, limit=limit, cursor=cursor)


def counted_open_deadlines(conn: Connection) -> list[dict[str, Any]]:
    """The findings not yet closed whose deadline was counted (by an order or a failed
    review, not set by an extension or a 督办), with how it was counted."""
    query = (select(findings.c.finding_id, findings.c.unit, findings.c.deadline,
                    findings.c.deadline_provisional, findings.c.deadline_from,
                    findings.c.deadline_within, findings.c.deadline_calendar_days)
             .where(findings.c.status != "closed", findings.c.deadline_within.is_not(None))
             .order_by(findings.c.unit, findings.c.deadline, findings.c.finding_id))
    return [dict(row._mapping) for row in conn.execute(query)]
