"""``findings_view.extension_requested_on`` (the 延期申请 queue): set by a unit's extension
request, cleared by its decision (granted or refused), the same whether the row is worked
out by the accountability projection's pass (live) or by the findings projection alone;
a store whose ``findings_view`` lacks the column (an older dudao) is replayed at start."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import inspect, select, text

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from projections.findings import FindingsProjection, findings
from tests.conftest import Clock


def requested(runner: Any) -> dict[str, date | None]:
    with runner.engine.connect() as conn:
        rows = conn.execute(select(findings.c.finding_id, findings.c.extension_requested_on))
        return {r.finding_id: r.extension_requested_on for r in rows}


def test_a_request_sets_the_day_and_its_decision_clears_it(app: Dudao, db: str,
                                                           clock: Clock) -> None:
    clock.at("2024-09-20")
    app.add_unit("U1", "一中", actor="t")
    ids = []
    for i in range(3):
        fid = app.record_finding(unit="U1", on=date(2024, 9, 20), inspector="督学",
                                 text=f"问题{i}", actor="t")
        app.order_rectification(fid, on=date(2024, 9, 20), within=10, actor="t")
        ids.append(str(fid))
    clock.at("2024-09-24")
    granted = app.request_extension(ids[0], to=date(2024, 11, 1), reason="施工", actor="u")
    refused = app.request_extension(ids[1], to=date(2024, 11, 1), reason="施工", actor="u")
    runner = read_models(app, db)
    runner.catch_up()
    assert requested(runner) == {ids[0]: date(2024, 9, 24), ids[1]: date(2024, 9, 24),
                                 ids[2]: None}
    clock.at("2024-09-26")
    app.decide_extension(granted, grant=True, actor="t")
    app.decide_extension(refused, grant=False, actor="t")
    again = app.request_extension(ids[1], to=date(2024, 11, 8), reason="再申请", actor="u")
    assert again.endswith(".2")
    runner.catch_up()
    live = requested(runner)
    assert live == {ids[0]: None, ids[1]: date(2024, 9, 26), ids[2]: None}
    # the findings projection on its own (no accountability pass) gives the same rows
    with runner.engine.begin() as conn:
        conn.execute(text("DROP TABLE findings_view"))
        conn.execute(text("DELETE FROM projection_positions WHERE name = 'findings'"))
    alone = read_models(app, db, [FindingsProjection()])
    alone.catch_up()
    assert requested(alone) == live


def test_an_older_findings_view_is_replayed_with_the_column(app: Dudao, db: str,
                                                            clock: Clock) -> None:
    clock.at("2024-09-20")
    app.add_unit("U1", "一中", actor="t")
    fid = str(app.record_finding(unit="U1", on=date(2024, 9, 20), inspector="督学",
                                 text="问题", actor="t"))
    app.order_rectification(fid, on=date(2024, 9, 20), within=10, actor="t")
    app.request_extension(fid, to=date(2024, 11, 1), reason="施工", actor="u")
    runner = read_models(app, db)
    runner.catch_up()
    with runner.engine.begin() as conn:  # as a dudao before the 延期申请 queue left it
        conn.execute(text("ALTER TABLE findings_view DROP COLUMN extension_requested_on"))
        assert "extension_requested_on" not in {
            c["name"] for c in inspect(conn).get_columns("findings_view")}
    restarted = read_models(app, db)
    assert restarted.positions()["findings"] == 0  # dropped: replayed from the first event
    restarted.catch_up()
    assert requested(restarted) == {fid: date(2024, 9, 20)}
