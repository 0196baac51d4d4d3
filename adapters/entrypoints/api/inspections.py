"""Inspections (督导检查): one visit to a unit and the findings it found, recorded at once."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Service, Who, Write, forbid
from adapters.entrypoints.api.errors import ERRORS, READ_ERRORS
from domain.errors import NotFound

router = APIRouter(prefix=PREFIX, tags=["督导检查"])


@router.post("/inspections", status_code=201, response_model=m.InspectionCreated,
             summary="登记一次督导检查及其发现的问题（督学）", responses=ERRORS)
def record_inspection(body: m.InspectionIn, write: Write) -> JSONResponse:
    def run(key: str | None) -> m.InspectionCreated:
        iid, fids = write.app.record_inspection(
            unit=body.unit, on=body.on, inspectors=list(body.inspectors),
            findings=[f.model_dump() for f in body.findings], key=key, actor=write.actor)
        return m.InspectionCreated(inspection_id=str(iid), finding_ids=[str(f) for f in fids])

    return write("inspection.record", body, run)


@router.get("/inspections/{inspection_id}", response_model=m.InspectionOut,
            summary="查看一次督导检查", responses=READ_ERRORS)
def get_inspection(inspection_id: str, c: Service, who: Who) -> m.InspectionOut:
    forbid(who, "finding.read")
    i = c.app.get_inspection(inspection_id)
    if not who.sees_unit(i.unit):
        raise NotFound(f"检查 {inspection_id} 不存在", f"unknown inspection {inspection_id}",
                       field="inspection")
    return m.InspectionOut(inspection_id=str(i.id), unit=i.unit, on=i.on,
                           inspectors=i.inspectors, finding_ids=[str(f) for f in i.finding_ids],
                           recorded_by=i.recorded_by, recorded_at=i.recorded_at)
