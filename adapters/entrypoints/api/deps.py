"""What every route of the API shares, as FastAPI dependencies: the service's components
(:data:`Service`), who is asking (:data:`Who`: the bearer token's principal), the
``Idempotency-Key`` (:data:`Idempotent`), and for a write all three at once
(:data:`Write`: one call checks the role, keeps the first answer under the key, and runs
the command). The route modules import it; it imports none of them.

Every dependency here is ``async`` and does no I/O on the event loop: a route runs in the
thread it always ran in (a ``def`` route in the worker pool), with no extra thread hop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import anyio.to_thread
from fastapi import Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from adapters.entrypoints.api.errors import Forbidden, Unauthorized
from adapters.infrastructure.tokens import (
    ACTION_NAMES,
    ROLES,
    IdempotencyStore,
    Principal,
    TokenStore,
    request_digest,
)
from adapters.infrastructure.users import UserStore
from adapters.service_layer.application import Dudao
from adapters.settings import Settings
from domain.errors import InvalidInput, NotFound
from projections.paging import DEFAULT_LIMIT, MAX_LIMIT
from projections.runner import Runner

log = logging.getLogger("dudao.api")

PREFIX = "/api/v1"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass
class Components:
    """What the API needs, built by :func:`adapters.entrypoints.server.build_components`."""

    app: Dudao
    db: str
    engine: Engine
    runner: Runner
    tokens: TokenStore
    users: UserStore
    """The web pages' user accounts and sessions."""
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


# --------------------------------------------------------------- the service


async def components(request: Request) -> Components:
    """The components ``create_api`` put on the app's state."""
    return cast(Components, request.app.state.components)


Service = Annotated[Components, Depends(components)]


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


async def principal(request: Request, c: Service) -> Principal:
    """The caller, from ``Authorization: Bearer TOKEN`` (documented as the HTTPBearer scheme).

    Read straight from the header rather than through FastAPI's security classes: this runs
    on every request, and a known token then costs neither a thread hop nor a query.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("缺少令牌：请在请求头带上 Authorization: Bearer TOKEN",
                           "missing bearer token", field="Authorization")
    who = c.tokens.cached(token)
    if who is None:
        who = await anyio.to_thread.run_sync(c.tokens.lookup, token)
    if who is None:
        raise Unauthorized("令牌无效", "unknown token", field="Authorization")
    return who


Who = Annotated[Principal, Depends(principal)]

# ------------------------------------------------------------- pagination

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=(
    f"每页条数，默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT}（超过则 422，field 为 limit）"))]
Cursor = Annotated[str | None, Query(max_length=400, description=(
    "翻页游标：上一页返回的 next_cursor；不带则从第一页开始"))]


# -------------------------------------------------------------- idempotency

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
           description="幂等键（可选，1–200个可见 ASCII 字符）：同一令牌用同一个键重复提交，"
                       "返回第一次的结果且不再记录；同一个键配不同的请求内容返回 422"),
]

Run = Callable[[str | None], Any]
"""A command: given the idempotency scope (``token:key``, or None), its answer's body."""


@dataclass
class Idempotency:
    """A write request's ``Idempotency-Key`` (if it has one) and the store of first answers."""

    key: str | None
    request: Request
    c: Components

    def once(self, who: Principal, payload: BaseModel | None, status: int,
             run: Run) -> JSONResponse:
        """``run``'s answer; under a key, at most once per token and key (a repeat replays it)."""
        if self.key is None:
            return JSONResponse(jsonable_encoder(run(None)), status_code=status)
        key, store = self.key, self.c.idempotency
        if not KEY_PATTERN.match(key):
            raise InvalidInput("幂等键只能由1–200个可见 ASCII 字符组成",
                               "Idempotency-Key must be 1-200 visible ASCII characters",
                               field="Idempotency-Key")
        body = payload.model_dump(mode="json") if payload is not None else None
        digest = request_digest("POST", self.request.url.path, body)
        stored = store.begin(who.token_id, key, digest, self.c.wall())
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status,
                                headers={"Idempotent-Replayed": "true"})
        try:
            result = jsonable_encoder(run(f"{who.token_id}:{key}"))
        except BaseException:
            store.abandon(who.token_id, key)
            raise
        store.finish(who.token_id, key, status, result)
        return JSONResponse(result, status_code=status)


async def idempotency(request: Request, c: Service,
                      idempotency_key: IdempotencyKey = None) -> Idempotency:
    return Idempotency(idempotency_key, request, c)


Idempotent = Annotated[Idempotency, Depends(idempotency)]


# ------------------------------------------------------------------- writes


def referenced(run: Run, key: str | None) -> Any:
    """Run a command; an unknown object named in the body (a unit) is bad input, not a 404."""
    try:
        return run(key)
    except NotFound as e:
        raise InvalidInput(e.zh, e.en, field=e.field) from e


@dataclass
class Command:
    """A write request: the service, who asks, and the request's idempotency key.

    Calling it is the body every write route shares (see :meth:`__call__`)."""

    c: Components
    who: Principal
    idempotency: Idempotency

    @property
    def app(self) -> Dudao:
        return self.c.app

    @property
    def actor(self) -> str:
        return self.who.actor

    def __call__(self, action: str, payload: BaseModel | None, run: Run, *,
                 check: Callable[[], object] | None = None, status: int = 201) -> JSONResponse:
        """Check that the role may do ``action``, then ``check()`` (the object it acts on is
        visible to the caller), then run the command once under the Idempotency-Key: a
        domain error is the API's error body (an unknown object named in the body a 422)."""
        forbid(self.who, action)
        if check is not None:
            check()
        return self.idempotency.once(self.who, payload, status,
                                     lambda key: referenced(run, key))


async def command(c: Service, who: Who, idempotency: Idempotent) -> Command:
    return Command(c, who, idempotency)


Write = Annotated[Command, Depends(command)]
