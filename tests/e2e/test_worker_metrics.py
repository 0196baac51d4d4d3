"""Issue 16: ``dudao worker --metrics-port`` serves the worker's own figures (a real worker
process on PostgreSQL, NATS unreachable).

In the reference deployment the servers run no background roles (``--no-background``): the
sweep's duration and decisions are figures of the worker, and reach Prometheus only from it.
A sweep that records escalations shows in the worker's ``/metrics``: its duration, exactly
the escalations it recorded, and the notices waiting for the publisher (NATS unreachable:
N escalations, backlog N notices, while the events gauge counts every event). The access
rule is the server's: loopback, or the ``DUDAO_METRICS_TOKEN`` bearer token.
"""

from __future__ import annotations

import re
import socket
import time

import httpx

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from tests.conftest import Clock
from tests.e2e.test_metrics import samples, value
from tests.e2e.test_roles_processes import Proc, env_for, escalations, events, procs, schema_url
from tests.integration.test_notices import new_finding

__all__ = ["procs", "schema_url"]  # the fixtures

FINDINGS = 4


def overdue(db: str) -> None:
    prepare(db)
    writer = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(db))
    try:
        writer.add_unit("U1", "第一中学", principal="王校长", actor="t")
        for i in range(FINDINGS):  # overdue since October: the sweep at start escalates them
            new_finding(writer, "U1", f"问题{i}")
    finally:
        writer.close()


def metrics_url(worker: Proc) -> str:
    _, line = worker.wait_line("dudao 后台进程运行指标：")
    found = re.search(r"http://[^\s（]+/metrics", line)
    assert found, line
    return found.group(0)


def test_a_workers_sweep_shows_in_its_metrics(schema_url: str, procs: list[Proc]) -> None:
    overdue(schema_url)
    worker = Proc(["worker", "sweep", "publish", "--sweep-interval", "600",
                   "--metrics-port", "0"],
                  env_for(schema_url, DUDAO_METRICS_TOKEN="worker-metrics-token"))
    procs.append(worker)
    url = metrics_url(worker)
    assert url.startswith("http://127.0.0.1:")  # loopback unless --metrics-host says
    worker.wait_line("升级巡检：")  # the sweep at start recorded its escalations
    raised = sum(escalations(schema_url).values())
    assert raised >= FINDINGS
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200, response.text
        figures = samples(response.text)
        if value(figures, "dudao_sweep_duration_seconds_count") >= 1:
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert value(figures, "dudao_sweep_duration_seconds_count") == 1
    assert value(figures, "dudao_sweep_duration_seconds_sum") > 0
    assert value(figures, "dudao_sweep_escalations_total") == raised
    # NATS unreachable: every escalation waits, counted as notices, not events
    total = events(schema_url)
    assert value(figures, "dudao_events") == total
    assert value(figures, "dudao_publisher_backlog_events") == total
    assert value(figures, "dudao_publisher_backlog_notices") == raised < total
    assert "待发布的通知数" in response.text  # the help text says what it counts
    # only the metrics are served there
    assert httpx.get(url.replace("/metrics", "/api/v1/health"), timeout=10).status_code == 404
    # the server's access rule: forwarded from outside, only with the metrics token
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    refused = httpx.get(url, headers=forwarded, timeout=10)
    assert refused.status_code == 403 and "DUDAO_METRICS_TOKEN" in refused.json()["message"]
    assert httpx.get(url, headers={**forwarded, "Authorization": "Bearer wrong"},
                     timeout=10).status_code == 403
    assert httpx.get(url, headers={**forwarded, "Authorization": "Bearer worker-metrics-token"},
                     timeout=10).status_code == 200
    assert worker.stop() == 0, worker.text()
    assert "Traceback" not in worker.text(), worker.text()


def test_a_worker_without_the_option_serves_no_http(schema_url: str,
                                                    procs: list[Proc]) -> None:
    worker = Proc(["worker", "publish", "--sweep-interval", "600"], env_for(schema_url))
    procs.append(worker)
    worker.wait_line("dudao 后台进程已启动")
    assert not worker.has("运行指标")
    assert worker.stop() == 0, worker.text()


def test_a_metrics_port_in_use_fails_the_start_naming_it(schema_url: str,
                                                         procs: list[Proc]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = Proc(["worker", "publish", "--metrics-port", str(port)], env_for(schema_url))
        procs.append(worker)
        assert worker.popen.wait(timeout=60) == 1
        worker.stop()
    text = worker.text()
    assert "--metrics-port" in text and f"127.0.0.1:{port}" in text, text
    assert "Traceback" not in text and "后台进程已启动" not in text, text
