"""Event recorders that seal every event in the hash chain as they store it.

They are eventsourcing's SQLite and PostgreSQL application recorders with one
addition each: in the transaction that inserts events, after the insert has
taken the table's write lock (SQLite's single writer; the EXCLUSIVE table lock
the PostgreSQL recorder takes so that notification ids follow commit order),
they read the chain head and append one chain row per new event. Sealing
therefore happens in commit order, by whichever process writes, with no
window in which a stored event is unsealed, and the chain table is only ever
appended to. A row that reaches the events table any other way stays
unsealed, and verification reports it.

Opening the store also makes the tables append-only: triggers refuse UPDATE,
DELETE (and, on PostgreSQL, TRUNCATE) of stored events and of chain rows.
The project never updates or deletes a stored event.

The store seals only the events it has just inserted, never on opening:
a chain shorter than the log (the chain table emptied or cut, a row inserted
directly into the events table, a store from before the chain) is a
verification failure, and every write is refused while it lasts, because new
seals would follow unsealed events. Each write checks this in two index
look-ups: no event between the chain head and its own first position, none
after its last (PostgreSQL's notification ids may skip values a rolled-back
transaction took; a hole holds no event, so it does not count). Only the
explicit ``dudao audit seal --repair`` seals such events (see ``repairing``),
in the same transaction as the event that records the repair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier, Literal

from adapters.infrastructure.hash_chain import (
    CHAIN_TABLE,
    GENESIS,
    ChainRow,
    Checkpoint,
    EventRow,
    seal,
)
from domain.audit import ranges_of
from domain.errors import DudaoError, Refused

PAGE = 20000
REFUSAL = "dudao: 事件库只能追加，已存储的事件与封存记录不能修改或删除 (stored events are append-only)"


class ChainBroken(DudaoError):
    """The chain table is ahead of the events: the store was tampered with."""


class ChainIncomplete(Refused):
    """The log holds events without a seal: writes are refused until an audited repair."""


@dataclass(frozen=True)
class SealPlan:
    """What ``audit seal --repair`` would seal: the events after the chain head."""

    head: int  # the last sealed position (0: none)
    ranges: list[tuple[int, int]]  # runs of consecutive positions of unsealed events

    @property
    def count(self) -> int:
        return sum(b - a + 1 for a, b in self.ranges)

    @property
    def first(self) -> int | None:
        return self.ranges[0][0] if self.ranges else None


# Set only while the repair's own event is being stored: the positions it may seal.
_REPAIR: ContextVar[list[tuple[int, int]] | None] = ContextVar("dudao_chain_repair",
                                                               default=None)


@contextmanager
def repairing(ranges: list[tuple[int, int]]) -> Iterator[None]:
    """Let the events stored inside seal exactly these unsealed positions before them."""
    token = _REPAIR.set(list(ranges))
    try:
        yield
    finally:
        _REPAIR.reset(token)


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def _broken(head: int, first: int) -> ChainBroken:
    return ChainBroken(
        f"封存记录已到位置 {head}，新事件却在位置 {first}：事件库被改动过，拒绝写入；"
        "请运行 dudao audit verify",
        f"the chain is sealed up to position {head} but new events got position {first}: "
        "the store was tampered with; nothing was recorded; run dudao audit verify",
        field="db",
    )


def _unsealed(head: int, first: int) -> ChainIncomplete:
    return ChainIncomplete(
        f"事件库中位置 {first} 起有未封存的事件（{sealed_upto(head)}）：事件库被改动过，"
        "或早于封存功能；拒绝写入，本次操作未记录。请运行 dudao audit verify 核查，"
        "再由负责人运行 dudao audit seal --repair --by 姓名 补封",
        f"the store holds unsealed events from position {first} on (sealed up to {head}): "
        "it was altered or predates the chain; write refused, nothing was recorded; "
        "run dudao audit verify, then dudao audit seal --repair --by NAME",
        field="db",
    )


def sealed_upto(head: int) -> str:
    return f"封存记录只到位置 {head}" if head else "没有任何封存记录"


def _stale(planned: list[tuple[int, int]], found: list[tuple[int, int]]) -> ChainIncomplete:
    return ChainIncomplete(
        f"未封存的事件与核查时不同（核查时 {_runs(planned)}，现在 {_runs(found) or '无'}）："
        "补封未进行，什么也没有记录；请重新运行 dudao audit seal 查看后再补封",
        "the unsealed events changed since they were listed; nothing was sealed or recorded; "
        "run dudao audit seal again",
        field="db",
    )


def _runs(ranges: Sequence[tuple[int, int]]) -> str:
    return "、".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)


def _chain_rows(head: tuple[int, bytes], new: list[EventRow],
                stray: Callable[[int, int | None], int | None],
                between: Callable[[int, int], list[EventRow]]) -> list[ChainRow]:
    """The chain rows for the events just inserted (``new``, by position), under the write lock.

    ``stray(after, before)`` is the first position of an event strictly between
    the two (``before`` None: no upper bound); ``between`` the events themselves.
    Refuses when the seals run ahead of the events, or when unsealed events lie
    before or after the new ones, unless a repair of exactly those is under way.
    """
    head_position, head_hash = head
    first, last = new[0][0], new[-1][0]
    if head_position >= first:
        raise _broken(head_position, first)
    planned = _REPAIR.get()
    below = stray(head_position, first)
    above = stray(last, None)
    if above is not None:  # not sealable in order before the new ones: refuse, repair or not
        raise _unsealed(head_position, below if below is not None else above)
    if below is None:
        if planned is not None:
            raise _stale(planned, [])
        return seal(head_hash, new)
    if planned is None:
        raise _unsealed(head_position, below)
    old = between(head_position, first)
    found = ranges_of(r[0] for r in old)
    if found != planned:
        raise _stale(planned, found)
    return seal(head_hash, old + new)


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite: events sealed in the inserting transaction."""

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        table = self.events_table_name
        statements += [
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "position INTEGER PRIMARY KEY, event_hash BLOB NOT NULL, chain_hash BLOB NOT NULL)",
        ]
        for target in (table, CHAIN_TABLE):
            for action in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS dudao_no_{action.lower()}_{target} "
                    f"BEFORE {action} ON {target} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                )
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            table = self.events_table_name
            c.execute(f"SELECT position, chain_hash FROM {CHAIN_TABLE} "
                      "ORDER BY position DESC LIMIT 1")
            head = c.fetchone()

            def stray(after: int, before: int | None) -> int | None:
                if before is None:
                    c.execute(f"SELECT min(rowid) FROM {table} WHERE rowid > ?", (after,))
                else:
                    c.execute(f"SELECT min(rowid) FROM {table} WHERE rowid > ? AND rowid < ?",
                              (after, before))
                row = c.fetchone()
                return None if row is None else row[0]

            def between(after: int, before: int) -> list[EventRow]:
                c.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                          f"FROM {table} WHERE rowid > ? AND rowid < ? ORDER BY rowid",
                          (after, before))
                return [tuple(r) for r in c.fetchall()]  # type: ignore[misc]

            rows = _chain_rows(
                (head[0], head[1]) if head else (0, GENESIS),
                [(i, _hex(s.originator_id), s.originator_version, s.topic, s.state)
                 for i, s in zip(ids, stored_events, strict=True)],
                stray, between)
            c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?)", rows)
        return ids

    def seal_plan(self) -> SealPlan:
        """The unsealed events after the chain head (what a repair would seal)."""
        with self.snapshot() as snap:
            row = snap.execute(f"SELECT max(position) FROM {CHAIN_TABLE}").fetchone()
            head = row[0] if row and row[0] is not None else 0
            cur = snap.execute(f"SELECT rowid FROM {self.events_table_name} WHERE rowid > ? "
                               "ORDER BY rowid", (head,))
            return SealPlan(head, ranges_of(r[0] for r in cur))

    # ------------------------------------------------------------- reading

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read transaction: both tables as of one moment."""
        datastore: SQLiteDatastore = self.datastore
        with datastore.get_connection(commit=False) as conn:
            raw = conn._sqlite_conn
            raw.execute("BEGIN")
            try:
                yield raw
            finally:
                raw.rollback()

    def read_events(self, snap: Any, after: int = 0, upto: int | None = None
                    ) -> Iterator[EventRow]:
        cur = snap.cursor()
        cur.row_factory = None
        stop = "" if upto is None else f" AND rowid <= {int(upto)}"
        cur.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                    f"FROM {self.events_table_name} WHERE rowid > ?{stop} ORDER BY rowid",
                    (after,))
        while True:
            page = cur.fetchmany(PAGE)
            if not page:
                return
            yield from page

    def read_chain(self, snap: Any, after: int = 0, upto: int | None = None
                   ) -> Iterator[ChainRow]:
        cur = snap.cursor()
        cur.row_factory = None
        stop = "" if upto is None else f" AND position <= {int(upto)}"
        cur.execute(f"SELECT position, event_hash, chain_hash FROM {CHAIN_TABLE} "
                    f"WHERE position > ?{stop} ORDER BY position", (after,))
        while True:
            page = cur.fetchmany(PAGE)
            if not page:
                return
            yield from page

    def head(self) -> tuple[Checkpoint, EventRow | None, ChainRow | None]:
        """The stored chain head, with the head's event and chain row (if any)."""
        with self.snapshot() as snap:
            row = snap.execute(f"SELECT position, event_hash, chain_hash FROM {CHAIN_TABLE} "
                               "ORDER BY position DESC LIMIT 1").fetchone()
            if row is None:
                return Checkpoint(0, GENESIS.hex()), None, None
            event = snap.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE rowid = ?", (row[0],)).fetchone()
            return (Checkpoint(row[0], bytes(row[2]).hex()),
                    tuple(event) if event else None, tuple(row))  # type: ignore[return-value]

    def positions_of(self, originator_id: UUID) -> dict[int, int]:
        """Originator version → position, for one aggregate."""
        with self.snapshot() as snap:
            rows = snap.execute(
                f"SELECT originator_version, rowid FROM {self.events_table_name} "
                "WHERE originator_id = ?", (_hex(originator_id),)).fetchall()
        return {r[0]: r[1] for r in rows}

    def copy_rows(self, events: Sequence[EventRow], chain: Sequence[ChainRow]) -> None:
        """Store events and their seals as they are, positions included (scratch stores)."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(f"INSERT INTO {self.events_table_name} "
                          "(rowid, originator_id, originator_version, topic, state) "
                          "VALUES (?,?,?,?,?)", events)
            c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?)", chain)


class ChainedPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL: events sealed under the recorder's EXCLUSIVE table lock."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        # RETURNING notification_id → also which event got which id.
        self.insert_events_statement += SQL(", originator_id, originator_version")
        schema = Identifier(self.datastore.schema)
        self.q_events = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        self.q_chain = SQL("{}.{}").format(schema, Identifier(CHAIN_TABLE))

    def create_table(self) -> None:
        # Processes opening the store at once would race in eventsourcing's DDL (two
        # CREATE OR REPLACE FUNCTION at once fail with "tuple concurrently updated"):
        # one at a time, under a session advisory lock held on a connection of its own.
        with self.datastore.get_connection() as lock:
            lock.execute("SELECT pg_advisory_lock(hashtext('dudao:create-table'))")
            try:
                super().create_table()
                self._create_chain()
            finally:
                lock.execute("SELECT pg_advisory_unlock(hashtext('dudao:create-table'))")

    def _create_chain(self) -> None:
        schema = Identifier(self.datastore.schema)
        function = SQL("{}.dudao_refuse_change").format(schema)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(
                "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, "
                "event_hash bytea NOT NULL, chain_hash bytea NOT NULL)").format(self.q_chain))
            curs.execute(
                "SELECT t.tgname, t.tgenabled FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND t.tgname LIKE 'dudao_%%'", (self.datastore.schema,))
            existing = {r["tgname"]: r["tgenabled"] for r in curs.fetchall()}
            if not existing:
                curs.execute(SQL(
                    "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION {} USING ERRCODE = 'insufficient_privilege'; END $$"
                ).format(function, Literal(REFUSAL)))
            for table, q in ((self.events_table_name, self.q_events), (CHAIN_TABLE, self.q_chain)):
                for name, when in ((f"dudao_append_only_{table}",
                                    "BEFORE UPDATE OR DELETE ON {} FOR EACH ROW"),
                                   (f"dudao_no_truncate_{table}",
                                    "BEFORE TRUNCATE ON {} FOR EACH STATEMENT")):
                    if name not in existing:
                        curs.execute(SQL("CREATE TRIGGER {} " + when + " EXECUTE FUNCTION {}()")
                                     .format(Identifier(name), q, function))
                    elif existing[name] != "O":
                        curs.execute(SQL("ALTER TABLE {} ENABLE TRIGGER {}")
                                     .format(q, Identifier(name)))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        """eventsourcing's insert (9.5.6), except that a refusal raised while sealing leaves
        through the transaction and rolls the insert back: eventsourcing catches errors
        inside it (to keep psycopg's pipeline quiet) and then commits."""
        if self.datastore.enable_db_functions:  # pragma: no cover - not used by dudao
            raise DudaoError("封存事件不支持 POSTGRES_ENABLE_DB_FUNCTIONS",
                             "sealed events do not support POSTGRES_ENABLE_DB_FUNCTIONS")
        exc: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs:
                    self._insert_events(curs, stored_events, **kwargs)
                if len(stored_events) > 0:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            pipeline.sync()
                            ids = self._fetch_ids_after_insert_events(
                                curs, stored_events, **kwargs)
                        except DudaoError:
                            raise  # every result was read: out, and ROLLBACK
                        except Exception as e:
                            exc = e
            if exc:
                raise exc
        return ids

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returned = curs.fetchall()
        ids = [r["notification_id"] for r in returned]
        if not ids:
            return ids
        by_key = {(_hex(s.originator_id), s.originator_version): s for s in stored_events}
        ordered = sorted(returned, key=lambda r: r["notification_id"])
        events: list[EventRow] = []
        for r in ordered:
            s = by_key[(_hex(r["originator_id"]), r["originator_version"])]
            events.append((r["notification_id"], _hex(s.originator_id), s.originator_version,
                           s.topic, s.state))
        # We hold the EXCLUSIVE lock on the events table: no other writer can seal now.
        curs.execute(SQL("SELECT position, chain_hash FROM {} ORDER BY position DESC LIMIT 1")
                     .format(self.q_chain))
        head = curs.fetchone()

        def stray(after: int, before: int | None) -> int | None:
            if before is None:
                curs.execute(SQL("SELECT min(notification_id) AS p FROM {} "
                                 "WHERE notification_id > %s").format(self.q_events), (after,))
            else:
                curs.execute(SQL("SELECT min(notification_id) AS p FROM {} "
                                 "WHERE notification_id > %s AND notification_id < %s")
                             .format(self.q_events), (after, before))
            row = curs.fetchone()
            return None if row is None else row["p"]

        def between(after: int, before: int) -> list[EventRow]:
            curs.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, "
                             "state FROM {} WHERE notification_id > %s AND notification_id < %s "
                             "ORDER BY notification_id").format(self.q_events), (after, before))
            return [(r["notification_id"], _hex(r["originator_id"]), r["originator_version"],
                     r["topic"], bytes(r["state"])) for r in curs.fetchall()]

        rows = _chain_rows((head["position"], bytes(head["chain_hash"])) if head else (0, GENESIS),
                           events, stray, between)
        curs.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.q_chain), rows)
        return ids

    def seal_plan(self) -> SealPlan:
        """The unsealed events after the chain head (what a repair would seal)."""
        with self.snapshot() as snap, snap.cursor(row_factory=tuple_row) as cur:
            cur.execute(SQL("SELECT max(position) FROM {}").format(self.q_chain))
            row = cur.fetchone()
            head = row[0] if row and row[0] is not None else 0
            cur.execute(SQL("SELECT notification_id FROM {} WHERE notification_id > %s "
                            "ORDER BY notification_id").format(self.q_events), (head,))
            return SealPlan(head, ranges_of(r[0] for r in cur))

    # ------------------------------------------------------------- reading

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A REPEATABLE READ, read-only transaction: both tables as of one moment."""
        with self.datastore.get_connection() as conn, conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn

    def _stream(self, snap: Any, query: Any, params: tuple[Any, ...], name: str) -> Iterator[Any]:
        # binary: bytea arrives as is, not as hex text to decode (about twice as fast)
        with snap.cursor(name=name, row_factory=tuple_row, binary=True) as cur:
            cur.itersize = PAGE
            cur.execute(query, params)
            yield from cur

    def read_events(self, snap: Any, after: int = 0, upto: int | None = None
                    ) -> Iterator[EventRow]:
        stop = SQL("") if upto is None else SQL(" AND notification_id <= {}").format(
            Literal(int(upto)))
        query = SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {} WHERE notification_id > %s{} ORDER BY notification_id").format(
            self.q_events, stop)
        for r in self._stream(snap, query, (after,), "dudao_verify_events"):
            yield (r[0], r[1].hex, r[2], r[3], r[4])

    def read_chain(self, snap: Any, after: int = 0, upto: int | None = None
                   ) -> Iterator[ChainRow]:
        stop = SQL("") if upto is None else SQL(" AND position <= {}").format(Literal(int(upto)))
        query = SQL("SELECT position, event_hash, chain_hash FROM {} WHERE position > %s{} "
                    "ORDER BY position").format(self.q_chain, stop)
        yield from self._stream(snap, query, (after,), "dudao_verify_chain")

    def head(self) -> tuple[Checkpoint, EventRow | None, ChainRow | None]:
        with self.snapshot() as snap, snap.cursor(row_factory=tuple_row) as cur:
            cur.execute(SQL("SELECT position, event_hash, chain_hash FROM {} "
                            "ORDER BY position DESC LIMIT 1").format(self.q_chain))
            row = cur.fetchone()
            if row is None:
                return Checkpoint(0, GENESIS.hex()), None, None
            cur.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, "
                            "state FROM {} WHERE notification_id = %s").format(self.q_events),
                        (row[0],))
            e = cur.fetchone()
            event = (e[0], e[1].hex, e[2], e[3], e[4]) if e else None
            return Checkpoint(row[0], bytes(row[2]).hex()), event, row

    def positions_of(self, originator_id: UUID) -> dict[int, int]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(SQL("SELECT originator_version, notification_id FROM {} "
                            "WHERE originator_id = %s").format(self.q_events), (originator_id,))
            return {r[0]: r[1] for r in cur.fetchall()}
