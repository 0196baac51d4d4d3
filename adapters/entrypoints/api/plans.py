"""Action plans over HTTP: import, the ledger (工作台账), a unit's progress, sign-off (销号).

Same roles as the rest of the API: the supervision office (``policy``) or an
``admin`` imports plans; a ``unit`` token reports its own values on its own
tasks and sees only its own part of a ledger; an ``inspector`` signs tasks off.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from adapters.entrypoints.api.deps import PREFIX, Components, Service, Who, Write, forbid
from adapters.entrypoints.api.errors import ERRORS, READ_ERRORS
from adapters.infrastructure.tokens import Principal
from adapters.plan_reader import MAX_PLAN_BYTES
from domain.errors import NotFound
from domain.plans import task_row
from domain.time import local_date

router = APIRouter(prefix=PREFIX, tags=["实施方案"])


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_PLAN_BYTES,  # the byte limit speaks
                      description="实施方案全文（纯文本）")
    source: str = Field(default="plan.txt", min_length=1, max_length=200,
                        description="文件名（记在方案上；未给代码时由它生成方案代码）")
    code: str | None = Field(default=None, min_length=1, max_length=64,
                             description="方案代码（可选，字母、数字、-、_）")
    default_unit: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="没有标注责任单位的任务由该单位（已登记的单位代码）负责（可选）")


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: int = Field(ge=1, description="指标序号（见任务的 indicators）")
    value: str = Field(min_length=1, max_length=40, description="达到的数值，如 96 或 4.5")
    on: date = Field(description="填报日期 YYYY-MM-DD")
    unit: str | None = Field(default=None, max_length=64,
                             description="填报单位（责任单位令牌即本单位；其他角色可不填，表示整项任务）")
    note: str | None = Field(default=None, max_length=2000, description="说明")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date | None = Field(default=None, description="销号日期（默认今天）")
    note: str | None = Field(default=None, max_length=2000, description="销号意见")


def visible_task(c: Components, who: Principal, code: str) -> Any:
    """The task, or for a unit token not naming it the very 404 of a missing task
    (same body: a unit cannot tell "not yours" from "does not exist")."""
    try:
        t = c.app.get_task(code)
    except NotFound:
        t = None
    if t is None or (who.role == "unit" and who.unit not in t.units):
        raise NotFound(f"任务 {code} 不存在", f"unknown task {code!r}", field="task")
    return t


@router.post("/plans", status_code=201,
             summary="导入实施方案（督导室、管理员）：任务、责任单位、指标、期限", responses=ERRORS)
def import_plan(body: PlanIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> Any:
        return write.app.import_plan(body.text.encode("utf-8"), source=body.source,
                                     code=body.code, actor=write.actor,
                                     default_unit=body.default_unit)

    return write("plan.import", body, run)


@router.get("/plans/{code}",
            summary="工作台账：每个单位的任务、指标及状态（责任单位令牌只看本单位）",
            responses=READ_ERRORS)
def get_plan(code: str, c: Service, who: Who) -> JSONResponse:
    forbid(who, "plan.read")
    ledger = c.app.plan_ledger(code)
    if who.role == "unit":
        ledger["units"] = [u for u in ledger["units"] if u["unit"] == who.unit]
        ledger["unassigned"] = []
        # plan-level figures only over the unit's own tasks
        rows = [r for u in ledger["units"] for r in u["tasks"]]
        ledger["tasks"] = len(rows)
        ledger["indicators"] = sum(len(r["indicators"]) for r in rows)
        ledger["counts"] = {s: sum(1 for r in rows if r["status"] == s)
                            for s in ledger["counts"]}
    return JSONResponse(jsonable_encoder(ledger))


@router.get("/tasks/{task}", summary="查看任务：责任单位、指标、进度、状态",
            responses=READ_ERRORS)
def get_task(task: str, c: Service, who: Who) -> JSONResponse:
    forbid(who, "plan.read")
    t = visible_task(c, who, task)
    row = task_row(t, local_date(c.app.now()), who.unit if who.role == "unit" else None)
    reports = t.reports
    if who.role == "unit":
        reports = [r for r in reports if r.get("unit") == who.unit]
    return JSONResponse(jsonable_encoder(row | {"text": t.text, "reports": reports}))


@router.post("/tasks/{task}/progress", status_code=201,
             summary="填报指标达到的数值（责任单位）", responses=ERRORS)
def report_progress(task: str, body: ProgressIn, write: Write) -> JSONResponse:
    who = write.who
    unit = who.unit if who.role == "unit" else body.unit

    def check() -> None:
        visible_task(write.c, who, task)
        if who.role == "unit" and body.unit not in (None, who.unit):
            raise NotFound(f"单位 {body.unit} 不存在", f"unknown unit {body.unit!r}",
                           field="unit")

    def run(_: str | None) -> Any:
        t = write.app.report_progress(task, indicator=body.indicator, value=body.value,
                                      on=body.on, unit=unit, note=body.note, actor=write.actor)
        return {"task": t.code, "indicator": body.indicator,
                "value": t.reports[-1]["value"], "unit": unit, "on": body.on,
                "met": t.met(body.indicator, unit=unit)}

    return write("task.progress", body, run, check=check)


@router.post("/tasks/{task}/close", status_code=201, summary="督学签字销号", responses=ERRORS)
def close_task(task: str, body: CloseIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> Any:
        t = write.app.close_task(task, on=body.on, inspector=write.who.name or write.actor,
                                 note=body.note, actor=write.actor)
        return {"task": t.code, "status": "closed", "closed_on": t.closed_on,
                "closed_by": t.closed_by}

    return write("task.close", body, run, check=lambda: visible_task(write.c, write.who, task))
