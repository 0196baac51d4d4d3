"""``dudao person add|end|list``: the persons of a unit (人员), its principal (主要负责人)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from adapters.entrypoints.cli.base import DATE, Context, cli, emit, pass_app
from adapters.service_layer import persons as service
from adapters.service_layer.application import Dudao


def person_line(p: dict[str, Any]) -> str:
    role = "，".join(x for x in (p["post"], "主要负责人" if p["principal"] else None) if x)
    period = f"{p['from']} 至 {p['to'] or '今'}"
    return f"{p['person_id']}  {p['unit']}  {p['name']}{f'（{role}）' if role else ''}  {period}"


@cli.group("person")
def person() -> None:
    pass


@person.command("add")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="单位代码")
@click.option("--name", required=True, metavar="NAME", help="姓名")
@click.option("--post", metavar="TEXT", help="职务，如 校长、局长")
@click.option("--principal", is_flag=True, help="是单位主要负责人")
@click.option("--from", "from_date", required=True, type=DATE, help="任职日期（第一天）")
@click.option("--to", "to_date", type=DATE, default=None,
              help="离任日期（最后一天）：补录已离任的人员时给出")
@pass_app
def person_add(app: Dudao, actor: str, unit_code: str, name: str, post: str | None,
               principal: bool, from_date: date, to_date: date | None) -> None:
    """登记单位的人员。同一单位的主要负责人任职期间不得重叠：现任未办理离任
    （dudao person end）之前，不能登记新的主要负责人。重复登记同一人员不会重复记录。"""
    pid = app.add_person(unit=unit_code, name=name, post=post, principal=principal,
                         from_date=from_date, to_date=to_date, actor=actor)
    emit({"person_id": str(pid)}, str(pid))


@person.command("end")
@click.argument("person_id", metavar="PERSON")
@click.option("--on", "on", required=True, type=DATE, help="离任日期（在任的最后一天）")
@pass_app
def person_end(app: Dudao, actor: str, person_id: str, on: date) -> None:
    """办理人员离任。"""
    p = app.end_person(person_id, on=on, actor=actor)
    emit({"person_id": str(p.id), "to": p.to_date}, f"{p.name}已于{p.to_date}离任")


@person.command("list")
@click.option("--unit", "unit_code", metavar="CODE", help="只列出该单位的人员")
@click.option("--as-of", "as_of", type=DATE, default=None, help="只列出该日在任的人员")
@pass_app
def person_list(app: Dudao, actor: str, unit_code: str | None, as_of: date | None) -> None:
    """列出人员（主要负责人在前）。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    rows = service.listing(app, ctx.settings.db, unit=unit_code, on=as_of)
    emit({"persons": rows},
         lambda: "\n".join(person_line(p) for p in rows) if rows else "没有登记的人员")
