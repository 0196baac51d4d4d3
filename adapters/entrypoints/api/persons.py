"""Persons (人员) of the units: add one, end one (离任), list them, read a person's record
(档案); a unit's principal (主要负责人) on a date.

Admins and inspectors add and end persons; every role reads. A unit token sees its own
unit's persons only: another unit's answer 404, as if they did not exist (as findings do).
Every write goes through :class:`~adapters.entrypoints.api.deps.Command`; the values are
checked by the domain (domain/persons.py), the reads come from the persons read model.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import (
    PREFIX,
    Components,
    Cursor,
    Limit,
    Service,
    Who,
    Write,
    forbid,
)
from adapters.entrypoints.api.errors import ERRORS, READ_ERRORS
from adapters.infrastructure.tokens import Principal
from adapters.service_layer import persons as service
from domain.errors import NotFound
from domain.persons import Person
from domain.time import local_date
from projections.paging import DEFAULT_LIMIT

router = APIRouter(prefix=PREFIX, tags=["人员"])


def person_out(p: Person) -> m.PersonOut:
    return m.PersonOut.model_validate({
        "person_id": str(p.id), "unit": p.unit, "name": p.name, "post": p.post,
        "principal": p.principal, "from": p.from_date, "to": p.to_date})


def unknown_person(person_id: str) -> NotFound:
    return NotFound(f"人员 {person_id} 不存在", f"unknown person {person_id}", field="person")


def visible_person(c: Components, who: Principal, person_id: str) -> Person:
    person = service.get_person(c.app, person_id)
    if not who.sees_unit(person.unit):
        raise unknown_person(person_id)
    return person


def own_unit(who: Principal, unit: str | None) -> str | None:
    """The unit a list is of: a unit token's own (naming another is a 404)."""
    if who.role != "unit":
        return unit
    if unit is not None and unit != who.unit:
        raise NotFound(f"单位 {unit} 不存在", f"unknown unit {unit!r}", field="unit")
    return who.unit


# ------------------------------------------------------------------- writes


@router.post("/persons", status_code=201, response_model=m.PersonCreated,
             summary="登记单位的人员（管理员、督学）", responses=ERRORS)
def add_person(body: m.PersonIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.PersonCreated:
        pid = write.app.add_person(unit=body.unit, name=body.name, post=body.post,
                                   principal=body.principal, from_date=body.from_date,
                                   to_date=body.to_date, actor=write.actor)
        return m.PersonCreated(person_id=str(pid))

    return write("person.add", body, run)


@router.post("/persons/{person_id}/end", status_code=201, response_model=m.PersonOut,
             summary="办理人员离任（管理员、督学）", responses=ERRORS)
def end_person(person_id: str, body: m.PersonEndIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.PersonOut:
        return person_out(write.app.end_person(person_id, on=body.on, actor=write.actor))

    return write("person.end", body, run,
                 check=lambda: visible_person(write.c, write.who, person_id))


# -------------------------------------------------------------------- reads


@router.get("/persons", response_model=m.PersonList,
            summary="人员列表（责任单位令牌只看到本单位的人员）", responses=READ_ERRORS)
def list_persons(
    c: Service,
    who: Who,
    unit: Annotated[str | None, Query(max_length=64, description="只列这个单位的人员")] = None,
    as_of: Annotated[date | None, Query(description="只列这一天（YYYY-MM-DD）在任的人员")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> m.PersonList:
    forbid(who, "person.read")
    rows, after = service.listing_page(c.app, c.db, unit=own_unit(who, unit), on=as_of,
                                       runner=c.runner, limit=limit, cursor=cursor)
    items = [m.PersonOut.model_validate(r) for r in rows]
    return m.PersonList(persons=items, count=len(items), next_cursor=after)


def record_out(data: dict[str, Any]) -> m.PersonRecordOut:
    return m.PersonRecordOut.model_validate({k: v for k, v in data.items() if k != "report"})


@router.get("/persons/{person_id}", response_model=m.PersonRecordOut,
            summary="人员档案：任职、接受的约谈、整改承诺、点名的问责决定"
                    "（字段同 `dudao report person ID --format json`）",
            responses=READ_ERRORS)
def get_person(person_id: str, c: Service, who: Who) -> m.PersonRecordOut:
    forbid(who, "person.read")
    data = service.record(c.app, c.db, person_id, runner=c.runner)
    if not who.sees_unit(data["unit"]):
        raise unknown_person(person_id)
    return record_out(data)


@router.get("/units/{code}/principal", response_model=m.PrincipalOut,
            summary="单位某日的主要负责人（人员登记的优先，否则为登记单位时填写的）",
            responses=READ_ERRORS)
def get_principal(
    code: str,
    c: Service,
    who: Who,
    on: Annotated[date | None, Query(description="日期（YYYY-MM-DD），默认今天（北京时间）")] = None,
) -> m.PrincipalOut:
    forbid(who, "unit.read")
    if not who.sees_unit(code):
        raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field="unit")
    day = on if on is not None else local_date(c.app.now())
    return m.PrincipalOut.model_validate(service.principal_of(c.app, code, day))
