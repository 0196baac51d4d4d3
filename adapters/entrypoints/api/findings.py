"""Findings (问题) and their rectification (整改): record, list, read, history, escalations;
order rectification, report, review, extend, hold an interview.

A unit token sees its own unit's findings only: another unit's answers 404, as if it did
not exist. Every write goes through :class:`~adapters.entrypoints.api.deps.Command`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import (
    PREFIX,
    Command,
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
from adapters.service_layer import evidence
from adapters.service_layer.application import parse_id
from domain.errors import DudaoError, InvalidInput, NotFound
from domain.evidence import LIMITS_TEXT, MAX_FILES
from domain.findings import Finding
from projections.findings import page_findings
from projections.paging import DEFAULT_LIMIT

router = APIRouter(prefix=PREFIX)


def finding_out(f: Finding) -> m.FindingOut:
    return m.FindingOut(
        finding_id=str(f.id), unit=f.unit, status=f.status,  # type: ignore[arg-type]
        severity=f.severity, on=f.on, inspector=f.inspector,  # type: ignore[arg-type]
        text=f.text, task=f.task,
        inspection_id=str(f.inspection_id) if f.inspection_id else None,
        ordered_on=f.ordered_on, deadline=f.deadline, rung=f.rung,  # type: ignore[arg-type]
        deadline_provisional=bool(f.deadline is not None and f.deadline_provisional),
        strikes=f.strikes, reports=f.reports, extensions=f.extensions,
        escalations=[m.EscalationOut(**{k: e[k] for k in (
            "code", "rung", "name", "mode", "rule", "policy_version", "threshold", "due",
            "reason")})
            for e in f.escalations],
        interview_held_on=f.interview_held_on, interviewee=f.interviewee,
        interview_person=f.interview_person_id,
        commitments=[m.CommitmentOut(**c) for c in f.commitments],
        closed_on=f.closed_on, recorded_at=f.recorded_at,
    )


HISTORY_TOP = {"type", "version", "actor", "on", "recorded_at"}


def history_event(e: dict[str, Any]) -> m.HistoryEvent:
    from adapters.service_layer.audit import EVENT_NAMES  # the trail's Chinese names

    return m.HistoryEvent(
        type=e["type"], name=EVENT_NAMES.get(e["type"], e["type"]), version=e["version"],
        actor=e.get("actor", ""), on=e.get("on"), recorded_at=e["recorded_at"],
        details=jsonable_encoder({k: v for k, v in e.items() if k not in HISTORY_TOP}),
    )


def visible_finding(c: Components, who: Principal, finding_id: str) -> Finding:
    finding = c.app.get_finding(finding_id)
    if not who.sees_unit(finding.unit):
        raise NotFound(f"问题 {finding_id} 不存在", f"unknown finding {finding_id}",
                       field="finding")
    return finding


def visible_to(write: Command, finding_id: str) -> Callable[[], Finding]:
    """A command's check: the finding exists and the caller may see it (else 404)."""
    return lambda: visible_finding(write.c, write.who, finding_id)


def state_out(c: Components, finding_id: str, **override: Any) -> m.StateOut:
    """The finding's status and deadline after a command (``override`` names what it said)."""
    f = c.app.get_finding(finding_id)
    return m.StateOut(**({"finding_id": str(f.id), "status": f.status,
                          "deadline": f.deadline} | override))


# ---------------------------------------------------------------- findings


MAX_FIELD_BYTES = 64 * 1024
"""Bytes of one non-file field of a multipart body (a finding's or a report's text is at
most 8,000 characters)."""


def invalid_body(e: ValidationError) -> RequestValidationError:
    """A body's validation errors as FastAPI's own (a 422 naming each field)."""
    return RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()])


class FindingForm(BaseModel):
    """What a multipart finding said (its files by hash), for the Idempotency-Key."""

    finding: m.FindingIn
    files: list[dict[str, Any]]


