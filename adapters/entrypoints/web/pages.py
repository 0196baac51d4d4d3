"""The pages: an overview (open, overdue, escalations by rung, the ranking), a unit page
(its accountability report and its persons, 人员), a finding page (its timeline), and the
forms an inspector uses to record a finding, to order its rectification and to record
the interview (登记约谈: the person interviewed, picked from the unit's, and the
commitments made) once it has escalated to 约谈.

Same roles as the API: a ``unit`` visitor sees its own unit's pages only (another unit's
answer 404, as the API does), and only a role that may record or order sees the forms.
Every page takes the :data:`~adapters.entrypoints.web.session.Visitor` dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import IO, Any
from uuid import UUID

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from adapters.entrypoints.api.deps import Components
from adapters.entrypoints.api.findings import MAX_FIELD_BYTES
from adapters.entrypoints.web.render import message, not_found, page, refused
from adapters.entrypoints.web.session import Visit, Visitor, form
from adapters.rendering.reports import View
from adapters.rendering.reports import as_of as as_of_view
from adapters.rendering.reports import live as live_view
from adapters.rendering.reports.render import rate_chart, rung_chart
from adapters.service_layer.application import parse_id
from adapters.settings import parse_moment
from domain.errors import DudaoError, InvalidInput, NotFound
from domain.evidence import LIMITS_TEXT, MAX_FILES
from domain.findings import Finding
from projections.accountability import escalations as acc_escalations
from projections.accountability import findings as acc_findings
from projections.cases import finding_cases
from projections.persons import list_persons
from projections.plans import plan_codes
from projections.reports import finding_state, timelines

router = APIRouter(include_in_schema=False)


def finding_link(fid: str) -> str:
    return f"/findings/{fid}"


def unit_link(code: str) -> str:
    return f"/units/{code}"


def live(c: Components, *, catch_up: bool = True) -> AbstractContextManager[View]:
    return live_view(c.app, c.db, catch_up=catch_up, runner=c.runner)


@contextmanager
def view_at(c: Components, as_of: str | None) -> Iterator[View]:
    """Live, or (``?as_of=``) what the system knew at that moment."""
    if as_of:
        with as_of_view(c.app, parse_moment(as_of, field="as_of")) as v:
            yield v
    else:
        with live(c) as v:
            yield v


def report_page(visit: Visit, as_of: str | None, read: Callable[[View], dict[str, Any]],
                template: str, *, figures: str | None = None, missing: str | None = None,
                status: int = 200, **context: Any) -> Response:
    """A report read by ``read`` (live, or as of ``?as_of=``), with its two charts (over
    ``r[figures]``, or the report itself). Bad input is a 422 page; a ``NotFound``, when the
    page names what is ``missing``, a 404."""
    who = visit.who
    try:
        with view_at(visit.c, as_of) as v:
            r = read(v)
    except DudaoError as e:
        if missing is not None and isinstance(e, NotFound):
            return not_found(missing)
        return message(422, "参数有误", str(e), who)
    o = r[figures] if figures else r
    return page(template, status, r=r, who=who, csrf=visit.csrf,
                charts={"rate": rate_chart(o["monthly"]),
                        "rungs": rung_chart(o["escalations_by_rung"])}, **context)


async def submit(visit: Visit, action: str, refusal: str, run: Callable[[dict[str, str]], str],
                 failed: Callable[[DudaoError, dict[str, str]], Response]) -> Response:
    """A form's post: a 403 page (``refusal``) unless the visitor's role may ``action``;
    then the form, refused unless it is this visitor's (CSRF), goes to ``run``, which does
    the command and names the page to go to next. A domain error is ``failed``'s page."""
    if not visit.who.may(action):
        return refused(visit.who, refusal)
    data = await form(visit.request)
    try:
        visit.check(data)
        target = run(data)
    except DudaoError as e:
        return failed(e, data)
    return RedirectResponse(target, status_code=303)



