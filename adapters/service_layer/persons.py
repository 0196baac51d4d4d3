"""Persons on the service: add, end, the principal at a date, lists and a person's record.

The command line calls these and so will the HTTP routes and the web pages: each entry
point's handler is one call here. Writes go through the aggregates (domain/persons.py): a
person is saved with the unit's roster in one transaction, so the roster's rule (one
principal at a time) holds however many add at once. Reads (:func:`listing`,
:func:`record`) come from the persons read model (projections/persons.py), caught up first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy.engine import Connection

from adapters.infrastructure.read_models import read_models
from domain.errors import NotFound
from domain.ids import parse_id, roster_id
from domain.persons import Person, Roster
from domain.values import check_day
from projections import persons as view
from projections.runner import Runner

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao


def find_roster(app: Dudao, unit: str) -> Roster | None:
    found = app._find(roster_id(unit), Roster)
    return found if isinstance(found, Roster) else None


def get_person(app: Dudao, person_id: UUID | str) -> Person:
    pid = parse_id(person_id)
    person = app._find(pid, Person) if pid is not None else None
    if not isinstance(person, Person):
        raise NotFound(f"人员 {person_id} 不存在", f"unknown person {person_id}",
                       field="person")
    return person


def add_person(app: Dudao, *, unit: str, name: str, post: str | None = None,
               principal: bool = False, from_date: date, to_date: date | None = None,
               actor: str) -> UUID:
    """登记人员: returns the person's id. The same person added again (same name, post,
    principal and dates) returns the first id and records nothing."""
    app.get_unit(unit)
    now = app.now()
    person = Person.add(id=uuid4(), unit=unit, name=name, post=post, principal=principal,
                        from_date=from_date, to_date=to_date, actor=actor, recorded_at=now)
    roster = find_roster(app, unit) or Roster(id=roster_id(unit), unit=unit, actor=actor,
                                              recorded_at=now)
    same = roster.same_as(person)
    if same is not None:
        return UUID(same.person_id)
    roster.admit(person, actor=actor, recorded_at=now)
    app.commit(person, roster)
    return person.id  # type: ignore[no-any-return]


def end_person(app: Dudao, person_id: UUID | str, *, on: date, actor: str) -> Person:
    """离任: ``on`` is the person's last day in post."""
    person = get_person(app, person_id)
    now = app.now()
    person.end(on=on, actor=actor, recorded_at=now)
    roster = find_roster(app, person.unit)
    if roster is None:  # pragma: no cover - a person is always saved with the roster
        raise NotFound(f"单位 {person.unit} 的名册不存在", f"no roster for {person.unit}",
                       field="person")
    roster.release(person, actor=actor, recorded_at=now)
    app.commit(person, roster)
    return person


def principal_at(app: Dudao, unit: str, day: date) -> str | None:
    """The name of the unit's principal on ``day``: the person recorded as principal that
    day, else the principal registered with the unit (None when neither)."""
    roster = find_roster(app, unit)
    member = roster.principal_at(day) if roster is not None else None
    if member is not None:
        return member.name
    found = app.find_unit(unit)
    return found.principal if found is not None else None


def principal_of(app: Dudao, unit: str, day: date) -> dict[str, Any]:
    """The unit's principal on ``day`` as :func:`principal_at` resolves it, with where the
    name comes from: ``source`` is ``person`` (a person recorded as principal that day, with
    their id, post and period), ``registered`` (the name registered with the unit) or None
    (neither). An unknown unit is a ``NotFound``."""
    check_day(day, "on")
    registered = app.get_unit(unit).principal
    roster = find_roster(app, unit)
    member = roster.principal_at(day) if roster is not None else None
    if member is not None:
        return {"unit": unit, "on": day, "name": member.name, "source": "person",
                "person_id": member.person_id, "post": member.post,
                "from": member.from_date, "to": member.to_date}
    return {"unit": unit, "on": day, "name": registered,
            "source": "registered" if registered else None,
            "person_id": None, "post": None, "from": None, "to": None}


@contextmanager
def _read(app: Dudao, db: str, runner: Runner | None = None) -> Iterator[Connection]:
    """A connection to the read models, caught up with the log. A long-lived caller (the
    HTTP service) passes its own ``runner``; otherwise one is made for this call."""
    own = runner is None
    runner = runner or read_models(app, db)
    try:
        runner.catch_up()
        with runner.engine.connect() as conn:
            yield conn
    finally:
        if own:
            runner.engine.dispose()


def listing(app: Dudao, db: str, *, unit: str | None = None, on: date | None = None,
            runner: Runner | None = None) -> list[dict[str, Any]]:
    """``person list``: persons (of a unit; in post on ``on``), from the read model."""
    if unit is not None:
        app.get_unit(unit)
    with _read(app, db, runner) as conn:
        return view.list_persons(conn, unit=unit, on=on)


def listing_page(app: Dudao, db: str, *, unit: str | None = None, on: date | None = None,
                 runner: Runner | None = None, limit: int,
                 cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of :func:`listing`, and the next page's cursor (None at the end)."""
    if unit is not None:
        app.get_unit(unit)
    with _read(app, db, runner) as conn:
        return view.page_persons(conn, unit=unit, on=on, limit=limit, cursor=cursor)


def record_data(conn: Connection, person_id: str, now: datetime) -> dict[str, Any]:
    """A person's record on an open read model connection (a report view's, for instance)."""
    pid = parse_id(person_id)
    data = view.person_record(conn, str(pid), now) if pid is not None else None
    if data is None:
        raise NotFound(f"人员 {person_id} 不存在", f"unknown person {person_id}",
                       field="person")
    return data


def record(app: Dudao, db: str, person_id: str, *,
           runner: Runner | None = None) -> dict[str, Any]:
    """``report person``: the person's record at the clock's now, from the read model."""
    with _read(app, db, runner) as conn:
        return record_data(conn, person_id, app.now())
