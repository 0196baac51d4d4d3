"""task edit / plan edit, unit edit --kind, unit group: events on a real store, the history
keeping both, the read models following, every refusal recording nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import read_models
from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run
from adapters.service_layer import action_plans as plans
from adapters.service_layer.application import Dudao
from domain.errors import InvalidInput, NotFound, Refused
from projections.plans import PlansProjection, unit_tasks
from tests.conftest import SAMPLE_PLANS, Clock

HANZHONG = SAMPLE_PLANS / "hanzhong-education-quality-2023-2025.txt"


def imp(app: Dudao) -> None:
    app.import_plan(HANZHONG.read_bytes(), source=HANZHONG.name, code="HZ", actor="导入员")


def test_a_task_corrected_keeps_its_history_and_the_read_model_follows(
        app: Dudao, db: str, clock: Clock) -> None:
    clock.at("2023-12-01")
    imp(app)
    runner = read_models(app, db, [PlansProjection()])
    try:
        runner.catch_up()
        assert "SRSJ" in app.get_task("HZ-3").units
        count = app.event_count()
        for kw in ({"lead": ["NOPE"]}, {"deadline": "2024-13-01"}, {"title": ""},
                   {"lead": [], "responsible": []}):
            with pytest.raises((InvalidInput, NotFound)):
                app.edit_task("HZ-3", actor="t", **kw)  # type: ignore[arg-type]
        assert app.event_count() == count  # refused: nothing recorded
        app.add_unit("SJKJ", "市教育考试院", actor="t")
        t, changes = app.edit_task("HZ-3", deadline=date(2024, 6, 30),
                                   responsible=["SCZJ", "SJKJ"], actor="张督学")
        assert set(changes) == {"deadline", "deadline_source", "responsible"}
        assert (t.deadline, t.responsible) == (date(2024, 6, 30), ["SCZJ", "SJKJ"])
        # the plan learns the unit it did not name
        assert "SJKJ" in {u["code"] for u in app.get_plan("HZ").units}
        assert app.edit_task("HZ-3", deadline=date(2024, 6, 30), actor="t")[1] == {}
        runner.catch_up()
        today = date(2024, 7, 2)
        for unit in ("SJKJ", "SRSJ", "SJYJ"):
            with runner.engine.connect() as conn:
                assert unit_tasks(conn, unit, today) == plans.unit_tasks(app, unit,
                                                                         as_of=today), unit
        with runner.engine.connect() as conn:
            assert "HZ-3" in {r["task"] for r in unit_tasks(conn, "SJKJ", today)}
            assert "HZ-3" not in {r["task"] for r in unit_tasks(conn, "SRSJ", today)}
        runner.rebuild()
        with runner.engine.connect() as conn:
            assert unit_tasks(conn, "SJKJ", today) == plans.unit_tasks(app, "SJKJ", as_of=today)
    finally:
        runner.engine.dispose()
    # the history keeps both: the task as imported, then the correction
    events = [e for e in app.events.get(app.get_task("HZ-3").id)]
    edited = [e for e in events if type(e).__name__ == "Edited"]
    assert len(edited) == 1 and edited[0].previous["deadline"] == date(2025, 12, 31)
    clock.at("2024-07-02")
    app.close_task("HZ-3", on=date(2024, 7, 1), actor="张督学")
    with pytest.raises(Refused):
        app.edit_task("HZ-3", title="别的", actor="t")


def cli_json(db: str, now: str, *args: str, capsys: Any) -> tuple[int, Any, str]:
    status = run(cli, ["--db", db, "--now", now, "--json", *args])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out.strip() else None), err


def test_the_commands(sqlite_db: str, capsys: pytest.CaptureFixture[str],
                      tmp_path: Path) -> None:
    now = "2024-01-02T09:00"
    assert cli_json(sqlite_db, now, "plan", "import", str(HANZHONG), "--code", "HZ",
                    capsys=capsys)[0] == 0
    status, out, _ = cli_json(sqlite_db, now, "plan", "edit", "HZ", "--title", "新的标题",
                              capsys=capsys)
    assert status == 0 and (out["title"], out["changed"]) == ("新的标题", ["title"])
    status, out, _ = cli_json(sqlite_db, now, "task", "edit", "HZ-1", "--title", "党建创优",
                              "--lead", "SJYJ", "--units", "SRSJ", capsys=capsys)
    assert status == 0 and out["title"] == "党建创优" and out["responsible"] == ["SRSJ"]
    status, _, err = cli_json(sqlite_db, now, "task", "edit", "HZ-1", capsys=capsys)
    assert status == 1 and err.startswith("错误：--title")
    status, _, err = cli_json(sqlite_db, now, "task", "edit", "HZ-1", "--units", "NOPE",
                              capsys=capsys)
    assert status == 1 and "--units" in err and "NOPE" in err
    status, out, _ = cli_json(sqlite_db, now, "unit", "edit", "SWBB", "--kind", "部门",
                              capsys=capsys)
    assert status == 0 and (out["kind"], out["changed"]) == ("department", True)
    assert [h["previous"] for h in out["kind_history"]] == ["party_organ"]
    status, _, err = cli_json(sqlite_db, now, "unit", "edit", "SWBB", "--kind", "机关",
                              capsys=capsys)
    assert status == 1 and err.startswith("错误：--kind")
    for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
        assert cli_json(sqlite_db, now, "unit", "add", code, "--name", name,
                        capsys=capsys)[1]["kind"] == "government"
    status, out, _ = cli_json(sqlite_db, now, "unit", "group", "GXQDWZF", "--members",
                              "HTQ,NZQ", capsys=capsys)
    assert status == 0 and out["members"] == ["HTQ", "NZQ"]
    for bad in ("GXQDWZF", "HTQ,HTQ", "NOPE"):
        status, _, err = cli_json(sqlite_db, now, "unit", "group", "GXQDWZF", "--members", bad,
                                  capsys=capsys)
        assert status == 1 and err.startswith("错误：--members"), err
    # a member reports its own part of a task naming the group
    status, _, err = cli_json(sqlite_db, now, "task", "progress", "HZ-5", "--indicator", "1",
                              "--value", "95", "--on", "2024-01-02", "--unit", "HTQ",
                              capsys=capsys)
    assert status == 0, err
    status, _, _ = cli_json(sqlite_db, now, "task", "progress", "HZ-5", "--indicator", "1",
                            "--value", "95", "--on", "2024-01-02", "--unit", "SWBB",
                            capsys=capsys)
    assert status == 1  # not a unit of the task, nor a member of one


def test_a_unit_registered_before_kinds_gets_the_guess_on_read(app: Dudao, db: str,
                                                                clock: Clock) -> None:
    """A store an older dudao wrote: its Registered events carry no kind."""
    from adapters.rendering.reports import live
    from domain.ids import unit_id
    from domain.units import Unit

    clock.at("2024-01-02")
    old = Unit(id=unit_id("SWZZB"), code="SWZZB", name="市委组织部", parent=None,
               principal=None, kind="unit", actor="t", recorded_at=app.now())
    (registered,) = old.pending_events
    del registered.__dict__["category"]  # as an older dudao recorded it
    app.commit(old)
    app._units.clear()
    assert app.get_unit("SWZZB").category == "party_organ"
    with live(app, db) as v:
        assert v.units["SWZZB"]["category"] == "party_organ"
    app.change_unit_kind("SWZZB", "department", actor="t")
    app._units.clear()
    assert app.get_unit("SWZZB").category == "department"


def test_a_member_sees_the_tasks_it_answers_for_through_its_group(app: Dudao, db: str,
                                                                  clock: Clock) -> None:
    """After ``unit group``, each member's report lists the group's tasks as its own part
    (role 群组成员), by the same rule in the service and in the read model."""
    from adapters.rendering.reports import live

    clock.at("2023-12-01")
    imp(app)
    for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
        app.add_unit(code, name, actor="t")
    app.set_group_members("GXQDWZF", ["HTQ", "NZQ"], actor="t")
    # task 7 (due 2023-12-31, no indicators) names the group; task 1 (coverage ≥100%) too
    app.report_progress("HZ-1", indicator=1, value="100", on=date(2023, 12, 1), unit="HTQ",
                        actor="u")
    clock.at("2024-02-01")
    today = date(2024, 2, 1)
    rows = {r["task"]: r for r in plans.unit_tasks(app, "HTQ", as_of=today)}
    assert rows and {r["role_label"] for r in rows.values()} == {"群组成员"}
    assert rows["HZ-1"]["indicators"][0]["status"] == "met"
    nz = {r["task"]: r for r in plans.unit_tasks(app, "NZQ", as_of=today)}
    assert nz["HZ-1"]["status"] == "overdue" and rows["HZ-1"]["status"] != "overdue"
    with live(app, db) as v:
        assert v.unit("HTQ")["tasks"] == plans.unit_tasks(app, "HTQ", as_of=today)
        assert v.unit("NZQ")["tasks"] == plans.unit_tasks(app, "NZQ", as_of=today)
    # lagging: the members that did not do their part, never the group
    lagging = {(t.code, lag.unit) for t, lag in plans.lagging(app)}
    assert ("HZ-1", "NZQ") in lagging and ("HZ-1", "HTQ") not in lagging
    assert not any(unit == "GXQDWZF" for _, unit in lagging)
