"""The pages people work in, on a store of 1,000 units and 20,000 findings, against the
raw read-model query for the same page in the same run.

    .venv/bin/python bench/pages.py [--units 1000] [--findings 20000] [--runs 7] [--db PATH|URL]
                                    [--requests 500] [--recorded 500] [--json FILE]

Fills a fresh store (bench/replay.py's generator: findings through their whole life),
brings the read models up to date (not timed), adds what the filled store has none of
(``--requests`` pending 延期申请, ``--recorded`` findings not yet ordered: the 延期申请 and
待下达整改 queues; not timed), then asks each page in-process through
the whole ASGI app (session cookie, routing, the page's queries, the template) ``--runs``
times as an inspector (the unit's desk as a unit) and keeps the median server time and
the answer's size; then, three times, records a finding and times the next answer
("after write": what a page computed for the read models' previous state is not reused,
see adapters/rendering/reports ``Memo``). Beside each, the raw query: the least the page must read from the read
models (the overview's counts per unit; one unit's findings; one finding's row; one page
of a queue; one page of the findings list).

Budget (issue 14): each page <= 300 ms server time and <= 300 KB at 1,000 units and
20,000 findings. Prints a table, then the figures as JSON (``--json FILE`` writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import warnings

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from sqlalchemy import case, func, select

from adapters.bootstrap import load_calendar
from adapters.entrypoints.api.app import create_api
from adapters.entrypoints.server import build_components, close_components
from adapters.entrypoints.web.session import COOKIE
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from bench.replay import fill
from domain.time import SHANGHAI
from projections.accountability import findings as acc
from projections.findings import findings as view

BUDGET_MS = 300.0
BUDGET_KB = 300.0


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """The median wall time of ``fn`` over ``runs`` calls (after one warm-up), in ms."""
    out = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--findings", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500,
                        help="pending extension requests to add (the 延期申请 queue)")
    parser.add_argument("--recorded", type=int, default=500,
                        help="findings recorded, not ordered, to add (the 待下达整改 queue)")
    parser.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (fresh)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or os.path.join(tmp.name, "bench.db")
    prepare(db)
    now = datetime(2024, 10, 14, 10, tzinfo=SHANGHAI)  # findings of the whole year open
    app = Dudao(clock=lambda: now, calendar=load_calendar(None), env=store_env(db))
    t = time.perf_counter()
    events = fill(app, 0, units=args.units, findings=args.findings)
    c = build_components(app, db)
    c.runner.rebuild()
    print(f"{args.units:,} units, {args.findings:,} findings, {events:,} events, read models "
          f"built in {time.perf_counter() - t:.0f} s ({db.split('?')[0]})")
    # the queues the filled store leaves empty: pending 延期申请 (on findings being
    # rectified, every unit's) and findings recorded but not yet ordered (待下达整改)
    t = time.perf_counter()
    with c.engine.connect() as conn:
        open_rows = conn.execute(
            select(acc.c.finding_id, acc.c.deadline).where(acc.c.status == "rectifying")
            .order_by(acc.c.unit, acc.c.finding_id)).all()
    asked = open_rows[::max(1, len(open_rows) // args.requests)][:args.requests]
    for finding_id, deadline in asked:
        app.request_extension(finding_id, to=max(deadline, now.date()) + timedelta(days=30),
                              reason="施工期长", actor="bench:unit")
    for i in range(args.recorded):
        app.record_finding(unit=f"U{i * 7 % args.units:04d}", on=now.date(), inspector="基准督学",
                           text=f"待下达{i}", actor="bench")
    c.runner.catch_up()
    print(f"{len(asked):,} 延期申请 pending, {args.recorded:,} findings to order, "
          f"recorded in {time.perf_counter() - t:.0f} s")
    inspector, inspector_who = c.tokens.create(role="inspector", unit=None, name="基准督学",
                                               now=now, created_by="bench")
    _, unit_who = c.tokens.create(role="unit", unit="U0003", name="基准单位", now=now,
                                  created_by="bench")
    client = TestClient(create_api(c), base_url="http://127.0.0.1")
    sessions = {who: c.users.open_token_session(p.token_id) for who, p in
                (("inspector", inspector_who), ("unit", unit_who))}
    with c.engine.connect() as conn:
        fid = conn.execute(select(acc.c.finding_id).where(acc.c.unit == "U0003",
                                                          acc.c.status != "closed")
                           .order_by(acc.c.finding_id).limit(1)).scalar_one()
    today = now.date()

    def raw(query: Any) -> Callable[[], Any]:
        def run() -> Any:
            with c.engine.connect() as conn:
                return conn.execute(query).all()
        return run

    overview_q = (select(acc.c.unit, func.count(),
                         func.sum(case((acc.c.status != "closed", 1), else_=0)),
                         func.sum(case((acc.c.closed_on_time.is_(True), 1), else_=0)))
                  .group_by(acc.c.unit))
    unit_q = select(acc).where(acc.c.unit == "U0003")
    finding_q = select(acc).where(acc.c.finding_id == fid)
    queue_q = (select(view).where(view.c.status != "closed", view.c.deadline < today)
               .order_by(view.c.deadline, view.c.finding_id).limit(100))
    list_q = select(view).order_by(view.c.on.desc(), view.c.position.desc()).limit(100)
    soon_q = (select(view).where(view.c.status == "rectifying", view.c.deadline >= today,
                                 view.c.deadline <= today + timedelta(days=5))
              .order_by(view.c.deadline).limit(100))
    ext_q = (select(view).where(view.c.extension_requested_on.is_not(None),
                                view.c.status != "closed", view.c.deadline.is_not(None))
             .order_by(view.c.deadline, view.c.finding_id).limit(100))
    order_q = (select(view).where(view.c.status == "recorded")
               .order_by(view.c.on.desc(), view.c.finding_id.desc()).limit(100))
    pages: list[tuple[str, str, str, Any]] = [
        ("overview /", "/", "inspector", overview_q),
        ("unit page /units/U0003", "/units/U0003", "inspector", unit_q),
        ("finding page /findings/{id}", f"/findings/{fid}", "inspector", finding_q),
        ("new-finding form", "/findings/new", "inspector", select(acc.c.unit).limit(1)),
        ("desk: 已逾期 queue", "/desk?queue=overdue", "inspector", queue_q),
        ("desk: 即将到期 queue", "/desk?queue=due_soon", "inspector", soon_q),
        ("desk: 延期申请 queue", "/desk?queue=extension_requests", "inspector", ext_q),
        ("desk: 待下达整改 queue", "/desk?queue=to_order", "inspector", order_q),
        ("desk: search 问题1", "/desk?queue=all&q=%E9%97%AE%E9%A2%981", "inspector",
         select(view).where(view.c.text.contains("问题1")).limit(100)),
        ("unit's desk /desk (unit)", "/desk", "unit", unit_q),
        ("API GET /api/v1/findings", "/api/v1/findings", "api", list_q),
    ]
    rows = []
    for name, path, who, query in pages:
        headers = {"Authorization": f"Bearer {inspector}"} if who == "api" else {}
        cookies = {COOKIE: sessions[who]} if who != "api" else {}

        def ask(path: str = path, headers: dict[str, str] = headers,
                cookies: dict[str, str] = cookies) -> Any:
            client.cookies.clear()
            for k, v in cookies.items():
                client.cookies.set(k, v)
            return client.get(path, headers=headers, follow_redirects=False)

        ms, answer = timed(ask, args.runs)
        raw_ms, _ = timed(raw(query), args.runs)
        colds = []
        for i in range(3):  # the first answer after a write: nothing computed before is reused
            app.record_finding(unit="U0003", on=today, inspector="基准督学", text=f"冷启动{i}",
                               actor="bench")
            t = time.perf_counter()
            ask()
            colds.append((time.perf_counter() - t) * 1000)
        cold = statistics.median(colds)
        kb = len(answer.content) / 1024
        ok = answer.status_code == 200 and max(ms, cold) <= BUDGET_MS and kb <= BUDGET_KB
        rows.append({"page": name, "path": path, "status": answer.status_code,
                     "ms": round(ms, 1), "cold_ms": round(cold, 1), "kb": round(kb, 1),
                     "raw_ms": round(raw_ms, 2),
                     "ratio": round(ms / raw_ms, 1) if raw_ms else None, "met": ok})
    print(f"{'page':32} {'status':>6} {'server ms':>10} {'after write':>11} {'KB':>8} "
          f"{'raw ms':>8} {'ratio':>7}  budget")
    for r in rows:
        print(f"{r['page']:32} {r['status']:>6} {r['ms']:>10.1f} {r['cold_ms']:>11.1f} {r['kb']:>8.1f} "
              f"{r['raw_ms']:>8.2f} {r['ratio'] or 0:>7.1f}  {'met' if r['met'] else 'NOT met'}")
    figures = {"units": args.units, "findings": args.findings, "events": events,
               "runs": args.runs, "budget_ms": BUDGET_MS, "budget_kb": BUDGET_KB,
               "pages": rows}
    print(json.dumps(figures, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    client.close()
    close_components(c)
    tmp.cleanup()


if __name__ == "__main__":
    main()
