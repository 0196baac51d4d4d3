"""The plan tasks read model gives the ledger's rows, incrementally and after a rebuild."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.bootstrap import read_models
from adapters.service_layer import action_plans as plans
from adapters.service_layer.application import Dudao
from projections.plans import PlansProjection, unit_tasks
from tests.conftest import SAMPLE_PLANS, Clock

PLANS = SAMPLE_PLANS


def test_read_model_rows_equal_the_ledger(app: Dudao, db: str, clock: Clock) -> None:
    clock.at("2024-01-02")
    for name, code in (("hanzhong-education-quality-2023-2025.txt", "HZ"),
                       ("county-high-schools-2023-2025.txt", "XZ")):
        app.import_plan((PLANS / name).read_bytes(), source=name, code=code, actor="t")
    runner = read_models(app, db, [PlansProjection()])
    try:
        check_rows(app, runner, clock)
    finally:
        runner.engine.dispose()  # release pooled connections (shared PostgreSQL)


def check_rows(app: Dudao, runner: Any, clock: Clock) -> None:
    runner.catch_up()
    clock.at("2024-06-01")
    app.report_progress("HZ-1", indicator=1, value="100", on=date(2023, 12, 30), unit="SJYJ",
                        actor="u")
    app.report_progress("XZ-4", indicator=1, value="56", on=date(2024, 5, 1), actor="u")
    app.report_progress("XZ-4", indicator=1, value="50", on=date(2024, 5, 30), unit="SJYJ",
                        actor="u")
    app.close_task("HZ-7", on=date(2023, 12, 29), actor="张督学")
    runner.catch_up()
    today = date(2024, 6, 1)
    for unit in ("SJYJ", "GXQDWZF", "SWZZB", "GXSRMZF"):
        with runner.engine.connect() as conn:
            rows = unit_tasks(conn, unit, today)
        assert rows == plans.unit_tasks(app, unit, as_of=today), unit
    with runner.engine.connect() as conn:
        edu = {r["task"]: r for r in unit_tasks(conn, "SJYJ", today)}
        assert edu["HZ-1"]["status"] == "on_track"  # 市教育局 reported 100% on time
        assert edu["HZ-7"]["status"] == "closed"
        assert edu["XZ-4"]["indicators"][0]["value"] == "50"
        # the indicator was met for the task (by its lead): it lags for no one
        swzzb = {r["task"]: r for r in unit_tasks(conn, "SWZZB", today)}
        assert swzzb["HZ-1"]["status"] == "on_track"
        before = unit_tasks(conn, "SJYJ", today)
    runner.rebuild()
    with runner.engine.connect() as conn:
        assert unit_tasks(conn, "SJYJ", today) == before


def test_unit_report_lists_the_units_tasks_live_and_as_of(app: Dudao, db: str,
                                                          clock: Clock) -> None:
    from datetime import datetime

    from adapters.rendering.reports import as_of, live
    from adapters.rendering.reports.render import render
    from domain.time import SHANGHAI

    clock.at("2024-01-02")
    name = "county-high-schools-2023-2025.txt"
    app.import_plan((PLANS / name).read_bytes(), source=name, code="XZ", actor="t")
    clock.at("2024-06-01")
    app.report_progress("XZ-4", indicator=1, value="50", on=date(2024, 5, 30), unit="SJYJ",
                        actor="u")
    with live(app, db) as v:
        report = v.unit("SJYJ")
        assert report["tasks"] == plans.unit_tasks(app, "SJYJ", as_of=date(2024, 6, 1))
        rows = {r["task"]: r for r in report["tasks"]}
        assert set(rows) == {f"XZ-{n}" for n in range(1, 11)}
        assert rows["XZ-4"]["indicators"][0]["value"] == "50"
        md = render(report, "md")
        assert "实施方案任务（工作台账）" in md and "XZ-4 严格控制校额班额" in md
        assert "50人（达标）" in md
        html = render(report, "html")
        assert 'data-task="XZ-4"' in html
    # as of before the value was reported, the report knew nothing of it
    with as_of(app, datetime(2024, 5, 1, tzinfo=SHANGHAI)) as v:
        rows = {r["task"]: r for r in v.unit("SJYJ")["tasks"]}
        assert rows["XZ-4"]["indicators"][0]["value"] is None
    # as of before the import, the unit had no tasks
    with as_of(app, datetime(2024, 1, 1, tzinfo=SHANGHAI)) as v:
        assert "SJYJ" not in v.reports.model.units or v.unit("SJYJ")["tasks"] == []
