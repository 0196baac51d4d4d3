"""The persons read model: every person of every unit, and every interview held.

- ``persons_view``: one row per person record (domain/persons.py): unit, name, post,
  principal, first and last day in post. ``person list`` and the reports read it, so
  listing persons replays nothing.
- ``interviews_view``: one row per interview held (``Finding.InterviewHeld``): the
  finding, the interviewee, the person interviewed if one was named, the minutes and the
  commitments (整改承诺, JSON). The unit of an interview is its finding's (``acc_findings``,
  kept by the accountability projection in the same database).

``as_of`` makes it ignore every event recorded after that moment (a scratch replay for a
report as of then), as the other read models do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from types import SimpleNamespace
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
    inspect,
    select,
)
from sqlalchemy.engine import Connection

from domain.findings import Finding
from domain.persons import Person
from domain.rungs import PERSON_MODES
from domain.time import SHANGHAI
from projections.accountability import findings as acc_findings
from projections.accountability import local
from projections.accountability import units as acc_units
from projections.events import event_classes
from projections.paging import Key, page
from projections.runner import metadata

persons = Table(
    "persons_view",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("unit", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("post", String(200)),
    Column("principal", Boolean, nullable=False),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_persons_view_unit", "unit"),
)

interviews = Table(
    "interviews_view",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("finding_id", String(36), nullable=False),
    Column("person_id", String(36)),
    Column("interviewee", String(200), nullable=False),
    Column("on", Date, nullable=False),
    Column("minutes", Text, nullable=False),
    # [{"on": "YYYY-MM-DD", "text": ...}, ...]
    Column("commitments", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_interviews_view_finding", "finding_id"),
    Index("ix_interviews_view_person", "person_id"),
)

PERSON_EVENTS = event_classes(Person, "Added", "Ended")
INTERVIEW_HELD: Any = getattr(Finding, "InterviewHeld")  # noqa: B009


class PersonsProjection:
    """Applies Person events and interviews to ``persons_view`` and ``interviews_view``."""

    tables = (persons, interviews)

    def __init__(self, as_of: datetime | None = None, name: str = "persons") -> None:
        self.as_of = as_of
        self.name = name

    def apply(self, conn: Connection, position: int, event: Any) -> None:
        self.apply_many(conn, [(position, event)])

    def apply_many(self, conn: Connection, batch: Sequence[tuple[int, Any]]) -> None:
        as_of = self.as_of
        kinds = PERSON_EVENTS
        held = INTERVIEW_HELD
        added: list[dict[str, Any]] = []
        ended: list[tuple[str, date, int]] = []
        interview_rows: list[dict[str, Any]] = []
        for position, e in batch:
            cls = type(e)
            kind = kinds.get(cls)
            if kind is None and cls is not held:
                continue
            if as_of is not None and e.recorded_at > as_of:
                continue
            if cls is held:
                d = e.__dict__
                interview_rows.append({
                    "position": position, "finding_id": str(e.originator_id),
                    "person_id": d.get("person_id"), "interviewee": e.interviewee,
                    "on": e.on, "minutes": e.minutes,
                    "commitments": orjson.dumps(d.get("commitments") or []).decode(),
                    "recorded_at": local(e.recorded_at),
                })
            elif kind == "Added":
                added.append({
                    "person_id": str(e.originator_id), "unit": e.unit, "name": e.name,
                    "post": e.post, "principal": e.principal, "from_date": e.from_date,
                    "to_date": e.to_date, "recorded_at": local(e.recorded_at),
                    "position": position,
                })
            else:
                ended.append((str(e.originator_id), e.on, position))
        if added:
            conn.execute(persons.insert(), added)
        for person_id, on, position in ended:
            # a person added on this page is inserted above, so it is there to update
            conn.execute(persons.update().where(persons.c.person_id == person_id)
                         .values(to_date=on, position=position))
        if interview_rows:
            conn.execute(interviews.insert(), interview_rows)


# ------------------------------------------------------------------- queries


def has_tables(conn: Connection) -> bool:
    return bool(inspect(conn).has_table(persons.name))


def _person(row: Any) -> dict[str, Any]:
    return {"person_id": row.person_id, "unit": row.unit, "name": row.name, "post": row.post,
            "principal": bool(row.principal), "from": row.from_date, "to": row.to_date}


def in_post(p: dict[str, Any], day: date) -> bool:
    return bool(p["from"] <= day and (p["to"] is None or day <= p["to"]))


def list_persons(conn: Connection, *, unit: str | None = None,
                 on: date | None = None) -> list[dict[str, Any]]:
    """Persons by unit, principals first, then by first day and name; with ``on``, only
    those in post that day."""
    query = select(persons).order_by(persons.c.unit, persons.c.principal.desc(),
                                     persons.c.from_date, persons.c.name, persons.c.person_id)
    if unit is not None:
        query = query.where(persons.c.unit == unit)
    if on is not None:
        query = query.where(persons.c.from_date <= on).where(
            (persons.c.to_date.is_(None)) | (persons.c.to_date >= on))
    return [_person(r) for r in conn.execute(query)]


PERSON_ORDER = (Key(persons.c.unit), Key(persons.c.principal, descending=True),
                Key(persons.c.from_date), Key(persons.c.name), Key(persons.c.person_id))


def page_persons(conn: Connection, *, unit: str | None = None, on: date | None = None,
                 limit: int, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of :func:`list_persons`'s rows, in its order, after ``cursor``; and the
    next page's cursor."""
    query = select(persons)
    if unit is not None:
        query = query.where(persons.c.unit == unit)
    if on is not None:
        query = query.where(persons.c.from_date <= on).where(
            (persons.c.to_date.is_(None)) | (persons.c.to_date >= on))
    got = page(conn, query, PERSON_ORDER, limit=limit, cursor=cursor)
    return [_person(SimpleNamespace(**r)) for r in got.rows], got.next_cursor


