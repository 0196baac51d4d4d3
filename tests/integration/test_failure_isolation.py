"""Issue 11: one undecodable event never stops the projection runner or the notices
publisher: it is skipped, reported with its position (Chinese, in the log), kept in
``skipped_events`` and counted in ``/health``; the rest of the log is applied.

The bad rows are written straight into the event table (inserting is what the
append-only triggers allow); the audit chain then reports them unsealed, as it should.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from adapters.bootstrap import read_models
from adapters.infrastructure.event_store import pg_schema
from adapters.service_layer.application import Dudao
from projections.findings import findings
from projections.runner import skipped_events
from tests.conftest import PG_URL
from tests.integration.test_notices import messages, publish, seed

RECORDED = "domain.findings:Finding.Recorded"
ESCALATION = "domain.findings:Finding.EscalationRaised"


def raw_insert(db: str, originator_id: uuid.UUID, version: int, topic: str,
               state: bytes) -> int:
    """Append a stored event directly, as a broken writer or a bad migration would;
    returns its position."""
    schema = pg_schema(db)
    if schema is None:
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            cur = conn.execute("INSERT INTO stored_events (originator_id, originator_version, "
                               "topic, state) VALUES (?, ?, ?, ?)",
                               (originator_id.hex, version, topic, state))
            return int(cur.lastrowid or 0)
        finally:
            conn.close()
    with psycopg.connect(PG_URL, autocommit=True) as pg:
        row = pg.execute(f'INSERT INTO "{schema}".dudao_events (originator_id, '
                         "originator_version, topic, state) VALUES (%s, %s, %s, %s) "
                         "RETURNING notification_id",
                         (originator_id, version, topic, state)).fetchone()
        assert row is not None
        return int(row[0])


def stored(app: Dudao, topic_end: str) -> Any:
    return next(n for n in app.all_notifications() if n.topic.endswith(topic_end))


def skipped_rows(engine: Any) -> list[tuple[str, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(skipped_events.c.consumer, skipped_events.c.position,
                                   skipped_events.c.kind)
                            .order_by(skipped_events.c.consumer, skipped_events.c.position))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def seeded(app: Dudao) -> Any:
    app.add_unit("U1", "第一中学", actor="t")
    fid = app.record_finding(unit="U1", on=date(2024, 9, 20), inspector="张督学",
                             text="食堂台账不全", actor="t")
    app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="t")
    return fid


def test_an_undecodable_event_is_skipped_reported_and_the_runner_moves_on(
        app: Dudao, db: str, caplog: pytest.LogCaptureFixture) -> None:
    seeded(app)
    unknown = raw_insert(db, uuid.uuid4(), 1, "adapters.nowhere:Gone.Event", b"{}")
    garbage = raw_insert(db, uuid.uuid4(), 1, RECORDED, b"\xff\xfe not an event")
    good = stored(app, ":Finding.Recorded")
    copy = uuid.uuid4()
    raw_insert(db, copy, 1, good.topic, good.state)  # a well-formed event after them
    runner = read_models(app, db)
    with caplog.at_level(logging.WARNING):
        assert runner.catch_up() == app.last_position()  # before: an exception, every time
    assert set(runner.positions().values()) == {app.last_position()}
    with runner.engine.connect() as conn:
        ids = {r[0] for r in conn.execute(select(findings.c.finding_id))}
    assert str(copy) in ids  # the event after the bad ones was applied
    assert skipped_rows(runner.engine) == [
        (name, p, "projection") for name in ("accountability", "cases", "findings", "persons",
                                             "plans")
        for p in (unknown, garbage)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"位置 {unknown}" in w and "跳过" in w for w in warnings)
    assert any(f"位置 {garbage}" in w and "跳过" in w for w in warnings)
    # a restarted runner does not trip on them again, nor report them twice
    caplog.clear()
    again = read_models(app, db)
    with caplog.at_level(logging.WARNING):
        assert again.catch_up() == 0
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    # a rebuild meets them again and records them once more, no more
    again.rebuild()
    assert len(skipped_rows(again.engine)) == 10  # 2 events × 5 read models
    runner.engine.dispose()
    again.engine.dispose()


class Fragile:
    """A read model that cannot apply one event (a bug meeting an odd event)."""

    name = "fragile"
    tables = ()

    def __init__(self, bad: int) -> None:
        self.bad = bad
        self.applied: list[int] = []

    def apply(self, conn: Any, position: int, event: Any) -> None:
        if position == self.bad:
            raise KeyError("deadline")
        self.applied.append(position)


def test_an_event_a_projection_cannot_apply_is_skipped_for_that_projection_only(
        app: Dudao, db: str, caplog: pytest.LogCaptureFixture) -> None:
    seeded(app)
    fragile = Fragile(bad=2)
    from projections.findings import FindingsProjection

    runner = read_models(app, db, [FindingsProjection(), fragile])  # type: ignore[list-item]
    with caplog.at_level(logging.WARNING):
        runner.catch_up()
    last = app.last_position()
    assert runner.positions() == {"findings": last, "fragile": last}
    assert 2 not in fragile.applied and fragile.applied[-1] == last
    assert skipped_rows(runner.engine) == [("fragile", 2, "projection")]
    assert any("位置 2" in r.getMessage() and "fragile" in r.getMessage()
               for r in caplog.records)
    with runner.engine.connect() as conn:  # the other projection applied every event
        assert conn.execute(select(findings.c.status)).scalar_one() == "rectifying"
    runner.engine.dispose()


def test_the_publisher_skips_an_undecodable_escalation(
        app: Dudao, db: str, nats_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    ids = seed(app, 2, ["reminder"])
    bad = raw_insert(db, ids[0], 100, ESCALATION, b"{\"code\": ")
    escalation = stored(app, ":Finding.EscalationRaised")
    # a well-formed escalation after it (the finding's next version)
    raw_insert(db, ids[1], app.get_finding(ids[1]).version + 1, escalation.topic,
               escalation.state)
    with caplog.at_level(logging.WARNING):
        result = publish(app, db, nats_server.url)  # before: an exception, every time
    assert result.published == 3
    assert result.position == app.last_position()
    assert len(messages(nats_server.url)) == 3
    engine = read_models(app, db, []).engine
    assert skipped_rows(engine) == [("notices", bad, "publisher")]
    assert any(f"位置 {bad}" in r.getMessage() and "通知" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)
    again = publish(app, db, nats_server.url)
    assert (again.published, again.duplicates) == (0, 0)
    assert skipped_rows(engine) == [("notices", bad, "publisher")]
    engine.dispose()
