"""The persons' pages (人员): the unit page's forms to add a person and to end one, and a
person's record (人员档案: posts, interviews, commitments, decisions naming them).

Same roles as the API: admins and inspectors add and end persons; a ``unit`` visitor sees
its own unit's persons only (another unit's answer 404). The unit page itself, with its
人员 section, is :func:`~adapters.entrypoints.web.pages.show_unit`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.pages import live, parse_day, show_unit, submit, unit_link
from adapters.entrypoints.web.render import not_found, page
from adapters.entrypoints.web.session import Visitor
from adapters.service_layer import persons as service
from domain.errors import NotFound
from domain.persons import Person

router = APIRouter(include_in_schema=False)

MAY_ADD = "只有管理员、督学可以登记人员。"
MAY_END = "只有管理员、督学可以办理人员离任。"


@router.post("/units/{code}/persons")
async def add_person(code: str, visit: Visitor) -> Response:
    if not visit.who.sees_unit(code):
        return not_found(f"单位 {code} ")

    def run(data: dict[str, str]) -> str:
        visit.c.app.add_person(unit=code, name=data.get("name", ""),
                               post=data.get("post") or None,
                               principal=data.get("principal") == "1",
                               from_date=parse_day(data.get("from", ""), "from"),
                               actor=visit.who.actor)
        return f"{unit_link(code)}?notice=person_added#persons"

    return await submit(visit, "person.add", MAY_ADD, run,
                        lambda e, data: show_unit(visit, code, status=422, error=e.zh,
                                                  values=data))


def visible_person(visit: Visitor, person_id: str) -> Person | None:
    try:
        person = service.get_person(visit.c.app, person_id)
    except NotFound:
        return None
    return person if visit.who.sees_unit(person.unit) else None


@router.post("/persons/{person_id}/end")
async def end_person(person_id: str, visit: Visitor) -> Response:
    person = visible_person(visit, person_id)
    if person is None:
        return not_found("人员")

    def run(data: dict[str, str]) -> str:
        visit.c.app.end_person(person_id, on=parse_day(data.get("on", ""), "on"),
                               actor=visit.who.actor)
        return f"{unit_link(person.unit)}?notice=person_ended#persons"

    return await submit(visit, "person.end", MAY_END, run,
                        lambda e, _: show_unit(visit, person.unit, status=422,
                                               error=f"{person.name}：{e.zh}"))


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(person_id: str, visit: Visitor) -> Response:
    who = visit.who
    with live(visit.c) as v:
        try:
            r = service.record_data(v.conn, person_id, v.now)
        except NotFound:
            return not_found("人员")
    if not who.sees_unit(r["unit"]):
        return not_found("人员")
    return page("person.html.j2", r=r, who=who)
