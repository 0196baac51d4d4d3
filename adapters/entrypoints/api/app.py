"""The HTTP API: FastAPI routes over the same ``Dudao`` service as the command line.

Every route authenticates the bearer token, asks :mod:`adapters.infrastructure.tokens` whether the
role may do it, scopes a unit token to its own unit (another unit's finding
answers 404, as if it did not exist), and calls one service method with the
token's actor. Rules live in the service and the domain, not here.

The routes are module-level routers, one module per resource (:data:`ROUTERS`); what they
share, the dependencies for the service, the caller and the Idempotency-Key and the one
body of every write, is in :mod:`~adapters.entrypoints.api.deps`, the error bodies in
:mod:`~adapters.entrypoints.api.errors`. :func:`create_api` assembles them with the web
pages (:mod:`adapters.entrypoints.web`) into one app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from adapters.entrypoints import web
from adapters.entrypoints.api import (
    accountability,
    audit,
    evidence,
    findings,
    health,
    inspections,
    persons,
    plans,
    units,
)
from adapters.entrypoints.api import metrics as metrics_route
from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import (
    BEARER_SCHEME,
    PREFIX,
    Components,
    Hook,
    Lifecycle,
    log,
)
from adapters.entrypoints.api.errors import EXCEPTION_HANDLERS
from adapters.entrypoints.http_limits import BodyLimit
from domain.rungs import LADDER

__all__ = ["ROUTERS", "Components", "Lifecycle", "create_api"]

ROUTERS: tuple[APIRouter, ...] = (audit.router, health.router, units.router,
                                  inspections.router, findings.router, plans.router,
                                  accountability.router, persons.router, evidence.router)
"""The API's routes, in the order the OpenAPI document lists them."""

DESCRIPTION = (
    "教育督导问题整改与问责：督学登记检查与问题、限期整改、复查、延期、约谈；"
    "管理员、督学登记单位的人员与离任；责任单位查看本单位的问题与人员并提交整改报告；"
    "问责案件经告知、陈述申辩，由督导委员会决定。除健康检查外，每个请求都要带 "
    "`Authorization: Bearer TOKEN`。POST 可带 `Idempotency-Key` 请求头，重复提交返回第一次的结果。"
    "出错时返回 `{code, field, message, message_en}`，不记录任何事件。"
)


@asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    """The worker threads' limit, then the lifecycle's startup hooks; at the end its
    shutdown hooks, every one of them even when another fails."""
    c: Components = api.state.components
    lifecycle: Lifecycle = api.state.lifecycle
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


def openapi_schema(api: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: :data:`ROUTERS` as declared, every operation but the health
    and readiness checks behind the bearer token, the rung fields naming the loaded policy's rungs."""
    if api.openapi_schema is None:
        schema = get_openapi(title=api.title, version=api.version, description=api.description,
                             routes=[route for router in ROUTERS for route in router.routes])
        schema.setdefault("components", {})["securitySchemes"] = {"HTTPBearer": BEARER_SCHEME}
        for path, operations in schema["paths"].items():
            if path not in (f"{PREFIX}/health", f"{PREFIX}/ready"):
                for operation in operations.values():
                    operation["security"] = [{"HTTPBearer": []}]
        # the rungs of the app's policy (components without an app: the built-in ones)
        app = getattr(api.state.components, "app", None)
        api.openapi_schema = m.with_rungs(schema, app.ladder if app is not None else LADDER)
    return api.openapi_schema


def add_routes(api: FastAPI, router: APIRouter) -> None:
    """The router's routes, added to the app's own list as ``@api.post`` would add them.

    ``include_router`` would keep the router as one nested route that every request is
    matched through (tens of microseconds each); the API's routes are its hot path.
    """
    api.router.routes.extend(router.routes)


def hot_route_first(api: FastAPI) -> None:
    """Routing tries the routes in turn: recording a finding, the busiest request by far,
    goes first. No route before it matches its path, and for another method on the same
    path it is still the first partial match, so every request is routed as before (the
    OpenAPI document keeps the declared order)."""
    routes = api.router.routes
    hot = next(r for r in routes if isinstance(r, APIRoute)
               and r.endpoint is findings.record_finding)
    routes.insert(0, routes.pop(routes.index(hot)))


def create_api(c: Components, lifecycle: Lifecycle | None = None) -> FastAPI:
    api = FastAPI(
        title="dudao 督导 API",
        version="1",
        description=DESCRIPTION,
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
    api.state.lifecycle = lifecycle or Lifecycle()
    # Bodies are bounded per route (413 past the limit, counted as they stream).
    api.add_middleware(BodyLimit)
    # Prometheus figures at /metrics (outermost: every request is counted and timed).
    metrics = api.state.metrics = metrics_route.Metrics()
    metrics_route.default_sources(metrics, c)
    api.add_middleware(metrics_route.CountRequests, metrics=metrics)
    api.state.lifecycle.startup.append(lambda comp: metrics_route.count_sweeps(comp, metrics))
    for handlers in (EXCEPTION_HANDLERS, web.EXCEPTION_HANDLERS):
        for kind, handler in handlers.items():
            api.add_exception_handler(kind, handler)
    for router in ROUTERS:
        add_routes(api, router)
    # The web pages (server-rendered, same tokens and roles, signed in by cookie).
    for router in web.ROUTERS:
        api.include_router(router)
    add_routes(api, metrics_route.router)
    hot_route_first(api)
    api.openapi = lambda: openapi_schema(api)  # type: ignore[method-assign]
    return api
