"""Issue 11: what the sweep, the projections and the notices publisher skipped is counted
in a running server's ``/health`` (the skipping itself is in
tests/integration/test_failure_isolation.py)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import httpx
import pytest

from adapters.entrypoints.api.app import Lifecycle
from adapters.entrypoints.background import hooks
from adapters.entrypoints.server import ServeOptions
from adapters.service_layer.application import Dudao
from domain.calendar import WorkCalendar
from tests.conftest import Clock
from tests.integration.test_failure_isolation import ESCALATION, raw_insert


def test_health_counts_what_the_sweep_projections_and_publisher_skipped(
        sqlite_db: str, nats_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.apiserver as apiserver
    from adapters.bootstrap import load_calendar
    from adapters.infrastructure.event_store import store_env
    from tests.apiserver import ApiServer

    clock = Clock()
    clock.at("2026-12-18", 11)
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    app.add_unit("U1", "第一中学", actor="t")
    late = app.record_finding(unit="U1", on=date(2026, 12, 18), inspector="张督学",
                              text="校舍安全隐患未整改", actor="t")
    app.order_rectification(late, on=date(2026, 12, 18), within=10, actor="t")  # 2027-01-04
    app.close()
    raw_insert(sqlite_db, late, 100, ESCALATION, b"garbage")
    clock.at("2026-12-20", 9)
    # the server's calendar knows no 2027: the sweep cannot decide the 2027 finding
    monkeypatch.setattr(apiserver, "load_calendar",
                        lambda _path: WorkCalendar(provisional=False))
    lifecycle = Lifecycle()
    hooks(ServeOptions(sweep_interval=0.2), lifecycle, server=nats_server.url,
          log=lambda _text: None)
    server = ApiServer(sqlite_db, clock, lifecycle).start()
    try:
        want = {"sweep": 1, "projection": 1, "publisher": 1}
        deadline = time.monotonic() + 20
        while True:
            health = httpx.get(f"{server.base}/health", timeout=10).json()
            if health.get("skipped") == want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert health["status"] == "ok"
        assert health["skipped"] == want
    finally:
        server.stop()
