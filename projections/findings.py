"""The findings read model: one row per finding, for lists and indexed queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Table, Text
from sqlalchemy.engine import Connection

from domain.findings import rung_of
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
    """Applies Finding events to ``findings_view``."""

    name = "findings"
    tables: Sequence[Table] = (findings,)

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        kind = type(event).__qualname__
        if not kind.startswith("Finding."):
            return
        kind = kind.split(".", 1)[1]
        fid = str(event.originator_id)
        common = {"updated_at": event.recorded_at, "version": event.originator_version,
                  "position": position}
        if kind == "Recorded":
            conn.execute(findings.insert().values(
                finding_id=fid, unit=event.unit, status="recorded", severity=event.severity,
                on=event.on, inspector=event.inspector, text=event.text, task=event.task,
                strikes=0, reports=0, recorded_at=event.recorded_at, **common,
            ))
            return
        values: dict[str, Any] = {}
        if kind == "RectificationOrdered":
            values = {"status": "rectifying", "ordered_on": event.on, "deadline": event.deadline}
        elif kind == "ReportSubmitted":
            values = {"status": "under_review", "reports": findings.c.reports + 1}
        elif kind == "ReviewPassed":
            values = {"status": "closed", "closed_on": event.on}
        elif kind == "ReviewFailed":
            values = {"status": "rectifying", "deadline": event.deadline,
                      "strikes": findings.c.strikes + 1}
        elif kind == "ExtensionGranted":
            values = {"deadline": event.to}
        elif kind == "EscalationRaised":
            row = conn.execute(
                findings.select().with_only_columns(findings.c.rung)
                .where(findings.c.finding_id == fid)
            ).first()
            current = row[0] if row else None
            if current is None or rung_of(event.code) > rung_of(current):
                values["rung"] = event.code
            if event.code == "supervise" and event.due is not None:
                values["deadline"] = event.due
        conn.execute(findings.update().where(findings.c.finding_id == fid)
                     .values(**values, **common))


def list_findings(conn: Connection, *, unit: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    """Findings, newest first, optionally of one unit and/or one status."""
    query = findings.select().order_by(findings.c.on.desc(), findings.c.position.desc())
    if unit is not None:
        query = query.where(findings.c.unit == unit)
    if status is not None:
        query = query.where(findings.c.status == status)
    return [dict(row._mapping) for row in conn.execute(query)]