async def with_files(visit: Visit, fields: dict[str, str], max_fields: int,
                     run: Callable[[Sequence[tuple[str | None, IO[bytes]]]], Any]) -> Any:
    """A multipart form's post with 佐证材料: its text fields go into ``fields`` (the caller
    keeps them to show the form again), its files (an empty file input's blank part left
    out) to ``run``, which runs in a worker thread once the form is this visitor's (CSRF).
    A domain error, or the multipart parser's refusal (``HTTPException``: too many files
    or fields), is the caller's to show."""
    async with visit.request.form(max_files=MAX_FILES + 1, max_fields=max_fields,
                                  max_part_size=MAX_FIELD_BYTES) as got:
        fields.update({k: v for k, v in got.multi_items() if isinstance(v, str)})
        files = [(u.filename, u.file) for u in got.getlist("files")
                 if isinstance(u, UploadFile) and (u.filename or u.size)]

        def checked() -> Any:
            visit.check(fields)
            return run(files)

        return await anyio.to_thread.run_sync(checked)


# ------------------------------------------------------------------- reports


@router.get("/", response_class=HTMLResponse)
def overview(visit: Visitor, as_of: str | None = None) -> Response:
    who = visit.who
    if who.role == "unit" and who.unit:  # a unit's first page: its to-do list (web/desk.py)
        return RedirectResponse("/desk", status_code=303)
    return report_page(visit, as_of, lambda v: v.bulletin() | {"plan_codes": plan_codes(v.conn)},
                       "overview.html.j2",
                       figures="overall", link=True, unit_link=unit_link)


UNIT_NOTICES = {"person_added": "人员已登记。", "person_ended": "人员已办理离任。"}


def show_unit(visit: Visit, code: str, as_of: str | None = None, status: int = 200, *,
              error: str | None = None, notice: str | None = None,
              values: dict[str, str] | None = None) -> Response:
    """The unit's report, then its persons (人员: name, post, principal, period) with, for
    a role that may, the forms to add and to end one (``error``: a form's refusal)."""
    if not visit.who.sees_unit(code):
        return not_found(f"单位 {code} ")

    def read(v: View) -> dict[str, Any]:
        return v.unit(code) | {"persons": list_persons(v.conn, unit=code),
                               "today": v.today}

    return report_page(visit, as_of, read, "unit.html.j2", missing=f"单位 {code} ",
                       status=status, link=finding_link, error=error, notice=notice,
                       values=values or {})


@router.get("/units/{code}", response_class=HTMLResponse)
def unit_page(code: str, visit: Visitor, as_of: str | None = None,
              notice: str | None = None) -> Response:
    return show_unit(visit, code, as_of, notice=UNIT_NOTICES.get(notice or ""))


# ------------------------------------------------------------------ findings


def finding_view(v: View, fid: str) -> dict[str, Any] | None:
    row = v.conn.execute(select(acc_findings).where(acc_findings.c.finding_id == fid)).first()
    if row is None:
        return None
    f = dict(row._mapping)
    overdue, late = finding_state(f, v.today)
    everyone = v.units
    unit = everyone.get(f["unit"], {})
    # the name the highest escalation was recorded with (the policy may have changed since)
    label = v.conn.execute(
        select(acc_escalations.c.name)
        .where(acc_escalations.c.finding_id == fid, acc_escalations.c.code == f["rung"])
        .order_by(acc_escalations.c.position.desc()).limit(1)).scalar()
    return {**f, "overdue": overdue, "late": late, "unit_name": unit.get("name", f["unit"]),
            "rung_label": label,
            # the timeline names a unit's token by the unit's name (code → name)
            "unit_names": {code: u["name"] for code, u in everyone.items()},
            "timeline": timelines([f])[fid], "cases": finding_cases(v.conn, fid),
            "days_overdue": (v.today - f["deadline"]).days if overdue else 0}


def interview_due(visit: Visit, fid: UUID) -> bool:
    """The 登记约谈 form is shown: the visitor may hold interviews, and the finding has
    escalated to 约谈, is open and has no interview yet (what the domain requires)."""
    if not visit.who.may("finding.interview"):
        return False
    finding = visit.c.app.find_finding(fid)
    return bool(finding is not None and finding.status != "closed"
                and finding.has_mode("interview") and finding.interview_held_on is None)


