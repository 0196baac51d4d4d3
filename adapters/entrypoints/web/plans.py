"""A plan's 工作台账 as a page: one row per task (牵头/责任单位, 时限, 指标, 进展, 状态), and,
for an inspector, the 督学签字销号 form of each task not yet signed off
(:meth:`Dudao.close_task`: the date, and a note; the inspector named is the one signed
in). A ``unit`` visitor sees the tasks naming its unit only (none: 404), as the ledger's
download. No script: a plain form, a 303 back to the page after it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.pages import parse_day, submit
from adapters.entrypoints.web.render import not_found, page
from adapters.entrypoints.web.session import Visit, Visitor
from adapters.service_layer import action_plans as plans
from domain.errors import NotFound
from domain.time import local_date

router = APIRouter(include_in_schema=False)

NOTICES = {"closed": "任务已销号。"}


def plan_link(code: str) -> str:
    return f"/plans/{quote(code, safe='')}"


def show_plan(visit: Visit, code: str, status: int = 200, *, error: str | None = None,
              task: str | None = None, values: dict[str, str] | None = None,
              notice: str | None = None) -> Response:
    """The page (``task``: the task whose form ``error`` is about, filled in with
    ``values``)."""
    who = visit.who
    try:
        ledger = plans.ledger_rows(visit.c.app, code)
    except NotFound:
        return not_found(f"实施方案 {code} ")
    rows: list[dict[str, Any]] = ledger["rows"]
    if who.role == "unit":
        rows = [r for r in rows if who.unit in (*r["lead"], *r["responsible"])]
        if not rows:
            return not_found(f"实施方案 {code} ")
    return page("plan.html.j2", status, who=who, csrf=visit.csrf, ledger=ledger, rows=rows,
                today=local_date(visit.c.app.now()), error=error, error_task=task,
                values=values or {}, notice=notice, link=plan_link(ledger["plan"]))


@router.get("/plans/{code}", response_class=HTMLResponse)
def plan_page(code: str, visit: Visitor, notice: str | None = None) -> Response:
    return show_plan(visit, code, notice=NOTICES.get(notice or ""))


@router.post("/plans/{code}/tasks/{task}/close")
async def close_task(code: str, task: str, visit: Visitor) -> Response:
    """督学签字销号 of one task of the plan."""
    try:
        ledger = plans.ledger_rows(visit.c.app, code)
    except NotFound:
        return not_found(f"实施方案 {code} ")
    if not any(r["task"] == task for r in ledger["rows"]):
        return not_found(f"任务 {task} ")
    who = visit.who

    def run(data: dict[str, str]) -> str:
        visit.c.app.close_task(task, on=parse_day(data.get("on", ""), "on", "销号日期"),
                               inspector=who.name or None, note=data.get("note") or None,
                               actor=who.actor)
        return f"{plan_link(ledger['plan'])}?notice=closed#task-{task}"

    return await submit(visit, "task.close", "只有督学可以为任务销号。", run,
                        lambda e, data: show_plan(visit, code, 422, error=e.zh, task=task,
                                                  values=data))
