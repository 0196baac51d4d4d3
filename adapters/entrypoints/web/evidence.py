"""On the finding page: a unit's 整改报告 with 佐证材料 (multipart, dated the day it is
submitted) and its 延期申请; the inspector's 批准/不批准 of a pending request; the files'
downloads (to those who may see the finding, as attachments, never rendered).

Same rules as the API (adapters/entrypoints/api/evidence.py): every check is the
service's and the domain's; a refusal shows the finding page again with the reason, and
records nothing. No JavaScript: plain forms, a 303 to the finding page after each.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from adapters.entrypoints.api.evidence import file_headers
from adapters.entrypoints.web.pages import (
    parse_day,
    show_finding,
    submit,
    visible_finding,
    with_files,
)
from adapters.entrypoints.web.render import not_found, refused
from adapters.entrypoints.web.session import Visitor
from adapters.service_layer import evidence
from domain.errors import DudaoError, InvalidInput
from domain.evidence import MAX_FILES

router = APIRouter(include_in_schema=False)


@router.post("/findings/{fid}/report")
async def report(fid: str, visit: Visitor) -> Response:
    """提交整改报告 (the unit, its own finding): text and any number of files."""
    who = visit.who
    if visible_finding(visit, fid) is None:
        return not_found("问题")
    if not who.may("finding.report"):
        return refused(who, "只有责任单位可以提交整改报告。")
    fields: dict[str, str] = {}
    try:
        await with_files(visit, fields, 10, lambda files: visit.c.app.submit_report(
            fid, on=None, text=fields.get("text", ""), actor=who.actor, files=files,
            role=who.role))
    except DudaoError as e:
        return show_finding(visit, fid, 422, error=e.zh)
    except HTTPException as e:  # the multipart parser's refusals (too many files or fields)
        return show_finding(visit, fid, 422, error=f"表单有误：{getattr(e, 'detail', e)}；"
                                                   f"每份报告最多{MAX_FILES}个文件，本次未记录")
    return RedirectResponse(f"/findings/{fid}?notice=reported", status_code=303)


@router.post("/findings/{fid}/extension-requests")
async def request_extension(fid: str, visit: Visitor) -> Response:
    """申请延期 (the unit, its own finding): a proposed date and a reason."""
    if visible_finding(visit, fid) is None:
        return not_found("问题")

    def run(data: dict[str, str]) -> str:
        visit.c.app.request_extension(fid, to=parse_day(data.get("to", ""), "to"),
                                      reason=data.get("reason", ""), actor=visit.who.actor)
        return f"/findings/{fid}?notice=requested"

    return await submit(visit, "finding.request_extension", "只有责任单位可以申请延期。", run,
                        lambda e, _: show_finding(visit, fid, 422, error=e.zh))


@router.post("/extension-requests/{request_id}/decision")
async def decide_extension(request_id: str, visit: Visitor) -> Response:
    """批准 / 不批准 a pending request (the inspector)."""
    try:
        finding = evidence.request_finding(visit.c.app, request_id)
    except DudaoError:
        return not_found("延期申请")
    if not visit.who.sees_unit(finding.unit):
        return not_found("延期申请")
    fid = str(finding.id)

    def run(data: dict[str, str]) -> str:
        if data.get("grant") not in ("0", "1"):
            raise InvalidInput("请选择批准或不批准", "grant must be 1 or 0", field="grant")
        grant = data["grant"] == "1"
        visit.c.app.decide_extension(request_id, grant=grant, note=data.get("note") or None,
                                     actor=visit.who.actor)
        return f"/findings/{fid}?notice={'granted' if grant else 'refused'}"

    return await submit(visit, "finding.decide_extension", "只有督学可以审批延期申请。", run,
                        lambda e, _: show_finding(visit, fid, 422, error=e.zh))


@router.get("/findings/{fid}/files/{sha256}")
def download(fid: str, sha256: str, visit: Visitor) -> Response:
    """A file of the finding, to a visitor who may see it (else 404, as the API)."""
    finding = visible_finding(visit, fid)
    if finding is None or not visit.who.may("finding.read"):
        return not_found("佐证材料")
    try:
        meta, chunks = evidence.finding_file(visit.c.app, finding, sha256)
    except DudaoError:
        return not_found("佐证材料")
    return StreamingResponse(chunks, media_type=meta["type"], headers=file_headers(meta))

