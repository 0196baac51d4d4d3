"""Issue 16: leases of the background roles, the servers' read path, the publisher's backlog.

Leases on real PostgreSQL (one holder at a time; a holder's death, ``kill -9`` included,
frees the lease for another at once); a server's reads wait for the projector instead of
replaying the log, and catch up themselves when no projector holds its lease; the
pending notices are counted from the publisher's position, each event read at most once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import psycopg

from adapters.bootstrap import notice_publisher, read_models, system_clock
from adapters.infrastructure.event_store import engine_for, pg_conninfo
from adapters.infrastructure.leases import PgLease, holders, lease_for, role_held
from adapters.infrastructure.read_models import served_read_models
from adapters.service_layer.application import Dudao
from tests.integration.test_notices import seed


def test_one_holder_at_a_time_and_the_next_takes_it_on_release(pg_db: str) -> None:
    a, b = (lease_for(pg_db, "sweep", wall=system_clock) for _ in range(2))
    assert isinstance(a, PgLease) and isinstance(b, PgLease)
    b.holder = "other:1"
    engine = engine_for(pg_db)
    try:
        assert holders(pg_db, engine) == []
        assert a.try_acquire() and a.alive()
        assert not b.try_acquire() and not b.alive()  # never two holders
        (held,) = holders(pg_db, engine)
        assert held.role == "sweep" and held.holder == a.holder
        assert isinstance(held.since, datetime)
        # another role is another lease
        c = lease_for(pg_db, "publish", wall=system_clock)
        assert c.try_acquire()
        assert {h.role for h in holders(pg_db, engine)} == {"sweep", "publish"}
        a.release()
        assert not role_held(pg_db, engine, "sweep")
        assert b.try_acquire()
        (held, _) = sorted(holders(pg_db, engine), key=lambda h: h.role != "sweep")
        assert held.holder == "other:1"
        b.release()
        c.release()
        assert holders(pg_db, engine) == []
    finally:
        engine.dispose()


def test_a_holder_whose_session_ends_loses_the_lease(pg_db: str) -> None:
    """The database ended the holder's session (a restart, a network cut): the holder
    learns it at its next check, and the lease is free for another."""
    a = lease_for(pg_db, "project", wall=system_clock)
    b = lease_for(pg_db, "project", wall=system_clock)
    assert a.try_acquire()
    assert isinstance(a, PgLease)
    pid = a.conn.info.backend_pid
    with psycopg.connect(pg_conninfo(pg_db), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert not a.alive()
    assert b.try_acquire()
    assert not a.try_acquire()
    b.release()


HOLD = """
import sys, time
from adapters.bootstrap import system_clock
from adapters.infrastructure.leases import lease_for
lease = lease_for(sys.argv[1], "sweep", wall=system_clock)
assert lease.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_holder_killed_with_sigkill_frees_the_lease_at_once(pg_db: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, pg_db], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    waiting = lease_for(pg_db, "sweep", wall=system_clock)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert not waiting.try_acquire()
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while not waiting.try_acquire():
            assert time.monotonic() - killed < 10, "the lease was not freed within 10 s"
            time.sleep(0.02)
        took = time.monotonic() - killed
        print(f"lease free {took * 1000:.0f} ms after kill -9")
        assert took < 10
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        waiting.release()


def test_sqlite_keeps_the_single_process_behaviour(sqlite_db: str) -> None:
    a = lease_for(sqlite_db, "sweep", wall=system_clock)
    assert not isinstance(a, PgLease)
    assert a.try_acquire() and a.alive()
    engine = engine_for(sqlite_db)
    try:
        assert [h.role for h in holders(sqlite_db, engine)] == ["sweep"]
        a.release()
        assert holders(sqlite_db, engine) == []
    finally:
        engine.dispose()


# ------------------------------------------------------------- the read path


def test_a_server_reads_what_the_projector_applied_without_replaying(app: Dudao, db: str) -> None:
    runner = served_read_models(app, db)
    projector = read_models(app, db)
    lease = lease_for(db, "project", wall=system_clock)
    try:
        seed(app, 4, [])
        if db.startswith("postgresql"):
            # no projector: the server catches up itself (today's behaviour)
            assert runner.catch_up() > 0 and runner.caught_up == 1
            assert lease.try_acquire()
            runner.projector_active = lambda: role_held(db, runner.engine, "project")
            seed(app, 3, [])
            last = app.last_position()
            # a projector holds the lease: the read waits for it and replays nothing itself
            import threading

            timer = threading.Timer(0.3, projector.catch_up)
            timer.start()
            started = time.monotonic()
            assert runner.catch_up() == 0
            assert time.monotonic() - started >= 0.25
            timer.join()
            assert runner.caught_up == 1 and runner.waited == 1
            assert min(runner.positions().values()) >= last
            # the projector gone quiet (stuck) beyond the bound: the server does it itself
            seed(app, 1, [])
            runner.wait_for = lambda target, timeout=0.0: False  # type: ignore[method-assign]
            assert runner.catch_up() > 0 and runner.caught_up == 2
        else:
            # SQLite: every read catches up itself, as before
            assert runner.catch_up() > 0 and runner.caught_up == 1 and runner.waited == 0
    finally:
        lease.release()
        runner.engine.dispose()
        projector.engine.dispose()


# --------------------------------------------------------- the backlog


def test_pending_notices_are_counted_from_the_position_reading_each_event_once(
        app: Dudao, db: str) -> None:
    seed(app, 6, ["reminder", "supervise"])  # 12 escalations
    publisher = notice_publisher(app, db, "nats://127.0.0.1:1")
    read: list[int] = []
    real = app.read_log

    def counting(start: int, limit: int) -> list[Any]:
        page = real(start, limit)
        read.extend(n.id for n in page)
        return page

    publisher.backlog.read_log = counting
    try:
        assert publisher.pending() == 12
        first = len(read)
        assert publisher.pending() == 12  # NATS still down: nothing read again
        assert len(read) == first
        seed(app, 1, ["reminder"])
        assert publisher.pending() == 13
        assert len(read) == len(set(read))  # each event read once
        # the position moves (acknowledged): counted down without reading the log again
        escalations = [i for i in read if app.decode(app.read_log(i, 1)[0]).__class__.__name__
                       == "EscalationRaised"]
        publisher._save(escalations[4])
        before = len(read)
        assert publisher.pending() == 13 - 5
        assert len(read) == before
    finally:
        publisher.engine.dispose()


def test_a_waiting_read_wakes_the_projector(pg_db: str) -> None:
    """The projector looks at the log every ``poll`` seconds, or as soon as a server asks."""
    from adapters.infrastructure.leases import WakeListener, wake_projector

    listener = WakeListener(pg_db)
    engine = engine_for(pg_db)
    try:
        listener.listen()
        assert not listener.wait(0.05)  # nobody asked: the time passed
        with engine.begin() as conn:
            wake_projector(pg_db, conn)
        assert listener.wait(30)  # asked: woken (long before the 30 s)
        other = WakeListener(pg_db.replace("schema=", "schema=x"))  # another schema's channel
        other.listen()
        with engine.begin() as conn:
            wake_projector(pg_db, conn)
        assert not other.wait(0.2)
        other.close()
    finally:
        listener.close()
        engine.dispose()