def show_finding(visit: Visit, fid_text: str, status: int = 200,
                 error: str | None = None, notice: str | None = None,
                 values: dict[str, str] | None = None) -> Response:
    who = visit.who
    fid = parse_id(fid_text)
    persons: list[dict[str, Any]] = []
    with live(visit.c) as v:
        f = finding_view(v, str(fid)) if fid else None
        today = v.today
        interview = f is not None and fid is not None and interview_due(visit, fid)
        if f is not None and interview:
            persons = list_persons(v.conn, unit=f["unit"], on=today)
    if f is None or not who.sees_unit(f["unit"]):
        return not_found("问题")
    finding = visit.c.app.find_finding(fid) if fid else None  # its files and requests
    return page("finding.html.j2", status, f=f, who=who, csrf=visit.csrf,
                error=error, notice=notice, today=today, interview=interview,
                persons=persons, values=values or {}, commitment_rows=COMMITMENT_ROWS,
                finding=finding, evidence_limits=LIMITS_TEXT)


def new_finding_page(visit: Visit, status: int = 200, *, error: str | None = None,
                     values: dict[str, str] | None = None, catch_up: bool = True) -> Response:
    with live(visit.c, catch_up=catch_up) as v:
        units = sorted((u for u in v.units.values() if u["kind"] == "unit"),
                       key=lambda u: u["code"])
        today = v.today
    return page("new_finding.html.j2", status, who=visit.who, csrf=visit.csrf, units=units,
                today=today, error=error, values=values or {}, evidence_limits=LIMITS_TEXT)


@router.get("/findings/new", response_class=HTMLResponse)
def new_finding_form(visit: Visitor) -> Response:
    if not visit.who.may("finding.record"):
        return refused(visit.who, "只有督学可以登记问题。")
    return new_finding_page(visit)


@router.post("/findings")
async def record_finding(visit: Visitor) -> Response:
    """登记问题: the form's fields and, sent as multipart, its 现场材料 (a photo taken on
    the inspector's phone, say); a refused value or file records nothing."""
    who = visit.who

    def record(data: dict[str, str], files: Sequence[tuple[str | None, IO[bytes]]]) -> str:
        fid = visit.c.app.record_finding(
            unit=data.get("unit", ""), on=parse_day(data.get("on", ""), "on"),
            inspector=data.get("inspector", ""), text=data.get("text", ""),
            severity=data.get("severity") or "general", task=data.get("task") or None,
            actor=who.actor, files=files,
        )
        return f"/findings/{fid}?notice=recorded"

    def failed(e: DudaoError, data: dict[str, str]) -> Response:
        return new_finding_page(visit, 422, error=str(e), values=data, catch_up=False)

    if not visit.request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await submit(visit, "finding.record", "只有督学可以登记问题。",
                            lambda data: record(data, []), failed)
    if not who.may("finding.record"):
        return refused(who, "只有督学可以登记问题。")
    fields: dict[str, str] = {}
    try:
        target = await with_files(visit, fields, 20, lambda files: record(fields, files))
    except DudaoError as e:
        return failed(e, fields)
    except HTTPException as e:  # the multipart parser's refusals (too many files or fields)
        return new_finding_page(visit, 422, error=f"表单有误：{getattr(e, 'detail', e)}；"
                                f"最多{MAX_FILES}个文件，本次未记录", values=fields,
                                catch_up=False)
    return RedirectResponse(target, status_code=303)


@router.get("/findings/{fid}", response_class=HTMLResponse)
def finding_page(fid: str, visit: Visitor, notice: str | None = None) -> Response:
    text = {"recorded": "问题已登记。", "ordered": "整改通知已下达。",
            "interviewed": "约谈已登记。", "reported": "整改报告已提交，待复查。",
            "requested": "延期申请已提交，待审批。", "granted": "已批准延期。",
            "refused": "已不批准延期申请。", "review_pass": "复查通过，问题已销号。",
            "review_fail": "复查未通过，已给出新的整改期限。",
            "review_falsified": "已认定整改报告弄虚作假，问题退回整改。"}.get(notice or "")
    return show_finding(visit, fid, notice=text)


def visible_finding(visit: Visit, fid: str) -> Finding | None:
    """The finding a form posts to, if it exists and the visitor may see it."""
    found = parse_id(fid)
    finding = visit.c.app.find_finding(found) if found else None
    return finding if finding is not None and visit.who.sees_unit(finding.unit) else None


