"""The web pages' live views reuse what they computed while the read models stand still,
and read afresh once an event moved them, or the day changed (adapters/rendering/reports
``Memo``), on both stores."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.bootstrap import read_models
from adapters.rendering.reports import live
from adapters.service_layer.application import Dudao
from tests.conftest import Clock
from tests.integration.test_reports import scenario


def test_a_write_or_a_new_day_is_seen_at_once(app: Dudao, db: str, clock: Clock) -> None:
    scenario(app, clock)
    runner = read_models(app, db)
    try:
        def read() -> tuple[dict[str, Any], dict[str, Any], Any]:
            with live(app, db, runner=runner) as v:
                return v.bulletin(), v.unit("U1"), v.reports

        b1, u1, reports1 = read()
        b2, u2, reports2 = read()
        assert b2 == b1 and u2 == u1
        assert reports2 is reports1  # nothing moved: the same figures, not computed again
        clock.at("2024-11-01", hour=20)
        b3, _, _ = read()
        assert b3["as_of"] != b1["as_of"]  # each answer is at its own moment
        assert {k: v for k, v in b3.items() if k != "as_of"} == {
            k: v for k, v in b1.items() if k != "as_of"}
        app.record_finding(unit="U1", on=date(2024, 11, 1), inspector="督学",
                           text="新登记的问题", actor="t")
        b4, u4, _ = read()
        assert b4["overall"]["findings"] == b1["overall"]["findings"] + 1
        assert u4["findings"] == u1["findings"] + 1 and u4["open"] == u1["open"] + 1
        clock.at("2024-12-20")  # a month on: more findings are overdue, on the same events
        b5, u5, _ = read()
        assert b5["overall"]["overdue"] > b4["overall"]["overdue"]
        with live(app, db) as fresh:  # a view of its own runner agrees
            assert fresh.unit("U1") | {"as_of": None} == u5 | {"as_of": None}
    finally:
        runner.engine.dispose()
