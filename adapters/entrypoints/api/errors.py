"""The API's error bodies: every refusal is ``{code, field, message, message_en}``.

A domain error maps to its status (:data:`STATUS`), a request FastAPI could not validate
names its first bad field in Chinese (:func:`validation_response`), an unreachable
database is a 503, an unknown address a 404. :data:`EXCEPTION_HANDLERS` is what
``create_api`` installs; :data:`ERRORS` documents the same bodies in the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError as SQLOperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.entrypoints.api import models as m
from adapters.service_layer.application import StoreUnavailable
from domain.errors import (
    CalendarNotCovered,
    Conflict,
    DudaoError,
    NotFound,
    Refused,
)


class Unauthorized(DudaoError):
    """No token, or a token the service does not know."""


class Forbidden(DudaoError):
    """The token's role may not do this."""


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


# ---------------------------------------------------------------- handlers


async def on_dudao_error(_: Request, e: DudaoError) -> JSONResponse:
    return error_response(e)


async def on_validation(_: Request, e: RequestValidationError) -> JSONResponse:
    return validation_response(e)


async def on_db_down(_: Request, e: SQLOperationalError) -> JSONResponse:
    return error_response(StoreUnavailable("数据库无法访问，请稍后重试",
                                           f"the database is unreachable: {type(e).__name__}",
                                           field="db"))


async def on_http(_: Request, e: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
    zh = {404: "没有这个地址", 405: "该地址不支持这个方法"}.get(e.status_code, "请求有误")
    return JSONResponse({"code": code, "field": None, "message": zh,
                         "message_en": str(e.detail)}, status_code=e.status_code,
                        headers=getattr(e, "headers", None))


Handler = Callable[[Request, Any], Coroutine[Any, Any, JSONResponse]]
EXCEPTION_HANDLERS: dict[type[Exception], Handler] = {
    DudaoError: on_dudao_error,
    RequestValidationError: on_validation,
    SQLOperationalError: on_db_down,
    StarletteHTTPException: on_http,
}


# ------------------------------------------------------ the schema's answers

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": m.ErrorOut, "description": "未提供令牌或令牌无效"},
    403: {"model": m.ErrorOut, "description": "令牌的角色无权办理"},
    404: {"model": m.ErrorOut, "description": "对象不存在（责任单位令牌看不到其他单位的问题）"},
    409: {"model": m.ErrorOut, "description": "当前状态下不能办理，或并发冲突（本次未记录）"},
    422: {"model": m.ErrorOut, "description": "输入有误，field 指出出错的字段（本次未记录）"},
    503: {"model": m.ErrorOut, "description": "事件库无法访问，请稍后重试"},
}
READ_ERRORS = {k: v for k, v in ERRORS.items() if k != 409}
