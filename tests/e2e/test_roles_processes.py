"""Issue 16: servers and workers as real processes on one PostgreSQL, one role holder at a time.

- three processes started at once on a fresh schema all start, and each role (sweep,
  publisher, projector) is held by exactly one of them;
- the sweeper's holder killed with ``kill -9`` mid-sweep: another process takes the sweep
  over within the bound, and no escalation is recorded twice or lost;
- the same for the publisher: no notice lost, none twice in the stream (JetStream's
  dedupe window drops the repeats), none delivered twice to a consumer;
- two servers taking writes while the projector is killed and restarted: both read every
  acknowledged write once it is back (and their own writes meanwhile).

The takeover times are printed (``-s``) and bounded (:data:`BOUND`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.infrastructure.notice_messages import message_id
from adapters.infrastructure.notice_outbox import follow
from adapters.service_layer.application import Dudao
from bench.sweep import Clock, populate
from domain.time import SHANGHAI
from tests.conftest import PG_URL, need, pg_unavailable
from tests.e2e.test_serve import DUDAO
from tests.integration.test_notices import stream_messages

BOUND = 10.0
"""Seconds within which another process must take a role over after kill -9."""

FINDINGS = 1000
NOW = "2024-12-31T09:00"


class Proc:
    """A dudao process whose output lines are collected, each with when it came."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen([DUDAO, *args], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in (self.popen.stdout, self.popen.stderr)]
        for t in self.threads:
            t.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        with self._lock:
            return "\n".join(line for _, line in self.lines)

    def wait_line(self, part: str, timeout: float = 60) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for at, line in self.lines:
                    if part in line:
                        return at, line
            if self.popen.poll() is not None:
                time.sleep(0.2)  # the last lines
                with self._lock:
                    found = [(at, line) for at, line in self.lines if part in line]
                if found:
                    return found[0]
                raise AssertionError(f"the process ended before {part!r}:\n{self.text()}")
            time.sleep(0.01)
        raise AssertionError(f"no {part!r} within {timeout} s:\n{self.text()}")

    def has(self, part: str) -> bool:
        with self._lock:
            return any(part in line for _, line in self.lines)

    def base(self) -> str:
        _, line = self.wait_line("dudao 服务已启动")
        return line.split("：", 1)[1].split("（", 1)[0].strip()

    def kill9(self) -> float:
        self.popen.send_signal(signal.SIGKILL)
        at = time.monotonic()
        self.popen.wait(timeout=10)
        return at

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for t in self.threads:
            t.join(timeout=5)
        return self.popen.returncode


@pytest.fixture
def schema_url() -> Iterator[str]:
    error = pg_unavailable()
    if error:
        need("PostgreSQL", error)
    schema = f"roles_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        if p.popen.poll() is None:
            p.popen.kill()
            p.popen.wait()


def env_for(db: str, nats: str = "nats://127.0.0.1:1", **extra: str) -> dict[str, str]:
    return {**os.environ, "DUDAO_DB": db, "DUDAO_NOW": NOW, "DUDAO_NATS": nats, **extra}


def open_app(db: str) -> Dudao:
    return Dudao(clock=Clock(datetime.now(SHANGHAI)), calendar=load_calendar(None),
                 env=store_env(db))


def escalations(db: str) -> Counter[tuple[str, str]]:
    app = open_app(db)
    try:
        seen: Counter[tuple[str, str]] = Counter()
        for n in app.all_notifications():
            if n.topic.endswith("EscalationRaised"):
                e = app.decode(n)
                seen[(str(e.originator_id), e.code)] += 1
        return seen
    finally:
        app.close()


def escalation_ids(db: str) -> list[tuple[int, str]]:
    """(position, message id) of every escalation in the log, in log order."""
    app = open_app(db)
    try:
        return [(n.id, message_id(e.originator_id, e.originator_version))
                for n, e in ((n, app.decode(n)) for n in app.all_notifications()
                             if n.topic.endswith("EscalationRaised"))]
    finally:
        app.close()


def events(db: str) -> int:
    app = open_app(db)
    try:
        return app.event_count()
    finally:
        app.close()


def overdue_store(db: str) -> None:
    prepare(db)
    clock = Clock(datetime(2024, 9, 25, 9, tzinfo=SHANGHAI))
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        populate(app, clock, FINDINGS, FINDINGS)  # every one overdue by NOW
    finally:
        app.close()


