"""The plan tasks read model gives the ledger's rows, incrementally and after a rebuild."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters import plans
from adapters.bootstrap import read_models
from adapters.service import Dudao
from projections.plans import PlansProjection, unit_tasks
from tests.conftest import Clock

PLANS = Path(__file__).resolve().parent.parent / "adapters" / "sample_plans"


def test_read_model_rows_equal_the_ledger(app: Dudao, db: str, clock: Clock) -> None:
    clock.at("2024-01-02")
    for name, code in (("hanzhong-education-quality-2023-2025.txt", "HZ"),
                       ("county-high-schools-2023-2025.txt", "XZ")):
        app.import_plan((PLANS / name).read_bytes(), source=name, code=code, actor="t")
    runner = read_models(app, db, [PlansProjection()])
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
        swzzb = {r["task"]: r for r in unit_tasks(conn, "SWZZB", today)}
        assert swzzb["HZ-1"]["status"] == "overdue"
        before = unit_tasks(conn, "SJYJ", today)
    runner.rebuild()
    with runner.engine.connect() as conn:
        assert unit_tasks(conn, "SJYJ", today) == before
