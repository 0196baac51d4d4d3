"""Escalation notices with dudao as processes: ``dudao notices publish --watch`` killed and
restarted, and ``dudao serve`` with ``dudao notices follow`` (each with its own nats-server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from typing import Any

import pytest

from adapters.bootstrap import load_calendar, notice_publisher
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from tests.integration.test_notices import (
    CODES,
    assert_exactly_once_in_log_order,
    escalate,
    messages,
    new_finding,
    seed,
)


@pytest.mark.nats
@pytest.mark.slow
def test_publisher_process_killed_and_restarted(clock: Any, sqlite_db: str,
                                                nats_server: Any) -> None:
    """A real ``dudao notices publish --watch`` process, SIGKILLed while escalations are decided."""
    db = sqlite_db
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    seed(app, 0, [])
    command = [sys.executable, "-c", "from adapters.entrypoints.cli import main; main()",
               "--db", db, "notices", "publish", "--watch"]
    env = {**os.environ, "DUDAO_NATS": nats_server.url}
    positions = notice_publisher(app, db, nats_server.url)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    process = start()
    for round_ in range(4):
        for i in range(12):
            fid = new_finding(app, "U1" if i % 2 else "U2", f"问题{round_}-{i}")
            for code in CODES:
                escalate(app, fid, code)
        before = positions.position()
        deadline = time.monotonic() + 15
        while positions.position() == before and time.monotonic() < deadline:
            time.sleep(0.02)
        process.kill()  # SIGKILL: no chance to save anything
        process.wait()
        process = start()
    deadline = time.monotonic() + 15
    while positions.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.stderr is not None
    assert "持续发布升级通知" in process.stderr.readline().decode()  # running, signals handled
    process.terminate()  # SIGTERM: a clean stop
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err.decode()
    positions.engine.dispose()
    stream = messages(nats_server.url)
    assert len(stream) == 4 * 12 * len(CODES)
    assert_exactly_once_in_log_order(app, stream)
    app.close()


@pytest.mark.nats
@pytest.mark.slow
def test_dudao_serve_publishes_when_a_deadline_has_passed(sqlite_db: str, clock: Any,
                                                          nats_server: Any) -> None:
    """``dudao serve`` (API, sweep, publisher) and ``dudao notices follow``, as processes."""
    db = sqlite_db
    clock.at("2024-09-25", 9)
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    app.add_unit("CGX", "城固县人民政府", actor="t")
    fid = app.record_finding(unit="CGX", on=date(2024, 9, 25), inspector="张督学",
                             text="教师培训学时未达标", actor="t")
    assert app.order_rectification(fid, on=date(2024, 9, 25), within=10,
                                   actor="t") == date(2024, 10, 14)
    app.close()
    env = {**os.environ, "DUDAO_NATS": nats_server.url}
    dudao = [sys.executable, "-c", "from adapters.entrypoints.cli import main; main()", "--db", db]
    serve = subprocess.Popen([*dudao, "--now", "2024-10-15T09:00", "serve", "--port", "0",
                              "--sweep-interval", "1"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        follow_ = subprocess.run([*dudao, "--json", "notices", "follow", "--unit", "CGX",
                                  "--count", "2"], env=env, capture_output=True, timeout=60)
    finally:
        serve.terminate()  # SIGTERM: API, sweep and publisher stop cleanly
        out, err = serve.communicate(timeout=30)
    assert follow_.returncode == 0, follow_.stderr.decode()
    notices = [json.loads(line) for line in follow_.stdout.decode().splitlines()]
    assert [(n["code"], n["finding"]) for n in notices] == [("reminder", str(fid)),
                                                            ("supervise", str(fid))]
    assert notices[1]["due"] == "2024-10-28"
    assert serve.returncode == 0, err.decode()
    assert "dudao 服务已停止" in out.decode()
