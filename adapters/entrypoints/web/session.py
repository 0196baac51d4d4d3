"""Signing in to the pages: the session cookie, the forms' CSRF tokens, and the visitor.

People sign in with a user name and password (``dudao user add``); a machine or a script
may still sign in with an API token (the second form of the login page). The cookie then
holds a random session id (HttpOnly, SameSite=Lax, Secure when served over https; the
store keeps only its hash), checked on every request: a session ends at logout, after 2
hours without a request or 12 hours after sign-in, and at once when its user is disabled
or changes password or its token is revoked (adapters/infrastructure/users.py). Failed
sign-ins are limited per user name and per client address (domain/accounts.py). Every form carries a token derived from the session (double submit),
so another site cannot post one; the login form, before there is a session, carries one
from its own cookie and must come from this site.

:data:`Visitor` is the pages' dependency: a :class:`Visit` whose ``who`` is the signed-in
principal, looked up when the page first asks, in the thread the page runs in; a visitor
not signed in is sent to the login page (:data:`EXCEPTION_HANDLERS`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated
from urllib.parse import parse_qs, quote, urlsplit

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.api.deps import Components, Service
from adapters.entrypoints.web.render import PEOPLE, People, message, page
from adapters.infrastructure.tokens import Principal
from domain.errors import InvalidInput

COOKIE = "dudao_session"  # a random session id, stored hashed (never the API token)
LOGIN_CSRF = "dudao_login_csrf"


class NotSignedIn(Exception):
    pass


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of a submitted value with the expected one. A form or a
    cookie may carry any text, and ``hmac.compare_digest`` raises on non-ASCII ``str``:
    compared as bytes, a stray ``é`` is a mismatch, not a server error."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"dudao-web-form", hashlib.sha256).hexdigest()[:32]


def https(request: Request) -> bool:
    return (request.url.scheme == "https"
            or request.headers.get("x-forwarded-proto", "").lower() == "https")


def foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return False
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return origin in ("null", "") or urlsplit(origin).netloc.lower() != host.lower()


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


# -------------------------------------------------------------- the visitor


@dataclass
class Visit:
    """One page request on the service, by whoever its session cookie says."""

    request: Request
    c: Components

    @cached_property
    def _session(self) -> tuple[Principal, str]:
        sid = self.request.cookies.get(COOKIE)
        who = self.c.users.session(sid) if sid else None
        if who is None or sid is None:
            raise NotSignedIn
        PEOPLE.set(lambda: self.people)  # the actor filter names users from the accounts
        return who, sid

    @cached_property
    def people(self) -> People:
        """The accounts' display names and roles (once per page, when a page needs them)."""
        return self.c.users.people()

    @property
    def who(self) -> Principal:
        """The signed-in principal (:class:`NotSignedIn` sends the visitor to log in)."""
        return self._session[0]

    @property
    def csrf(self) -> str:
        """The token this visitor's forms carry."""
        return csrf_token(self._session[1])

    def check(self, data: dict[str, str]) -> None:
        """Refuse a posted form that does not carry this visitor's token."""
        check_csrf(data, self._session[1])


async def visit(request: Request, c: Service) -> Visit:
    return Visit(request, c)


Visitor = Annotated[Visit, Depends(visit)]


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


async def signed_out(request: Request, _: Exception) -> Response:
    return to_login(request)


EXCEPTION_HANDLERS = {NotSignedIn: signed_out}


# ------------------------------------------------------------ sign in and out

router = APIRouter(include_in_schema=False)


def login_page(request: Request, status: int = 200, *, next: str,
               error: str | None = None, name: str = "") -> HTMLResponse:
    """The login form, with a fresh token in its own cookie (the form must echo it)."""
    value = secrets.token_urlsafe(24)
    response = page("login.html.j2", status, next=next, error=error, who=None, csrf=value,
                    user_name=name)
    response.set_cookie(LOGIN_CSRF, value, httponly=True, samesite="lax", path="/login",
                        secure=https(request))
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return login_page(request, next=next)


def client_address(request: Request) -> str:
    """The address failed sign-ins are counted against: the connection's peer (a forwarded
    header is not trusted here: anyone could set it to escape the limit)."""
    return request.client.host if request.client else "unknown"


@router.post("/login")
async def login(request: Request, c: Service) -> Response:
    data = await form(request)
    target = data.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    expected = request.cookies.get(LOGIN_CSRF, "")
    if foreign_origin(request) or not expected or not same(data.get("csrf", ""), expected):
        return message(403, "登录被拒绝",
                       "登录请求来自其他网站或表单已过期，请从本站登录页重新登录。")
    if "token" in data:  # the second form: an API token (machines, scripts)
        token = data["token"]
        who = await anyio.to_thread.run_sync(c.tokens.lookup, token) if token else None
        sid = (await anyio.to_thread.run_sync(c.users.open_token_session, who.token_id)
               if who is not None else None)
        if sid is None:
            return login_page(request, 401, next=target, error="令牌无效或已吊销。")
    else:
        result = await anyio.to_thread.run_sync(
            c.users.sign_in, data.get("name", ""), data.get("password", ""),
            client_address(request))
        if result.session is None:
            again = login_page(request, 429 if result.wait else 401, next=target,
                               error=result.refusal, name=data.get("name", ""))
            if result.wait:
                again.headers["Retry-After"] = str(math.ceil(result.wait.total_seconds()))
            return again
        sid = result.session
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path="/",
                        secure=https(request))
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, c: Service) -> Response:
    sid = request.cookies.get(COOKIE)
    if sid:
        c.users.close_session(sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
