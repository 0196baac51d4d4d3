"""``GET /metrics`` (issue 16): Prometheus text from a real server, requests by route template
and status counted exactly under concurrent worker threads, the sweep's duration and
decisions, the gauges read from the shared database; loopback only, or with a token."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.bootstrap import load_calendar
from adapters.entrypoints.api.app import Lifecycle
from adapters.entrypoints.background import hooks
from adapters.entrypoints.server import ServeOptions
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.integration.test_notices import new_finding


def scrape(server: ApiServer, **headers: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{server.port}/metrics", headers=headers, timeout=30)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(figures: dict[Any, float], name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def served(db: str, clock: Any) -> Any:
    writer = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    writer.add_unit("U1", "第一中学", principal="王校长", actor="t")
    for i in range(3):  # overdue since October: the sweep at start escalates them
        new_finding(writer, "U1", f"问题{i}")
    writer.close()
    lifecycle = Lifecycle()
    hooks(ServeOptions(sweep_interval=3600), lifecycle, server="nats://127.0.0.1:1",
          log=lambda _text: None)
    server = ApiServer(db, clock, lifecycle).start()
    yield server
    server.stop()


def test_metrics_count_requests_sweeps_and_lag(served: ApiServer) -> None:
    import time

    deadline = time.monotonic() + 30
    while value(samples(scrape(served).text), "dudao_sweep_duration_seconds_count") < 1:
        assert time.monotonic() < deadline, "the sweep at start never finished"
        time.sleep(0.05)
    token = served.token("inspector", name="张督学")
    body = {"unit": "U1", "on": "2024-10-15", "inspector": "张督学", "text": "台账不全"}

    def record(i: int) -> tuple[int, str]:
        with served.client(token) as client:
            r = client.post("/findings", json={**body, "text": f"台账不全{i}"})
            return r.status_code, r.json().get("finding_id", "")

    with ThreadPoolExecutor(16) as pool:  # the API's worker threads, all at once
        answers = list(pool.map(record, range(120)))
    assert [status for status, _ in answers] == [201] * 120
    fid = answers[0][1]
    with served.client(token) as client:
        assert client.get(f"/findings/{fid}").status_code == 200
        assert client.get("/findings/not-a-finding").status_code in {404, 422}
        assert client.get("/no/such/page").status_code == 404
        assert client.post("/findings", json={**body, "unit": "NOPE"}).status_code == 422
    response = scrape(served)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    figures = samples(response.text)
    # requests by route template and status, exactly once each
    assert value(figures, "dudao_http_requests_total", method="POST",
                 route="/api/v1/findings", status="201") == 120
    assert value(figures, "dudao_http_requests_total", method="POST",
                 route="/api/v1/findings", status="422") == 1
    assert value(figures, "dudao_http_requests_total", method="GET",
                 route="/api/v1/findings/{finding_id}", status="200") == 1
    assert value(figures, "dudao_http_requests_total", method="GET",
                 route="(unmatched)", status="404") == 1
    assert not any(fid in str(key) for key in figures)  # an id is never a label
    assert value(figures, "dudao_http_request_duration_seconds_count", method="POST",
                 route="/api/v1/findings") == 121
    assert value(figures, "dudao_http_request_duration_seconds_bucket", method="POST",
                 route="/api/v1/findings", le="+Inf") == 121
    # the sweep at start: its duration and its three decisions (one reminder rung each,
    # at least: the findings are months overdue)
    assert value(figures, "dudao_sweep_duration_seconds_count") >= 1
    assert value(figures, "dudao_sweep_escalations_total") >= 3
    # gauges from the shared database: NATS is unreachable, the publisher is behind
    events = served.app.event_count()
    assert value(figures, "dudao_events") == events
    assert value(figures, "dudao_publisher_backlog_events") == events
    # ... by so many notices: every escalation the sweep recorded, none of the other events
    raised = sum(1 for n in served.app.all_notifications()
                 if n.topic.endswith("EscalationRaised"))
    assert value(figures, "dudao_publisher_backlog_notices") == raised < events
    assert 0 <= value(figures, "dudao_projector_lag_events") <= events


def test_metrics_are_for_loopback_or_the_metrics_token(served: ApiServer) -> None:
    assert scrape(served).status_code == 200
    # what a reverse proxy forwards from outside is not loopback, even from 127.0.0.1
    refused = scrape(served, **{"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 403
    assert "DUDAO_METRICS_TOKEN" in refused.json()["message"]
    assert "dudao_http" not in refused.text
    served.c.settings = dataclasses.replace(served.c.settings, metrics_token="s3cret-metrics")
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert scrape(served, **forwarded, Authorization="Bearer wrong").status_code == 403
    assert scrape(served, **forwarded, Authorization="Bearer s3cret-metrics").status_code == 200
    # a person's API token is not the metrics token
    person = served.token("admin", name="管理员")
    assert scrape(served, **forwarded, Authorization=f"Bearer {person}").status_code == 403
