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

A store whose events predate the chain (the chain table is empty while events
exist) is sealed once, in order, when it is first opened by this code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
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
from domain.errors import DudaoError

PAGE = 20000
REFUSAL = "dudao: 事件库只能追加，已存储的事件与封存记录不能修改或删除 (stored events are append-only)"


class ChainBroken(DudaoError):
    """The chain table is ahead of the events: the store was tampered with."""


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

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1")
            if c.fetchone() is None:
                c.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                          f"FROM {self.events_table_name} ORDER BY rowid")
                rows = seal(GENESIS, [tuple(r) for r in c.fetchall()])  # type: ignore[misc]
                if rows:
                    c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?)", rows)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            c.execute(f"SELECT position, chain_hash FROM {CHAIN_TABLE} "
                      "ORDER BY position DESC LIMIT 1")
            head = c.fetchone()
            head_position, head_hash = (head[0], head[1]) if head else (0, GENESIS)
            if head_position >= ids[0]:
                raise _broken(head_position, ids[0])
            rows = seal(head_hash, [
                (i, _hex(s.originator_id), s.originator_version, s.topic, s.state)
                for i, s in zip(ids, stored_events, strict=True)
            ])
            c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?,?,?)", rows)
        return ids

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
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(self.q_chain))
            if curs.fetchone() is not None:
                return
            curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self.q_events))
            curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(self.q_chain))
            if curs.fetchone() is not None:
                return
            with curs.connection.cursor(row_factory=tuple_row) as plain:
                plain.execute(SQL("SELECT notification_id, originator_id, originator_version, "
                                  "topic, state FROM {} ORDER BY notification_id")
                              .format(self.q_events))
                rows = seal(GENESIS, [(r[0], _hex(r[1]), r[2], r[3], bytes(r[4]))
                                      for r in plain.fetchall()])
                if rows:
                    plain.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s)")
                                      .format(self.q_chain), rows)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:  # pragma: no cover - not used by dudao
            raise DudaoError("封存事件不支持 POSTGRES_ENABLE_DB_FUNCTIONS",
                             "sealed events do not support POSTGRES_ENABLE_DB_FUNCTIONS")
        return super().insert_events(stored_events, **kwargs)

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
        head_position, head_hash = ((head["position"], bytes(head["chain_hash"])) if head
                                    else (0, GENESIS))
        if head_position >= events[0][0]:
            raise _broken(head_position, events[0][0])
        curs.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.q_chain),
                         seal(head_hash, events))
        return ids

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
