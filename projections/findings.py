"""The findings read model: one row per finding, for lists and indexed queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Text, select
from sqlalchemy.engine import Connection

from domain.findings import rung_of
from projections.bulk import Bulk
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
    Column("rung", String(20)),
    Column("strikes", Integer, nullable=False, default=0),
    Column("reports", Integer, nullable=False, default=0),
    Column("closed_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_findings_view_unit_status", "unit", "status"),
    Index("ix_findings_view_status_deadline", "status", "deadline"),
)


class FindingsProjection:
    """Applies Finding events to ``findings_view``.

    A page of events is applied at once (``apply_many``): the rows of the
    findings it touches are read in one query, changed in memory and written
    back with the driver's executemany (projections/bulk.py).
    """

    name = "findings"
    tables: Sequence[Table] = (findings,)

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, batch: Sequence[tuple[int, Any]]) -> None:
        new: dict[str, dict[str, Any]] = {}
        work: list[tuple[int, str, str, Any]] = []
        touched: set[str] = set()
        for position, event in batch:
            kind = type(event).__qualname__
            if not kind.startswith("Finding."):
                continue
            kind = kind[8:]
            fid = str(event.originator_id)
            if kind != "Recorded":
                touched.add(fid)
            work.append((position, fid, kind, event))
        rows = _load(conn, touched)
        for position, fid, kind, e in work:
            if kind == "Recorded":
                new[fid] = {
                    "finding_id": fid, "unit": e.unit, "status": "recorded",
                    "severity": e.severity, "on": e.on, "inspector": e.inspector,
                    "text": e.text, "task": e.task, "ordered_on": None, "deadline": None,
                    "rung": None, "strikes": 0, "reports": 0, "closed_on": None,
                    "recorded_at": e.recorded_at, "updated_at": e.recorded_at,
                    "version": e.originator_version, "position": position,
                }
                continue
            row = new.get(fid) or rows.get(fid)
            if row is None:
                continue
            row.update(updated_at=e.recorded_at, version=e.originator_version,
                       position=position)
            if kind == "RectificationOrdered":
                row.update(status="rectifying", ordered_on=e.on, deadline=e.deadline)
            elif kind == "ReportSubmitted":
                row["status"] = "under_review"
                row["reports"] += 1
            elif kind == "ReviewPassed":
                row.update(status="closed", closed_on=e.on)
            elif kind == "ReviewFailed":
                row.update(status="rectifying", deadline=e.deadline)
                row["strikes"] += 1
            elif kind == "ExtensionGranted":
                row["deadline"] = e.to
            elif kind == "EscalationRaised":
                if row["rung"] is None or rung_of(e.code) > rung_of(row["rung"]):
                    row["rung"] = e.code
                if e.code == "supervise" and e.due is not None:
                    row["deadline"] = e.due
        BULK.insert(conn, list(new.values()))
        BULK.update(conn, list(rows.values()))


BULK = Bulk(findings, key="finding_id")


def _load(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
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
