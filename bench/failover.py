"""Benchmark: how soon a role is taken over after its holder is killed with ``kill -9``.

    .venv/bin/python bench/failover.py [--db postgresql://…] [--rounds 5] [--role sweep]

Two ``dudao worker ROLE`` processes on a fresh PostgreSQL schema; each round the
holder (the one that said 取得租约) is killed with SIGKILL and the time until the
other says 取得租约 is measured; the killed one is started again as the next
contender. The raw baseline in the same run: a bare psycopg session holding the
same kind of advisory lock is killed with SIGKILL and a second session polls
``pg_try_advisory_lock`` every 10 ms — how soon PostgreSQL itself frees the lock;
the rest of dudao's figure is its retry interval (``leases.RETRY``, 1 s) and its
start-up of the role.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.bootstrap import system_clock  # noqa: E402
from adapters.infrastructure.event_store import prepare  # noqa: E402
from adapters.infrastructure.leases import ROLE_NAMES, lease_for  # noqa: E402

DUDAO = str(Path(sys.executable).with_name("dudao"))

HOLD = """
import sys, time
from adapters.bootstrap import system_clock
from adapters.infrastructure.leases import lease_for
lease = lease_for(sys.argv[1], "sweep", wall=system_clock)
assert lease.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


class Worker:
    def __init__(self, db: str, role: str) -> None:
        env = {**os.environ, "DUDAO_DB": db, "DUDAO_NATS": "nats://127.0.0.1:1",
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([DUDAO, "worker", role, "--sweep-interval", "600"],
                                     env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.acquired: float | None = None
        self.name = ROLE_NAMES[role]
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if f"取得租约：{self.name}" in line and self.acquired is None:
                self.acquired = time.monotonic()


def wait(cond, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.005)


def dudao_rounds(db: str, role: str, rounds: int) -> list[float]:
    workers = [Worker(db, role), Worker(db, role)]
    times = []
    try:
        for _ in range(rounds):
            wait(lambda ws=workers: any(w.acquired is not None for w in ws))
            holder = next(w for w in workers if w.acquired is not None)
            other = workers[1 - workers.index(holder)]
            time.sleep(0.5)
            holder.proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            holder.proc.wait()
            wait(lambda o=other: o.acquired is not None)
            times.append(other.acquired - killed)  # type: ignore[operator]
            workers = [other, Worker(db, role)]
    finally:
        for w in workers:
            w.proc.kill()
            w.proc.wait()
    return times


def raw_rounds(db: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", HOLD, db], stdout=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        waiting = lease_for(db, "sweep", wall=system_clock)
        proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while not waiting.try_acquire():
            time.sleep(0.01)
        times.append(time.monotonic() - killed)
        waiting.release()
        proc.wait()
    return times


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"min {ms[0]:.0f} ms, median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms"
            f" ({len(ms)} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get(
        "DUDAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--role", default="sweep", choices=sorted(ROLE_NAMES))
    args = parser.parse_args()
    schema = f"bench_failover_{uuid.uuid4().hex[:8]}"
    db = f"{args.db.split('?', 1)[0]}?schema={schema}"
    prepare(db)
    try:
        raw = raw_rounds(db, args.rounds)
        print(f"raw: advisory lock free after kill -9: {summary(raw)}")
        dudao = dudao_rounds(db, args.role, args.rounds)
        print(f"dudao worker {args.role}: taken over after kill -9: {summary(dudao)}")
    finally:
        with psycopg.connect(args.db.split("?", 1)[0], autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema)))


if __name__ == "__main__":
    main()
