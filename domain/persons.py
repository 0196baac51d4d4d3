"""Persons (人员) of a unit: who holds which post (职务) from when to when, and who is the
principal (主要负责人).

Two aggregates:

- :class:`Person`: one person at one unit in one post: name, post, principal or not, the
  first and the last day in post (``to_date`` is None while in post). A new post is a new
  record (``end`` the old one, ``add`` the new one).
- :class:`Roster` (名册): the unit's persons, one per unit. It holds what the rule
  "one principal at a time" needs, so the rule is kept in one aggregate: a person is
  saved together with the roster that admitted them, and two people added at the same
  moment cannot both pass the check (the second save conflicts).

The rule: the periods of two principals of a unit never share a day. Periods are
inclusive (``from`` and ``to`` are days in post), so a successor's first day is after the
predecessor's last. While a principal is in post (not ended) their period runs on, so
no successor can be added until they are ended (``person end``): ending the first is how a
handover is recorded, then the next is added from a later day. (A past principal may be
recorded with both dates, before the first one's period.) The principal of a unit on a day
is the principal whose ``from ≤ day ≤ to``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, Refused
from domain.values import check_day, check_not_in_future, check_text

MAX_NAME = 50  # as a unit's registered principal's name
MAX_POST = 100


def _check_period(from_date: date, to_date: date | None, recorded_at: datetime) -> None:
    check_day(from_date, "from")
    check_not_in_future(from_date, recorded_at, "from")
    if to_date is not None:
        check_day(to_date, "to")
        check_not_in_future(to_date, recorded_at, "to")
        if to_date < from_date:
            raise InvalidInput(
                f"离任日期 to={to_date} 早于任职日期 from={from_date}",
                f"to={to_date} is before from={from_date}",
                field="to",
            )


class Person(Aggregate):
    """One person at one unit, in one post, over one period."""

    @event("Added")
    def __init__(
        self,
        id: UUID,
        unit: str,
        name: str,
        post: str | None,
        principal: bool,
        from_date: date,
        to_date: date | None,
        actor: str,
        recorded_at: datetime,
    ) -> None:
        self.unit = unit
        self.name = name
        self.post = post
        self.principal = principal
        self.from_date = from_date
        self.to_date = to_date
        self.added_by = actor
        self.recorded_at = recorded_at

    @classmethod
    def add(
        cls,
        *,
        id: UUID,
        unit: str,
        name: str,
        post: str | None = None,
        principal: bool = False,
        from_date: date,
        to_date: date | None = None,
        actor: str,
        recorded_at: datetime,
    ) -> Person:
        """登记人员, after checking every value (the unit's existence and the roster's rule
        are the service's and the roster's to check)."""
        name = check_text(name, "name", "人员姓名", max_len=MAX_NAME)
        post = (check_text(post, "post", "职务", max_len=MAX_POST)
                if post is not None and post.strip() else None)
        if not isinstance(principal, bool):
            raise InvalidInput("principal 必须是是或否", "principal must be true or false",
                               field="principal")
        _check_period(from_date, to_date, recorded_at)
        return cls(id=id, unit=unit, name=name, post=post, principal=principal,
                   from_date=from_date, to_date=to_date, actor=actor, recorded_at=recorded_at)

    # ------------------------------------------------------------------ queries

    def in_post(self, day: date) -> bool:
        return self.from_date <= day and (self.to_date is None or day <= self.to_date)

    @property
    def label(self) -> str:
        """``李明（校长，主要负责人）``."""
        parts = [p for p in (self.post, "主要负责人" if self.principal else None) if p]
        return f"{self.name}（{'，'.join(parts)}）" if parts else self.name

    # ----------------------------------------------------------------- commands

    def end(self, *, on: date, actor: str, recorded_at: datetime) -> None:
        """离任: ``on`` is the last day in post."""
        check_day(on, "on")
        if self.to_date is not None:
            raise Refused(
                f"{self.name}已于{self.to_date}离任，不能再次办理离任",
                f"{self.name} already left on {self.to_date}",
                field="person",
            )
        if on < self.from_date:
            raise InvalidInput(
                f"离任日期 on={on} 早于任职日期（{self.from_date}）",
                f"on={on} is before the first day in post ({self.from_date})",
                field="on",
            )
        check_not_in_future(on, recorded_at)
        self._ended(on=on, actor=actor, recorded_at=recorded_at)

    @event("Ended")
    def _ended(self, on: date, actor: str, recorded_at: datetime) -> None:
        self.to_date = on


@dataclass(frozen=True)
class Member:
    """A person as the roster knows them."""

    person_id: str
    name: str
    post: str | None
    principal: bool
    from_date: date
    to_date: date | None

    def in_post(self, day: date) -> bool:
        return self.from_date <= day and (self.to_date is None or day <= self.to_date)

    def overlaps(self, from_date: date, to_date: date | None) -> bool:
        return ((self.to_date is None or from_date <= self.to_date)
                and (to_date is None or self.from_date <= to_date))


class Roster(Aggregate):
    """名册: the persons of one unit (its id is ``domain.ids.roster_id(unit)``)."""

    @event("Opened")
    def __init__(self, id: UUID, unit: str, actor: str, recorded_at: datetime) -> None:
        self.unit = unit
        self.members: dict[str, Member] = {}

    # ------------------------------------------------------------------ queries

    def principal_at(self, day: date) -> Member | None:
        """The principal in post on ``day`` (at most one, by the rule), or None."""
        return next((m for m in self.members.values() if m.principal and m.in_post(day)), None)

    def same_as(self, person: Person) -> Member | None:
        """A member recorded with the same name, post, principal and first day (a repeated
        ``person add``)."""
        return next((m for m in self.members.values()
                     if (m.name, m.post, m.principal, m.from_date, m.to_date)
                     == (person.name, person.post, person.principal, person.from_date,
                         person.to_date)), None)

    # ----------------------------------------------------------------- commands

    def admit(self, person: Person, *, actor: str, recorded_at: datetime) -> None:
        """Take a new person on; a principal whose period shares a day with another
        principal's is refused (see the module's rule)."""
        if person.unit != self.unit:
            raise Refused(f"人员属于单位 {person.unit}，不能登记到 {self.unit} 的名册",
                          f"the person belongs to {person.unit}, not {self.unit}",
                          field="unit")
        if str(person.id) in self.members:
            raise Refused("该人员已在名册中", "the person is already on the roster",
                          field="person")
        if person.principal:
            for m in self.members.values():
                if not (m.principal and m.overlaps(person.from_date, person.to_date)):
                    continue
                if m.to_date is None:
                    raise Refused(
                        f"{self.unit} 已有主要负责人{m.name}（自{m.from_date}起在任，人员 "
                        f"{m.person_id}）；请先办理其离任（dudao person end {m.person_id} "
                        "--on 日期），新任主要负责人的任职日期须晚于离任日期",
                        f"{self.unit} already has a principal in post, {m.name} (since "
                        f"{m.from_date}); end that first",
                        field="principal",
                    )
                raise Refused(
                    f"主要负责人任职期间与{m.name}（{m.from_date}至{m.to_date}）重叠；"
                    f"新任的任职日期须晚于{m.to_date}",
                    f"the principal's period overlaps {m.name}'s ({m.from_date}..{m.to_date})",
                    field="from",
                )
        self._admitted(person_id=str(person.id), name=person.name, post=person.post,
                       principal=person.principal, from_date=person.from_date,
                       to_date=person.to_date, actor=actor, recorded_at=recorded_at)

    @event("Admitted")
    def _admitted(self, person_id: str, name: str, post: str | None, principal: bool,
                  from_date: date, to_date: date | None, actor: str,
                  recorded_at: datetime) -> None:
        self.members[person_id] = Member(person_id, name, post, principal, from_date, to_date)

    def release(self, person: Person, *, actor: str, recorded_at: datetime) -> None:
        """The person left (``person.to_date``, set by :meth:`Person.end` just before)."""
        member = self.members.get(str(person.id))
        if member is None or person.to_date is None:
            raise Refused("该人员不在名册中或尚未离任", "the person is not on the roster or has "
                          "not left", field="person")
        self._released(person_id=str(person.id), on=person.to_date, actor=actor,
                       recorded_at=recorded_at)

    @event("Released")
    def _released(self, person_id: str, on: date, actor: str, recorded_at: datetime) -> None:
        m = self.members[person_id]
        self.members[person_id] = Member(m.person_id, m.name, m.post, m.principal,
                                         m.from_date, on)


def member_data(m: Member) -> dict[str, Any]:
    return {"person_id": m.person_id, "name": m.name, "post": m.post,
            "principal": m.principal, "from": m.from_date, "to": m.to_date}