def find_person(conn: Connection, person_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(persons).where(persons.c.person_id == person_id)).first()
    return _person(row) if row is not None else None


def principals(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every unit's principals, oldest first (empty without the table: a runner without
    this read model)."""
    if not has_tables(conn):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    query = select(persons).where(persons.c.principal.is_(True)).order_by(
        persons.c.unit, persons.c.from_date)
    for r in conn.execute(query):
        out.setdefault(r.unit, []).append(_person(r))
    return out


def principal_on(records: list[dict[str, Any]], day: date, registered: str | None) -> str | None:
    """The name of the principal in post on ``day``, else the unit's registered principal."""
    return next((p["name"] for p in records if in_post(p, day)), registered)


def _commitments(text: str) -> list[dict[str, Any]]:
    return [{"on": date.fromisoformat(c["on"]), "text": c["text"]} for c in orjson.loads(text)]


def interviews_of(conn: Connection, *, finding_ids: Sequence[str] | None = None,
                  person_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Interviews held, oldest first, of these findings or of these persons."""
    query = select(interviews).order_by(interviews.c.on, interviews.c.position)
    if finding_ids is not None:
        query = query.where(interviews.c.finding_id.in_(list(finding_ids)))
    if person_ids is not None:
        query = query.where(interviews.c.person_id.in_(list(person_ids)))
    return [{"finding_id": r.finding_id, "person_id": r.person_id,
             "interviewee": r.interviewee, "on": r.on, "minutes": r.minutes,
             "commitments": _commitments(r.commitments)}
            for r in conn.execute(query)]


def commitments_of(rows: list[dict[str, Any]],
                   texts: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The commitments of these interviews, one row each, by date promised."""
    out = [{"finding_id": i["finding_id"], "finding_text": (texts or {}).get(i["finding_id"]),
            "interview_on": i["on"], "interviewee": i["interviewee"],
            "person_id": i["person_id"], "on": c["on"], "text": c["text"]}
           for i in rows for c in i["commitments"]]
    return sorted(out, key=lambda c: (c["on"], c["interview_on"], c["finding_id"]))


def decisions_naming(conn: Connection, person: dict[str, Any]) -> list[dict[str, Any]]:
    """The committee's decisions (问责决定) naming this person: decided cases of the person's
    unit whose decision names them (cases name persons by name at the case's unit), oldest
    first, each with its date, the finding, the modes for the person in Chinese and the
    case. Empty when the table does not exist yet (a store from before the cases)."""
    from projections.cases import cases as case_table

    if not inspect(conn).has_table(case_table.name):
        return []
    rows = conn.execute(select(case_table).where(case_table.c.unit == person["unit"],
                                                 case_table.c.status == "decided")
                        .order_by(case_table.c.decided_on, case_table.c.case_id))
    out = []
    for r in rows:
        for named in r.persons or []:
            if named.get("name") != person["name"]:
                continue
            modes = "、".join(PERSON_MODES.get(m, m) for m in named.get("modes") or [])
            out.append({"on": r.decided_on, "case_id": r.case_id, "finding_id": r.finding_id,
                        "modes": modes, "aggravated": bool(r.aggravated),
                        "summary": f"“{r.finding_text}”：{modes}"
                                   f"{'（从重）' if r.aggravated else ''}"})
    return out


def person_record(conn: Connection, person_id: str, now: datetime) -> dict[str, Any] | None:
    """``report person``: the person, their posts at the unit (the records of the same name
    there, oldest first), the interviews they sat with the commitments made, and the
    decisions naming them (:func:`decisions_naming`); None for an unknown person."""
    person = find_person(conn, person_id)
    if person is None:
        return None
    today = now.astimezone(SHANGHAI).date()
    unit_name = conn.execute(select(acc_units.c.name)
                             .where(acc_units.c.code == person["unit"])).scalar()
    query = (select(persons).where(persons.c.unit == person["unit"],
                                   persons.c.name == person["name"])
             .order_by(persons.c.from_date, persons.c.position))
    posts = [_person(r) | {"this": r.person_id == person_id} for r in conn.execute(query)]
    for p in posts:
        p["in_post"] = in_post(p, today)
    held = interviews_of(conn, person_ids=[p["person_id"] for p in posts])
    ids = sorted({i["finding_id"] for i in held})
    texts = {r.finding_id: r.text for r in conn.execute(
        select(acc_findings.c.finding_id, acc_findings.c.text)
        .where(acc_findings.c.finding_id.in_(ids)))} if ids else {}
    for i in held:
        i["finding_text"] = texts.get(i["finding_id"])
    return {
        "report": "person",
        "as_of": now,
        **person,
        "unit_name": unit_name or person["unit"],
        "in_post": in_post(person, today),
        "posts": posts,
        "interviews": held,
        "commitments": commitments_of(held, texts),
        # 问责决定 naming the person: filled by the accountability cases (see the hook)
        "decisions": decisions_naming(conn, person),
    }
