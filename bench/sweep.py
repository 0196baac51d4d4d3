"""Benchmark: one escalation sweep over 100,000 open findings, 10,000 of them due.

DESIGN.md budget: a sweep over 100,000 open findings in at most 2 s. The store
is a SQLite file with every finding recorded and ordered; the escalation read
model is caught up before timing (the service keeps it caught up as it runs).

Timed, end to end: ``Sweeper.run(now)`` — catch the read model up, the indexed
query for due findings, building the facts, the durable_rules ruleset deciding,
and recording every decision as an event on its finding. Reported separately:
the read model catching up with those new events (which the next sweep does
first). Steady state: an earlier sweep already sent the reminders, so each due
finding crosses one threshold (督办) in the timed sweep.

Raw baseline, in the same run: durable_rules alone asserting the same due facts
into an equivalent hand-written ruleset (one rule per rung, no query, no store).

    .venv/bin/python bench/sweep.py [--findings 100000] [--due 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.bootstrap import fixed_clock, load_calendar, sweeper
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.findings import Finding
from domain.time import SHANGHAI


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def populate(app: Dudao, clock: Clock, findings: int, due: int) -> None:
    """Record and order ``findings`` findings; ``due`` of them with a deadline passed by
    the sweep's day (2024-10-15), the rest due long after it."""
    cal = app.calendar
    app.add_unit("BENCH", "基准测试单位", actor="bench")
    batch: list[Finding] = []
    for i in range(findings):
        late = i < due
        on = date(2024, 9, 25) if late else date(2024, 10, 8)
        within = 10 if late else 60
        clock.moment = datetime.combine(on, dtime(10), SHANGHAI)
        f = app.new_finding(unit="BENCH", on=on, inspector="张督学", text=f"基准问题{i}",
                            actor="bench", finding_id=uuid4())
        f.order_rectification(on=on, within=within, calendar_days=False, calendar=cal,
                              actor="bench", recorded_at=clock.moment)
        batch.append(f)
        if len(batch) == 2000:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)


