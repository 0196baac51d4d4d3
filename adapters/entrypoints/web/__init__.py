"""Web pages: server-rendered jinja2, no JavaScript needed.

An APIRouter for the HTTP service: an overview (open, overdue, escalations by
rung, the ranking), a unit page (its accountability report), a finding page
(its timeline) and forms for an inspector to record a finding and order
rectification. Pages use the same roles as the API: the visitor signs in with
an API token (the cookie then holds a random session id, HttpOnly, SameSite=Lax), a ``unit`` token
sees its own unit's pages only (another unit's pages answer 404, as the API
does), and only an inspector may use the forms. Every form carries a token
derived from the session (double submit), so another site cannot post one.

``web_router(app, db, lookup)`` takes ``lookup(token) -> principal | None``;
a principal has ``role``, ``unit``, ``actor``, ``may(action)`` and
``sees_unit(code)`` (adapters.infrastructure.tokens.Principal on the API's token store).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader
from sqlalchemy import select

from adapters.bootstrap import read_models
from adapters.rendering.reports import View
from adapters.rendering.reports import as_of as as_of_view
from adapters.rendering.reports import live as live_view
from adapters.rendering.reports.render import day, md_cell, percent, rate_chart, rung_chart
from adapters.service_layer.application import Dudao, parse_id
from adapters.settings import parse_moment
from domain.errors import DudaoError, InvalidInput, NotFound
from domain.findings import MAX_WITHIN, SEVERITIES, STATUSES
from projections.accountability import findings as acc_findings
from projections.reports import finding_state, timelines
from projections.runner import Runner

COOKIE = "dudao_session"  # a random session id, stored hashed (never the API token)
LOGIN_CSRF = "dudao_login_csrf"


class WebPrincipal(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def unit(self) -> str | None: ...

    @property
    def actor(self) -> str: ...

    def may(self, action: str) -> bool: ...

    def sees_unit(self, unit: str) -> bool: ...


Lookup = Callable[[str], WebPrincipal | None]


class NotSignedIn(Exception):
    pass


@cache
def environment() -> Environment:
    # the report templates (and their style sheet) are shared with adapters.rendering.reports
    loader = ChoiceLoader([PackageLoader("adapters.entrypoints.web", "templates"),
                           PackageLoader("adapters.rendering.reports", "templates")])
    env = Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, day=day, cell=md_cell)
    env.globals.update(SEVERITIES=SEVERITIES, STATUSES=STATUSES,
                       MAX_WITHIN=MAX_WITHIN)
    return env


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of a submitted value with the expected one. A form or a
    cookie may carry any text, and ``hmac.compare_digest`` raises on non-ASCII ``str``:
    compared as bytes, a stray ``é`` is a mismatch, not a server error."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"dudao-web-form", hashlib.sha256).hexdigest()[:32]


def web_router(app: Dudao, db: str, lookup: Lookup, runner: Runner | None = None,
               sessions: Any = None) -> APIRouter:
    """The pages over ``app``; ``runner`` keeps the read models (one is made if not given)."""
    router = APIRouter(include_in_schema=False)
    runners: list[Runner] = [runner] if runner is not None else []

    @contextmanager
    def live(*, catch_up: bool = True) -> Iterator[View]:
        if not runners:
            runners.append(read_models(app, db))
        with live_view(app, db, catch_up=catch_up, runner=runners[0]) as v:
            yield v

    def principal(request: Request) -> tuple[WebPrincipal, str]:
        """The cookie holds a session id (never the API token); checked on every request."""
        sid = request.cookies.get(COOKIE)
        if sessions is not None:
            who = sessions.session(sid) if sid else None
        else:
            who = lookup(sid) if sid else None
        if who is None or sid is None:
            raise NotSignedIn
        return who, sid

    def https(request: Request) -> bool:
        return (request.url.scheme == "https"
                or request.headers.get("x-forwarded-proto", "").lower() == "https")

    def foreign_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin:
            return False
        host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
        return origin in ("null", "") or urlsplit(origin).netloc.lower() != host.lower()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = environment().get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    def not_found(what: str) -> HTMLResponse:
        return page("message.html.j2", 404, title="未找到", message=f"{what}不存在或无权查看。",
                    who=None)

    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    async def form(request: Request) -> dict[str, str]:
        # Strict UTF-8: a field with invalid bytes is refused (by check_csrf, inside the
        # handlers' error path) instead of being stored with replacement characters.
        body = (await request.body()).decode("utf-8", errors="surrogateescape")
        data: dict[str, str] = {}
        for k, v in parse_qs(body, keep_blank_values=True, encoding="utf-8",
                             errors="surrogateescape").items():
            value = v[-1].strip()
            if any("\udc80" <= c <= "\udcff" for c in k + value):
                k = k.encode("utf-8", "replace").decode()
                data.setdefault("\x00bad", k)
                value = ""
            data[k] = value
        return data

    def check_csrf(data: dict[str, str], token: str) -> None:
        if "\x00bad" in data:
            field = data["\x00bad"]
            raise InvalidInput(f"{field} 不是有效的 UTF-8 文本", f"{field} is not valid UTF-8",
                               field=field)
        if not same(data.get("csrf", ""), csrf_token(token)):
            raise InvalidInput("表单已过期，请刷新页面后重新提交", "stale or forged form",
                               field="csrf")

    def finding_link(fid: str) -> str:
        return f"/findings/{fid}"

    def unit_link(code: str) -> str:
        return f"/units/{code}"

    # ------------------------------------------------------------ sign in

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        value = secrets.token_urlsafe(24)
        response = page("login.html.j2", next=next, error=None, who=None, csrf=value)
        response.set_cookie(LOGIN_CSRF, value, httponly=True, samesite="lax", path="/login",
                            secure=https(request))
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        data = await form(request)
        token = data.get("token", "")
        target = data.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        expected = request.cookies.get(LOGIN_CSRF, "")
        if foreign_origin(request) or not expected or not same(data.get("csrf", ""), expected):
            return page("message.html.j2", 403, title="登录被拒绝", who=None,
                        message="登录请求来自其他网站或表单已过期，请从本站登录页重新登录。")
        sid = (sessions.open_session(token) if sessions is not None else
               (token if lookup(token) is not None else None)) if token else None
        if sid is None:
            value = secrets.token_urlsafe(24)
            response: Response = page("login.html.j2", 401, next=target, who=None, csrf=value,
                                      error="令牌无效，请向管理员索取（dudao token create）")
            response.set_cookie(LOGIN_CSRF, value, httponly=True, samesite="lax",
                                path="/login", secure=https(request))
            return response
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path="/",
                            secure=https(request))
        response.delete_cookie(LOGIN_CSRF, path="/login")
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        sid = request.cookies.get(COOKIE)
        if sid and sessions is not None:
            sessions.close_session(sid)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -------------------------------------------------------------- pages

    @contextmanager
    def view_at(as_of: str | None) -> Iterator[View]:
        """Live, or (``?as_of=``) what the system knew at that moment."""
        if as_of:
            with as_of_view(app, parse_moment(as_of, field="as_of")) as v:
                yield v
        else:
            with live() as v:
                yield v

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request, as_of: str | None = None) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        if who.role == "unit" and who.unit:
            return RedirectResponse(unit_link(who.unit), status_code=303)
        try:
            with view_at(as_of) as v:
                b = v.bulletin()
        except DudaoError as e:
            return page("message.html.j2", 422, title="参数有误", who=who, message=str(e))
        o = b["overall"]
        return page("overview.html.j2", r=b, who=who, csrf=csrf_token(token),
                    charts={"rate": rate_chart(o["monthly"]),
                            "rungs": rung_chart(o["escalations_by_rung"])},
                    link=True, unit_link=unit_link)

    @router.get("/units/{code}", response_class=HTMLResponse)
    def unit_page(code: str, request: Request, as_of: str | None = None) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        if not who.sees_unit(code):
            return not_found(f"单位 {code} ")
        try:
            with view_at(as_of) as v:
                r = v.unit(code)
        except NotFound:
            return not_found(f"单位 {code} ")
        except DudaoError as e:
            return page("message.html.j2", 422, title="参数有误", who=who, message=str(e))
        return page("unit.html.j2", r=r, who=who, csrf=csrf_token(token),
                    charts={"rate": rate_chart(r["monthly"]),
                            "rungs": rung_chart(r["escalations_by_rung"])},
                    link=finding_link)

    def finding_view(v: View, fid: str) -> dict[str, Any] | None:
        row = v.conn.execute(select(acc_findings).where(acc_findings.c.finding_id == fid)).first()
        if row is None:
            return None
        f = dict(row._mapping)
        overdue, late = finding_state(f, v.reports.today)
        unit = v.reports.model.units.get(f["unit"], {})
        return {**f, "overdue": overdue, "late": late, "unit_name": unit.get("name", f["unit"]),
                "timeline": timelines([f])[fid],
                "days_overdue": (v.reports.today - f["deadline"]).days if overdue else 0}

    def show_finding(request: Request, fid_text: str, status: int = 200,
                     error: str | None = None, notice: str | None = None) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        fid = parse_id(fid_text)
        with live() as v:
            f = finding_view(v, str(fid)) if fid else None
            today = v.reports.today
        if f is None or not who.sees_unit(f["unit"]):
            return not_found("问题")
        return page("finding.html.j2", status, f=f, who=who, csrf=csrf_token(token),
                    error=error, notice=notice, today=today)

    @router.get("/findings/new", response_class=HTMLResponse)
    def new_finding_form(request: Request) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        if not who.may("finding.record"):
            return page("message.html.j2", 403, title="无权操作", who=who,
                        message="只有督学可以登记问题。")
        with live() as v:
            units = sorted((u for u in v.reports.model.units.values() if u["kind"] == "unit"),
                           key=lambda u: u["code"])
            today = v.reports.today
        return page("new_finding.html.j2", who=who, csrf=csrf_token(token), units=units,
                    today=today, error=None, values={})

    @router.post("/findings")
    async def record_finding(request: Request) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        if not who.may("finding.record"):
            return page("message.html.j2", 403, title="无权操作", who=who,
                        message="只有督学可以登记问题。")
        data = await form(request)
        try:
            check_csrf(data, token)
            fid = app.record_finding(
                unit=data.get("unit", ""), on=parse_day(data.get("on", ""), "on"),
                inspector=data.get("inspector", ""), text=data.get("text", ""),
                severity=data.get("severity") or "general", task=data.get("task") or None,
                actor=who.actor,
            )
        except DudaoError as e:
            with live(catch_up=False) as v:
                units = sorted((u for u in v.reports.model.units.values()
                                if u["kind"] == "unit"), key=lambda u: u["code"])
                today = v.reports.today
            return page("new_finding.html.j2", 422, who=who, csrf=csrf_token(token),
                        units=units, today=today, error=str(e), values=data)
        return RedirectResponse(f"/findings/{fid}?notice=recorded", status_code=303)

    @router.get("/findings/{fid}", response_class=HTMLResponse)
    def finding_page(fid: str, request: Request, notice: str | None = None) -> Response:
        text = {"recorded": "问题已登记。", "ordered": "整改通知已下达。"}.get(notice or "")
        return show_finding(request, fid, notice=text)

    @router.post("/findings/{fid}/orders")
    async def order(fid: str, request: Request) -> Response:
        try:
            who, token = principal(request)
        except NotSignedIn:
            return to_login(request)
        finding = app.find_finding(parse_id(fid)) if parse_id(fid) else None  # type: ignore[arg-type]
        if finding is None or not who.sees_unit(finding.unit):
            return not_found("问题")
        if not who.may("finding.order"):
            return page("message.html.j2", 403, title="无权操作", who=who,
                        message="只有督学可以下达整改通知。")
        data = await form(request)
        try:
            check_csrf(data, token)
            within = parse_int(data.get("within", ""), "within")
            app.order_rectification(fid, on=parse_day(data.get("on", ""), "on"), within=within,
                                    calendar_days=data.get("calendar_days") == "1",
                                    actor=who.actor)
        except DudaoError as e:
            return show_finding(request, fid, 422, error=str(e))
        return RedirectResponse(f"/findings/{fid}?notice=ordered", status_code=303)

    return router


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"日期格式不对：{text!r}，应为 YYYY-MM-DD",
                           f"invalid date {text!r}", field=field) from None


def parse_int(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field} 应为整数天数，收到 {text!r}",
                           f"{field} must be a whole number", field=field) from None
