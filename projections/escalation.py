"""The escalation read model of one policy version: what the sweep's indexed query reads.

One row per finding with the facts the rules need (as JSON), the thresholds of
every rung (worked out by :mod:`rules.ladder` from the policy and the working-day
calendar), and ``next_at``: the earliest day on which some rung could fire,
indexed. The sweep asks for the rows whose ``next_at`` has come, and nothing
else. Each policy version (by content digest) has its own table and position,
so editing a policy file rebuilds its read model from the event log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Column, Date, Index, Integer, String, Table, Text, bindparam, select
from sqlalchemy.engine import Connection

from domain.calendar import WorkCalendar
from domain.rungs import deadline_after_escalation, recorded_rung
from projections.events import FINDING_EVENTS
from projections.runner import metadata
from rules.ladder import NEVER, Step, next_step, next_threshold, plan
from rules.policy import Policy


def table_for(policy: Policy) -> Table:
    name = f"escalation_{policy.policy}_v{policy.version}_{policy.digest}"
    existing = metadata.tables.get(name)
    if existing is not None:
        return existing
    return Table(
        name,
        metadata,
        Column("finding_id", String(36), primary_key=True),
        Column("next_at", Date),
        Column("status", String(20), nullable=False),
        Column("state", Text, nullable=False),
        Column("position", Integer, nullable=False),
        Index(f"ix_{name}_next_at", "next_at"),
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class EscalationProjection:
    """Keeps the escalation facts and the next threshold of every finding."""

    def __init__(self, policy: Policy, calendar: WorkCalendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self.table = table_for(policy)
        self.name = self.table.name
        self.tables: Sequence[Table] = (self.table,)
        self.index = {code: policy.index(code) for code in policy.order}

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, events: list[tuple[int, Any]]) -> None:
        """Apply a page of events: one query to read the findings it touches, their new
        states worked out in memory, one batch of inserts and one of updates."""
        kinds = FINDING_EVENTS
        ours = [(p, e) for p, e in events if type(e) in kinds]
        if not ours:
            return
        t = self.table
        touched = {str(e.originator_id) for _, e in ours}
        states: dict[str, dict[str, Any]] = {}
        ids = sorted(touched)
        for i in range(0, len(ids), 500):
            rows = conn.execute(select(t.c.finding_id, t.c.state)
                                .where(t.c.finding_id.in_(ids[i:i + 500]))).all()
            states.update((fid, json.loads(text)) for fid, text in rows)
        existing = set(states)
        changed: dict[str, int] = {}
        for position, event in ours:
            fid = str(event.originator_id)
            if self._mutate(states, fid, event):
                changed[fid] = position
        inserts, updates = [], []
        for fid, position in changed.items():
            state = states[fid]
            row = {"next_at": self.next_at(state), "status": state["status"],
                   "state": json.dumps(state, ensure_ascii=False), "position": position}
            if fid in existing:
                updates.append({"fid": fid, **row})
            else:
                inserts.append({"finding_id": fid, **row})
        if inserts:
            conn.execute(t.insert(), inserts)
        if updates:
            conn.execute(
                t.update().where(t.c.finding_id == bindparam("fid")).values(
                    next_at=bindparam("next_at"), status=bindparam("status"),
                    state=bindparam("state"), position=bindparam("position")),
                updates,
            )

    def _mutate(self, states: dict[str, dict[str, Any]], fid: str, event: Any) -> bool:
        kind = FINDING_EVENTS[type(event)]
        if kind == "Recorded":
            states[fid] = {
                "finding_id": fid, "unit": event.unit, "severity": event.severity,
                "text": event.text, "status": "recorded", "deadline": None,
                "report_on": None, "failed_reviews": [], "falsified": [],
                "interview_held_on": None, "fired": {}, "repeats": {}, "top": -1,
            }
            return True
        state = states.get(fid)
        if state is None:
            return False
        if kind == "RectificationOrdered":
            state.update(status="rectifying", deadline=_iso(event.deadline))
        elif kind == "ReportSubmitted":
            state.update(status="under_review", report_on=_iso(event.on))
        elif kind == "ReviewPassed":
            state.update(status="closed", report_on=None)
        elif kind == "ReviewFailed":
            state.update(status="rectifying", report_on=None, deadline=_iso(event.deadline))
            state["failed_reviews"].append(_iso(event.on))
        elif kind == "ReportFoundFalse":
            state.update(status="rectifying", report_on=None)
            state["falsified"].append(_iso(event.on))
        elif kind == "ExtensionGranted":
            state["deadline"] = _iso(event.to)
        elif kind == "InterviewHeld":
            state["interview_held_on"] = _iso(event.on)
        elif kind == "EscalationRaised":
            d = event.__dict__
            # an event recorded before events carried their rung: the built-in table's
            rung = d if d.get("per_deadline") is not None else recorded_rung(d)
            code = rung["code"]
            if rung["per_deadline"]:
                state["repeats"].setdefault(code, []).append(_iso(event.deadline))
            else:
                state["fired"][code] = {"threshold": _iso(event.threshold),
                                        "due": _iso(event.due)}
            # the order in this policy's ladder (a rung it does not have: as recorded)
            order = self.index.get(code, rung["rung"])
            state["top"] = max(state["top"], order)
            state["deadline"] = deadline_after_escalation(rung["sets_deadline"],
                                                          _iso(event.due), state["deadline"])
        else:
            return False
        return True

    def next_at(self, state: dict[str, Any]) -> Any:
        if state["status"] in ("closed", "recorded"):
            state.pop("steps", None)
            return None
        state.pop("skip_reason", None)
        try:
            steps = plan(state, self.policy, self.calendar)
        except Exception as e:
            # Issue 11: kept due from the first day, so every sweep retries it and names it.
            state["steps"] = {}
            state["skip_reason"] = str(e)
            return date.min
        state["steps"] = {code: {"day": s.day.isoformat(), "n": s.day.toordinal(),
                                 "due": s.due.isoformat() if s.due else None,
                                 "via": s.via, "fired": s.fired}
                          for code, s in steps.items()}
        return next_threshold(state, steps, self.policy)


def next_rungs(conn: Connection, projection: EscalationProjection,
               ids: Sequence[str]) -> dict[str, Step | None]:
    """For each of these findings the rung that could fire next, with the day from whose
    start it applies, as this read model (the sweep's) works it out (None: none can, e.g.
    closed, the ladder done, a report under review pausing the rest). A finding the model
    has not got (no rung can fire on it yet) is left out."""
    t = projection.table
    out: dict[str, Step | None] = {}
    ids = sorted(ids)
    for i in range(0, len(ids), 500):
        rows = conn.execute(select(t.c.finding_id, t.c.state)
                            .where(t.c.finding_id.in_(ids[i:i + 500]))).all()
        for fid, text in rows:
            state = json.loads(text)
            steps = {code: Step(code, date.fromisoformat(x["day"]),
                                date.fromisoformat(x["due"]) if x.get("due") else None,
                                NEVER, x["via"], x["fired"])
                     for code, x in (state.get("steps") or {}).items()}
            out[fid] = next_step(state, steps, projection.policy)
    return out
