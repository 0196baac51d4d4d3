"""Events verified per second by ``dudao audit verify``, against raw hashing of the same bytes.

The store holds N events (default 1,000,000): findings recorded, ordered,
reported and closed (four events each), saved in batches through the
application service, so every event is sealed by the recorder as in
production. The store is built once and kept under /tmp (reused while it
holds N events). In the same run:

- verify: ``Dudao.verify()`` over the whole store: read both tables, hash
  each event, check each seal and chain link, recompute the chain;
- raw: SHA-256 of each event's canonical bytes (the same bytes verify
  hashes), already in memory: no database, no chain.

    .venv/bin/python -m bench.verify [--n 1000000] [--pg URL] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.infrastructure.hash_chain import event_bytes
from adapters.service_layer.application import Dudao
from domain.calendar import WorkCalendar
from domain.findings import Finding
from domain.time import SHANGHAI

NOW = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)
CAL = WorkCalendar()
CACHE = Path("/tmp/dudao-bench")
BATCH = 500  # findings per save: 2,000 events per transaction


def open_app(db: str) -> Dudao:
    return Dudao(clock=lambda: NOW, calendar=load_calendar(None), env=store_env(db))


def build(app: Dudao, n: int) -> None:
    """Fill the store up to n events (four per finding), in batched saves."""
    have = app.event_count()
    if have == 0:
        app.add_unit("B1", "基准单位", actor="bench")
        have = 1
    started = time.perf_counter()
    i = 0
    while have < n:
        batch = []
        for _ in range(min(BATCH, (n - have) // 4 or 1)):
            i += 1
            f = Finding(id=uuid.uuid4(), unit="B1", on=date(2024, 9, 20), inspector="督学",
                        text=f"基准问题{i}：教师培训学时未达标，培训台账不全", severity="general",
                        task=None, inspection_id=None, actor="bench", recorded_at=NOW)
            f.order_rectification(on=date(2024, 9, 25), within=10, calendar_days=False,
                                  calendar=CAL, actor="bench", recorded_at=NOW)
            f.submit_report(on=date(2024, 10, 8), text="已补齐培训学时", actor="bench",
                            recorded_at=NOW)
            f.pass_review(on=date(2024, 10, 9), note=None, actor="bench", recorded_at=NOW)
            batch.append(f)
        app.save(*batch)
        have += 4 * len(batch)
        if have % 100_000 < 4 * BATCH:
            rate = (have) / (time.perf_counter() - started)
            print(f"  building: {have:,} events ({rate:,.0f}/s)", flush=True)
    # events beyond n (the last batch rounds up) are fine: the rates are per event


def raw_hash_rate(app: Dudao) -> tuple[float, int, int]:
    """SHA-256 of every event's canonical bytes, timed without reading them."""
    recorder: Any = app.recorder
    elapsed = 0.0
    count = 0
    size = 0
    sha256 = hashlib.sha256
    with recorder.snapshot() as snap:
        page: list[bytes] = []
        rows = recorder.read_events(snap)
        while True:
            page.clear()
            for row in rows:
                page.append(event_bytes(*row))
                if len(page) == 50_000:
                    break
            if not page:
                break
            start = time.perf_counter()
            for data in page:
                sha256(data).digest()
            elapsed += time.perf_counter() - start
            count += len(page)
            size += sum(len(d) for d in page)
    return count / elapsed, count, size


def verify_rate(app: Dudao) -> tuple[float, int]:
    start = time.perf_counter()
    report = app.verify()
    elapsed = time.perf_counter() - start
    assert report.ok, report.as_dict()
    return report.events / elapsed, report.events


def measure(name: str, db: str, n: int, rounds: int) -> None:
    app = open_app(db)
    try:
        if app.event_count() < n:
            print(f"{name}: building a store of {n:,} events in {db} (kept for later runs)")
            build(app, n)
        verified, raw = [], []
        for _ in range(rounds):
            v, events = verify_rate(app)
            r, hashed, size = raw_hash_rate(app)
            assert hashed == events
            verified.append(v)
            raw.append(r)
        v, r = statistics.median(verified), statistics.median(raw)
        print(f"{name:<10} {events:,} events ({size / events:.0f} bytes each on average)")
        print(f"{name:<10} verify {v:12,.0f} events/s   raw SHA-256 of the same bytes "
              f"{r:12,.0f} events/s   ratio {v / r:.1%}   (median of {rounds})")
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", help="also on PostgreSQL, e.g. postgresql://postgres@127.0.0.1/test")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    measure("SQLite", str(CACHE / f"verify-{args.n}.db"), args.n, args.rounds)
    if args.pg:
        url = f"{args.pg.split('?')[0]}?schema=bench_verify_{args.n}"
        prepare(url)
        measure("PostgreSQL", url, args.n, args.rounds)


if __name__ == "__main__":
    main()
