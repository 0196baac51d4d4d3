"""Accountability cases (问责案件) over HTTP: the list, one case, its steps and its 问责决定书.

A case is opened by the escalation sweep (a rung the policy marks ``decided_by =
"committee"``); people move it on here, each step by the roles of
``adapters.infrastructure.tokens.PERMISSIONS``: inspectors (and the committee) record
调查核实 and 告知; the unit states its own case (陈述申辩), or staff record the statement on
its behalf; the ``committee`` decides (决定) or dismisses (不予问责). A unit token sees its
own unit's cases only: another unit's answers 404, as if it did not exist.

Every write goes through :class:`~adapters.entrypoints.api.deps.Command`; the service
functions are :mod:`adapters.service_layer.accountability`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

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
from adapters.entrypoints.api.models import NEXT_CURSOR_TEXT, Strict, day, described, text
from adapters.infrastructure.tokens import Principal
from adapters.rendering.decision import DOCUMENT_FORMATS, render_document
from adapters.service_layer import accountability
from domain.accountability import CASE_STATUSES, MAX_PERSONS, AccountabilityCase
from domain.errors import DudaoError, NotFound
from domain.rungs import PERSON_MODES, UNIT_MODES
from projections.paging import DEFAULT_LIMIT

router = APIRouter(prefix=PREFIX, tags=["问责案件"])

if TYPE_CHECKING:
    CaseStatus = str
    UnitMode = str
    PersonMode = str
    DocumentFormat = str
else:
    CaseStatus = Literal[tuple(CASE_STATUSES)]
    UnitMode = Literal[tuple(UNIT_MODES)]
    PersonMode = Literal[tuple(PERSON_MODES)]
    DocumentFormat = Literal[DOCUMENT_FORMATS]

CaseId = Annotated[str, Path(max_length=64, description="问责案件编号（UUID）")]
STATUS_TEXT = "案件状态：" + described(CASE_STATUSES)
UNIT_MODE_TEXT = "对单位的问责方式：" + described(UNIT_MODES)
PERSON_MODE_TEXT = "对人员的问责方式：" + described(PERSON_MODES)


# ----------------------------------------------------------------- requests


class InvestigationIn(Strict):
    """调查核实：登记核实了什么、如何核实（可多次）。"""

    on: day("调查核实日期（YYYY-MM-DD），不早于立案日期，不晚于今天")  # type: ignore[valid-type]
    note: text(8000, "调查核实情况", examples=["核对拨付凭证，确认未足额拨付"])  # type: ignore[valid-type]


class NoticeIn(Strict):
    """告知：把事实和陈述申辩的权利告知单位（及相关责任人），按工作日计算陈述申辩期限。"""

    on: day("告知日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    persons: list[text(50, "被告知的相关责任人姓名", examples=["王局长"])] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=MAX_PERSONS,
        description=f"同时告知的相关责任人姓名（最多{MAX_PERSONS}人，可为空）；决定中只能对被告知的人员问责")


class StatementIn(Strict):
    """陈述申辩：责任单位令牌提交本单位的陈述申辩；督学、督导委员会代为记录。"""

    on: day("陈述申辩日期（YYYY-MM-DD），在告知后的期限内")  # type: ignore[valid-type]
    text: text(8000, "陈述申辩内容", examples=["因财政收支紧张延迟拨付，已于12月补足"])  # type: ignore[valid-type]


class PersonDecisionIn(Strict):
    """对一名被告知人员的问责方式。"""

    name: text(50, "被问责人员姓名（须已被告知）", examples=["王局长"])  # type: ignore[valid-type]
    modes: list[PersonMode] = Field(..., min_length=1, max_length=len(PERSON_MODES),
                                    description=PERSON_MODE_TEXT + "（至少一种）")


class DecisionIn(Strict):
    """决定（督导委员会）：对单位及被告知人员的问责方式、依据与生效日期。"""

    on: day("决定日期（YYYY-MM-DD）：陈述申辩期满或收到陈述申辩之后")  # type: ignore[valid-type]
    unit_modes: list[UnitMode] = Field(..., min_length=1, max_length=len(UNIT_MODES),
                                       description=UNIT_MODE_TEXT + "（至少一种）")
    persons: list[PersonDecisionIn] = Field(
        default_factory=list, max_length=MAX_PERSONS,
        description="被问责的人员及其问责方式（须是告知时点名的人员，可为空）")
    basis: text(4000, "问责依据（依据的规定、条款与事实）",  # type: ignore[valid-type]
                examples=["《教育督导问责办法》第七条"])
    effective_on: day("生效日期（YYYY-MM-DD），不早于决定日期；不填即为决定日期") | None = Field(  # type: ignore[valid-type]
        None, description="生效日期（YYYY-MM-DD），不早于决定日期；不填即为决定日期")


class DismissalIn(Strict):
    """不予问责（督导委员会），写明理由。"""

    on: day("决定日期（YYYY-MM-DD）")  # type: ignore[valid-type]
    reason: text(4000, "不予问责的理由", examples=["经核实已于告知前整改到位"])  # type: ignore[valid-type]


# ---------------------------------------------------------------- responses


class CaseRef(BaseModel):
    case_id: str = Field(..., description="此前已决定问责的案件编号")
    decided_on: date = Field(..., description="该案件的决定日期")


class PersonRow(BaseModel):
    name: str = Field(..., description="被问责人员姓名")
    modes: list[PersonMode] = Field(..., description=PERSON_MODE_TEXT)


class PersonDecisionOut(PersonRow):
    mode_names: list[str] = Field(..., description="问责方式的中文名称，与 modes 一一对应")
    aggravated_by: list[CaseRef] = Field(
        default_factory=list, description="从重：该人员此前已被决定问责的案件（问责期限内），无则为空")


class DecisionOut(BaseModel):
    on: date = Field(..., description="决定日期")
    effective_on: date = Field(..., description="生效日期")
    basis: str = Field(..., description="问责依据")
    unit_modes: list[UnitMode] = Field(..., description=UNIT_MODE_TEXT)
    unit_mode_names: list[str] = Field(..., description="对单位问责方式的中文名称，与 unit_modes 一一对应")
    persons: list[PersonDecisionOut] = Field(..., description="被问责的人员及其问责方式")
    aggravated_by: list[CaseRef] = Field(
        ..., description="从重：本单位此前已被决定问责的案件（问责期限内），无则为空")
    aggravation_since: date = Field(..., description="从重的起算日期（决定日期前若干个月，见策略）")


class InvestigationOut(BaseModel):
    on: date = Field(..., description="调查核实日期")
    note: str = Field(..., description="调查核实情况")


class StatementOut(BaseModel):
    on: date = Field(..., description="陈述申辩日期")
    text: str = Field(..., description="陈述申辩内容")
    by_unit: bool = Field(..., description="true：单位自行提交；false：工作人员代为记录")


class DismissalOut(BaseModel):
    on: date = Field(..., description="不予问责的决定日期")
    reason: str = Field(..., description="不予问责的理由")


class CaseFields(BaseModel):
    """What a case's list row and the case itself both show."""

    case_id: str = Field(..., description="问责案件编号（UUID）")
    finding_id: str = Field(..., description="所涉问题编号")
    unit: str = Field(..., description="责任单位代码")
    unit_name: str = Field(..., description="责任单位名称")
    status: CaseStatus = Field(..., description=STATUS_TEXT)
    status_name: str = Field(..., description="案件状态的中文名称")
    finding_text: str = Field(..., description="问题描述")
    code: str = Field(..., description="提请问责的升级级别代码（策略中的级别）")
    rung_name: str = Field(..., description="提请问责的升级级别名称")
    opened_on: date = Field(..., description="立案（提请问责）日期")
    notified_on: date | None = Field(None, description="告知日期，未告知为 null")
    statement_due: date | None = Field(None, description="陈述申辩期限的最后一天，未告知为 null")
    aggravated: bool = Field(..., description="是否从重（问责期限内已被决定问责）")


