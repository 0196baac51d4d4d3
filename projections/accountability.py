"""The accountability read model: what the reports and the bulletin are computed from.

Four tables, kept by one projection:

- ``acc_units``: every registered unit (code, name, parent, principal);
- ``acc_findings``: one row per finding with the facts the figures need: the
  deadline in force (set by an order, a failed review or an extension; a 督办
  due date is not one, see ``projections/reports.py``), the last report and
  whether the review that closed the finding passed a report submitted on or
  before that deadline;
- ``acc_escalations``: one row per escalation event;
- the timeline of each finding (its events, for the reports) is a JSON column
  of its ``acc_findings`` row.

The projection writes a whole page of events at once (``apply_many``): it
reads the rows of the findings the page touches in one query, applies the
events to them in memory and writes them back with executemany, which is
what lets a replay keep up with the budget (bench/replay.py).

``as_of`` makes it ignore every event recorded after that moment: a runner
over a scratch database with such a projection answers "what the system knew
then" without touching the live read models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
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

from domain.rungs import deadline_after_escalation, recorded_rung
from domain.time import SHANGHAI
from domain.units import guess_kind
from projections.bulk import Bulk
from projections.events import FINDING_EVENTS, UNIT_KIND_CHANGED, UNIT_REGISTERED
from projections.findings import NO_COUNT as _NO_COUNT
from projections.findings import apply_event as _view_event
from projections.findings import load as _view_load
from projections.runner import metadata

units = Table(
    "acc_units",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent", String(64)),
    Column("principal", String(100)),
    Column("kind", String(20), nullable=False),
    # what the unit is (domain.units.KINDS): as registered, or guessed, then as changed
    Column("category", String(30), nullable=False, server_default="other"),
    Column("position", Integer, nullable=False),
)

FINDING_COLUMNS = (
    "finding_id", "unit", "severity", "status", "on", "text", "inspector", "task",
    "ordered_on", "deadline", "deadline_provisional", "current_deadline", "last_report_on",
    "closed_on", "closed_on_time", "reports", "strikes", "extensions", "interviews", "rung",
    "rung_order",
    "recorded_at", "position", "timeline",
)

findings = Table(
    "acc_findings",
    metadata,
    Column("finding_id", String(36), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("on", Date, nullable=False),
    Column("text", Text, nullable=False),
    Column("inspector", String(100), nullable=False),
    Column("task", String(100)),
    Column("ordered_on", Date),
    # the deadline in force: order, failed review (new deadline), extension
    Column("deadline", Date),
    # that deadline was counted on a provisional calendar year: shown as 暂定
    Column("deadline_provisional", Boolean, nullable=False, server_default=false()),
    # what the unit must meet now: the deadline in force or a later 督办 due date
    Column("current_deadline", Date),
    Column("last_report_on", Date),
    Column("closed_on", Date),
    Column("closed_on_time", Boolean),
    Column("reports", Integer, nullable=False),
    Column("strikes", Integer, nullable=False),
    Column("extensions", Integer, nullable=False),
    Column("interviews", Integer, nullable=False),
    Column("rung", String(20)),
    Column("rung_order", Integer),  # the order the highest escalation was recorded with
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("position", Integer, nullable=False),
    # the finding's events, oldest first, as JSON: [[position, kind, on, recorded_at,
    # actor, [the event's TIMELINE_ARGS]], ...] (one column rather than a row per
    # event: a replay writes a row per finding per page instead of one per event)
    Column("timeline", Text, nullable=False),
    Index("ix_acc_findings_unit", "unit"),
)

escalations = Table(
    "acc_escalations",
    metadata,
    Column("position", Integer, primary_key=True),
    Column("finding_id", String(36), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("code", String(20), nullable=False),
    Column("rung", Integer, nullable=False),
    # the rung's name and mode as the event recorded them (the policy may change since)
    Column("name", String(40), nullable=False),
    Column("mode", String(30), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("policy", String(100), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("threshold", Date, nullable=False),
    Column("due", Date),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_acc_escalations_unit", "unit"),
)

CHUNK = 500
BULK_UNITS = Bulk(units)
BULK_FINDINGS = Bulk(findings, key="finding_id")
BULK_ESCALATIONS = Bulk(escalations)


def local(moment: datetime) -> datetime:
    """Times are stored as Asia/Shanghai (SQLite keeps no offset; read back with ``aware``)."""
    return moment.astimezone(SHANGHAI)


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


# What a timeline entry keeps of each event (reports.describe words it in Chinese).
TIMELINE_ARGS: dict[str, tuple[str, ...]] = {
    "Recorded": ("inspector", "text"),
    "RectificationOrdered": ("within", "calendar_days", "deadline", "provisional"),
    "ReportSubmitted": ("text",),
    "ReviewPassed": ("note",),
    "ReviewFailed": ("deadline", "note", "provisional"),
    "ReportFoundFalse": ("note",),
    "ExtensionGranted": ("previous", "to", "reason"),
    "InterviewHeld": ("interviewee", "minutes", "commitments"),
    "EscalationRaised": ("code", "rule", "policy", "policy_version", "due", "name", "reason"),
    "ExtensionRequested": ("to", "reason"),
    "ExtensionRequestDecided": ("granted", "note"),
}


class AccountabilityProjection:
    """Keeps ``acc_*`` from Unit and Finding events.

    A live one (no ``as_of``) followed by a ``FindingsProjection(follow=...)`` also
    works out that projection's ``findings_view`` rows in the same pass over the page
    (one dispatch per event instead of two); the follower, called next with the same
    page in the same transaction, only writes them.
    """

    tables = (units, findings, escalations)

    def __init__(self, as_of: datetime | None = None, name: str = "accountability") -> None:
        self.as_of = as_of
        self.name = name
        self.view: Any = None  # the FindingsProjection that follows this one, if any
        self.page: tuple[Any, ...] | None = None  # (batch, conn, new rows, changed rows)

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, batch: Sequence[tuple[int, Any]]) -> None:
        as_of = self.as_of
        view = self.view is not None and as_of is None
        self.page = None
        unit_rows: list[dict[str, Any]] = []
        kind_changes: list[tuple[str, str]] = []
        new: dict[str, dict[str, Any]] = {}
        touched: set[str] = set()
        recorded: set[str] = set()
        work: list[tuple[int, str, str, Any]] = []
        kinds = FINDING_EVENTS
        for position, event in batch:
            cls = type(event)
            kind = kinds.get(cls)
            if kind is None:
                if cls is UNIT_KIND_CHANGED:
                    if as_of is None or event.recorded_at <= as_of:
                        kind_changes.append((event.code, event.kind))
                    continue
                if cls is not UNIT_REGISTERED:
                    continue
                if as_of is None or event.recorded_at <= as_of:
                    unit_rows.append({
                        "code": event.code, "name": event.name, "parent": event.parent,
                        "principal": event.principal, "kind": event.kind,
                        "category": getattr(event, "category", None) or guess_kind(event.name),
                        "position": position,
                    })
                continue
            if as_of is not None and event.recorded_at > as_of:
                continue
            fid = str(event.originator_id)
            if kind == "Recorded":
                recorded.add(fid)
            elif fid not in recorded:
                touched.add(fid)  # recorded on an earlier page: its row is read first
            work.append((position, fid, kind, event))

        rows = self._load(conn, touched)
        vnew: dict[str, dict[str, Any]] = {}
        vrows: dict[str, dict[str, Any]] = _view_load(conn, touched) if view else {}
        lines: dict[str, list[list[Any]]] = {}
        esc_rows: list[dict[str, Any]] = []
        timeline_args = TIMELINE_ARGS
        for position, fid, kind, e in work:
            d = e.__dict__
            recorded_at = d["recorded_at"]
            if kind == "Recorded":
                row = {
                    "finding_id": fid, "unit": d["unit"], "severity": d["severity"],
                    "status": "recorded", "on": d["on"], "text": d["text"],
                    "inspector": d["inspector"], "task": d["task"], "ordered_on": None,
                    "deadline": None, "deadline_provisional": False,
                    "current_deadline": None, "last_report_on": None,
                    "closed_on": None, "closed_on_time": None, "reports": 0, "strikes": 0,
                    "extensions": 0, "interviews": 0, "rung": None, "rung_order": None,
                    "recorded_at": local(recorded_at), "position": position, "timeline": "[]",
                }
                new[fid] = row
                if view:
                    vnew[fid] = {
                        "finding_id": fid, "unit": d["unit"], "status": "recorded",
                        "severity": d["severity"], "on": d["on"], "inspector": d["inspector"],
                        "text": d["text"], "task": d["task"], "ordered_on": None,
                        "deadline": None, **_NO_COUNT, "deadline_provisional": False,
                        "rung": None, "rung_order": None, "strikes": 0, "reports": 0,
                        "closed_on": None, "extension_requested_on": None,
                        "recorded_at": recorded_at,
                        "updated_at": recorded_at, "version": d["originator_version"],
                        "position": position,
                    }
            else:
                if view:
                    v = vnew.get(fid) or vrows.get(fid)
                    if v is not None:
                        _view_event(v, kind, d, position)
                row = new.get(fid) or rows.get(fid)  # type: ignore[assignment]
                if row is None:
                    continue  # a finding recorded after as_of cannot have later events before it
                row["position"] = position
                if kind == "RectificationOrdered":
                    row["status"] = "rectifying"
                    row["ordered_on"] = d["on"]
                    row["deadline"] = row["current_deadline"] = d["deadline"]
                    row["deadline_provisional"] = bool(d.get("provisional", False))
                elif kind == "ReportSubmitted":
                    row["status"] = "under_review"
                    row["last_report_on"] = d["on"]
                    row["reports"] += 1
                elif kind == "ReviewPassed":
                    row["status"] = "closed"
                    row["closed_on"] = d["on"]
                    row["closed_on_time"] = (
                        row["last_report_on"] is not None and row["deadline"] is not None
                        and row["last_report_on"] <= row["deadline"]
                    )
                elif kind == "ReportFoundFalse":
                    row["status"] = "rectifying"
                elif kind == "ReviewFailed":
                    row["status"] = "rectifying"
                    row["strikes"] += 1
                    row["deadline"] = row["current_deadline"] = d["deadline"]
                    row["deadline_provisional"] = bool(d.get("provisional", False))
                elif kind == "ExtensionGranted":
                    to = d["to"]
                    row["extensions"] += 1
                    row["deadline"] = to
                    row["deadline_provisional"] = False
                    row["current_deadline"] = max(to, row["current_deadline"] or to)
                elif kind == "InterviewHeld":
                    row["interviews"] += 1
                elif kind == "EscalationRaised":
                    rung = recorded_rung(d)
                    code = rung["code"]
                    # the highest so far (a repeating rung, 预警, may come again below it)
                    if row["rung"] is None or rung["rung"] >= (row["rung_order"] or 0):
                        row["rung"], row["rung_order"] = code, rung["rung"]
                    row["current_deadline"] = deadline_after_escalation(
                        rung["sets_deadline"], d["due"], row["current_deadline"])
                    esc_rows.append({
                        "position": position, "finding_id": fid, "unit": row["unit"],
                        "code": code, "rung": rung["rung"], "name": rung["name"],
                        "mode": rung["mode"], "rule": d["rule"],
                        "policy": d["policy"], "policy_version": d["policy_version"],
                        "threshold": d["threshold"], "due": d["due"],
                        "decided_at": local(d["decided_at"]),
                    })
            line = lines.get(fid)
            if line is None:
                line = lines[fid] = []
            line.append([position, kind, d["threshold"] if kind == "EscalationRaised"
                         else d.get("on"), recorded_at, d.get("actor"),
                         [d.get(a) for a in timeline_args.get(kind, ())]])
        for fid, line in lines.items():
            # append this page's entries to the stored JSON array without re-reading it
            row = new.get(fid) or rows[fid]
            old, added = row["timeline"], orjson.dumps(line).decode()
            row["timeline"] = added if old == "[]" else f"{old[:-1]},{added[1:]}"

        BULK_UNITS.insert(conn, unit_rows)
        for code, category in kind_changes:
            conn.execute(units.update().where(units.c.code == code).values(category=category))
        BULK_FINDINGS.insert(conn, list(new.values()))
        BULK_FINDINGS.update(conn, list(rows.values()))
        BULK_ESCALATIONS.insert(conn, esc_rows)
        if view:
            self.page = (batch, conn, list(vnew.values()), list(vrows.values()))

    @staticmethod
    def _load(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        id_list = sorted(ids)
        for i in range(0, len(id_list), CHUNK):
            chunk = id_list[i:i + CHUNK]
            for r in conn.execute(select(findings).where(findings.c.finding_id.in_(chunk))):
                out[r.finding_id] = dict(r._mapping)
        return out
