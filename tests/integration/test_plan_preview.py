"""Issue 15: plans in the shapes offices publish are imported; the preview ledger loop.

The shapes are in tests/plan_shapes.py (figures counted by hand there). The preview writes
the parsed ledger as an .xlsx and records nothing; the office corrects it in a sheet
(openpyxl here) and importing the sheet records exactly what it says.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from adapters.service_layer.application import Dudao
from adapters.service_layer.plan_files import LEDGER_COLUMNS, LEDGER_SHEET
from domain.errors import InvalidInput, NotFound
from tests import plan_shapes as S
from tests.conftest import SAMPLE_PLANS, Cli

JIAGEDAQI = SAMPLE_PLANS / "jiagedaqi-compulsory-education-balance-2023.txt"


def imp(app: Dudao, raw: bytes, source: str, **kw: str) -> dict:  # type: ignore[type-arg]
    return app.import_plan(raw, source=source, actor="导入员", **kw)


def figures(r: dict) -> tuple[int, int, int]:  # type: ignore[type-arg]
    return r["tasks"], r["units"], r["indicators"]


@pytest.mark.parametrize(("source", "raw", "expected"), [
    ("scrape.txt", S.ONE_LINE.encode("utf-8"), (8, 6, 5)),
    ("flattened.txt", S.FLATTENED.encode("gb18030"), (7, 4, 2)),
    ("spaced.txt", S.SPACED_TABLE.encode("utf-8"), (3, 5, 1)),
    ("mixed.txt", S.mixed_encoding(), (2, 2, 1)),
    ("plan.docx", S.docx_plan(), (4, 7, 2)),
    ("plan.xlsx", S.xlsx_plan(), (4, 7, 2)),
])
def test_each_shape_imports(app: Dudao, source: str, raw: bytes,
                            expected: tuple[int, int, int]) -> None:
    got = imp(app, raw, source, code="P")
    assert got["new"] is True
    assert figures(got) == expected
    assert len(app.get_plan("P").tasks) == expected[0]


def test_no_annotations_imports_with_the_issuing_body(app: Dudao) -> None:
    got = imp(app, S.NO_ANNOTATIONS.encode(), "kfw.txt", code="KFW")
    assert figures(got) == (3, 1, 1)
    unit = got["unit_codes"]["某某县教育局"]
    assert app.get_task("KFW-1").responsible == [unit]
    said = [w for w in got["warnings"] if "没有标注责任单位" in w]
    assert len(said) == 1 and "某某县教育局" in said[0]


def test_no_annotations_with_a_default_unit(app: Dudao) -> None:
    app.add_unit("JYJ", "某某县教育体育局", actor="t")
    text = S.NO_ANNOTATIONS.replace("某某县教育局关于印发", "关于印发")
    with pytest.raises(NotFound) as e:
        imp(app, text.encode(), "kfw.txt", default_unit="NOPE")
    assert e.value.field == "default_unit"
    count = app.event_count()
    # no issuer and no default unit: refused, naming the way out
    with pytest.raises(InvalidInput) as refused:
        imp(app, text.encode(), "kfw.txt")
    assert "--default-unit" in refused.value.zh
    assert app.event_count() == count
    got = imp(app, text.encode(), "kfw.txt", code="KFW", default_unit="JYJ")
    assert got["units"] == 1 and got["new_units"] == []
    assert [app.get_task(f"KFW-{n}").responsible for n in (1, 2, 3)] == [["JYJ"]] * 3
    assert sum("没有标注责任单位" in w for w in got["warnings"]) == 1


def sheet_rows(blob: bytes) -> list[dict[str, object]]:
    ws = load_workbook(io.BytesIO(blob))[LEDGER_SHEET]
    head = [c.value for c in ws[1]]
    assert tuple(head) == LEDGER_COLUMNS
    return [dict(zip(head, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)]


def test_preview_records_nothing_and_lists_every_task_and_indicator(app: Dudao) -> None:
    blob, fig = app.preview_plan(JIAGEDAQI.read_bytes(), source=JIAGEDAQI.name)
    assert app.event_count() == 0
    # 34 indicators as read; the 2023 periods of three periodic targets ended before today
    # (2024-12-31): not in the sheet, and a warning says so
    assert (fig["tasks"], fig["units"], fig["indicators"]) == (16, 11, 31)
    rows = sheet_rows(blob)
    assert sum(r["类型"] == "任务" for r in rows) == 16
    assert sum(r["类型"] in ("指标", "总体目标") for r in rows) == 31
    t10 = next(r for r in rows if r["类型"] == "任务" and r["编号"] == "10")
    assert (t10["完成期限"], t10["所属阶段"]) == (datetime(2024, 3, 31),
                                                "第三阶段：整改实施阶段、第四阶段：地级复评验收阶段")
    t3 = next(r for r in rows if r["类型"] == "任务" and r["编号"] == "3")
    assert t3["责任单位"] == "区教育局、区发改局、区财政局、区自然资源局、区住建局"
    assert t3["原文行号"] == 47 and "标准化提升工程" in str(t3["原文"])
    assert t3["完成期限"] == datetime(2025, 12, 31)
    assert any(r["提示"] and "发改区住建局" in str(r["提示"]) for r in rows)
    # the warnings of no task (a skipped paragraph, a stage's lost characters) are on the
    # plan's sheet
    plan_sheet = {k: v for k, v in load_workbook(io.BytesIO(blob))["方案"].iter_rows(values_only=True)
                  if k != "提示"}
    assert plan_sheet["原文件"] == JIAGEDAQI.name
    notes = [v for k, v in load_workbook(io.BytesIO(blob))["方案"].iter_rows(values_only=True)
             if k == "提示"]
    assert any("第85行" in str(n) and "缺少" in str(n) for n in notes)


def test_preview_edit_in_a_sheet_then_import_records_what_the_sheet_says(
        app: Dudao, tmp_path: Path) -> None:
    blob, _ = app.preview_plan(S.SPACED_TABLE.encode(), source="jsdw.txt", code="JSDW")
    wb = load_workbook(io.BytesIO(blob))
    ws = wb[LEDGER_SHEET]
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    task_rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col["类型"]).value == "任务"]
    # the office corrects task 2's responsible units and deadline, and indicator 1's target
    ws.cell(task_rows[1], col["责任单位"]).value = "县教育局、县医保局"
    ws.cell(task_rows[1], col["完成期限"]).value = "2024年9月30日"
    ind = task_rows[0] + 1
    assert ws.cell(ind, col["类型"]).value == "指标"
    ws.cell(ind, col["目标值"]).value = "98"
    ws.cell(ind, col["指标名称"]).value = "教师持证上岗率"
    path = tmp_path / "台账.xlsx"
    wb.save(path)
    got = imp(app, path.read_bytes(), path.name)
    assert (got["plan"], got["new"]) == ("JSDW", True)
    assert figures(got) == (3, 6, 1)
    t2 = app.get_task("JSDW-2")
    assert t2.responsible == [got["unit_codes"]["县教育局"], got["unit_codes"]["县医保局"]]
    assert t2.deadline == date(2024, 9, 30)
    i1 = app.get_task("JSDW-1").indicators[0]
    assert (i1["name"], i1["comparator"], i1["value"], i1["unit"]) == ("教师持证上岗率", ">=", "98", "%")
    # the same sheet again records nothing
    count = app.event_count()
    assert imp(app, path.read_bytes(), path.name)["new"] is False
    assert app.event_count() == count


@pytest.mark.parametrize(("column", "value", "said"), [
    ("完成期限", "明年", "“完成期限”列"),
    ("比较", "约", "“比较”列"),
    ("目标值", "九成", "“目标值”列"),
    ("类型", "备注", "“类型”列"),
    ("任务名称", None, "“任务名称”列"),
])
def test_a_bad_sheet_is_refused_naming_row_and_column(app: Dudao, column: str,
                                                      value: object, said: str) -> None:
    blob, _ = app.preview_plan(S.SPACED_TABLE.encode(), source="jsdw.txt", code="JSDW")
    wb = load_workbook(io.BytesIO(blob))
    ws = wb[LEDGER_SHEET]
    col = {c.value: c.column for c in ws[1]}
    row = 3 if column in ("比较", "目标值") else 2  # row 2: task 1; row 3: its indicator
    assert ws.cell(3, col["类型"]).value == "指标"
    ws.cell(row, col[column]).value = value
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(InvalidInput) as e:
        imp(app, out.getvalue(), "台账.xlsx")
    assert f"第{row}行" in e.value.zh and said in e.value.zh
    assert app.event_count() == 0


def test_cli_preview_then_import(sqlite_db: str, capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:
    dudao = Cli(sqlite_db, capsys)
    src = tmp_path / "plan.docx"
    src.write_bytes(S.docx_plan())
    ledger = tmp_path / "ledger.xlsx"
    shown = dudao.json("plan", "import", str(src), "--preview", "-o", str(ledger))
    assert (shown["tasks"], shown["units"], shown["indicators"]) == (4, 7, 2)
    assert dudao.json("plan", "list")["plans"] == []
    code, out, err = dudao("plan", "import", str(src), "--preview")
    assert code != 0 and "-o" in err
    done = dudao.json("plan", "import", str(ledger))
    assert (done["plan"], done["tasks"], done["new"]) == ("plan", 4, True)
    code, out, _ = dudao("plan", "import", str(ledger))
    assert code == 0 and "已导入过" in out