class CaseOut(CaseFields):
    """一个问责案件：立案时的事实、调查核实、告知、陈述申辩与决定。"""

    severity: str = Field(..., description="问题的严重程度代码")
    severity_name: str = Field(..., description="问题的严重程度（中文）")
    policy: str = Field(..., description="立案时的升级策略名称")
    policy_version: int = Field(..., description="立案时的升级策略版本")
    statement_days: int = Field(..., description="陈述申辩期限（告知后的工作日数，立案时的策略值）")
    aggravation_months: int = Field(..., description="从重期限（月数，立案时的策略值）")
    history: list[dict[str, Any]] = Field(
        ..., description="立案时该问题的经过（事实），按发生顺序：每项有 event 事件类型、on 日期及其内容")
    investigations: list[InvestigationOut] = Field(..., description="调查核实，按登记顺序")
    notified_persons: list[str] = Field(..., description="告知时点名的相关责任人")
    statement_due_provisional: bool = Field(
        False, description="陈述申辩期限是否按暂定日历算出（该年尚无节假日安排），显示为“暂定”")
    statements: list[StatementOut] = Field(..., description="陈述申辩，按提交顺序")
    decision: DecisionOut | None = Field(None, description="问责决定，未决定为 null")
    dismissal: DismissalOut | None = Field(None, description="不予问责的决定，无则为 null")


