"""Accountability reports for 1,000 units, against a raw SQL baseline in the same run.

    .venv/bin/python bench/reports.py [--units 1000] [--findings-per-unit 20] [--db PATH|URL]

Fills a fresh store (bench/replay.py's generator: findings through their whole
life), brings the read models up to date (not timed), then times:

1. raw: one GROUP BY query over the accountability read model counting each
   unit's findings, open, closed and closed on time (the least any report
   must do);
2. reports: every unit's full JSON report (figures by severity and status,
   overdue and late, escalations per rung, monthly on-time rate, the timeline
   of each open finding, the peer comparison) and the bulletin;
3. the same reports rendered as Markdown, and as A4 HTML with their two SVG
   charts each.

Budget: reports for 1,000 units <= 5 s (DESIGN.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import case, func, select

from adapters.bootstrap import load_calendar, read_models
from adapters.infrastructure.event_store import prepare, store_env
from adapters.rendering.reports import live
from adapters.rendering.reports.render import render
from adapters.service_layer.application import Dudao
from bench.replay import fill
from domain.time import SHANGHAI
from projections.accountability import findings

BUDGET = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--findings-per-unit", type=int, default=20)
    parser.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (fresh)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or os.path.join(tmp.name, "bench.db")
    prepare(db)
    now = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)
    app = Dudao(clock=lambda: now, calendar=load_calendar(None), env=store_env(db))
    events = fill(app, args.units * args.findings_per_unit * 4, units=args.units)
    runner = read_models(app, db)
    runner.rebuild()
    print(f"{args.units:,} units, {events:,} events, read models built ({db.split('?')[0]})")

    t, c = time.perf_counter(), time.process_time()
    with runner.engine.connect() as conn:
        rows = conn.execute(
            select(findings.c.unit, func.count(),
                   func.sum(case((findings.c.status != "closed", 1), else_=0)),
                   func.sum(case((findings.c.status == "closed", 1), else_=0)),
                   func.sum(case((findings.c.closed_on_time.is_(True), 1), else_=0)))
            .group_by(findings.c.unit)).all()
    raw, raw_cpu = time.perf_counter() - t, time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    with live(app, db, catch_up=False) as view:
        reports = view.all_units()
        bulletin = view.bulletin()
    json_s, json_cpu = time.perf_counter() - t, time.process_time() - c
    assert len(reports) == args.units and len(rows) == args.units
    check = {r[0]: r[1:] for r in rows}
    for code, r in reports.items():  # the two agree
        assert (r["findings"], r["open"], r["closed"], r["closed_on_time"]) == check[code]

    t, c = time.perf_counter(), time.process_time()
    with live(app, db, catch_up=False) as view:
        texts = [render(r, "md") for r in view.all_units().values()]
        texts.append(render(view.bulletin(), "md"))
    md_s, md_cpu = time.perf_counter() - t, time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    with live(app, db, catch_up=False) as view:
        pages = [render(r, "html") for r in view.all_units().values()]
        pages.append(render(view.bulletin(), "html"))
    html_s, html_cpu = time.perf_counter() - t, time.process_time() - c
    findings_n = sum(r["findings"] for r in reports.values())
    print("                                     wall      CPU (this process)")
    print(f"raw GROUP BY counts per unit       : {raw:7.3f} s {raw_cpu:7.3f} s")
    print(f"reports for {args.units:,} units (JSON)     : {json_s:7.3f} s {json_cpu:7.3f} s "
          f"({findings_n:,} findings, {len(bulletin['ranking']):,} ranked)")
    print(f"reports for {args.units:,} units (Markdown) : {md_s:7.3f} s {md_cpu:7.3f} s")
    print(f"reports for {args.units:,} units (A4 HTML)  : {html_s:7.3f} s {html_cpu:7.3f} s "
          f"({sum(map(len, pages)) / 1e6:.1f} MB)")
    print(f"ratio JSON reports / raw            : {json_s / raw:.1f}x")
    print(f"budget <= {BUDGET} s for {args.units:,} units: "
          f"{'met' if json_s <= BUDGET else 'NOT met'} (JSON), "
          f"{'met' if md_s <= BUDGET else 'NOT met'} (Markdown), "
          f"{'met' if html_s <= BUDGET else 'NOT met'} (HTML)")
    runner.engine.dispose()
    app.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
