"""The reports the pages show are counted in SQL (GROUP BY over the read model, then a
unit's own rows: projections/reports.py ``counted_figures``), so that a page after a write
does not load 20,000 findings (bench/pages.py). They must say what the reports over the
loaded read model say, figure for figure, on both stores, for the whole record and for a
period; and on later days (overdue is counted at the moment asked) too."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from domain.time import SHANGHAI
from projections.reports import Reports, load
from tests.conftest import Clock
from tests.integration.test_reports import scenario

D = date.fromisoformat


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    gc.collect()


def without_moment(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "as_of"}


@pytest.mark.parametrize("since", [None, "2024-10-20", "2024-10-29"])
def test_counted_reports_say_what_the_loaded_ones_say(app: Dudao, db: str, clock: Clock,
                                                      since: str | None) -> None:
    scenario(app, clock)
    runner = read_models(app, db)
    try:
        runner.catch_up()
        with runner.engine.connect() as conn:
            # the scenario's end; f9's deadline day (not yet overdue); a day after it
            for moment in (datetime(2024, 11, 1, 17, tzinfo=SHANGHAI),
                           datetime(2024, 11, 11, 23, tzinfo=SHANGHAI),
                           datetime(2024, 11, 12, 9, tzinfo=SHANGHAI)):
                start = D(since) if since else None
                loaded = Reports(load(conn), moment, start)
                counted = Reports(None, moment, start, conn=conn)
                assert counted.summary == loaded.summary
                assert counted.recorded == loaded.recorded
                b = counted.bulletin(conn)
                assert without_moment(b) == without_moment(loaded.bulletin())
                assert b["overall"]["findings"] > 0  # the comparison is not of two empties
                for code in ("U1", "U2", "U3", "U4"):
                    assert counted.unit(code, conn=conn) == loaded.unit(code, conn=conn)
                with pytest.raises(RuntimeError):
                    counted.model  # noqa: B018 - nothing is loaded for the pages
                assert counted.all_units(conn) == loaded.all_units(conn)
    finally:
        runner.engine.dispose()