class CaseRow(CaseFields):
    """问责案件列表中的一项。"""

    statements: int = Field(..., description="陈述申辩的次数")
    decided_on: date | None = Field(None, description="决定（或不予问责）日期，未决定为 null")
    effective_on: date | None = Field(None, description="问责决定的生效日期，未决定为 null")
    unit_modes: list[UnitMode] = Field(..., description=UNIT_MODE_TEXT + "；未决定为空")
    persons: list[PersonRow] = Field(..., description="被问责的人员及其问责方式；未决定为空")


class CaseList(BaseModel):
    cases: list[CaseRow] = Field(..., description="问责案件，立案日期从新到旧（同日按编号）")
    count: int = Field(..., description="本页的案件数")
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_TEXT)


def case_out(case: AccountabilityCase) -> CaseOut:
    return CaseOut(**accountability.case_view(case))


def case_row(r: dict[str, Any]) -> CaseRow:
    return CaseRow(**{k: r[k] for k in CaseRow.model_fields if k in r},
                   status_name=CASE_STATUSES[r["status"]])


# ------------------------------------------------------------------- access


def visible_case(c: Components, who: Principal, case_id: str) -> AccountabilityCase:
    """The case, if the caller may see it (another unit's is not found)."""
    return accountability.visible_case(c.app, case_id, role=who.role, unit=who.unit)


# The domain names some fields as the command line does; the API's own names here.
API_FIELDS = {"person": "persons", "person_mode": "persons", "unit_mode": "unit_modes"}


def step(write: Command, action: str, body: BaseModel, case_id: str,
         act: Callable[[], AccountabilityCase]) -> JSONResponse:
    """One step of a case: the role, then the case visible to the caller (else 404), then
    ``act`` once under the Idempotency-Key; its answer is the case afterwards."""

    def run(_: str | None) -> CaseOut:
        try:
            return case_out(act())
        except DudaoError as e:
            e.field = API_FIELDS.get(e.field or "", e.field)
            raise

    return write(action, body, run, check=lambda: visible_case(write.c, write.who, case_id))


# -------------------------------------------------------------------- reads


@router.get("/accountability", response_model=CaseList,
            summary="问责案件列表（责任单位令牌只看到本单位的案件）", responses=READ_ERRORS)
