"""Replay the event log into the read models, against raw reading in the same run.

    .venv/bin/python bench/replay.py [--events 1000000] [--db PATH|URL]

Fills a fresh store with findings that go through their whole life (recorded,
ordered, reported, reviewed, sometimes failed, extended, escalated), written
in bulk through the recorder. Then, over the same events:

1. raw: read every stored event and deserialise it with eventsourcing's
   mapper (what any consumer of the log must at least do);
2. replay: ``Runner.rebuild()`` of every live read model (findings_view and
   the accountability tables) from the first event.

Prints the three rates and the ratio of replay to raw. Budget: replay
>= 40,000 events/s (DESIGN.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.bootstrap import load_calendar, read_models
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from domain.findings import Finding
from domain.ids import unit_id
from domain.time import SHANGHAI
from domain.units import Unit

BUDGET = 40_000


def fill(app: Dudao, events: int, units: int = 1000, findings: int | None = None) -> int:
    """Write about ``events`` events in bulk (or, given ``findings``, that many findings
    through their lives); returns how many events were written."""
    cal = app.calendar
    t0 = datetime(2024, 1, 2, 9, tzinfo=SHANGHAI)
    pending = []
    written = 0

    def flush() -> None:
        nonlocal pending, written
        if pending:
            app.recorder.insert_events([app.mapper.to_stored_event(e) for e in pending])
            written += len(pending)
            pending = []

    for i in range(units):
        code = f"U{i:04d}"
        unit = Unit(id=unit_id(code), code=code, name=f"单位{i}", parent=None,
                    principal=f"负责人{i}", kind="unit", actor="bench", recorded_at=t0)
        pending += unit.collect_events()
    n = 0
    while (written + len(pending) < events) if findings is None else n < findings:
        n += 1
        day = date(2024, 1, 2) + timedelta(days=n % 300)
        at = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=17)
        f = Finding(id=uuid4(), unit=f"U{n % units:04d}", on=day, inspector="督学",
                    text=f"问题{n}", severity=("general", "serious", "major")[n % 3], task=None,
                    inspection_id=None, actor="bench", recorded_at=at)
        ordered = day + timedelta(days=1)
        deadline = f.order_rectification(on=ordered, within=10, calendar_days=False,
                                         calendar=cal, actor="bench",
                                         recorded_at=at + timedelta(days=1))
        later = at + timedelta(days=40)
        if n % 7 == 0:
            f.grant_extension(on=ordered + timedelta(days=2), to=deadline + timedelta(days=10),
                              reason="延期", calendar=cal, actor="bench", recorded_at=later)
        if n % 5 == 0:
            f.raise_escalation(code="supervise", rule="bench", policy="default",
                               policy_version=1, threshold=deadline + timedelta(days=1),
                               due=deadline + timedelta(days=14), facts={},
                               decided_at=later, actor="bench", recorded_at=later)
        if n % 4 != 3:
            report_on = ordered + timedelta(days=5 + n % 20)
            f.submit_report(on=report_on, text="已整改", actor="bench", recorded_at=later)
            if n % 6 == 0:
                f.fail_review(on=report_on, within=5, calendar_days=False, calendar=cal,
                              note="未通过", actor="bench", recorded_at=later)
            else:
                f.pass_review(on=report_on, note=None, actor="bench", recorded_at=later)
        pending += f.collect_events()
        if len(pending) >= 5000:
            flush()
    flush()
    return written


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (fresh)")
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or os.path.join(tmp.name, "bench.db")
    prepare(db)
    app = Dudao(clock=lambda: datetime.now(SHANGHAI), calendar=load_calendar(None),
                env=store_env(db))
    t = time.perf_counter()
    total = fill(app, args.events)
    print(f"filled {total:,} events in {time.perf_counter() - t:.1f}s ({db.split('?')[0]})")

    def read_all(decode) -> int:  # type: ignore[no-untyped-def]
        n, start = 0, 1
        while True:
            page = app.read_log(start, args.batch)
            if not page:
                return n
            for note in page:
                decode(note)
            n += len(page)
            start = page[-1].id + 1

    t, c = time.perf_counter(), time.process_time()
    n_raw = read_all(app.mapper.to_domain_event)
    raw = rate(n_raw, time.perf_counter() - t)
    raw_cpu = rate(n_raw, time.process_time() - c)

    runner = read_models(app, db)
    t, c = time.perf_counter(), time.process_time()
    done = runner.rebuild()
    replay_s = time.perf_counter() - t
    replay = rate(done, replay_s)
    replay_cpu = rate(done, time.process_time() - c)
    print("                                  wall clock        CPU time of this process")
    print(f"raw read + eventsourcing mapper : {raw:>10,.0f} events/s {raw_cpu:>10,.0f} events/s "
          f"({n_raw:,} events)")
    print(f"replay into read models          : {replay:>10,.0f} events/s {replay_cpu:>10,.0f} events/s "
          f"({done:,} events in {replay_s:.1f}s)")
    print(f"ratio replay / raw mapper        : {replay / raw:.2f}              {replay_cpu / raw_cpu:.2f}")
    print(f"budget >= {BUDGET:,} events/s: {'met' if replay >= BUDGET else 'NOT met'}")
    runner.engine.dispose()
    app.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
