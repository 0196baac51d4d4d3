"""Tamper evidence: mutations of copies of a real store are all found, at the right position.

A real store (the demo's year of supervision, plus escalations) is built once
per store kind; every mutation is applied to a fresh copy of it by someone
with direct database access (triggers dropped or disabled first), and
``Dudao.verify`` must name the mutated position as the first bad one. A fixed
seed keeps the positions reproducible and the test quick.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.infrastructure.hash_chain import (
    GENESIS,
    Checkpoint,
    seal,
)
from adapters.infrastructure.sealing_recorders import ChainBroken, ChainIncomplete
from adapters.service_layer.application import Dudao
from domain.errors import Conflict, InvalidInput, Refused
from domain.time import SHANGHAI
from tests.conftest import PG_URL, need, pg_unavailable

SEED = 20241015
PER_KIND = 3
EVENTS = "stored_events"
PG_EVENTS = "dudao_events"
CHAIN = "dudao_audit_chain"


def open_app(db: str, clock: Any = None) -> Dudao:
    clock = clock or (lambda: datetime(2024, 12, 31, 18, tzinfo=SHANGHAI))
    return Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))


def build_history(db: str) -> int:
    """The demo's year of supervision (plans, findings, sweeps, escalations, interviews),
    run on SQLite and then copied event for event, seals included, into ``db``, with the
    佐证材料 files its reports name (the audit checks them too). Returns the event count."""
    import tempfile

    from adapters.demo.year import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        demo = run_demo(Path(tmp), lambda line: None)
        source = open_app(str(demo))
        target = open_app(db)
        try:
            recorder: Any = source.recorder
            with recorder.snapshot() as snap:
                events = [(r[0], r[1], r[2], r[3], bytes(r[4]))
                          for r in recorder.read_events(snap)]
                seals = [(r[0], bytes(r[1]), bytes(r[2])) for r in recorder.read_chain(snap)]
            if "://" in db:
                copy_rows(target, events, seals)
            else:
                target.recorder.copy_rows(events, seals)  # type: ignore[attr-defined]
            copy_files(source, target)
        finally:
            source.close()
            target.close()
    app = open_app(db)
    try:
        return app.event_count()
    finally:
        app.close()


def copy_files(source: Dudao, target: Dudao) -> None:
    """Every stored 佐证材料 file of ``source`` into ``target``'s store, byte for byte."""
    from io import BytesIO

    from sqlalchemy import select

    from adapters.infrastructure.evidence_store import evidence_files
    from adapters.service_layer import evidence
    from domain.evidence import EvidenceFile

    there, here = evidence.store(source), evidence.store(target)
    with there.engine.connect() as conn:
        stored = conn.execute(select(evidence_files)).mappings().all()
    try:
        for f in stored:
            blob = BytesIO(b"".join(there.chunks(f["sha256"])))
            here.put(EvidenceFile("copy", f["type"], f["size"], f["sha256"]), blob,
                     now=f["stored_at"])
    finally:  # let go of the files' connections (a SQLite copy is taken of the file)
        there.engine.dispose()
        here.engine.dispose()


def copy_rows(app: Dudao, events: list[Any], seals: list[Any]) -> None:
    """Insert stored events at their positions, and their seals, into a PostgreSQL store."""
    recorder: Any = app.recorder
    with recorder.datastore.transaction(commit=True) as curs:
        curs.executemany(sql.SQL("INSERT INTO {} (notification_id, originator_id, "
                                 "originator_version, topic, state) VALUES (%s, %s, %s, %s, %s)")
                         .format(recorder.q_events),
                         [(p, uuid.UUID(o), v, t, st) for p, o, v, t, st in events])
        curs.executemany(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(recorder.q_chain),
                         seals)


# ------------------------------------------------------------------ stores