def raw_baseline(facts: list[dict]) -> tuple[float, int]:
    """durable_rules alone: the same facts into a hand-written equivalent ruleset."""
    from durable.engine import MessageNotHandledException
    from durable.lang import assert_fact, delete_state, m, ruleset, when_all

    fired: list[tuple[str, str]] = []
    with ruleset("bench_raw"):

        @when_all((m.kind == "finding") & (m.status != "closed") & (m.reminder_since >= 0)
                  & (m.reminder_report_lead <= 0) & (m.top < 1) & (m.reminded == False))  # noqa: E712
        def reminder(c):  # type: ignore[no-untyped-def]
            fired.append((c.m.finding, "reminder"))

        @when_all((m.kind == "finding") & (m.status != "closed") & (m.supervise_since >= 0)
                  & (m.supervise_report_lead <= 0) & (m.top < 1))
        def supervise(c):  # type: ignore[no-untyped-def]
            fired.append((c.m.finding, "supervise"))

        @when_all((m.kind == "finding") & (m.status != "closed") & (m.interview_since >= 0)
                  & (m.interview_report_lead <= 0) & (m.top < 2))
        def interview(c):  # type: ignore[no-untyped-def]
            fired.append((c.m.finding, "interview"))

        @when_all((m.kind == "finding") & (m.status != "closed") & (m.public_notice_since >= 0)
                  & (m.top < 3) & (m.severity != "major"))
        def public_notice(c):  # type: ignore[no-untyped-def]
            fired.append((c.m.finding, "public_notice"))

        @when_all((m.kind == "finding") & (m.status != "closed")
                  & (m.accountability_since >= 0) & (m.top < 4))
        def accountability(c):  # type: ignore[no-untyped-def]
            fired.append((c.m.finding, "accountability"))

        @when_all(m.kind == "end_of_batch")
        def end(c):  # type: ignore[no-untyped-def]
            return None

    start = time.perf_counter()
    for i, fact in enumerate(facts, start=1):
        fact = dict(fact, sid="raw")
        with contextlib.suppress(MessageNotHandledException):
            assert_fact("bench_raw", fact)
        if i % 250 == 0:
            assert_fact("bench_raw", {"sid": "raw", "kind": "end_of_batch"})
            delete_state("bench_raw", "raw")
    assert_fact("bench_raw", {"sid": "raw", "kind": "end_of_batch"})
    delete_state("bench_raw", "raw")
    return time.perf_counter() - start, len(fired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        clock = Clock(datetime(2024, 9, 25, 9, tzinfo=SHANGHAI))
        app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
        t0 = time.perf_counter()
        populate(app, clock, args.findings, args.due)
        t1 = time.perf_counter()
        sweep = sweeper(app, db)
        sweep.runner.catch_up(batch=5000)
        t2 = time.perf_counter()
        print(f"setup: {args.findings:,} findings recorded and ordered in {t1 - t0:.1f} s; "
              f"escalation read model built in {t2 - t1:.1f} s")

        # Steady state: yesterday's sweeps already sent the reminders, so today each due
        # finding crosses one threshold (its deadline passed: 督办).
        warm = datetime(2024, 10, 10, 9, tzinfo=SHANGHAI)
        clock.moment = warm
        sweep.run(warm)
        sweep.runner.catch_up(batch=5000)
        now = datetime(2024, 10, 15, 9, tzinfo=SHANGHAI)
        clock.moment = now
        app.clock = fixed_clock(now)

        # The facts the sweep will hand the ruleset, for the raw baseline (untimed here).
        from adapters.service_layer.sweep import _days
        from domain.time import local_date

        today = local_date(now)
        states = sweep.due(today)
        facts = [sweep.ruleset.fact(s, _days(s), today.toordinal(), "raw") for s in states]

        recording: list[tuple[float, float]] = []
        record = app.record_escalations

        def timed_record(*a, **k):  # type: ignore[no-untyped-def]
            t, c = time.perf_counter(), time.process_time()
            try:
                return record(*a, **k)
            finally:
                recording.append((time.perf_counter() - t, time.process_time() - c))

        app.record_escalations = timed_record  # type: ignore[method-assign]
        start, cpu = time.perf_counter(), time.process_time()
        decisions = sweep.run(now)
        sweep_s, sweep_cpu = time.perf_counter() - start, time.process_time() - cpu
        app.record_escalations = record  # type: ignore[method-assign]

        start = time.perf_counter()
        caught = sweep.runner.catch_up()
        catch_s = time.perf_counter() - start

        start = time.perf_counter()
        again = sweep.run(now)
        again_s = time.perf_counter() - start

        cpu = time.process_time()
        raw_s, raw_fired = raw_baseline(facts)
        raw_cpu = time.process_time() - cpu
        app.close()

    due = len(states)
    print(f"due findings (indexed query): {due:,} of {args.findings:,}")
    rec_s, rec_cpu = recording[0]
    print(f"sweep, end to end:  {sweep_s:.3f} s wall, {sweep_cpu:.3f} s CPU  "
          f"({due / sweep_s:,.0f} due findings/s, {len(decisions):,} escalations recorded)  "
          f"budget <= 2 s: {'OK' if sweep_s <= 2 else 'OVER'}")
    print(f"  of which deciding (catch-up, query, facts, ruleset): {sweep_s - rec_s:.3f} s wall, "
          f"{sweep_cpu - rec_cpu:.3f} s CPU; recording (load findings, raise, save): "
          f"{rec_s:.3f} s wall, {rec_cpu:.3f} s CPU")
    print(f"raw durable_rules:  {raw_s:.3f} s wall, {raw_cpu:.3f} s CPU  ({due / raw_s:,.0f} facts/s,"
          f" {raw_fired:,} fired)")
    print(f"ratio sweep / raw:  {sweep_s / raw_s:.1f}x wall, {sweep_cpu / raw_cpu:.1f}x CPU")
    print(f"read model catching up with those {caught:,} events (start of the next sweep): "
          f"{catch_s:.3f} s")
    print(f"second sweep at the same now: {again_s:.3f} s, {len(again)} new escalations")


if __name__ == "__main__":
    main()
