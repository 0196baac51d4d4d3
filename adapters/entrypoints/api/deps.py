"""What every route of the API shares: its components and lifecycle, who is asking (the
bearer token's principal), the error bodies, the idempotency key. The route modules
(app, audit, plans) import it; it imports none of them."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from adapters.entrypoints.api import models as m
from adapters.infrastructure.tokens import (
    ACTION_NAMES,
    ROLES,
    IdempotencyStore,
    Principal,
    TokenStore,
)
from adapters.service_layer.application import Dudao, StoreUnavailable
from adapters.settings import Settings
from domain.errors import (
    CalendarNotCovered,
    Conflict,
    DudaoError,
    InvalidInput,
    NotFound,
    Refused,
)
from projections.runner import Runner

log = logging.getLogger("dudao.api")

PREFIX = "/api/v1"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")


class Unauthorized(DudaoError):
    """No token, or a token the service does not know."""


class Forbidden(DudaoError):
    """The token's role may not do this."""


@dataclass
class Components:
    """What the API needs, built by :func:`adapters.entrypoints.server.build_components`."""

    app: Dudao
    db: str
    engine: Engine
    runner: Runner
    tokens: TokenStore
    idempotency: IdempotencyStore
    wall: Callable[[], float]
    """Seconds since the epoch, for idempotency leases only (never business time)."""
    settings: Settings
    background: dict[str, Any] = field(default_factory=dict)
    """The background tasks running beside the API (``sweep``: background.SweepTask)."""


Hook = Callable[[Components], Any]


@dataclass
class Lifecycle:
    """Startup and shutdown hooks of the service (background tasks register here)."""

    startup: list[Hook] = field(default_factory=list)
    shutdown: list[Hook] = field(default_factory=list)


# ------------------------------------------------------------------- errors

STATUS = (
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (Refused, 409, "refused"),
    (Conflict, 409, "conflict"),
    (StoreUnavailable, 503, "unavailable"),
    (CalendarNotCovered, 422, "invalid_input"),
    (DudaoError, 422, "invalid_input"),
)


def error_response(e: DudaoError) -> JSONResponse:
    status, code = next((s, c) for kind, s, c in STATUS if isinstance(e, kind))
    body = {"code": code, "field": e.field, "message": e.zh, "message_en": e.en}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "5"}
    return JSONResponse(body, status_code=status, headers=headers)


PYDANTIC_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多{max_length}字）",
    "string_pattern_mismatch": "格式不对",
    "string_type": "应为字符串",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "date_from_datetime_parsing": "日期格式不对，应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期格式不对，应为 YYYY-MM-DD",
    "date_parsing": "日期格式不对，应为 YYYY-MM-DD",
    "date_type": "日期格式不对，应为 YYYY-MM-DD",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效，应为 {expected}",
    "list_type": "应为列表",
    "too_short": "至少要有 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "请求体应为 JSON 对象（请求头 Content-Type: application/json）",
    "dict_type": "应为 JSON 对象",
    "json_invalid": "请求体不是有效的 JSON",
    "value_error": "取值无效",
}


def field_name(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        where = parts.pop(0)
        if where == "body" and parts and isinstance(parts[0], int):  # json_invalid position
            parts = []
        if not parts:
            return "body" if where == "body" else str(where)
    name = ""
    for p in parts:
        name += f"[{p}]" if isinstance(p, int) else (f".{p}" if name else str(p))
    return name or "body"  # a field whose own name is empty ({"": 1}): the body is named


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {}
    name = field_name(first.get("loc", ("body",)))
    kind = str(first.get("type", "value_error"))
    ctx: dict[str, Any] = dict(first.get("ctx") or {})
    template = PYDANTIC_ZH.get(kind, "取值无效")
    try:
        zh = template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        zh = template
    body = {"code": "invalid_input", "field": name, "message": f"{name}：{zh}",
            "message_en": f"{name}: {first.get('msg', 'invalid value')}"}
    return JSONResponse(body, status_code=422)


def referenced(run: Callable[[str | None], BaseModel], key: str | None) -> BaseModel:
    """Run a command; an unknown object named in the body (a unit) is bad input, not a 404."""
    try:
        return run(key)
    except NotFound as e:
        raise InvalidInput(e.zh, e.en, field=e.field) from e


# --------------------------------------------------------------------- auth

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "令牌：`dudao token create --role ROLE` 生成，放在请求头 `Authorization: Bearer TOKEN`",
}


def forbid(principal: Principal, action: str) -> None:
    if not principal.may(action):
        raise Forbidden(
            f"角色“{ROLES[principal.role]}”无权{ACTION_NAMES[action]}",
            f"role {principal.role!r} may not {action}",
            field="Authorization",
        )


async def principal(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer TOKEN`` (documented as the HTTPBearer scheme).

    Read straight from the header rather than through FastAPI's security classes: this runs
    on every request, and a known token then costs neither a thread hop nor a query.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("缺少令牌：请在请求头带上 Authorization: Bearer TOKEN",
                           "missing bearer token", field="Authorization")
    c: Components = request.app.state.components
    who = c.tokens.cached(token)
    if who is None:
        who = await anyio.to_thread.run_sync(c.tokens.lookup, token)
    if who is None:
        raise Unauthorized("令牌无效", "unknown token", field="Authorization")
    return who


Who = Annotated[Principal, Depends(principal)]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": m.ErrorOut, "description": "未提供令牌或令牌无效"},
    403: {"model": m.ErrorOut, "description": "令牌的角色无权办理"},
    404: {"model": m.ErrorOut, "description": "对象不存在（责任单位令牌看不到其他单位的问题）"},
    409: {"model": m.ErrorOut, "description": "当前状态下不能办理，或并发冲突（本次未记录）"},
    422: {"model": m.ErrorOut, "description": "输入有误，field 指出出错的字段（本次未记录）"},
    503: {"model": m.ErrorOut, "description": "事件库无法访问，请稍后重试"},
}
READ_ERRORS = {k: v for k, v in ERRORS.items() if k != 409}

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
           description="幂等键（可选，1–200个可见 ASCII 字符）：同一令牌用同一个键重复提交，"
                       "返回第一次的结果且不再记录；同一个键配不同的请求内容返回 422"),
]
