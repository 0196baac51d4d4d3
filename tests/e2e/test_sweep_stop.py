"""Issue 11, case 10: SIGTERM during a long sweep stops it between pages, within seconds.

A store of 3,000 overdue findings, swept 20 findings per transaction
(``DUDAO_SWEEP_PAGE``), takes tens of seconds; SIGTERM lands once the first
escalations are recorded. ``dudao serve`` must then exit with status 0 within a few
seconds, and ``dudao escalate`` (one-shot) stops likewise and says how far it got.
What was committed stays; the next sweep does the rest, and a third finds nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from bench.sweep import Clock, populate
from domain.time import SHANGHAI
from tests.e2e.test_serve import DUDAO, read_line

FINDINGS = 3000
NOW = "2024-12-31T09:00"


@pytest.fixture
def store(tmp_path: Path) -> str:
    db = str(tmp_path / "dudao.db")
    clock = Clock(datetime(2024, 9, 25, 9, tzinfo=SHANGHAI))
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        populate(app, clock, FINDINGS, FINDINGS)  # every one overdue by NOW
        assert app.event_count() == 1 + 2 * FINDINGS
    finally:
        app.close()
    return db


def events(db: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def wait_for_recording(db: str, proc: subprocess.Popen[str], timeout: float = 120) -> int:
    """Until the sweep has committed its first escalations (then it is mid-sweep)."""
    base = 1 + 2 * FINDINGS
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        n = events(db)
        if n > base:
            return n
        time.sleep(0.05)
    raise AssertionError("the sweep recorded nothing")


def escalations(db: str) -> Counter[tuple[str, str]]:
    app = Dudao(clock=Clock(datetime.now(SHANGHAI)), calendar=load_calendar(None),
                env=store_env(db))
    try:
        seen: Counter[tuple[str, str]] = Counter()
        for n in app.all_notifications():
            if n.topic.endswith("EscalationRaised"):
                e = app.decode(n)
                seen[(str(e.originator_id), e.code)] += 1
        return seen
    finally:
        app.close()


def env_for(db: str) -> dict[str, str]:
    return {**os.environ, "DUDAO_DB": db, "DUDAO_NOW": NOW, "DUDAO_SWEEP_PAGE": "20"}


def escalate(db: str) -> subprocess.CompletedProcess[str]:
    """A sweep to the end, in pages of the default size."""
    env = {k: v for k, v in env_for(db).items() if k != "DUDAO_SWEEP_PAGE"}
    return subprocess.run([DUDAO, "--json", "escalate"], env=env, capture_output=True,
                          text=True, timeout=600)


def assert_completed_by_the_next_sweeps(db: str, stopped_at: int) -> None:
    second = escalate(db)
    assert second.returncode == 0, second.stderr
    assert events(db) > stopped_at  # the stop came before the end: the next sweep did the rest
    done = escalations(db)
    assert max(done.values()) == 1  # no escalation recorded twice
    per_finding = Counter(fid for fid, _ in done)
    assert len(per_finding) == FINDINGS and len(set(per_finding.values())) == 1
    third = escalate(db)
    assert third.returncode == 0 and '"escalations": []' in third.stdout  # nothing left


def test_sigterm_stops_dudao_serve_mid_sweep_within_seconds(store: str) -> None:
    proc = subprocess.Popen([DUDAO, "serve", "--port", "0", "--sweep-interval", "600"],
                            env=env_for(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert "dudao 服务已启动" in read_line(proc, timeout=60)
        wait_for_recording(store, proc)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert took < 10, f"dudao serve took {took:.1f} s to stop"
    assert "升级巡检已中断" in err, err
    assert_completed_by_the_next_sweeps(store, events(store))


def test_sigterm_stops_dudao_escalate_and_says_how_far_it_got(store: str) -> None:
    proc = subprocess.Popen([DUDAO, "escalate"], env=env_for(store), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_recording(store, proc)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert took < 10
    line = err.strip().splitlines()[-1]
    assert line.startswith("已中断：本次记录了") and "其余再运行 dudao escalate" in line, err
    recorded = int(line.split("记录了 ", 1)[1].split(" ", 1)[0])
    assert 0 < recorded == len(escalations(store))
    assert_completed_by_the_next_sweeps(store, events(store))
