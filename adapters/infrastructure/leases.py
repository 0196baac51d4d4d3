"""Leases: at most one process at a time runs a background role on a PostgreSQL store.

A role (``sweep`` the escalation sweep, ``publish`` the notices publisher, ``project``
the read models' projector) is run by whichever process holds its lease. On PostgreSQL
the lease is a session-level advisory lock (``pg_try_advisory_lock``) taken on a
connection of its own, kept open as long as the lease is held:

- PostgreSQL itself guarantees that one session at a time holds it: never two holders;
- when the holder dies, however it dies (``kill -9`` included), the kernel closes its
  socket, the server ends the session and the lock is released at once; a contender,
  trying every :data:`RETRY` seconds, takes it over within that time. No expiry to tune,
  no clock to trust, no row to renew under load;
- the holder checks its connection every :data:`HEARTBEAT` seconds; a lost connection
  (the database restarted, a network cut) means a lost lease, and the role is stopped.

Beside the lock, the holder writes who it is and since when in the ``leases`` table, for
``/health`` and ``/ready`` (the lock is the truth: a row whose session no longer holds
the lock is shown as nobody's). On SQLite, where one process does everything, a lease is
always granted to the process asking (the existing single-process behaviour).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, select
from sqlalchemy.engine import Engine

from adapters.infrastructure.event_store import (
    engine_for,
    is_postgres,
    pg_conninfo,
    pg_schema,
    startup_lock,
)
from projections.runner import metadata

ROLES = {"sweep": 1, "publish": 2, "project": 3}
"""The leased roles and the second key of their advisory lock."""

ROLE_NAMES = {"sweep": "升级巡检", "publish": "通知发布", "project": "读模型更新"}

RETRY = 1.0
"""Seconds between two attempts of a process that does not hold a lease to take it."""

HEARTBEAT = 1.0
"""Seconds between two checks by the holder that its lease's connection is alive."""

