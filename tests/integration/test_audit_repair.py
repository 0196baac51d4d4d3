"""Issue 11, case 8: a chain shorter than the log is tampering, never repaired silently.

Someone with database rights empties the chain table (triggers dropped first)
or slips an unsealed event into the events table. Opening the store must not
seal those events; ``audit verify`` fails and names the first unsealed
position; every write is refused with nothing recorded; only the explicit
``audit seal --repair --by NAME`` seals them, and that repair is itself an
event in the log, which ``audit verify`` reports from then on.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.infrastructure.sealing_recorders import ChainBroken, ChainIncomplete
from adapters.service_layer.application import Dudao
from domain.time import SHANGHAI
from tests.conftest import PG_URL, Cli

CHAIN = "dudao_audit_chain"


class Direct:
    """The store's tables as someone with database rights sees them."""

    def __init__(self, db: str) -> None:
        self.pg = "://" in db
        if self.pg:
            schema = db.split("schema=")[1]
            self.conn: Any = psycopg.connect(PG_URL, autocommit=True)
            self.events = f'"{schema}".dudao_events'
            self.chain = f'"{schema}".{CHAIN}'
            self.column = "notification_id"
        else:
            self.conn = sqlite3.connect(db, isolation_level=None)
            self.events = "stored_events"
            self.chain = CHAIN
            self.column = "rowid"

    def q(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if not self.pg:
            return list(self.conn.execute(statement.replace("%s", "?"), params).fetchall())
        cur = self.conn.execute(statement, params)
        return cur.fetchall() if cur.description else []

    def count(self, table: str) -> int:
        return int(self.q(f"SELECT count(*) FROM {table}")[0][0])

    def drop_triggers(self) -> None:
        if self.pg:
            for table in (self.events, self.chain):
                self.q(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            for table in ("stored_events", CHAIN):
                for action in ("update", "delete"):
                    self.q(f"DROP TRIGGER IF EXISTS dudao_no_{action}_{table}")

    def forge(self) -> int:
        """A new event (a copy of the last one under a new originator), without a seal."""
        topic, state = self.q(f"SELECT topic, state FROM {self.events} "
                              f"ORDER BY {self.column} DESC LIMIT 1")[0]
        forged = uuid.uuid4()
        self.q(f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
               "VALUES (%s, %s, %s, %s)", (forged if self.pg else forged.hex, 1, topic, state))
        return int(self.q(f"SELECT max({self.column}) FROM {self.events}")[0][0])

    def close(self) -> None:
        self.conn.close()


def direct(db: str) -> Direct:
    return Direct(db)


def seed(dudao: Cli) -> None:
    for args in (("unit", "add", "U1", "--name", "一中"),
                 ("finding", "record", "--unit", "U1", "--on", "2024-09-20",
                  "--inspector", "张督学", "--text", "课后服务收费不规范"),
                 ("finding", "record", "--unit", "U1", "--on", "2024-09-21",
                  "--inspector", "张督学", "--text", "教师培训学时未达标")):
        code, _out, err = dudao(*args)
        assert code == 0, err


RECORD = ("finding", "record", "--unit", "U1", "--on", "2024-10-08", "--inspector", "李督学",
          "--text", "改动之后的新问题")


def test_an_emptied_chain_fails_verification_refuses_writes_until_an_audited_repair(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(db, capsys)
    seed(dudao)
    before = dudao.json("audit", "checkpoint", "--no-publish")
    assert before["position"] >= 3
    # the attacker: triggers off, one event altered, the chain table emptied
    store = direct(db)
    try:
        store.drop_triggers()
        state = json.loads(bytes(store.q(f"SELECT state FROM {store.events} "
                                         f"WHERE {store.column} = 2")[0][0]))
        assert state["text"] == "课后服务收费不规范"
        state["text"] = "没有发现问题"
        store.q(f"UPDATE {store.events} SET state = %s WHERE {store.column} = 2",
                (json.dumps(state, ensure_ascii=False).encode(),))
        store.q(f"DELETE FROM {store.chain}")
        events = store.count(store.events)
    finally:
        store.close()

    # opening the store (every command does) seals nothing: verify fails at position 1
    code, out, err = dudao("audit", "verify")
    assert code == 1
    assert "位置 1" in err and len(err.strip().splitlines()) == 1
    assert "位置 1 起" in out and "audit seal --repair" in out
    code, out, err = dudao("--json", "audit", "verify")
    assert code == 1
    report = json.loads(out)
    assert not report["ok"] and report["first_unsealed_position"] == 1
    assert report["first_bad_position"] == 1 and report["sealed"] == 0
    assert {p["kind"] for p in report["problems"]} == {"unsealed"}
    assert report["repairs"] == []

    # a write is refused, with a one-line error, and records nothing
    code, out, err = dudao(*RECORD)
    assert code == 1
    assert "拒绝写入" in err and "nothing was recorded" in err and "位置 1" in err
    assert "audit seal --repair" in err
    store = direct(db)
    try:
        assert store.count(store.events) == events
        assert store.count(store.chain) == 0
    finally:
        store.close()

    # without --repair: only what would be sealed, nothing recorded
    code, out, err = dudao("audit", "seal")
    assert code == 0, err
    assert f"1–{events}" in out and "--repair" in out
    plan = dudao.json("audit", "seal")
    assert plan["repaired"] is False and plan["count"] == events
    assert plan["ranges"] == [[1, events]] and plan["first_unsealed_position"] == 1
    code, out, err = dudao("audit", "seal", "--by", "张三")
    assert code == 2 and "--repair" in err  # --by alone does nothing
    code, out, err = dudao("audit", "seal", "--repair")
    assert code == 2 and "--by" in err  # a repair must say who
    store = direct(db)
    try:
        assert store.count(store.events) == events and store.count(store.chain) == 0
    finally:
        store.close()

    # the repair: sealed in order, recorded as an event (sealed too) that names who and why
    done = dudao.json("audit", "seal", "--repair", "--by", "张三", "--reason", "链表被清空，已核查",
                      now="2025-01-06T10:30")
    assert done["repaired"] is True and done["count"] == events
    assert done["ranges"] == [[1, events]]
    assert done["position"] > events  # the repair's own event comes after them
    code, out, err = dudao("audit", "verify")
    assert code == 0, err
    assert "张三" in out and f"1–{events}" in out and "2025-01-06 10:30" in out
    report = dudao.json("audit", "verify")
    assert report["ok"] and report["first_unsealed_position"] is None
    # (on PostgreSQL the refused write left a hole in the ids: count, not position)
    assert report["sealed"] == report["events"] == events + 1
    assert report["head"]["position"] == done["position"]
    (repair,) = report["repairs"]
    assert repair["by"] == "张三" and repair["reason"] == "链表被清空，已核查"
    assert repair["ranges"] == [[1, events]] and repair["count"] == events
    assert repair["recorded_at"].startswith("2025-01-06T10:30")
    assert repair["position"] == done["position"] and repair["actor"].startswith("cli:")
    # the change made before the repair still shows against the checkpoint kept outside
    code, out, err = dudao("audit", "verify", "--checkpoint",
                           f"{before['position']}:{before['hash']}")
    assert code == 1 and "检查点" in out

    # writes work again, sealed as usual
    code, out, err = dudao(*RECORD)
    assert code == 0, err
    assert dudao.json("audit", "verify")["ok"]
    code, out, err = dudao("audit", "seal")
    assert code == 0 and "没有未封存的事件" in out


def test_an_unsealed_event_inserted_blocks_the_next_write_and_is_named(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(db, capsys)
    seed(dudao)
    store = direct(db)
    try:
        forged = store.forge()  # no trigger stops an INSERT: only the seal is missing
        events = store.count(store.events)
        sealed = store.count(store.chain)
    finally:
        store.close()
    assert sealed == events - 1

    code, _out, err = dudao(*RECORD)
    assert code == 1
    assert f"位置 {forged}" in err and "nothing was recorded" in err
    code, _out, err = dudao("unit", "add", "U2", "--name", "二中")
    assert code == 1 and "拒绝写入" in err
    store = direct(db)
    try:
        assert store.count(store.events) == events and store.count(store.chain) == sealed
    finally:
        store.close()
    report = json.loads(dudao("--json", "audit", "verify")[1])
    assert not report["ok"]
    assert report["first_unsealed_position"] == report["first_bad_position"] == forged

    done = dudao.json("audit", "seal", "--repair", "--by", "张三")
    assert done["ranges"] == [[forged, forged]] and done["reason"] is None
    report = dudao.json("audit", "verify")
    assert report["ok"] and [r["ranges"] for r in report["repairs"]] == [[[forged, forged]]]
    code, _out, err = dudao(*RECORD)
    assert code == 0, err


def open_app(db: str) -> Dudao:
    return Dudao(clock=lambda: datetime(2024, 12, 31, 18, tzinfo=SHANGHAI),
                 calendar=load_calendar(None), env=store_env(db))


def test_the_service_refuses_and_the_refusal_leaves_nothing_behind(db: str) -> None:
    app = open_app(db)
    try:
        app.add_unit("U1", "一中", actor="t")
        app.add_unit("U2", "二中", actor="t")
    finally:
        app.close()
    store = direct(db)
    try:
        forged = store.forge()
    finally:
        store.close()
    app = open_app(db)
    try:
        with pytest.raises(ChainIncomplete, match=f"位置 {forged}"):
            app.add_unit("U3", "三中", actor="t")
        assert app.find_unit("U3") is None
        plan = app.seal_plan()
        assert plan.ranges == [(forged, forged)] and plan.count == 1
    finally:
        app.close()
    store = direct(db)
    try:
        assert store.count(store.events) == 3 and store.count(store.chain) == 2
    finally:
        store.close()


def test_a_repair_refuses_when_the_log_moved_since_it_was_planned(db: str) -> None:
    """The repair seals exactly the positions its event names, or nothing."""
    app = open_app(db)
    try:
        app.add_unit("U1", "一中", actor="t")
    finally:
        app.close()
    store = direct(db)
    try:
        first = store.forge()
    finally:
        store.close()
    app = open_app(db)
    try:
        plan = app.seal_plan()
        assert plan.ranges == [(first, first)]
        store = direct(db)
        try:
            store.forge()  # another one slips in between the plan and the repair
        finally:
            store.close()
        with pytest.raises(ChainIncomplete, match="重新运行"):
            app.repair_chain(plan, by="张三", reason=None, actor="t")
        assert app.verify().sealed == 1
    finally:
        app.close()


def burn_ids(db: str, n: int) -> list[int]:
    """Take notification ids from the sequence without storing anything."""
    table = f'"{db.split("schema=")[1]}".dudao_events'
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return [int(conn.execute(sql.SQL("SELECT nextval(pg_get_serial_sequence({}, "
                                         "'notification_id'))").format(sql.Literal(table)))
                    .fetchone()[0]) for _ in range(n)]  # type: ignore[index]


def test_pg_gaps_from_rolled_back_writes_do_not_block_writes(pg_db: str) -> None:
    """On PostgreSQL a rolled-back insert leaves a hole in the ids: that is not an unsealed event."""
    app = open_app(pg_db)
    try:
        app.add_unit("U1", "一中", actor="t")
        burn_ids(pg_db, 3)  # as lost races do
        app.add_unit("U2", "二中", actor="t")
        report = app.verify()
        assert report.ok and report.events == 2
        assert app.seal_plan().count == 0
    finally:
        app.close()


def test_the_refused_pg_write_is_rolled_back_when_the_seals_run_ahead(pg_db: str) -> None:
    """The refusal raised while sealing must undo the insert (it once committed it)."""
    app = open_app(pg_db)
    try:
        app.add_unit("U1", "一中", actor="t")
    finally:
        app.close()
    store = direct(pg_db)
    try:
        store.q(f"INSERT INTO {store.chain} VALUES (1000, %s, %s)", (b"x" * 32, b"y" * 32))
    finally:
        store.close()
    app = open_app(pg_db)
    try:
        with pytest.raises(ChainBroken):
            app.add_unit("U2", "二中", actor="t")
    finally:
        app.close()
    store = direct(pg_db)
    try:
        assert store.count(store.events) == 1
    finally:
        store.close()


def test_pg_an_event_forged_into_a_hole_below_the_head_is_named_and_not_repairable(
        pg_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A rolled-back id below the chain head filled in by hand: verify names it; a repair
    cannot seal it in order (writes go on: checking every hole would cost a scan)."""
    app = open_app(pg_db)
    try:
        app.add_unit("U1", "一中", actor="t")
        hole = burn_ids(pg_db, 1)[0]  # as a lost race does
        app.add_unit("U2", "二中", actor="t")
    finally:
        app.close()
    store = direct(pg_db)
    try:
        topic, state = store.q(f"SELECT topic, state FROM {store.events} LIMIT 1")[0]
        store.q(f"INSERT INTO {store.events} (notification_id, originator_id, originator_version,"
                " topic, state) VALUES (%s, %s, 1, %s, %s)", (hole, uuid.uuid4(), topic, state))
    finally:
        store.close()
    dudao = Cli(pg_db, capsys)
    code, out, err = dudao("audit", "verify")
    assert code == 1 and f"位置 {hole}" in err
    assert "插在已封存的事件之间" in out
    plan = dudao.json("audit", "seal")
    assert plan["count"] == 0
