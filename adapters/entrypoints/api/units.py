"""Responsible units (责任单位): register one (admin), read one, its accountability report.

A unit token sees its own unit only: another unit answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Components, Service, Who, Write, forbid
from adapters.entrypoints.api.errors import ERRORS, READ_ERRORS
from adapters.infrastructure.tokens import Principal
from domain.errors import NotFound

router = APIRouter(prefix=PREFIX, tags=["单位"])


def unit_out(u: Any) -> m.UnitOut:
    return m.UnitOut(code=u.code, name=u.name, parent=u.parent, principal=u.principal)


def visible_unit(c: Components, who: Principal, code: str) -> Any:
    if not who.sees_unit(code):
        raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field="unit")
    return c.app.get_unit(code)


def unit_report(c: Components, code: str, name: str) -> m.UnitReportOut:
    """The accountability report of ``dudao report unit --format json`` (projections.reports)."""
    from adapters.rendering.reports import live

    with live(c.app, c.db, runner=c.runner) as view:
        r = view.unit(code)
    return m.UnitReportOut(
        unit=code, name=name, as_of=r["as_of"], findings=r["findings"], open=r["open"],
        overdue=r["overdue"], closed=r["closed"], closed_on_time=r["closed_on_time"],
        on_time_rate=r["on_time_rate"], escalations=m.EscalationCounts(**r["escalations"]),
        interviews=r["interviews"], public_notices=r["public_notices"],
        accountability=r["accountability"], accountability_decided=r["accountability_decided"],
        accountability_dismissed=r["accountability_dismissed"],
        accountability_pending=r["accountability_pending"],
    )


@router.post("/units", status_code=201, response_model=m.UnitOut,
             summary="登记责任单位（管理员）", responses=ERRORS)
def add_unit(body: m.UnitIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.UnitOut:
        return unit_out(write.app.add_unit(body.code, body.name, parent=body.parent,
                                           principal=body.principal, actor=write.actor))

    return write("unit.add", body, run)


@router.get("/units/{code}", response_model=m.UnitOut, summary="查看单位",
            responses=READ_ERRORS)
def get_unit(code: str, c: Service, who: Who) -> m.UnitOut:
    forbid(who, "unit.read")
    return unit_out(visible_unit(c, who, code))


@router.get("/units/{code}/report", response_model=m.UnitReportOut,
            summary="单位问责报告（字段同 `dudao report unit --format json`）",
            responses=READ_ERRORS)
def get_unit_report(code: str, c: Service, who: Who) -> m.UnitReportOut:
    forbid(who, "report.read")
    u = visible_unit(c, who, code)
    return unit_report(c, u.code, u.name)
