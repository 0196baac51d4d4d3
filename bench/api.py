"""Benchmark: recording a finding through the HTTP API vs raw eventsourcing saves.

Runs, in one go on the same machine and the same kind of SQLite file:

1. raw: an eventsourcing Application saving one new aggregate per save,
   sequentially (the floor every command stands on);
2. API: ``dudao serve`` on a SQLite file, loaded by locust (a real load
   generator, in its own process) with concurrent inspectors each POSTing
   /api/v1/findings as fast as answers come back.

Prints both rates, the API's p50/p99 latency and the ratio (budget: >= 50% of raw).
The raw rate is measured just before and just after the load, and their mean is the
baseline: on a machine shared with other work the disk's fsync time drifts, and the
two figures show by how much.

    .venv/bin/python bench/api.py [--seconds 15] [--users 32] [--raw 3000]
"""

from __future__ import annotations

import argparse
import csv
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from adapters.bootstrap import load_calendar, system_clock
from adapters.entrypoints.server import open_service
from adapters.infrastructure.event_store import engine_for
from adapters.infrastructure.tokens import TokenStore

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


class Thing(Aggregate):
    @event("Created")
    def __init__(self, unit: str, text: str) -> None:
        self.unit = unit
        self.text = text


def raw_saves(path: Path, n: int) -> float:
    """Saves per second of new aggregates, one per save, on a fresh SQLite file."""
    app: Application = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                        "SQLITE_DBNAME": str(path),
                                        "SQLITE_LOCK_TIMEOUT": "10"})
    for i in range(50):  # warm up
        app.save(Thing(unit="U000", text=f"warm {i}"))
    started = time.perf_counter()
    for i in range(n):
        app.save(Thing(unit="U000", text=f"基准测试问题 {i}"))
    elapsed = time.perf_counter() - started
    app.close()
    return n / elapsed


def setup(db: Path, units: list[str]) -> str:
    """Units and an inspector token in the service's database; returns the token."""
    app = open_service(str(db), system_clock, load_calendar(None))
    engine = engine_for(str(db))
    try:
        for code in units:
            app.add_unit(code, f"基准单位{code}", actor="bench")
        token, _ = TokenStore(engine).create(role="inspector", unit=None, name="基准督学",
                                             now=app.now(), created_by="bench")
    finally:
        app.close()
        engine.dispose()
    return token


def start_service(db: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "DUDAO_DB": str(db)}
    proc = subprocess.Popen([str(BIN / "dudao"), "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        raise SystemExit("dudao serve did not start")
    line = proc.stdout.readline()
    base = line.split("：", 1)[1].split("（", 1)[0].strip()
    return proc, base.removesuffix("/api/v1")


def run_locust(host: str, token: str, units: list[str], users: int, seconds: int,
               out: Path) -> dict[str, float]:
    env = {**os.environ, "DUDAO_BENCH_TOKEN": token, "DUDAO_BENCH_UNITS": ",".join(units)}
    prefix = out / "locust"
    subprocess.run(
        [str(BIN / "locust"), "-f", str(HERE / "locust_findings.py"), "--headless",
         "--host", host, "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
         "--stop-timeout", "5"],
        env=env, check=False, capture_output=True, text=True,
    )
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows["POST /findings"]
    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p99": float(row["99%"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="load duration")
    parser.add_argument("--users", type=int, default=32, help="concurrent locust users")
    parser.add_argument("--raw", type=int, default=3000, help="raw saves to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dudao-bench-") as tmp:
        work = Path(tmp)
        raw_before = raw_saves(work / "raw-before.db", args.raw)

        db = work / "api.db"
        units = [f"U{i:03d}" for i in range(20)]
        token = setup(db, units)
        proc, host = start_service(db)
        try:
            server = psutil.Process(proc.pid)
            cpu_before = server.cpu_times()
            stats = run_locust(host, token, units, args.users, args.seconds, work)
            cpu_after = server.cpu_times()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        raw_after = raw_saves(work / "raw-after.db", args.raw)

    raw = (raw_before + raw_after) / 2
    n = max(stats["requests"], 1)
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / n
    ratio = stats["rps"] / raw
    print(f"raw eventsourcing saves (SQLite file, 1 aggregate per save, sequential): "
          f"{raw:,.0f} saves/s (before {raw_before:,.0f}, after {raw_after:,.0f})")
    print(f"API record-finding (dudao serve, SQLite file, locust {args.users} users, "
          f"{args.seconds}s): {stats['rps']:,.0f} requests/s, "
          f"p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
          f"{stats['requests']:,.0f} requests, {stats['failures']:.0f} failures, "
          f"server CPU {1000 * cpu:.2f} ms/request")
    print(f"ratio API / raw: {ratio:.0%} (budget >= 50%)")


if __name__ == "__main__":
    main()
