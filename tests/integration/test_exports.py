"""The exports people pass on: ``report findings`` as xlsx, CSV and JSON (the same rows and
values), and ``plan show --format xlsx`` (one row per task), opened back with openpyxl.

The findings are test_reports.py's hand-counted scenario (now 2024-11-01 17:00): f6 is
overdue 11 days (deadline 10-21, no report); f7's report of 10-18 came before its
deadline (10-21) and awaits review: it is not overdue; h1 (U3) is overdue 18 days.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from adapters.bootstrap import load_calendar
from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run
from adapters.infrastructure.event_store import store_env
from adapters.rendering.exports import OVERDUE_FILL, display_width
from adapters.service_layer.application import Dudao
from tests.conftest import SAMPLE_PLANS, Clock
from tests.integration.test_reports import scenario

HEADERS = ["单位名称", "问题", "严重程度", "登记日期", "督学", "整改期限", "状态", "当前升级级别",
           "逾期", "逾期天数", "销号日期", "问题编号"]


def cli_json(capsys: Any, *args: str) -> Any:
    capsys.readouterr()
    assert run(cli, list(args)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def as_cell(value: Any, kind: str) -> Any:
    """A JSON value as the xlsx cell holds it."""
    if value is None or value == "":
        return None
    if kind == "date":
        return datetime.fromisoformat(value)
    return value


def test_findings_xlsx_csv_and_json_hold_the_same_rows(sqlite_db: str, clock: Clock,
                                                        capsys: Any, tmp_path: Path) -> None:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    f = scenario(app, clock)
    app.close()
    base = ["--db", sqlite_db, "--now", "2024-11-01T17:00"]
    data = cli_json(capsys, *base, "report", "findings", "--format", "json")
    rows = data["rows"]
    assert [c["header"] for c in data["columns"]] == HEADERS
    assert len(rows) == 11
    by_id = {r["finding_id"]: r for r in rows}
    f6, f7 = by_id[str(f["f6"])], by_id[str(f["f7"])]
    assert (f6["unit_name"], f6["severity_label"], f6["status_label"], f6["rung_label"]) == (
        "单位U1", "较重", "整改中", "通报")
    assert (f6["overdue"], f6["days_overdue"], f6["overdue_text"]) == (True, 11, "已逾期11天")
    # a report before the deadline, awaiting review: not overdue, said so in words
    assert (f7["overdue"], f7["days_overdue"], f7["overdue_text"]) == (
        False, 0, "按期提交整改报告，待复查")
    assert by_id[str(f["h1"])]["days_overdue"] == 18
    assert by_id[str(f["f8"])]["rung_label"] == "未升级"

    out = tmp_path / "findings.xlsx"
    assert run(cli, [*base, "report", "findings", "--format", "xlsx", "-o", str(out)]) == 0
    ws = load_workbook(out).active
    assert ws is not None
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "A2"
    body = list(ws.iter_rows(min_row=2))
    assert len(body) == len(rows)
    for cells, r in zip(body, rows, strict=True):
        for cell, col in zip(cells, data["columns"], strict=True):
            assert cell.value == as_cell(r[col["key"]], col["kind"]), (col["header"], r)
            if col["kind"] == "date" and cell.value is not None:
                assert cell.number_format == "yyyy-mm-dd"
        filled = cells[0].fill.start_color.rgb == OVERDUE_FILL.start_color.rgb
        assert filled is r["overdue"]
    # widths fit the Chinese text: a CJK character counts two
    widths = {c.value: ws.column_dimensions[c.column_letter].width for c in ws[1]}
    assert widths["单位名称"] >= display_width("单位U1") + 2
    assert widths["逾期"] >= display_width("按期提交整改报告，待复查")
    assert widths["登记日期"] >= 10

    out_csv = tmp_path / "findings.csv"
    assert run(cli, [*base, "report", "findings", "--format", "csv", "-o", str(out_csv)]) == 0
    raw = out_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[0] == HEADERS
    assert parsed[1:] == [["" if r[c["key"]] is None else str(r[c["key"]])
                           for c in data["columns"]] for r in rows]


def test_findings_filters(sqlite_db: str, clock: Clock, capsys: Any) -> None:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    f = scenario(app, clock)
    app.close()
    base = ["--db", sqlite_db, "--now", "2024-11-01T17:00"]
    overdue = cli_json(capsys, *base, "report", "findings", "--overdue", "--format", "json")
    assert {r["finding_id"] for r in overdue["rows"]} == {str(f["f6"]), str(f["h1"])}
    u1 = cli_json(capsys, *base, "report", "findings", "--unit", "U1", "--status", "待复查",
                  "--format", "json")
    assert [r["finding_id"] for r in u1["rows"]] == [str(f["f7"])]
    assert u1["status"] == "under_review" and u1["unit_name"] == "单位U1"
    closed = cli_json(capsys, *base, "report", "findings", "--status", "closed", "--format",
                      "json")
    assert len(closed["rows"]) == 6
    capsys.readouterr()
    assert run(cli, [*base, "report", "findings", "--status", "done", "--format", "json"]) == 1
    assert "状态" in capsys.readouterr().err
    assert run(cli, [*base, "report", "findings", "--format", "xlsx"]) == 1
    assert "-o" in capsys.readouterr().err
    assert run(cli, [*base, "report", "findings", "--unit", "U9", "--format", "json"]) == 1
    assert "U9" in capsys.readouterr().err


def test_plan_ledger_xlsx_one_row_per_task(sqlite_db: str, clock: Clock, capsys: Any,
                                           tmp_path: Path) -> None:
    clock.at("2024-01-02")
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    path = SAMPLE_PLANS / "county-high-schools-2023-2025.txt"
    plan = app.import_plan(path.read_bytes(), source=path.name, code="XZ", actor="导入员")
    app.close()
    out = tmp_path / "ledger.xlsx"
    base = ["--db", sqlite_db, "--now", "2025-06-01T10:00"]
    assert run(cli, [*base, "plan", "show", "XZ", "--format", "xlsx", "-o", str(out)]) == 0
    ws = load_workbook(out).active
    assert ws is not None
    assert [c.value for c in ws[1]] == ["任务编号", "任务", "牵头单位", "责任单位", "时限",
                                        "指标", "进展", "状态"]
    assert ws.freeze_panes == "A2"
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(body) == plan["tasks"] == 13
    ledger = cli_json(capsys, *base, "--json", "plan", "show", "XZ")
    statuses = {t["task"]: t["status"] for u in ledger["units"] for t in u["tasks"]}
    # names, never codes, in the unit columns
    assert any("市教育局" in (row[2] or "") + (row[3] or "") for row in body)
    assert not any("SJYJ" in (row[2] or "") + (row[3] or "") for row in body)
    labels = {"on_track": "推进中", "overdue": "逾期", "closed": "已销号"}
    assert {row[7] for row in body} <= set(labels.values())
    overdue_rows = [n for n, row in enumerate(ws.iter_rows(min_row=2), start=2)
                    if row[7].value == "逾期"]
    assert overdue_rows, "2025-06 has tasks past their deadline"
    for n in overdue_rows:
        assert ws.cell(row=n, column=1).fill.start_color.rgb == OVERDUE_FILL.start_color.rgb
    dated = [row[4] for row in body if row[4] is not None]
    assert dated and all(isinstance(d, datetime) for d in dated)
    assert ws.cell(row=2, column=5).number_format == "yyyy-mm-dd" or body[0][4] is None
    assert "逾期" in {labels[s] for s in statuses.values()}
    assert date(2025, 6, 1)  # the day the statuses are computed on