def ready(base: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/ready", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# ------------------------------------------------------------------ start-up


def test_three_processes_started_at_once_on_a_fresh_schema(schema_url: str,
                                                           procs: list[Proc]) -> None:
    env = env_for(schema_url)
    procs += [Proc(["serve", "--port", "0", "--sweep-interval", "600"], env),
              Proc(["serve", "--port", "0", "--sweep-interval", "600"], env),
              Proc(["worker", "--sweep-interval", "600"], env)]
    bases = [procs[0].base(), procs[1].base()]
    procs[2].wait_line("dudao 后台进程已启动")
    deadline = time.monotonic() + 20
    while True:
        states = [ready(b) for b in bases]
        roles = [sorted(h["role"] for h in s["leases"]) for s in states]
        if roles[0] == roles[1] == ["project", "publish", "sweep"]:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    assert states[0]["leases"] == states[1]["leases"]  # every server says the same
    holders = {h["role"]: h["holder"] for h in states[0]["leases"]}
    pids = {str(p.popen.pid) for p in procs}
    assert {h.rsplit(":", 1)[1] for h in holders.values()} <= pids
    # each role's holder said so, and nobody else did
    for role, name in (("sweep", "升级巡检"), ("publish", "通知发布"), ("project", "读模型更新")):
        said = [p for p in procs if p.has(f"取得租约：{name}")]
        assert len(said) == 1, (role, [p.text() for p in procs])
        assert holders[role].endswith(f":{said[0].popen.pid}")
    health = httpx.get(f"{bases[0]}/health", timeout=10).json()
    assert health["leases"] == states[0]["leases"] and health["projector_lag"] == 0
    for p in procs:
        assert p.stop() == 0, p.text()
        assert "Traceback" not in p.text(), p.text()


# ------------------------------------------------------------------ the sweep


def test_the_sweepers_holder_killed_mid_sweep_another_takes_over(schema_url: str,
                                                                 procs: list[Proc]) -> None:
    overdue_store(schema_url)
    base = events(schema_url)
    env = env_for(schema_url, DUDAO_SWEEP_PAGE="20")
    first = Proc(["worker", "sweep", "--sweep-interval", "600"], env)
    procs.append(first)
    first.wait_line("取得租约：升级巡检")
    second = Proc(["worker", "sweep", "--sweep-interval", "600"], env)
    procs.append(second)
    second.wait_line("dudao 后台进程已启动")
    deadline = time.monotonic() + 120
    while events(schema_url) <= base + 50:  # mid-sweep: escalations being recorded
        assert time.monotonic() < deadline and first.popen.poll() is None, first.text()
        time.sleep(0.05)
    assert not second.has("取得租约")  # never two holders
    killed = first.kill9()
    at_kill = events(schema_url)
    taken, _ = second.wait_line("取得租约：升级巡检", timeout=BOUND + 5)
    took = taken - killed
    print(f"\nsweep taken over {took * 1000:.0f} ms after kill -9")
    assert 0 <= took <= BOUND
    # the second finishes the sweep: the log stops growing
    last, still = -1, 0
    deadline = time.monotonic() + 180
    while still < 3:
        assert time.monotonic() < deadline, second.text()
        n = events(schema_url)
        still = still + 1 if n == last else 0
        last = n
        time.sleep(1)
    assert last > at_kill  # the second did the rest
    assert second.stop() == 0, second.text()
    done = escalations(schema_url)
    assert max(done.values()) == 1  # no escalation recorded twice
    per_finding = Counter(fid for fid, _ in done)
    assert len(per_finding) == FINDINGS and len(set(per_finding.values())) == 1
    again = subprocess.run([DUDAO, "--json", "escalate"], env=env_for(schema_url),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)["escalations"] == []  # none lost


# ------------------------------------------------------------------ the publisher


@pytest.mark.nats
def test_the_publishers_holder_killed_mid_publish_another_takes_over(
        schema_url: str, procs: list[Proc], nats_server: Any) -> None:
    overdue_store(schema_url)
    swept = subprocess.run([DUDAO, "--json", "escalate"],
                           env=env_for(schema_url, DUDAO_SWEEP_PAGE="100"),
                           capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr
    logged = escalation_ids(schema_url)
    ids = [i for _, i in logged]
    assert len(ids) == 5 * FINDINGS
    # mid-publish: some batches of notices acknowledged, most not
    some, most = logged[0][0] + 500, logged[len(logged) // 2][0]
    env = env_for(schema_url, nats_server.url)
    first = Proc(["worker", "publish"], env)
    procs.append(first)
    second = Proc(["worker", "publish"], env)
    procs.append(second)
    first.wait_line("dudao 后台进程已启动")
    second.wait_line("dudao 后台进程已启动")
    holder = None
    deadline = time.monotonic() + 60
    while holder is None:
        assert time.monotonic() < deadline
        holder = next((p for p in (first, second) if p.has("取得租约：通知发布")), None)
        time.sleep(0.005)
    other = second if holder is first else first

    def position() -> int:
        schema = schema_url.rsplit("=", 1)[1]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            try:
                row = conn.execute(sql.SQL("SELECT position FROM {}.notice_positions"
                                           " WHERE name = 'notices'").format(
                    sql.Identifier(schema))).fetchone()
            except psycopg.errors.UndefinedTable:  # the publisher has not made it yet
                return 0
        return int(row[0]) if row else 0

    deadline = time.monotonic() + 60
    while position() < some:
        assert time.monotonic() < deadline, holder.text()
        time.sleep(0.002)
    killed = holder.kill9()
    at_kill = position()
    messages_at_kill = len(asyncio.run(stream_messages(nats_server.url)))
    assert messages_at_kill > 0 and at_kill < most, (messages_at_kill, at_kill)
    taken, _ = other.wait_line("取得租约：通知发布", timeout=BOUND + 5)
    took = taken - killed
    print(f"\npublisher taken over {took * 1000:.0f} ms after kill -9 "
          f"({messages_at_kill} of {len(ids)} notices in the stream then)")
    assert 0 <= took <= BOUND
    deadline = time.monotonic() + 120
    while True:
        messages = asyncio.run(stream_messages(nats_server.url))
        if len(messages) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(1)  # anything more would be a duplicate
    messages = asyncio.run(stream_messages(nats_server.url))
    assert other.stop() == 0, other.text()
    # no notice lost, none twice in the stream (repeats dropped by the dedupe window)
    assert sorted(m["msg_id"] for m in messages) == sorted(ids)
    # a consumer that dedupes by message id receives each once (it never needs to here)
    received: list[dict[str, Any]] = []
    asyncio.run(follow(nats_server.url, received.append, once=True))
    assert len(received) == len(ids)
    # in log order per finding
    order = {i: n for n, i in enumerate(ids)}
    by_finding: dict[str, list[int]] = {}
    for m in messages:
        by_finding.setdefault(m["finding"], []).append(order[m["msg_id"]])
    assert all(seq == sorted(seq) for seq in by_finding.values())


# ------------------------------------------------------------------ the projector


def test_two_servers_read_every_write_while_the_projector_is_killed_and_restarted(
        schema_url: str, procs: list[Proc]) -> None:
    env = env_for(schema_url)
    added = subprocess.run([DUDAO, "unit", "add", "HTQ", "--name", "汉台区人民政府"], env=env,
                           capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    made = subprocess.run([DUDAO, "--json", "token", "create", "--role", "inspector",
                           "--name", "张督学"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    projector = Proc(["worker", "project"], env)
    procs.append(projector)
    projector.wait_line("取得租约：读模型更新")
    servers = [Proc(["serve", "--port", "0", "--no-background"], env) for _ in range(2)]
    procs.extend(servers)
    bases = [s.base() for s in servers]
    acknowledged: list[str] = []
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def write(base: str, n: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as client:
            i = 0
            while not stop.is_set():
                r = client.post("/findings", json={"unit": "HTQ", "on": "2024-10-15",
                                                   "inspector": "张督学",
                                                   "text": f"问题{n}-{i}"})
                i += 1
                if r.status_code != 201:
                    failures.append(r.text)
                    continue
                fid = r.json()["finding_id"]
                with lock:
                    acknowledged.append(fid)
                if i % 10 == 0:  # a server reads its own writes, projector or not
                    seen = listed(client)
                    if fid not in seen:
                        failures.append(f"{base} did not read its own write {fid}")

    writers = [threading.Thread(target=write, args=(b, n)) for n, b in enumerate(bases)]
    for w in writers:
        w.start()
    try:
        time.sleep(1.5)
        projector.kill9()
        time.sleep(2.5)  # the servers take writes with no projector
        restarted = Proc(["worker", "project"], env)
        procs.append(restarted)
        restarted.wait_line("取得租约：读模型更新", timeout=BOUND + 5)
        time.sleep(1.5)
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=60)
    assert failures == []
    assert len(acknowledged) > 20
    for base in bases:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as client:
            seen = listed(client)
        assert set(acknowledged) <= seen, len(set(acknowledged) - seen)
        state = ready(base)
        assert state["projector_lag"] == 0
        # servers started with --no-background hold no role: the projector is the worker's
        (lease,) = state["leases"]
        assert lease["role"] == "project" and lease["holder"].endswith(f":{restarted.popen.pid}")
    for p in [*servers, restarted]:
        assert p.stop() == 0, p.text()
        assert "Traceback" not in p.text(), p.text()


def listed(client: httpx.Client) -> set[str]:
    seen: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"unit": "HTQ", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/findings", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen |= {f["finding_id"] for f in body["findings"]}
        cursor = body["next_cursor"]
        if not cursor:
            return seen