class Store:
    """Direct access to a copy of a store, as someone with database rights has."""

    events: str
    chain: str

    def q(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def column(self) -> str:
        raise NotImplementedError

    def row(self, position: int) -> tuple[Any, ...]:
        rows = self.q(f"SELECT originator_id, originator_version, topic, state FROM {self.events}"
                      f" WHERE {self.column()} = %s", (position,))
        return tuple(rows[0])

    def positions(self) -> list[int]:
        return [r[0] for r in self.q(
            f"SELECT {self.column()} FROM {self.events} ORDER BY {self.column()}")]

    def set_state(self, position: int, state: bytes) -> None:
        self.q(f"UPDATE {self.events} SET state = %s WHERE {self.column()} = %s",
               (state, position))

    def move(self, frm: int, to: int) -> None:
        self.q(f"UPDATE {self.events} SET {self.column()} = %s WHERE {self.column()} = %s",
               (to, frm))

    def insert(self, position: int, row: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SQLiteStore(Store):
    events = EVENTS
    chain = CHAIN

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for target in (EVENTS, CHAIN):
            for action in ("update", "delete"):
                self.conn.execute(f"DROP TRIGGER IF EXISTS dudao_no_{action}_{target}")

    def column(self) -> str:
        return "rowid"

    def q(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self.conn.execute(statement.replace("%s", "?"), params).fetchall()

    def insert(self, position: int, row: tuple[Any, ...]) -> None:
        self.q(f"INSERT INTO {EVENTS} (rowid, originator_id, originator_version, topic, state) "
               "VALUES (%s, %s, %s, %s, %s)", (position, *row))

    def close(self) -> None:
        self.conn.close()


class PostgresStore(Store):
    def __init__(self, url: str, schema: str) -> None:
        self.conn = psycopg.connect(PG_URL, autocommit=True)
        self.events = f'"{schema}".{PG_EVENTS}'
        self.chain = f'"{schema}".{CHAIN}'
        for table in (self.events, self.chain):
            self.conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    def column(self) -> str:
        return "notification_id"

    def q(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        cur = self.conn.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def insert(self, position: int, row: tuple[Any, ...]) -> None:
        self.q(f"INSERT INTO {self.events} (notification_id, originator_id, originator_version, "
               "topic, state) VALUES (%s, %s, %s, %s, %s)", (position, *row))

    def close(self) -> None:
        self.conn.close()


class Original:
    """A real store, built once, copied for each mutation."""

    def __init__(self, kind: str, make_copy: Callable[[], str],
                 open_store: Callable[[str], Store], cleanup: Callable[[], None]) -> None:
        self.kind = kind
        self.copy = make_copy  # a fresh copy's --db
        self.store = open_store  # direct access to it (opening the app re-arms the triggers)
        self.cleanup = cleanup


def sqlite_original(base: Path) -> Original:
    path = base / "original.db"
    build_history(str(path))
    counter = iter(range(10**6))

    def make_copy() -> str:
        target = base / f"copy{next(counter)}.db"
        shutil.copyfile(path, target)
        return str(target)

    return Original("sqlite", make_copy, SQLiteStore, lambda: None)


def pg_original() -> Original:
    error = pg_unavailable()
    if error:
        need("PostgreSQL", error)
    base = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{PG_URL}?schema={base}"
    prepare(url)
    build_history(url)
    schemas = [base]

    def make_copy() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        schemas.append(schema)
        copy_url = f"{PG_URL}?schema={schema}"
        prepare(copy_url)
        from adapters.infrastructure.evidence_store import evidence_chunks, evidence_files
        from adapters.service_layer import evidence

        empty = open_app(copy_url)  # the project's tables and triggers, empty
        evidence.store(empty).engine.dispose()  # and the 佐证材料 tables
        empty.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for table in (PG_EVENTS, CHAIN, evidence_files.name, evidence_chunks.name):
                conn.execute(sql.SQL("INSERT INTO {}.{} SELECT * FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table),
                    sql.Identifier(base), sql.Identifier(table)))
        return copy_url

    def cleanup() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                             .format(sql.Identifier(schema)))

    return Original("postgres", make_copy,
                    lambda url: PostgresStore(url, url.split("schema=")[1]), cleanup)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def original(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Original]:
    if request.param == "sqlite":
        store = sqlite_original(tmp_path_factory.mktemp("chain"))
    else:
        store = pg_original()
    yield store
    store.cleanup()


def verify(db: str, checkpoint: Checkpoint | None = None) -> Any:
    app = open_app(db)
    try:
        return app.verify(checkpoint)
    finally:
        app.close()


def head(db: str) -> Checkpoint:
    app = open_app(db)
    try:
        return app.chain_head()
    finally:
        app.close()


# --------------------------------------------------------------- mutations


def payload_byte(store: Store, rng: random.Random, positions: list[int]) -> int:
    p = rng.choice(positions)
    state = bytearray(store.row(p)[3])
    i = rng.randrange(len(state))
    state[i] ^= 1 << rng.randrange(8)
    store.set_state(p, bytes(state))
    return p


def field(store: Store, rng: random.Random, positions: list[int]) -> int:
    p = rng.choice(positions)
    which = rng.choice(["topic", "originator_version", "originator_id"])
    if which == "topic":
        store.q(f"UPDATE {store.events} SET topic = topic || 'x' WHERE {store.column()} = %s",
                (p,))
    elif which == "originator_version":
        store.q(f"UPDATE {store.events} SET originator_version = originator_version + 1000 "
                f"WHERE {store.column()} = %s", (p,))
    else:
        new = uuid.uuid4()
        value: Any = new.hex if isinstance(store, SQLiteStore) else new
        store.q(f"UPDATE {store.events} SET originator_id = %s WHERE {store.column()} = %s",
                (value, p))
    return p


def deleted_row(store: Store, rng: random.Random, positions: list[int]) -> int:
    p = rng.choice(positions)
    store.q(f"DELETE FROM {store.events} WHERE {store.column()} = %s", (p,))
    return p


def inserted_row(store: Store, rng: random.Random, positions: list[int]) -> int:
    """A forged event slipped in at a position: the later ones move up by one."""
    p = rng.choice(positions)
    _oid, _version, topic, state = store.row(rng.choice(positions))
    col = store.column()
    store.q(f"UPDATE {store.events} SET {col} = {col} + 1000000 WHERE {col} >= %s", (p,))
    store.q(f"UPDATE {store.events} SET {col} = {col} - 999999 WHERE {col} >= 1000000")
    forged = uuid.uuid4()
    store.insert(p, (forged.hex if isinstance(store, SQLiteStore) else forged, 1, topic, state))
    return p


def appended_row(store: Store, rng: random.Random, positions: list[int]) -> int:
    """A forged event after the newest one, without a seal."""
    p = positions[-1] + 1
    oid, version, topic, state = store.row(rng.choice(positions))
    store.insert(p, (oid, version + 100, topic, state))
    return p


def swapped_rows(store: Store, rng: random.Random, positions: list[int]) -> int:
    i, j = sorted(rng.sample(positions, 2))
    store.move(i, -1)
    store.move(j, i)
    store.move(-1, j)
    return i


MUTATIONS = [payload_byte, field, deleted_row, inserted_row, appended_row, swapped_rows]


def test_intact_copies_verify_clean(original: Original) -> None:
    db = original.copy()
    report = verify(db)
    assert report.ok, report.as_dict()
    assert report.events == report.sealed > 40
    cp = head(db)
    assert cp == report.head
    assert verify(db, cp).ok
    assert verify(db, Checkpoint(0, GENESIS.hex())).ok
    # a checkpoint taken earlier still matches the history that grew from it
    store = original.store(db)
    try:
        middle = store.positions()[len(store.positions()) // 2]
        sealed = store.q(f"SELECT chain_hash FROM {store.chain} WHERE position = %s", (middle,))
    finally:
        store.close()
    assert verify(db, Checkpoint(middle, bytes(sealed[0][0]).hex())).ok
    assert not verify(db, Checkpoint(middle, cp.hash)).ok


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_every_single_mutation_is_found_at_its_position(
    original: Original, mutation: Callable[[Store, random.Random, list[int]], int]
) -> None:
    rng = random.Random(f"{SEED}-{original.kind}-{mutation.__name__}")
    for _ in range(PER_KIND):
        db = original.copy()
        before = head(db)
        store = original.store(db)
        try:
            positions = store.positions()
            position = mutation(store, rng, positions)
        finally:
            store.close()
        report = verify(db)
        assert not report.ok, f"{mutation.__name__} at {position} went unnoticed"
        assert report.first_bad == position, report.as_dict()
        # against the checkpoint taken before, too
        with_cp = verify(db, before)
        assert with_cp.first_bad == position, with_cp.as_dict()


def test_truncated_tail_is_found_against_a_checkpoint(original: Original) -> None:
    rng = random.Random(f"{SEED}-{original.kind}-truncate")
    for _ in range(PER_KIND):
        db = original.copy()
        checkpoint = head(db)
        store = original.store(db)
        try:
            positions = store.positions()
            cut = rng.choice(positions[1:])
            # the newest events go, and their seals with them
            store.q(f"DELETE FROM {store.events} WHERE {store.column()} >= %s", (cut,))
            store.q(f"DELETE FROM {store.chain} WHERE position >= %s", (cut,))
        finally:
            store.close()
        assert verify(db).ok  # what is left is self-consistent ...
        report = verify(db, checkpoint)  # ... but not what the checkpoint saw
        assert not report.ok
        assert report.first_bad == cut, report.as_dict()
        assert report.problems[0].kind == "truncated"


def test_rewritten_history_with_recomputed_seals_is_found_only_by_a_checkpoint(
        original: Original) -> None:
    rng = random.Random(f"{SEED}-{original.kind}-rewrite")
    db = original.copy()
    checkpoint = head(db)
    store = original.store(db)
    try:
        positions = store.positions()
        p = rng.choice(positions)
        state = bytearray(store.row(p)[3])
        state[0] ^= 1
        store.set_state(p, bytes(state))
        # re-seal from p on, as a careful forger would
        rows = store.q(f"SELECT {store.column()}, originator_id, originator_version, topic, "
                       f"state FROM {store.events} WHERE {store.column()} >= %s "
                       f"ORDER BY {store.column()}", (p,))
        prev = store.q(f"SELECT chain_hash FROM {store.chain} WHERE position < %s "
                       "ORDER BY position DESC LIMIT 1", (p,))
        store.q(f"DELETE FROM {store.chain} WHERE position >= %s", (p,))
        events = [(r[0], r[1].hex if isinstance(r[1], uuid.UUID) else r[1], r[2], r[3],
                   bytes(r[4])) for r in rows]
        for row in seal(bytes(prev[0][0]) if prev else GENESIS, events):
            store.q(f"INSERT INTO {store.chain} VALUES (%s, %s, %s)", row)
    finally:
        store.close()
    assert verify(db).ok
    report = verify(db, checkpoint)
    assert not report.ok and report.problems[0].kind == "checkpoint"
    assert report.first_bad == checkpoint.position


# ----------------------------------------------------------- append-only


def test_postgres_trigger_refuses_update_delete_and_truncate(pg_db: str) -> None:
    app = open_app(pg_db)
    try:
        app.add_unit("U1", "一中", actor="t")
    finally:
        app.close()
    schema = pg_db.split("schema=")[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for table in (PG_EVENTS, CHAIN):
            name = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            for statement in ("UPDATE {} SET state = state", "DELETE FROM {}", "TRUNCATE {}"):
                if table == CHAIN:
                    statement = statement.replace("state = state", "chain_hash = chain_hash")
                with pytest.raises(psycopg.Error, match="append-only"):
                    conn.execute(sql.SQL(statement).format(name))
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(PG_EVENTS))).fetchone()
        assert count is not None and count[0] == 1


def test_sqlite_store_refuses_update_and_delete_too(sqlite_db: str) -> None:
    app = open_app(sqlite_db)
    try:
        app.add_unit("U1", "一中", actor="t")
    finally:
        app.close()
    conn = sqlite3.connect(sqlite_db)
    try:
        for statement in (f"UPDATE {EVENTS} SET state = state", f"DELETE FROM {EVENTS}",
                          f"UPDATE {CHAIN} SET chain_hash = chain_hash", f"DELETE FROM {CHAIN}"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()


def test_a_store_whose_seals_run_ahead_refuses_new_events(sqlite_db: str) -> None:
    app = open_app(sqlite_db)
    app.add_unit("U1", "一中", actor="t")
    app.add_unit("U2", "二中", actor="t")
    app.close()
    conn = sqlite3.connect(sqlite_db, isolation_level=None)
    conn.execute(f"DROP TRIGGER dudao_no_delete_{EVENTS}")
    conn.execute(f"DELETE FROM {EVENTS} WHERE rowid = 2")  # the next insert reuses rowid 2
    conn.close()
    app = open_app(sqlite_db)
    try:
        with pytest.raises(ChainBroken):
            app.add_unit("U3", "三中", actor="t")
        assert app.event_count() == 1
    finally:
        app.close()


# ---------------------------------------------------------------- writers


def test_two_writers_on_postgres_seal_in_commit_order(pg_db: str) -> None:
    setup = open_app(pg_db)
    setup.add_unit("U1", "一中", actor="t")
    shared = setup.record_finding(unit="U1", on=date(2024, 9, 20), inspector="督学",
                                  text="共用的问题", actor="t")
    setup.close()
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []
    conflicts = [0]

    def writer(tag: str) -> None:
        app: Dudao | None = None
        try:
            app = open_app(pg_db)
            barrier.wait()
            for i in range(40):
                fid = app.record_finding(unit="U1", on=date(2024, 9, 20), inspector="督学",
                                         text=f"{tag}{i}", actor=tag)
                app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor=tag)
                if i % 8 == 0:
                    try:  # both writers race on the same finding: one loses, a gap is left
                        app.extend(shared, on=date(2024, 9, 26),
                                   to=date(2024, 11, 1) + timedelta(days=i + (tag == "乙")),
                                   reason=f"{tag}{i}", actor=tag)
                    except Conflict:
                        conflicts[0] += 1
                    except (Refused, InvalidInput):  # the other one's extension went further
                        pass
        except BaseException as e:
            errors.append(e)
            barrier.abort()
        finally:
            if app is not None:
                app.close()

    app = open_app(pg_db)
    try:
        app.order_rectification(shared, on=date(2024, 9, 25), within=10, actor="t")
        # a lost race leaves a gap in the notification ids: sealing must not mind
        other = open_app(pg_db)
        mine, theirs = app.get_finding(shared), other.get_finding(shared)
        for finding, to in ((mine, date(2024, 10, 31)), (theirs, date(2024, 10, 30))):
            finding.grant_extension(on=date(2024, 9, 26), to=to, reason="抢先",
                                    calendar=app.calendar, actor="t", recorded_at=app.now())
        app.commit(mine)
        with pytest.raises(Conflict):
            other.commit(theirs)
        other.close()
        threads = [threading.Thread(target=writer, args=(t,)) for t in ("甲", "乙")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a writer hung"
        assert not errors, errors
        report = app.verify()
        assert report.ok, report.as_dict()
        assert report.events == report.sealed == app.event_count() - gaps(pg_db)
        assert report.events >= 3 + 2 * 80
        assert gaps(pg_db) >= 1  # the forced conflict below, at least
        assert app.chain_head() == report.head
    finally:
        app.close()


def gaps(db: str) -> int:
    """Notification ids skipped by rolled-back inserts (PostgreSQL sequences never go back)."""
    schema = db.split("schema=")[1]
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(sql.SQL("SELECT max(notification_id) - count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(PG_EVENTS))).fetchone()
    assert row is not None
    return int(row[0])


def test_a_store_from_before_the_chain_fails_verification_until_an_audited_repair(
        db: str) -> None:
    """Events stored without the chain are never sealed by opening the store (issue 11):
    verification fails from position 1 and writes are refused until ``repair_chain``."""
    env = {k: v for k, v in store_env(db).items() if k != "APPLICATION_RECORDER_TOPIC"}
    plain = Dudao(clock=lambda: datetime(2024, 12, 31, 18, tzinfo=SHANGHAI),
                  calendar=load_calendar(None), env=env)
    plain.add_unit("U1", "一中", actor="t")
    plain.add_unit("U2", "二中", actor="t")
    plain.close()
    report = verify(db)
    assert not report.ok and report.sealed == 0 and report.events == 2
    assert report.first_bad == report.first_unsealed == 1
    assert [p.kind for p in report.problems] == ["unsealed", "unsealed"]
    app = open_app(db)
    try:
        with pytest.raises(ChainIncomplete):
            app.add_unit("U3", "三中", actor="t")
        plan = app.seal_plan()
        assert (plan.head, plan.ranges) == (0, [(1, 2)])
        done = app.repair_chain(plan, by="张三", reason="升级前的旧库", actor="t")
        # on PostgreSQL the refused write took id 3 and left it a hole
        assert done["count"] == 2 and done["position"] == (3 if "://" not in db else 4)
        app.add_unit("U3", "三中", actor="t")
    finally:
        app.close()
    report = verify(db)
    assert report.ok and report.sealed == report.events == 4
    assert [(r["by"], r["ranges"], r["position"]) for r in report.repairs] == [
        ("张三", [[1, 2]], done["position"])]
    assert head(db) == report.head
