"""``GET /metrics``: the service's figures in Prometheus' text format (prometheus-client).

What is counted, per process (Prometheus sums the servers):

- ``dudao_http_requests_total{method,route,status}``: requests by route template
  (``/api/v1/findings/{finding_id}``, never the id itself: one series per route);
- ``dudao_http_request_duration_seconds{method,route}``: their latencies (a histogram);
- ``dudao_sweep_duration_seconds``: how long each escalation sweep of this process took;
- ``dudao_sweep_escalations_total``: the escalations those sweeps recorded (decisions);
- ``dudao_events``, ``dudao_projector_lag_events``, ``dudao_publisher_backlog_events``:
  gauges read when scraped, from the database every process shares (the log's last
  position, and how far the read models' and the notices publisher's saved positions
  are behind it), so any server reports them whichever process projects or publishes.
  :attr:`Metrics.sources` holds the callbacks; a process may put its own figures there;
- ``dudao_publisher_backlog_notices``: the notices (escalations) recorded after the
  publisher's position, not yet acknowledged by NATS — what an operator alerts on (the
  events gauge counts every event, most of which are no notice), counted by the
  publisher's index (:class:`adapters.infrastructure.notice_outbox.Backlog`).

``dudao worker --metrics-port N`` serves the same text (:func:`metrics_app`): the sweep's
duration and decisions are figures of the process that sweeps, a worker in a multi-process
deployment.

Who may read it: a caller on loopback (Prometheus or its agent on the same host) without
a ``Forwarded``/``X-Forwarded-For`` header (a reverse proxy forwards the outside world
from loopback: it must not open the figures to it); anyone else only with
``Authorization: Bearer <DUDAO_METRICS_TOKEN>`` when that variable is set. Not a people's
token: the figures are operations data (load, lag), not an inspector's business, and a
scraper holding a person's token could do what that person may.

Thread safety: prometheus-client's metrics take a lock per update; requests are counted on
the event loop, sweeps in their worker thread, scrapes in the API's threads.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/metrics"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
UNMATCHED = "(unmatched)"
"""The route label of a request no route matched (a 404): one series, whatever the path."""

Source = Callable[[], float | None]

GAUGES = {
    "events": "事件日志的最后位置（the event log's last position）",
    "projector_lag_events": "读模型落后事件日志的事件数（events the read models are behind the log）",
    "publisher_backlog_events": "通知发布者落后事件日志的事件数（events the notices publisher is "
                         "behind the log）",
    "publisher_backlog_notices": "待发布的通知数：发布者位置之后记录、NATS 尚未确认的升级"
                                 "（notices waiting for the publisher）",
}


class Metrics:
    """One service's metrics in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("dudao_http_requests", "HTTP 请求数（requests）",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("dudao_http_request_duration_seconds",
                                 "HTTP 请求耗时（request latency）", ("method", "route"),
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.sweep_seconds = Histogram("dudao_sweep_duration_seconds",
                                       "升级巡检耗时（escalation sweep duration）",
                                       buckets=SWEEP_BUCKETS, registry=self.registry)
        self.escalations = Counter("dudao_sweep_escalations",
                                   "升级巡检记录的升级数（escalations the sweeps recorded）",
                                   registry=self.registry)
        self.sources: dict[str, Source] = {}
        """The gauges' callbacks by name (:data:`GAUGES`); one that fails is left out."""
        self.registry.register(_Gauges(self))
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:  # a few dozen routes × methods × statuses: cached
            children = (self.requests.labels(method, route, key[2]),
                        self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def sweep_done(self, seconds: float, decided: int) -> None:
        """A sweep of this process finished (the sweep task's ``on_sweep`` hook)."""
        self.sweep_seconds.observe(seconds)
        if decided:
            self.escalations.inc(decided)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Gauges:
    """The gauges, read from their sources when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, source in list(self.metrics.sources.items()):
            try:
                value = source()
            except Exception:  # the store unreachable: that gauge is missing, not the page
                continue
            if value is not None:
                yield GaugeMetricFamily(f"dudao_{name}", GAUGES.get(name, name), value=value)


def default_sources(metrics: Metrics, c: Any) -> None:
    """The gauges from the shared database: the log's last position, and the saved
    positions of the read models and of the notices publisher."""
    app, engine = getattr(c, "app", None), getattr(c, "engine", None)
    if app is None or engine is None:
        return

    def last() -> float:
        return float(app.last_position())

    def lag() -> float | None:
        runner = getattr(c, "runner", None)
        if runner is None:
            return None
        known = runner.positions()
        return float(max(0, app.last_position() - min(known.values()))) if known else 0.0

    def backlog() -> float | None:
        from adapters.infrastructure.notice_outbox import notice_positions

        with engine.connect() as conn:
            row = conn.execute(select(notice_positions.c.position)
                               .where(notice_positions.c.name == "notices")).first()
        return float(max(0, app.last_position() - (int(row[0]) if row else 0)))

    def notices() -> float | None:
        if getattr(c, "runner", None) is None or not hasattr(c, "background"):
            return None
        from adapters.infrastructure.background_status import status_of

        return float(status_of(c).publisher_backlog())

    metrics.sources.setdefault("events", last)
    metrics.sources.setdefault("projector_lag_events", lag)
    metrics.sources.setdefault("publisher_backlog_events", backlog)
    metrics.sources.setdefault("publisher_backlog_notices", notices)


def count_sweeps(c: Any, metrics: Metrics) -> None:
    """The sweep of this process (started by an earlier startup hook) reports each sweep:
    the sweep task itself, or, for a role run under a lease, every sweep task it starts
    (``on_start``) and the one running now (``inner``)."""
    sweep = getattr(c, "background", {}).get("sweep")
    if sweep is None:
        return
    if hasattr(sweep, "on_sweep"):
        sweep.on_sweep = metrics.sweep_done
    if hasattr(sweep, "on_start"):
        previous = sweep.on_start

        def started(task: Any) -> None:
            if previous is not None:
                previous(task)
            task.on_sweep = metrics.sweep_done

        sweep.on_start = started
        if getattr(sweep, "inner", None) is not None:
            sweep.inner.on_sweep = metrics.sweep_done


class CountRequests:
    """ASGI middleware: every HTTP request counted by route template and status, timed."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.request(scope["method"], route, status[0],
                                 time.perf_counter() - started)


# ------------------------------------------------------------------ the route

router = APIRouter()

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def on_loopback(request: Request) -> bool:
    """A caller on this host, not forwarded by a proxy."""
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed(request: Request, token: str | None) -> bool:
    if on_loopback(request):
        return True
    if not token:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


@router.get(PATH, include_in_schema=False)
def metrics(request: Request) -> Response:
    settings = getattr(request.app.state.components, "settings", None)
    if not allowed(request, getattr(settings, "metrics_token", None)):
        return JSONResponse({
            "code": "forbidden", "field": "Authorization",
            "message": "运行指标只对本机开放；从其他主机读取须带 DUDAO_METRICS_TOKEN 令牌",
            "message_en": "metrics are served to loopback only, or with the "
                          "DUDAO_METRICS_TOKEN bearer token",
        }, status_code=403)
    return Response(request.app.state.metrics.text(), media_type=CONTENT_TYPE_LATEST)


def metrics_app(c: Any, metrics: Metrics) -> Any:
    """An HTTP app serving only ``GET /metrics`` of ``c`` (``dudao worker --metrics-port``):
    the same route, text and access rule as a server's (loopback, or the metrics token)."""
    from fastapi import FastAPI

    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False,
                             "operation_spans": False})
    api.state.components = c
    api.state.metrics = metrics
    api.include_router(router)
    return api