FINDING_FIELDS = set(m.FindingIn.model_fields)
RECORD_SCHEMA = {
    "requestBody": {"required": True, "content": {
        # inline, as the report's (adapters/entrypoints/api/evidence.py): the route reads
        # its body itself
        "application/json": {"schema": m.FindingIn.model_json_schema()},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["unit", "on", "inspector", "text"],
            "properties": {
                **{k: v for k, v in m.FindingIn.model_json_schema()["properties"].items()
                   if k != "task"},
                "task": {"type": "string", "minLength": 1, "maxLength": 100,
                         "description": "对应的实施方案任务编号"},
                "files": {"type": "array", "maxItems": MAX_FILES,
                          "items": {"type": "string", "format": "binary"},
                          "description": f"现场材料（如现场照片）：{LIMITS_TEXT}"},
            }}},
    }},
}


@router.post("/findings", status_code=201, response_model=m.FindingCreated,
             tags=["问题"], summary="登记一条问题（督学；可附现场材料，multipart）",
             responses=ERRORS, openapi_extra=RECORD_SCHEMA)
async def record_finding(request: Request, write: Write) -> JSONResponse:
    """JSON, or multipart with 现场材料 (the body read here, after the caller is known: a
    request without a valid token is refused before its body is read)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        try:
            body = m.FindingIn.model_validate_json(await request.body() or b"null")
        except ValidationError as e:
            raise invalid_body(e) from None

        def run(key: str | None) -> m.FindingCreated:
            fid = write.app.record_finding(
                unit=body.unit, on=body.on, inspector=body.inspector, text=body.text,
                severity=body.severity, task=body.task, key=key, actor=write.actor)
            return m.FindingCreated(finding_id=str(fid))

        return await anyio.to_thread.run_sync(lambda: write("finding.record", body, run))
    forbid(write.who, "finding.record")
    async with request.form(max_files=MAX_FILES + 1, max_fields=20,
                            max_part_size=MAX_FIELD_BYTES) as form:
        extra = sorted(set(form) - FINDING_FIELDS - {"files"})
        if extra:
            raise InvalidInput(f"不认识的字段：{extra[0]}", f"unknown field {extra[0]!r}",
                               field=extra[0])
        if any(not isinstance(u, UploadFile) for u in form.getlist("files")):
            raise InvalidInput("files 字段应为文件", "files must be files", field="files")
        files = [(u.filename, u.file) for u in form.getlist("files")
                 if isinstance(u, UploadFile)]
        values = {k: v for k, v in form.items() if k in FINDING_FIELDS and isinstance(v, str)
                  and (v.strip() or k not in ("task", "severity"))}
        try:
            fields = m.FindingIn.model_validate(values)
        except ValidationError as e:
            raise invalid_body(e) from None

        def run_form() -> JSONResponse:
            if len(files) > MAX_FILES:
                raise InvalidInput(f"现场材料过多（{len(files)}个，最多{MAX_FILES}个），本次未记录",
                                   f"too many files (> {MAX_FILES})", field="files")
            store = evidence.store(write.app)
            seen = [store.examine(name, source) for name, source in files]
            payload = FindingForm(finding=fields, files=[
                {"name": f.name, "size": f.size, "sha256": f.sha256} for f in seen])

            def run(key: str | None) -> m.FindingCreated:
                fid = write.app.record_finding(
                    unit=fields.unit, on=fields.on, inspector=fields.inspector,
                    text=fields.text, severity=fields.severity, task=fields.task, key=key,
                    actor=write.actor, files=files)
                return m.FindingCreated(finding_id=str(fid))

            return write("finding.record", payload, run)

        return await anyio.to_thread.run_sync(run_form)


@router.get("/findings", response_model=m.FindingList, tags=["问题"],
            summary="问题列表，分页（责任单位令牌只看到本单位的问题）", responses=READ_ERRORS)
def find_findings(
    c: Service,
    who: Who,
    unit: Annotated[str | None, Query(max_length=64, description="只列这个单位的问题")] = None,
    status: Annotated[m.Status | None, Query(description="只列这个状态的问题")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> m.FindingList:
    forbid(who, "finding.read")
    if who.role == "unit":
        if unit is not None and unit != who.unit:
            raise NotFound(f"单位 {unit} 不存在", f"unknown unit {unit!r}", field="unit")
        unit = who.unit
    c.runner.catch_up()  # read your own writes
    with c.engine.connect() as conn:
        got = page_findings(conn, unit=unit, status=status, limit=limit, cursor=cursor)
    items = [m.FindingRow(**{k: r[k] for k in m.FindingRow.model_fields}) for r in got.rows]
    return m.FindingList(findings=items, count=len(items), next_cursor=got.next_cursor)


@router.get("/findings/{finding_id}", response_model=m.FindingOut, tags=["问题"],
            summary="查看一条问题的当前状态", responses=READ_ERRORS)
def get_finding(finding_id: str, c: Service, who: Who) -> m.FindingOut:
    forbid(who, "finding.read")
    return finding_out(visible_finding(c, who, finding_id))


@router.get("/findings/{finding_id}/history", response_model=m.HistoryOut,
            tags=["问题"], summary="一条问题的全部事件", responses=READ_ERRORS)
def get_history(finding_id: str, c: Service, who: Who) -> m.HistoryOut:
    forbid(who, "finding.read")
    f = visible_finding(c, who, finding_id)
    return m.HistoryOut(finding_id=str(f.id),
                        events=[history_event(e) for e in c.app.history(f.id)])


@router.get("/findings/{finding_id}/escalations", response_model=m.EscalationList,
            tags=["问题"], summary="一条问题的历次升级（预警、督办、约谈、通报、问责）",
            responses=READ_ERRORS)
def get_escalations(finding_id: str, c: Service, who: Who) -> m.EscalationList:
    forbid(who, "finding.read")
    out = finding_out(visible_finding(c, who, finding_id))
    return m.EscalationList(finding_id=out.finding_id, rung=out.rung,
                            escalations=out.escalations)


# ----------------------------------------------------------- rectification


@router.post("/findings/{finding_id}/orders", status_code=201, response_model=m.OrderOut,
             tags=["整改"], summary="下达整改通知（督学）", responses=ERRORS)
def order(finding_id: str, body: m.OrderIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.OrderOut:
        deadline = write.app.order_rectification(finding_id, on=body.on, within=body.within,
                                                 calendar_days=body.calendar_days,
                                                 actor=write.actor)
        return m.OrderOut(finding_id=str(parse_id(finding_id)), status="rectifying",
                          deadline=deadline)

    return write("finding.order", body, run, check=visible_to(write, finding_id))


@router.post("/findings/{finding_id}/reviews", status_code=201, response_model=m.StateOut,
             tags=["整改"], summary="复查：通过即销号，未通过重新限期（督学）",
             responses=ERRORS)
def review(finding_id: str, body: m.ReviewIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.StateOut:
        write.app.review(finding_id, on=body.on, passed=body.passed, within=body.within,
                         calendar_days=body.calendar_days, note=body.note, actor=write.actor,
                         falsified=body.falsified)
        return state_out(write.c, finding_id)

    return write("finding.review", body, run, check=visible_to(write, finding_id))


@router.post("/findings/{finding_id}/extensions", status_code=201, response_model=m.StateOut,
             tags=["整改"], summary="批准延期（督学）", responses=ERRORS)
def extend(finding_id: str, body: m.ExtensionIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.StateOut:
        deadline = write.app.extend(finding_id, on=body.on, to=body.to, reason=body.reason,
                                    actor=write.actor)
        return state_out(write.c, finding_id, deadline=deadline)

    return write("finding.extend", body, run, check=visible_to(write, finding_id))


@router.post("/findings/{finding_id}/interviews", status_code=201,
             response_model=m.InterviewOut, tags=["整改"],
             summary="登记约谈（督学；问题须已升级到约谈）", responses=ERRORS)
def interview(finding_id: str, body: m.InterviewIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> m.InterviewOut:
        try:
            write.app.hold_interview(finding_id, on=body.on, interviewee=body.interviewee,
                                     minutes=body.minutes, person=body.person,
                                     commitments=[(x.on, x.text) for x in body.commitments],
                                     actor=write.actor)
        except DudaoError as e:  # the domain's field is the command line's (--commitment)
            if e.field == "commitment":
                e.field = "commitments"
            raise
        return m.InterviewOut(finding_id=str(parse_id(finding_id)), interview_held_on=body.on)

    return write("finding.interview", body, run, check=visible_to(write, finding_id))
