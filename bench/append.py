"""Commands per second through the application service, against raw eventsourcing.

dudao: record a finding, then order its rectification (two commands: a save,
then a load and a save). Raw: an eventsourcing Application with a trivial
aggregate doing the same two commands (create and save; get, touch and save).
Both run in the same process on the same kind of store, interleaved in rounds
so that machine noise hits both alike. Prints both rates and the ratio.

    .venv/bin/python -m bench.append [--n 2000] [--rounds 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from domain.time import SHANGHAI

NOW = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)


class Thing(Aggregate):
    @event("Created")
    def __init__(self, n: int) -> None:
        self.n = n

    @event("Touched")
    def touch(self) -> None:
        self.n += 1


class Raw(Application):  # type: ignore[type-arg]
    name = "raw"


def run_raw(env: dict[str, str], n: int) -> float:
    # plain eventsourcing: without dudao's recorder that seals each event in the audit chain
    app = Raw(env={k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"})
    start = time.perf_counter()
    for i in range(n):
        thing = Thing(n=i)
        app.save(thing)
        again = app.repository.get(thing.id)
        again.touch()
        app.save(again)
    elapsed = time.perf_counter() - start
    app.close()
    return 2 * n / elapsed


def run_dudao(env: dict[str, str], n: int) -> float:
    app = Dudao(clock=lambda: NOW, calendar=load_calendar(None), env=env)
    app.add_unit("B1", "基准单位", actor="bench")
    start = time.perf_counter()
    for i in range(n):
        fid = app.record_finding(unit="B1", on=date(2024, 9, 20), inspector="督学",
                                 text=f"基准问题{i}", actor="bench")
        app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="bench")
    elapsed = time.perf_counter() - start
    app.close()
    return 2 * n / elapsed


def measure(name: str, make_env: Callable[[str], dict[str, str]], n: int, rounds: int) -> None:
    raw, ours = [], []
    for r in range(rounds):
        raw.append(run_raw(make_env(f"raw{r}"), n))
        ours.append(run_dudao(make_env(f"dudao{r}"), n))
    raw_rate, our_rate = statistics.median(raw), statistics.median(ours)
    print(f"{name:<10} raw eventsourcing {raw_rate:8.0f} commands/s   "
          f"dudao service {our_rate:8.0f} commands/s   ratio {our_rate / raw_rate:.0%}"
          f"   (median of {rounds} rounds of {n}×2 commands)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", lambda tag: store_env(str(Path(tmp) / f"{tag}.db")), args.n,
                args.rounds)
    if not args.no_pg:
        schemas: list[str] = []

        def pg_env(tag: str) -> dict[str, str]:
            schemas.append(f"bench_{tag}_{uuid.uuid4().hex[:8]}")
            url = f"{args.pg}?schema={schemas[-1]}"
            prepare(url)
            return store_env(url)

        try:
            measure("PostgreSQL", pg_env, args.n, args.rounds)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                                 .format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
