"""整改报告 with 佐证材料 (multipart), the files themselves, and extension requests (延期申请).

``POST /findings/{id}/reports`` takes JSON ``{on, text}`` as before, or
``multipart/form-data`` with the fields ``on`` (optional for a unit: its report is dated
the day it is recorded), ``text`` and any number of ``files`` (within the stated limits:
:data:`domain.evidence.LIMITS_TEXT`). A refused file records nothing.

``GET /findings/{id}/files/{sha256}`` serves a file a report of that finding names, only to
those who may see the finding (a unit's token gets 404 for another unit's): streamed, as an
attachment (its name RFC 5987-encoded), with its content type, never sniffed or rendered.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Service, Who, Write, forbid
from adapters.entrypoints.api.errors import ERRORS, READ_ERRORS
from adapters.entrypoints.api.findings import (
    MAX_FIELD_BYTES,
    invalid_body,
    state_out,
    visible_finding,
    visible_to,
)
from adapters.service_layer import evidence
from domain.errors import InvalidInput, NotFound
from domain.evidence import LIMITS_TEXT, MAX_FILES, TYPES

router = APIRouter(prefix=PREFIX)



class ReportIn(m.Strict):
    """责任单位提交整改报告（JSON；附佐证材料时用 multipart/form-data，文件放在 files 字段）。"""

    on: date | None = Field(None, description="报告日期（YYYY-MM-DD）；责任单位提交时可省略，"
                                               "以提交当天为报告日期，填写则须是今天")
    text: m.text(8000, "整改报告内容", examples=["已补齐培训学时"])  # type: ignore[valid-type]


class FileIn(BaseModel):
    name: str = Field(..., description="文件名")
    size: int = Field(..., description="字节数")
    sha256: str = Field(..., description="SHA-256（十六进制）")


class ReportForm(BaseModel):
    """What a multipart report said (its files by hash), for the Idempotency-Key."""

    on: date | None = Field(None, description="报告日期")
    text: str = Field(..., description="整改报告内容")
    files: list[FileIn] = Field(..., description="佐证材料")


class FileOut(BaseModel):
    name: str = Field(..., description="文件名（提交时的名称）")
    type: str = Field(..., description="按内容识别的文件类型（MIME）")
    size: int = Field(..., description="字节数")
    sha256: str = Field(..., description="SHA-256（十六进制），也是下载地址的一部分")


class ReportOut(m.StateOut):
    files: list[FileOut] = Field(default_factory=list,
                                 description="随报告保存的佐证材料（multipart 提交时给出）")


class ExtensionRequestIn(m.Strict):
    """责任单位申请延期：申请延至的日期和理由（以今天为申请日期）。"""

    to: m.day("申请延至的期限（YYYY-MM-DD），须晚于当前期限")  # type: ignore[valid-type]
    reason: m.text(2000, "延期理由", examples=["汛期施工受阻"])  # type: ignore[valid-type]


class ExtensionRequestOut(BaseModel):
    request_id: str = Field(..., description="延期申请编号（问题编号.序号）")
    finding_id: str = Field(..., description="问题编号")


class DecisionIn(m.Strict):
    """督学审批延期申请：批准即把期限延至申请的日期。"""

    grant: bool = Field(..., description="true 批准，false 不批准")
    note: m.text(2000, "审批意见") | None = Field(None, description="审批意见")  # type: ignore[valid-type]


class DecisionOut(BaseModel):
    request_id: str = Field(..., description="延期申请编号")
    finding_id: str = Field(..., description="问题编号")
    granted: bool = Field(..., description="是否批准")
    deadline: date | None = Field(None, description="审批后的整改期限")


MULTIPART_SCHEMA = {
    "requestBody": {"required": True, "content": {
        # inline: the route reads its body itself, so FastAPI lists no ReportIn component
        # (a $ref to one left the JSON variant undocumented and unfuzzed)
        "application/json": {"schema": ReportIn.model_json_schema()},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["text"],
            "properties": {
                "on": {"type": "string", "format": "date",
                       "description": "报告日期；责任单位可省略（以提交当天为准）"},
                "text": {"type": "string", "minLength": 1, "maxLength": 8000},
                "files": {"type": "array", "maxItems": MAX_FILES,
                          "items": {"type": "string", "format": "binary"},
                          "description": f"佐证材料：{LIMITS_TEXT}"},
            }}},
    }},
}


@router.post("/findings/{finding_id}/reports", status_code=201, response_model=ReportOut,
             tags=["整改"], summary="提交整改报告（责任单位；可附佐证材料）", responses=ERRORS,
             openapi_extra=MULTIPART_SCHEMA)
async def report(finding_id: str, request: Request, write: Write) -> JSONResponse:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raw = await request.body()
        try:
            body = ReportIn.model_validate_json(raw or b"null")
        except ValidationError as e:
            raise invalid_body(e) from None

        def run_json(_: str | None) -> m.StateOut:
            write.app.submit_report(finding_id, on=body.on, text=body.text, actor=write.actor,
                                    role=write.who.role)
            return state_out(write.c, finding_id)

        return await anyio.to_thread.run_sync(lambda: write(
            "finding.report", body, run_json, check=visible_to(write, finding_id)))
    forbid(write.who, "finding.report")
    async with request.form(max_files=MAX_FILES + 1, max_fields=10,
                            max_part_size=MAX_FIELD_BYTES) as form:
        extra = sorted(set(form) - {"on", "text", "files"})
        if extra:
            raise InvalidInput(f"不认识的字段：{extra[0]}", f"unknown field {extra[0]!r}",
                               field=extra[0])
        uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile)]
        if any(not isinstance(u, UploadFile) for u in form.getlist("files")):
            raise InvalidInput("files 字段应为文件", "files must be files", field="files")
        on_raw, text = form.get("on"), form.get("text")
        try:
            fields = ReportIn.model_validate({
                "text": text if isinstance(text, str) else None,
                **({"on": on_raw} if isinstance(on_raw, str) and on_raw.strip() else {})})
        except ValidationError as e:
            raise invalid_body(e) from None
        files = [(u.filename, u.file) for u in uploads]

        def run() -> JSONResponse:
            visible_finding(write.c, write.who, finding_id)
            if len(files) > MAX_FILES:
                raise InvalidInput(f"佐证材料过多（{len(files)}个，每份报告最多{MAX_FILES}个），"
                                   "本次未记录", f"too many files (> {MAX_FILES})", field="files")
            store = evidence.store(write.app)
            seen = [store.examine(name, source) for name, source in files]
            payload = ReportForm(on=fields.on, text=fields.text, files=[
                FileIn(name=f.name, size=f.size, sha256=f.sha256) for f in seen])

            def run_form(_: str | None) -> ReportOut:
                recorded = write.app.submit_report(finding_id, on=fields.on, text=fields.text,
                                                   actor=write.actor, files=files,
                                                   role=write.who.role)
                state = state_out(write.c, finding_id)
                return ReportOut(**state.model_dump(),
                                 files=[FileOut(**f) for f in recorded])

            return write("finding.report", payload, run_form,
                         check=visible_to(write, finding_id))

        return await anyio.to_thread.run_sync(run)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one RFC 5987-encoded."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/findings/{finding_id}/files/{sha256}", tags=["整改"],
            summary="下载一份佐证材料（能看到该问题的人才能下载）", responses={
                **READ_ERRORS, 200: {"description": "文件内容（作为附件下载）",
                                     "content": {t: {} for t in TYPES}}},
            response_class=StreamingResponse)
def download(finding_id: str, sha256: str, c: Service, who: Who) -> StreamingResponse:
    forbid(who, "finding.read")
    finding = visible_finding(c, who, finding_id)
    meta, chunks = evidence.finding_file(c.app, finding, sha256)
    return StreamingResponse(chunks, media_type=meta["type"], headers=file_headers(meta))


def file_headers(meta: dict[str, Any]) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(meta["name"]),
        "Content-Length": str(meta["size"]),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


@router.post("/findings/{finding_id}/extension-requests", status_code=201,
             response_model=ExtensionRequestOut, tags=["整改"],
             summary="申请延期（责任单位，本单位的问题；同一时间只能有一份待审批）",
             responses=ERRORS)
def request_extension(finding_id: str, body: ExtensionRequestIn, write: Write) -> JSONResponse:
    def run(_: str | None) -> ExtensionRequestOut:
        rid = write.app.request_extension(finding_id, to=body.to, reason=body.reason,
                                          actor=write.actor)
        return ExtensionRequestOut(request_id=rid, finding_id=rid.rpartition(".")[0])

    return write("finding.request_extension", body, run, check=visible_to(write, finding_id))


@router.post("/extension-requests/{request_id}/decision", status_code=201,
             response_model=DecisionOut, tags=["整改"],
             summary="审批延期申请（督学）：批准即延期至申请的日期", responses=ERRORS)
def decide_extension(request_id: str, body: DecisionIn, write: Write) -> JSONResponse:
    def check() -> None:
        finding = evidence.request_finding(write.app, request_id)
        if not write.who.sees_unit(finding.unit):
            raise NotFound(f"延期申请 {request_id} 不存在",
                           f"unknown extension request {request_id}", field="request")

    def run(_: str | None) -> DecisionOut:
        return DecisionOut(**write.app.decide_extension(request_id, grant=body.grant,
                                                        note=body.note, actor=write.actor))

    return write("finding.decide_extension", body, run, check=check)
