"""The HTTP API: FastAPI routes over the same ``Dudao`` service as the command line.

Every route authenticates the bearer token, asks :mod:`adapters.infrastructure.tokens` whether the
role may do it, scopes a unit token to its own unit (another unit's finding
answers 404, as if it did not exist), and calls one service method with the
token's actor. Rules live in the service and the domain, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError as SQLOperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import (
    BEARER_SCHEME,
    ERRORS,
    KEY_PATTERN,
    PREFIX,
    READ_ERRORS,
    Components,
    Hook,
    IdempotencyKey,
    Lifecycle,
    Who,
    error_response,
    forbid,
    log,
    referenced,
    validation_response,
)
from adapters.entrypoints.http_limits import BodyLimit
from adapters.infrastructure.tokens import (
    Principal,
    request_digest,
)
from adapters.service_layer.application import StoreUnavailable
from domain.errors import (
    DudaoError,
    InvalidInput,
    NotFound,
)
from domain.findings import Finding
from projections.findings import list_findings
from projections.runner import skipped_counts


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
            "code", "rung", "rule", "policy_version", "threshold", "due")})
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
        accountability=r["accountability"],
    )


# ---------------------------------------------------------------------- app


def create_api(c: Components, lifecycle: Lifecycle | None = None) -> FastAPI:
    lifecycle = lifecycle or Lifecycle()

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        started: list[Hook] = []
        if c.settings.api_threads:
            anyio.to_thread.current_default_thread_limiter().total_tokens = c.settings.api_threads
        try:
            for hook in lifecycle.startup:
                result = hook(c)
                if hasattr(result, "__await__"):
                    await result
                started.append(hook)
            yield
        finally:
            for hook in lifecycle.shutdown:
                try:
                    result = hook(c)
                    if hasattr(result, "__await__"):
                        await result
                except Exception:  # every hook gets its chance to stop
                    log.exception("shutdown hook %r failed", hook)

    api = FastAPI(
        title="dudao 督导 API",
        version="1",
        description=(
            "教育督导问题整改与问责：督学登记检查与问题、限期整改、复查、延期、约谈；"
            "责任单位查看本单位问题并提交整改报告。除健康检查外，每个请求都要带 "
            "`Authorization: Bearer TOKEN`。POST 可带 `Idempotency-Key` 请求头，重复提交返回第一次的结果。"
            "出错时返回 `{code, field, message, message_en}`，不记录任何事件。"
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,  # the Swagger UI loads from a CDN: government intranets have none
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry hooks ask for configured providers on every
        # request; dudao configures none (no collector on an intranet): switched off.
        telemetry={"tracing": False, "metrics": False, "logs": False,
                   "operation_spans": False},
    )

    api.state.components = c
    # Bodies are bounded per route (413 past the limit, counted as they stream).
    api.add_middleware(BodyLimit)

    @api.exception_handler(DudaoError)
    async def on_dudao_error(_: Request, e: DudaoError) -> JSONResponse:
        return error_response(e)

    @api.exception_handler(RequestValidationError)
    async def on_validation(_: Request, e: RequestValidationError) -> JSONResponse:
        return validation_response(e)

    @api.exception_handler(SQLOperationalError)
    async def on_db_down(_: Request, e: SQLOperationalError) -> JSONResponse:
        return error_response(StoreUnavailable("数据库无法访问，请稍后重试",
                                               f"the database is unreachable: {type(e).__name__}",
                                               field="db"))

    @api.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        zh = {404: "没有这个地址", 405: "该地址不支持这个方法"}.get(e.status_code, "请求有误")
        return JSONResponse({"code": code, "field": None, "message": zh,
                             "message_en": str(e.detail)}, status_code=e.status_code,
                            headers=getattr(e, "headers", None))

    def visible_finding(who: Principal, finding_id: str) -> Finding:
        finding = c.app.get_finding(finding_id)
        if not who.sees_unit(finding.unit):
            raise NotFound(f"问题 {finding_id} 不存在", f"unknown finding {finding_id}",
                           field="finding")
        return finding

    def visible_unit(who: Principal, code: str) -> Any:
        if not who.sees_unit(code):
            raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field="unit")
        return c.app.get_unit(code)

    def write(request: Request, who: Principal, key: str | None, payload: BaseModel | None,
              status: int, run: Callable[[str | None], BaseModel]) -> JSONResponse:
        """Run one command; under an Idempotency-Key, at most once per token and key."""
        if key is None:
            return JSONResponse(jsonable_encoder(referenced(run, None)), status_code=status)
        if not KEY_PATTERN.match(key):
            raise InvalidInput("幂等键只能由1–200个可见 ASCII 字符组成",
                               "Idempotency-Key must be 1-200 visible ASCII characters",
                               field="Idempotency-Key")
        body = payload.model_dump(mode="json") if payload is not None else None
        digest = request_digest("POST", request.url.path, body)
        stored = c.idempotency.begin(who.token_id, key, digest, c.wall())
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status,
                                headers={"Idempotent-Replayed": "true"})
        try:
            result = jsonable_encoder(referenced(run, f"{who.token_id}:{key}"))
        except BaseException:
            c.idempotency.abandon(who.token_id, key)
            raise
        c.idempotency.finish(who.token_id, key, status, result)
        return JSONResponse(result, status_code=status)

    from adapters.entrypoints.api.audit import add_audit_routes

    add_audit_routes(api, c, PREFIX)

    # --------------------------------------------------------------- health

    @api.get(f"{PREFIX}/health", response_model=m.HealthOut, tags=["服务"],
             summary="健康检查（不需要令牌）",
             responses={503: {"model": m.ErrorOut, "description": "事件库无法访问"}})
    def health() -> m.HealthOut:
        events = c.app.event_count()
        sweep = c.background.get("sweep")
        skipped = skipped_counts(c.engine)
        return m.HealthOut(status="ok", events=events, skipped=m.SkippedCounts(
            sweep=getattr(sweep, "skipped", 0), **skipped))

    # ---------------------------------------------------------------- units

    @api.post(f"{PREFIX}/units", status_code=201, response_model=m.UnitOut, tags=["单位"],
              summary="登记责任单位（管理员）", responses=ERRORS)
    def add_unit(body: m.UnitIn, request: Request, who: Who,
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "unit.add")

        def run(_: str | None) -> m.UnitOut:
            u = c.app.add_unit(body.code, body.name, parent=body.parent,
                               principal=body.principal, actor=who.actor)
            return m.UnitOut(code=u.code, name=u.name, parent=u.parent, principal=u.principal)

        return write(request, who, idempotency_key, body, 201, run)

    @api.get(f"{PREFIX}/units/{{code}}", response_model=m.UnitOut, tags=["单位"],
             summary="查看单位", responses=READ_ERRORS)
    def get_unit(code: str, who: Who) -> m.UnitOut:
        forbid(who, "unit.read")
        u = visible_unit(who, code)
        return m.UnitOut(code=u.code, name=u.name, parent=u.parent, principal=u.principal)

    @api.get(f"{PREFIX}/units/{{code}}/report", response_model=m.UnitReportOut, tags=["单位"],
             summary="单位问责报告（字段同 `dudao report unit --format json`）",
             responses=READ_ERRORS)
    def get_unit_report(code: str, who: Who) -> m.UnitReportOut:
        forbid(who, "report.read")
        u = visible_unit(who, code)
        return unit_report(c, u.code, u.name)

    # ---------------------------------------------------------- inspections

    @api.post(f"{PREFIX}/inspections", status_code=201, response_model=m.InspectionCreated,
              tags=["督导检查"], summary="登记一次督导检查及其发现的问题（督学）", responses=ERRORS)
    def record_inspection(body: m.InspectionIn, request: Request, who: Who,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "inspection.record")

        def run(key: str | None) -> m.InspectionCreated:
            iid, fids = c.app.record_inspection(
                unit=body.unit, on=body.on, inspectors=list(body.inspectors),
                findings=[f.model_dump() for f in body.findings], key=key, actor=who.actor)
            return m.InspectionCreated(inspection_id=str(iid), finding_ids=[str(f) for f in fids])

        return write(request, who, idempotency_key, body, 201, run)

    @api.get(f"{PREFIX}/inspections/{{inspection_id}}", response_model=m.InspectionOut,
             tags=["督导检查"], summary="查看一次督导检查", responses=READ_ERRORS)
    def get_inspection(inspection_id: str, who: Who) -> m.InspectionOut:
        forbid(who, "finding.read")
        i = c.app.get_inspection(inspection_id)
        if not who.sees_unit(i.unit):
            raise NotFound(f"检查 {inspection_id} 不存在", f"unknown inspection {inspection_id}",
                           field="inspection")
        return m.InspectionOut(inspection_id=str(i.id), unit=i.unit, on=i.on,
                               inspectors=i.inspectors, finding_ids=[str(f) for f in i.finding_ids],
                               recorded_by=i.recorded_by, recorded_at=i.recorded_at)

    # ------------------------------------------------------------- findings

    @api.post(f"{PREFIX}/findings", status_code=201, response_model=m.FindingCreated,
              tags=["问题"], summary="登记一条问题（督学）", responses=ERRORS)
    def record_finding(body: m.FindingIn, request: Request, who: Who,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.record")

        def run(key: str | None) -> m.FindingCreated:
            fid = c.app.record_finding(
                unit=body.unit, on=body.on, inspector=body.inspector, text=body.text,
                severity=body.severity, task=body.task, key=key, actor=who.actor)
            return m.FindingCreated(finding_id=str(fid))

        return write(request, who, idempotency_key, body, 201, run)

    @api.get(f"{PREFIX}/findings", response_model=m.FindingList, tags=["问题"],
             summary="问题列表（责任单位令牌只看到本单位的问题）", responses=READ_ERRORS)
    def find_findings(
        who: Who,
        unit: Annotated[str | None, Query(max_length=64, description="只列这个单位的问题")] = None,
        status: Annotated[m.Status | None, Query(description="只列这个状态的问题")] = None,
    ) -> m.FindingList:
        forbid(who, "finding.read")
        if who.role == "unit":
            if unit is not None and unit != who.unit:
                raise NotFound(f"单位 {unit} 不存在", f"unknown unit {unit!r}", field="unit")
            unit = who.unit
        c.runner.catch_up()  # read your own writes
        with c.engine.connect() as conn:
            rows = list_findings(conn, unit=unit, status=status)
        items = [m.FindingRow(**{k: r[k] for k in m.FindingRow.model_fields}) for r in rows]
        return m.FindingList(findings=items, count=len(items))

    @api.get(f"{PREFIX}/findings/{{finding_id}}", response_model=m.FindingOut, tags=["问题"],
             summary="查看一条问题的当前状态", responses=READ_ERRORS)
    def get_finding(finding_id: str, who: Who) -> m.FindingOut:
        forbid(who, "finding.read")
        return finding_out(visible_finding(who, finding_id))

    @api.get(f"{PREFIX}/findings/{{finding_id}}/history", response_model=m.HistoryOut,
             tags=["问题"], summary="一条问题的全部事件", responses=READ_ERRORS)
    def get_history(finding_id: str, who: Who) -> m.HistoryOut:
        forbid(who, "finding.read")
        f = visible_finding(who, finding_id)
        return m.HistoryOut(finding_id=str(f.id),
                            events=[history_event(e) for e in c.app.history(f.id)])

    @api.get(f"{PREFIX}/findings/{{finding_id}}/escalations", response_model=m.EscalationList,
             tags=["问题"], summary="一条问题的历次升级（预警、督办、约谈、通报、问责）",
             responses=READ_ERRORS)
    def get_escalations(finding_id: str, who: Who) -> m.EscalationList:
        forbid(who, "finding.read")
        f = visible_finding(who, finding_id)
        out = finding_out(f)
        return m.EscalationList(finding_id=out.finding_id, rung=out.rung,
                                escalations=out.escalations)

    @api.post(f"{PREFIX}/findings/{{finding_id}}/orders", status_code=201,
              response_model=m.OrderOut, tags=["整改"], summary="下达整改通知（督学）",
              responses=ERRORS)
    def order(finding_id: str, body: m.OrderIn, request: Request, who: Who,
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.order")
        fid = str(visible_finding(who, finding_id).id)

        def run(_: str | None) -> m.OrderOut:
            deadline = c.app.order_rectification(finding_id, on=body.on, within=body.within,
                                                 calendar_days=body.calendar_days,
                                                 actor=who.actor)
            return m.OrderOut(finding_id=fid, status="rectifying", deadline=deadline)

        return write(request, who, idempotency_key, body, 201, run)

    @api.post(f"{PREFIX}/findings/{{finding_id}}/reports", status_code=201,
              response_model=m.StateOut, tags=["整改"], summary="提交整改报告（责任单位）",
              responses=ERRORS)
    def report(finding_id: str, body: m.ReportIn, request: Request, who: Who,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.report")
        visible_finding(who, finding_id)

        def run(_: str | None) -> m.StateOut:
            c.app.submit_report(finding_id, on=body.on, text=body.text, actor=who.actor)
            f = c.app.get_finding(finding_id)
            return m.StateOut(finding_id=str(f.id), status=f.status,  # type: ignore[arg-type]
                              deadline=f.deadline)

        return write(request, who, idempotency_key, body, 201, run)

    @api.post(f"{PREFIX}/findings/{{finding_id}}/reviews", status_code=201,
              response_model=m.StateOut, tags=["整改"],
              summary="复查：通过即销号，未通过重新限期（督学）", responses=ERRORS)
    def review(finding_id: str, body: m.ReviewIn, request: Request, who: Who,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.review")
        visible_finding(who, finding_id)

        def run(_: str | None) -> m.StateOut:
            c.app.review(finding_id, on=body.on, passed=body.passed, within=body.within,
                         calendar_days=body.calendar_days, note=body.note, actor=who.actor)
            f = c.app.get_finding(finding_id)
            return m.StateOut(finding_id=str(f.id), status=f.status,  # type: ignore[arg-type]
                              deadline=f.deadline)

        return write(request, who, idempotency_key, body, 201, run)

    @api.post(f"{PREFIX}/findings/{{finding_id}}/extensions", status_code=201,
              response_model=m.StateOut, tags=["整改"], summary="批准延期（督学）",
              responses=ERRORS)
    def extend(finding_id: str, body: m.ExtensionIn, request: Request, who: Who,
               idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.extend")
        visible_finding(who, finding_id)

        def run(_: str | None) -> m.StateOut:
            deadline = c.app.extend(finding_id, on=body.on, to=body.to, reason=body.reason,
                                    actor=who.actor)
            f = c.app.get_finding(finding_id)
            return m.StateOut(finding_id=str(f.id), status=f.status,  # type: ignore[arg-type]
                              deadline=deadline)

        return write(request, who, idempotency_key, body, 201, run)

    @api.post(f"{PREFIX}/findings/{{finding_id}}/interviews", status_code=201,
              response_model=m.InterviewOut, tags=["整改"],
              summary="登记约谈（督学；问题须已升级到约谈）", responses=ERRORS)
    def interview(finding_id: str, body: m.InterviewIn, request: Request, who: Who,
                  idempotency_key: IdempotencyKey = None) -> JSONResponse:
        forbid(who, "finding.interview")
        fid = str(visible_finding(who, finding_id).id)

        def run(_: str | None) -> m.InterviewOut:
            c.app.hold_interview(finding_id, on=body.on, interviewee=body.interviewee,
                                 minutes=body.minutes, person=body.person,
                                 commitments=[(x.on, x.text) for x in body.commitments],
                                 actor=who.actor)
            return m.InterviewOut(finding_id=fid, interview_held_on=body.on)

        return write(request, who, idempotency_key, body, 201, run)

    # Action plans (实施方案): import, ledger, progress, sign-off.
    from adapters.entrypoints.api.plans import plan_routes

    plan_routes(api, c, write, PREFIX)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            routes = [r for r in api.routes if r is not hot]  # as declared (see below)
            routes.insert(hot_declared_at, hot)
            schema = get_openapi(title=api.title, version=api.version,
                                 description=api.description, routes=routes)
            schema.setdefault("components", {})["securitySchemes"] = {"HTTPBearer": BEARER_SCHEME}
            for path, operations in schema["paths"].items():
                if path != f"{PREFIX}/health":
                    for operation in operations.values():
                        operation["security"] = [{"HTTPBearer": []}]
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    # The web pages (server-rendered, same tokens and roles, signed in by cookie).
    from adapters.entrypoints.web import web_router

    api.include_router(web_router(c.app, c.db, c.tokens.lookup, c.runner, sessions=c.tokens))

    # Routing tries the routes in turn: recording a finding, the busiest request by far,
    # goes first. No route before it matched its path, and for another method on the same
    # path it is still the first partial match, so every request is routed as before;
    # the OpenAPI document keeps the declared order.
    hot = next(r for r in api.router.routes if isinstance(r, APIRoute)
               and r.path == f"{PREFIX}/findings" and "POST" in (r.methods or ()))
    hot_declared_at = api.router.routes.index(hot)
    api.router.routes.insert(0, api.router.routes.pop(hot_declared_at))
    return api