@router.post("/findings/{fid}/orders")
async def order(fid: str, visit: Visitor) -> Response:
    who = visit.who
    if visible_finding(visit, fid) is None:
        return not_found("问题")

    def run(data: dict[str, str]) -> str:
        within = parse_int(data.get("within", ""), "within")
        visit.c.app.order_rectification(fid, on=parse_day(data.get("on", ""), "on"),
                                        within=within,
                                        calendar_days=data.get("calendar_days") == "1",
                                        actor=who.actor)
        return f"/findings/{fid}?notice=ordered"

    return await submit(visit, "finding.order", "只有督学可以下达整改通知。", run,
                        lambda e, _: show_finding(visit, fid, 422, error=str(e)))


COMMITMENT_ROWS = 3
"""整改承诺 rows of the interview form (no script adds rows; more through the API or CLI)."""


def commitments(data: dict[str, str]) -> list[tuple[date, str]]:
    """The form's commitment rows that are filled in: each needs both its date and text."""
    out = []
    for i in range(1, COMMITMENT_ROWS + 1):
        on, text = data.get(f"commitment_on_{i}", ""), data.get(f"commitment_text_{i}", "")
        if not on and not text:
            continue
        if not on or not text:
            missing, field = ("日期", f"commitment_on_{i}") if not on else (
                "内容", f"commitment_text_{i}")
            raise InvalidInput(f"第{i}条整改承诺缺少{missing}", f"commitment {i} lacks its "
                               f"{'date' if not on else 'text'}", field=field)
        out.append((parse_day(on, f"commitment_on_{i}"), text))
    return out


@router.post("/findings/{fid}/interviews")
async def interview(fid: str, visit: Visitor) -> Response:
    who = visit.who
    if visible_finding(visit, fid) is None:
        return not_found("问题")

    def run(data: dict[str, str]) -> str:
        visit.c.app.hold_interview(fid, on=parse_day(data.get("on", ""), "on"),
                                   interviewee=data.get("interviewee") or None,
                                   person=data.get("person") or None,
                                   minutes=data.get("minutes", ""),
                                   commitments=commitments(data), actor=who.actor)
        return f"/findings/{fid}?notice=interviewed"

    return await submit(visit, "finding.interview", "只有督学可以登记约谈。", run,
                        lambda e, data: show_finding(visit, fid, 422, error=e.zh,
                                                     values=data))


REVIEW_OUTCOMES = {"pass": "复查通过", "fail": "复查未通过", "falsified": "认定弄虚作假"}


@router.post("/findings/{fid}/reviews")
async def review(fid: str, visit: Visitor) -> Response:
    """复查 (the inspector): 通过 (销号), 未通过 with a new deadline in working days (or
    calendar days), or 弄虚作假 with a note (the deadline unchanged). Every check is the
    service's and the domain's; a refusal shows the form again, filled in, and records
    nothing."""
    who = visit.who
    if visible_finding(visit, fid) is None:
        return not_found("问题")

    def run(data: dict[str, str]) -> str:
        outcome = data.get("outcome", "")
        if outcome not in REVIEW_OUTCOMES:
            raise InvalidInput("请选择“复查结论”：通过、未通过或弄虚作假",
                               f"outcome must be one of {sorted(REVIEW_OUTCOMES)}",
                               field="outcome")
        on = parse_day(data.get("on", ""), "on", "复查日期")
        within = (parse_int(data.get("within", "").strip(), "within", "新的整改期限（天）")
                  if outcome == "fail" else None)
        visit.c.app.review(fid, on=on, passed=outcome == "pass", within=within,
                           calendar_days=outcome == "fail" and data.get("calendar_days") == "1",
                           note=data.get("note") or None, actor=who.actor,
                           falsified=outcome == "falsified")
        return f"/findings/{fid}?notice=review_{outcome}"

    return await submit(visit, "finding.review", "只有督学可以复查。", run,
                        lambda e, data: show_finding(visit, fid, 422, error=e.zh,
                                                     values=data))


def parse_day(text: str, field: str, label: str = "") -> date:
    """A form's date (``label``: the field as the form names it, for the error)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        what = f"“{label}”" if label else "日期"
        raise InvalidInput(f"{what}格式不对：{text!r}，应为 YYYY-MM-DD",
                           f"invalid date {text!r}", field=field) from None


def parse_int(text: str, field: str, label: str = "") -> int:
    try:
        return int(text)
    except ValueError:
        what = f"“{label}”" if label else field
        raise InvalidInput(f"{what} 应为整数天数，收到 {text!r}",
                           f"{field} must be a whole number", field=field) from None