leases = Table(
    "leases",
    metadata,
    Column("role", String(20), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("backend_pid", Integer, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
)


def holder_name() -> str:
    """This process, as a lease holder: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def namespace(db: str) -> int:
    """The first key of the advisory locks of a store: its schema's (31-bit) hash."""
    return zlib.crc32(f"dudao:lease:{pg_schema(db) or 'public'}".encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class Holder:
    role: str
    holder: str
    since: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "role_name": ROLE_NAMES[self.role],
                "holder": self.holder, "since": self.since}


class Lease:
    """A role's lease for this process. :meth:`try_acquire` takes it when free;
    :meth:`alive` says whether it is still held; :meth:`release` gives it up."""

    def __init__(self, db: str, role: str, *, wall: Any, holder: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.db = db
        self.role = role
        self.wall = wall
        """The wall clock (``since``, for people reading /health only)."""
        self.holder = holder or holder_name()
        self.held = False
        self.since: datetime | None = None

    def try_acquire(self) -> bool:
        self.held = True
        self.since = self.wall()
        _LOCAL[(self.db, self.role)] = self
        return True

    def alive(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False
        if _LOCAL.get((self.db, self.role)) is self:
            del _LOCAL[(self.db, self.role)]


_LOCAL: dict[tuple[str, str], Lease] = {}
"""The leases held in this process on a SQLite store."""


class PgLease(Lease):
    """A lease as a session-level advisory lock on a dedicated PostgreSQL connection."""

    def __init__(self, db: str, role: str, *, wall: Any, holder: str | None = None) -> None:
        super().__init__(db, role, wall=wall, holder=holder)
        self.conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        schema = pg_schema(self.db)
        return psycopg.connect(
            pg_conninfo(self.db), autocommit=True, connect_timeout=5,
            application_name=f"dudao:{self.role}:{self.holder}"[:63],
            # a holder whose network is cut is noticed by the server within ~10 s
            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
            options=f"-csearch_path={schema}" if schema else None)

    def try_acquire(self) -> bool:
        import psycopg

        with self._lock:
            if self.held:
                return True
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self._connect()
                got = self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                        (namespace(self.db), ROLES[self.role])).fetchone()[0]
                if not got:
                    return False
                self.since = self.wall()
                pid = self.conn.info.backend_pid
                self.conn.execute(
                    "INSERT INTO leases (role, holder, backend_pid, since) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (role) DO UPDATE SET holder = excluded.holder,"
                    " backend_pid = excluded.backend_pid, since = excluded.since",
                    (self.role, self.holder, pid, self.since))
            except psycopg.Error:
                self._drop()
                return False
            self.held = True
            return True

    def alive(self) -> bool:
        import psycopg

        with self._lock:
            if not self.held or self.conn is None:
                return False
            try:
                self.conn.execute("SELECT 1")
            except psycopg.Error:
                self._drop()
                return False
            return True

    def release(self) -> None:
        import psycopg

        with self._lock:
            if self.conn is not None and self.held:
                with contextlib.suppress(psycopg.Error):
                    self.conn.execute("DELETE FROM leases WHERE role = %s AND backend_pid = %s",
                                      (self.role, self.conn.info.backend_pid))
                    self.conn.execute("SELECT pg_advisory_unlock(%s, %s)",
                                      (namespace(self.db), ROLES[self.role]))
            self._drop()

    def _drop(self) -> None:
        self.held = False
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing the session releases the lock
                conn.close()


def lease_for(db: str, role: str, *, wall: Any) -> Lease:
    """The lease of ``role`` on this store for this process."""
    if is_postgres(db):
        ensure_table(db)
        return PgLease(db, role, wall=wall)
    return Lease(db, role, wall=wall)


_MADE: set[str] = set()


def ensure_table(db: str, engine: Engine | None = None) -> None:
    """The ``leases`` table, made once however many processes start at once."""
    if db in _MADE:
        return
    own = engine is None
    engine = engine or engine_for(db)
    try:
        with startup_lock(db), engine.begin() as conn:
            leases.create(conn, checkfirst=True)
    finally:
        if own:
            engine.dispose()
    _MADE.add(db)


def holders(db: str, engine: Engine) -> list[Holder]:
    """Who holds which lease now, and since when (roles nobody holds are left out)."""
    if not is_postgres(db):
        return [Holder(role, lease.holder, lease.since) for (d, role), lease in
                sorted(_LOCAL.items()) if d == db and lease.held and lease.since is not None]
    ensure_table(db, engine)
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(select(leases.c.role, leases.c.holder, leases.c.backend_pid,
                                   leases.c.since).order_by(leases.c.role)).all()
        granted = {(int(pid), int(objid)) for pid, objid in conn.execute(text(
            "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = :ns AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"ns": namespace(db)}).all()}
    return [Holder(role, holder, since) for role, holder, pid, since in rows
            if role in ROLES and (int(pid), ROLES[role]) in granted]


def role_held(db: str, engine: Engine, role: str) -> bool:
    """Whether some process (this one or another) holds ``role``'s lease now."""
    return any(h.role == role for h in holders(db, engine))


def wake_channel(db: str) -> str:
    """The PostgreSQL ``NOTIFY`` channel a server wakes the projector on (one per schema)."""
    return f"dudao_project_{namespace(db)}"


def wake_projector(db: str, conn: Any) -> None:
    """Ask the projector to look at the log now (``conn``: a SQLAlchemy connection)."""
    from sqlalchemy import text

    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": wake_channel(db)})


class WakeListener:
    """The projector's side: waits until a server asks (``NOTIFY``) or ``timeout`` passes.
    On SQLite, or when the connection fails, it only waits."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.conn: Any = None

    def listen(self) -> None:
        import psycopg

        if is_postgres(self.db) and (self.conn is None or self.conn.closed):
            self.conn = psycopg.connect(pg_conninfo(self.db), autocommit=True, connect_timeout=5)
            self.conn.execute(f"LISTEN {wake_channel(self.db)}")

    def wait(self, timeout: float) -> bool:
        """Whether a server asked (else the time passed)."""
        import psycopg

        if not is_postgres(self.db):
            threading.Event().wait(timeout)
            return False
        try:
            self.listen()
            return any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error:
            self.close()
            threading.Event().wait(timeout)
            return False

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