def list_cases(
    c: Service,
    who: Who,
    status: Annotated[CaseStatus | None, Query(description="只列这个状态的案件")] = None,
    unit: Annotated[str | None, Query(max_length=64, description="只列这个单位的案件")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> CaseList:
    forbid(who, "case.read")
    if who.role == "unit":
        if unit is not None and unit != who.unit:
            raise NotFound(f"单位 {unit} 不存在", f"unknown unit {unit!r}", field="unit")
        unit = who.unit
    got = accountability.page_cases(c.runner, status=status, unit=unit, limit=limit,
                                    cursor=cursor)
    rows = [case_row(r) for r in got.rows]
    return CaseList(cases=rows, count=len(rows), next_cursor=got.next_cursor)


@router.get("/accountability/{case_id}", response_model=CaseOut,
            summary="查看一个问责案件", responses=READ_ERRORS)
def get_case(case_id: CaseId, c: Service, who: Who) -> CaseOut:
    forbid(who, "case.read")
    return case_out(visible_case(c, who, case_id))


DOCUMENT_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def content_disposition(filename: str, fallback: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` (RFC 6266, RFC 5987): the
    Chinese name for every browser that reads ``filename*``, an ASCII one for the rest."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def document_response(doc: dict[str, Any], fmt: str, *, inline: bool = False) -> Response:
    """The 问责决定书 (or 不予问责决定书) of ``doc`` as a file of ``fmt``."""
    title = "问责决定书" if doc["status"] == "decided" else "不予问责决定书"
    unit = "".join(ch for ch in doc["unit_name"] if ch not in '\\/:*?"<>|' and ch.isprintable())
    name = f"{title}-{unit}-{doc['case_id'][:8]}.{fmt}"
    fallback = f"decision-{doc['case_id']}.{fmt}"
    return Response(render_document(doc, fmt), media_type=DOCUMENT_TYPES[fmt],
                    headers={"Content-Disposition": content_disposition(name, fallback,
                                                                        inline=inline)})


DOCUMENT_ANSWERS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "问责决定书（或不予问责决定书）：Markdown 或可打印的 A4 HTML",
          "content": {"text/markdown": {"schema": {"type": "string"}},
                      "text/html": {"schema": {"type": "string"}}}},
}


@router.get("/accountability/{case_id}/document", response_class=Response,
            summary="问责决定书（已决定或不予问责的案件才有）", responses=DOCUMENT_ANSWERS)
def get_document(
    case_id: CaseId,
    c: Service,
    who: Who,
    format: Annotated[DocumentFormat, Query(description="md（Markdown）或 html（可打印的 A4 页面）")] = "md",
) -> Response:
    forbid(who, "case.read")
    doc = accountability.decision_document(c.app, case_id, role=who.role, unit=who.unit)
    return document_response(doc, format)


# ------------------------------------------------------------------- steps


@router.post("/accountability/{case_id}/investigations", status_code=201,
             response_model=CaseOut, summary="登记调查核实（督学、督导委员会）", responses=ERRORS)
def investigate(case_id: CaseId, body: InvestigationIn, write: Write) -> JSONResponse:
    return step(write, "case.investigate", body, case_id, lambda: write.app.investigate_case(
        case_id, on=body.on, note=body.note, actor=write.actor))


@router.post("/accountability/{case_id}/notices", status_code=201, response_model=CaseOut,
             summary="告知单位及相关责任人，起算陈述申辩期限（督学、督导委员会）",
             responses=ERRORS)
def notify(case_id: CaseId, body: NoticeIn, write: Write) -> JSONResponse:
    return step(write, "case.notify", body, case_id, lambda: write.app.notify_case(
        case_id, on=body.on, persons=list(body.persons), actor=write.actor))


@router.post("/accountability/{case_id}/statements", status_code=201, response_model=CaseOut,
             summary="陈述申辩（责任单位为本单位提交；督学、督导委员会代为记录）",
             responses=ERRORS)
def state(case_id: CaseId, body: StatementIn, write: Write) -> JSONResponse:
    who = write.who
    return step(write, "case.statement", body, case_id, lambda: write.app.submit_statement(
        case_id, on=body.on, text=body.text, actor=write.actor, role=who.role, unit=who.unit))


@router.post("/accountability/{case_id}/decision", status_code=201, response_model=CaseOut,
             summary="作出问责决定（督导委员会）", responses=ERRORS)
def decide(case_id: CaseId, body: DecisionIn, write: Write) -> JSONResponse:
    return step(write, "case.decide", body, case_id, lambda: write.app.decide_case(
        case_id, on=body.on, unit_modes=list(body.unit_modes),
        persons=[(p.name, list(p.modes)) for p in body.persons], basis=body.basis,
        effective_on=body.effective_on, actor=write.actor, role=write.who.role))


@router.post("/accountability/{case_id}/dismissal", status_code=201, response_model=CaseOut,
             summary="决定不予问责（督导委员会）", responses=ERRORS)
def dismiss(case_id: CaseId, body: DismissalIn, write: Write) -> JSONResponse:
    return step(write, "case.dismiss", body, case_id, lambda: write.app.dismiss_case(
        case_id, on=body.on, reason=body.reason, actor=write.actor, role=write.who.role))
