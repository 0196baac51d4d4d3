"""A plan file's text, whatever the office saved it as: Word (.docx), Excel (.xlsx) or text.

The plan reader (``adapters.plan_reader``) reads text only; this is the edge that turns an
Office file into the text it reads: a ``.docx``'s paragraphs and tables in document order
(a table row as its cells joined by tabs), an ``.xlsx``'s sheets row by row (cells joined
by tabs, a vertically merged cell's value repeated on each of its rows). Anything else is
decoded as text (``decode_plan``). A file that is none of these, or a broken one, is
refused naming it, before anything is recorded.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

from adapters.plan_reader import (
    MAX_PLAN_BYTES,
    ParsedIndicator,
    ParsedPlan,
    ParsedStage,
    ParsedTask,
    check_plan_size,
    decode_plan,
    is_group,
)
from domain.errors import InvalidInput

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
MAX_UNPACKED = 64 * 1024 * 1024
"""An Office file unpacks to at most 64 MiB (no zip bomb is opened)."""


def kind_of(raw: bytes) -> str:
    """'docx', 'xlsx', 'ole' (an old .doc/.xls), 'zip' (another zip) or 'text'."""
    if raw.startswith(OLE_MAGIC):
        return "ole"
    if not raw.startswith(ZIP_MAGIC):
        return "text"
    try:
        names = set(zipfile.ZipFile(io.BytesIO(raw)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def _refuse(source: str, why: str, en: str) -> InvalidInput:
    return InvalidInput(f"文件 {source} {why}，未导入", f"{source}: {en}; nothing imported",
                        field="FILE")


def _check_unpacked(raw: bytes, source: str) -> None:
    try:
        size = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(source, "已损坏，无法打开", "a broken Office file") from None
    if size > MAX_UNPACKED:
        raise _refuse(source, f"解压后过大（最多 {MAX_UNPACKED // (1024 * 1024)} MiB）",
                      "too large unpacked")


def plan_text(raw: bytes, source: str = "FILE") -> str:
    """The text of a plan file (see the module docstring)."""
    check_plan_size(len(raw), source)
    kind = kind_of(raw)
    if kind == "text":
        return decode_plan(raw, source)
    if kind == "ole":
        raise _refuse(source, "是旧版 Word/Excel 文件（.doc/.xls），请另存为 .docx 或 .xlsx 后导入",
                      "an old .doc/.xls file: save it as .docx or .xlsx")
    if kind == "zip":
        raise _refuse(source, "是压缩文件或已损坏的 Office 文件，不是 .docx/.xlsx",
                      "a zip or broken Office file, not .docx/.xlsx")
    _check_unpacked(raw, source)
    try:
        text = docx_text(raw) if kind == "docx" else xlsx_text(raw)
    except Exception as e:  # a broken part inside the zip: python-docx/openpyxl raise anything
        raise _refuse(source, f"已损坏，无法读取（{type(e).__name__}）",
                      f"a broken {kind} file ({type(e).__name__})") from None
    if len(text.encode("utf-8")) > MAX_PLAN_BYTES:
        raise _refuse(source, f"的文字过多（最多 {MAX_PLAN_BYTES // (1024 * 1024)} MiB）",
                      "too much text")
    if sum(1 for c in text if "\u4e00" <= c <= "\u9fff") < 10:
        raise _refuse(source, "中没有可读的中文内容", "no Chinese text in it")
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def docx_text(raw: bytes) -> str:
    import docx  # type: ignore[import-untyped]
    from docx.table import Table  # type: ignore[import-untyped]

    doc = docx.Document(io.BytesIO(raw))
    lines: list[str] = []
    for part in doc.iter_inner_content():
        if isinstance(part, Table):
            lines.append("")
            for row in part.rows:
                seen: list[Any] = []
                cells: list[str] = []
                for cell in row.cells:  # a horizontally merged cell comes once per column
                    if any(cell._tc is s for s in seen):
                        continue
                    seen.append(cell._tc)
                    cells.append(_one_line(cell.text))
                if any(cells):
                    lines.append("\t".join(cells))
            lines.append("")
        else:
            lines.append(part.text.strip())
    return "\n".join(lines)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _one_line(str(value))


def xlsx_text(raw: bytes) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(raw), data_only=True)
    lines: list[str] = []
    for ws in wb.worksheets:
        fill: dict[tuple[int, int], Any] = {}
        for rng in ws.merged_cells.ranges:
            top = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                fill[(r, rng.min_col)] = top
        lines.append("")
        for row in ws.iter_rows():
            cells = [_cell_text(fill.get((c.row, c.column), c.value)) for c in row
                     if hasattr(c, "column")]
            while cells and not cells[-1]:
                cells.pop()
            filled = [c for c in cells if c]
            if len(filled) == 1:
                lines.append(filled[0])
            elif filled:
                lines.append("\t".join(cells))
    return "\n".join(lines)


# ------------------------------------------------------------- the preview sheet

LEDGER_SHEET = "导入预览"
META_SHEET = "方案"
LEDGER_COLUMNS = ("类型", "编号", "类别", "任务名称", "牵头单位", "责任单位", "完成期限", "所属阶段",
                  "指标名称", "比较", "目标值", "计量单位", "周期", "开始日期", "原文行号", "原文", "提示")
"""The preview ledger's columns, one row per task, indicator, plan goal and stage."""
ROW_KINDS = ("任务", "指标", "总体目标", "阶段")
COMPARATORS = {"≥": ">=", ">=": ">=", "≤": "<=", "<=": "<=", ">": ">", "<": "<", "=": "=",
               "＞": ">", "＜": "<", "＝": "="}
COMPARATOR_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}
META_KEYS = ("方案代码", "方案名称", "起止年份", "发文单位", "原文件")


def is_ledger(raw: bytes) -> bool:
    """A preview ledger written by :func:`ledger_xlsx` (its sheet and header), not a plan."""
    if kind_of(raw) != "xlsx":
        return False
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True)
        if LEDGER_SHEET not in wb.sheetnames:
            return False
        first = next(wb[LEDGER_SHEET].iter_rows(max_row=1, values_only=True), ())
    except Exception:
        return False
    return tuple(str(c or "").strip() for c in first[:3]) == LEDGER_COLUMNS[:3]


def ledger_xlsx(rows: list[dict[str, Any]], meta: dict[str, Any]) -> bytes:
    """The preview ledger: the rows (keys: LEDGER_COLUMNS), the plan's data on a second sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = LEDGER_SHEET
    ws.append(list(LEDGER_COLUMNS))
    fill = PatternFill("solid", start_color="FFF2E6E6", end_color="FFF2E6E6")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value: Any) -> Any:  # a control character a text file may hold: not in a sheet
        return ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value

    for r in rows:
        ws.append([clean(r.get(c)) for c in LEDGER_COLUMNS])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = {"所属阶段": 20, "任务名称": 30, "牵头单位": 16, "责任单位": 24, "指标名称": 24, "原文": 50, "提示": 40,
              "完成期限": 12, "开始日期": 12}
    from openpyxl.utils import get_column_letter

    for i, c in enumerate(LEDGER_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(c, 8)
    ws.freeze_panes = "A2"
    ms = wb.create_sheet(META_SHEET)
    for key in META_KEYS:
        ms.append([key, clean(meta.get(key))])
    for note in meta.get("提示", []):  # the warnings no task row carries
        ms.append(["提示", clean(note)])
    ms.column_dimensions["A"].width = 12
    ms.column_dimensions["B"].width = 80
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class SheetError(InvalidInput):
    pass


def _bad(row: int, column: str, zh: str, en: str) -> SheetError:
    return SheetError(f"预览表第{row}行“{column}”列：{zh}，未导入",
                      f"sheet row {row}, column {column}: {en}; nothing imported",
                      field=f"{LEDGER_SHEET}!{row}:{column}")


def sheet_date(value: Any, row: int, column: str) -> date | None:
    """A date cell: a date, or text as 2024-12-31, 2024/12/31, 2024年12月31日."""
    import re

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*", str(value))
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    raise _bad(row, column, f"“{value}”不是日期（应写作 2024-12-31）",
               f"{value!r} is not a date (write 2024-12-31)")


def sheet_rows(raw: bytes, source: str) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any]]:
    """The preview ledger's rows (numbered as the sheet numbers them) and its plan data."""
    from openpyxl import load_workbook

    _check_unpacked(raw, source)
    try:
        wb = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as e:
        raise _refuse(source, f"已损坏，无法读取（{type(e).__name__}）", "a broken xlsx") from None
    ws = wb[LEDGER_SHEET]
    header = [str(c.value or "").strip() for c in ws[1]]
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in LEDGER_COLUMNS:
            index.setdefault(h, i)
    for c in ("类型", "任务名称", "牵头单位", "责任单位", "完成期限", "指标名称", "比较", "目标值"):
        if c not in index:
            raise _bad(1, c, "表头缺少这一列", "the header lacks this column")
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        if n > 20000:
            raise _bad(n, "类型", "行数过多（最多 20000 行）", "too many rows")
        values = {c: (row[i] if i < len(row) else None) for c, i in index.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            continue
        rows.append((n, values))
    meta: dict[str, Any] = {}
    if META_SHEET in wb.sheetnames:
        for key, value, *_ in wb[META_SHEET].iter_rows(values_only=True):
            if key in META_KEYS:
                meta[str(key)] = value
    return rows, meta


def _names(value: Any) -> list[str]:
    from adapters.plan_reader import normalise_name

    if value is None:
        return []
    parts = [normalise_name(p) for p in str(value).replace("，", "、").replace(",", "、").split("、")]
    # 各县区党委、政府 is one name: a bare 政府 joins the name before it
    out: list[str] = []
    for p in parts:
        if not p:
            continue
        if p in ("政府", "人民政府") and out:
            out[-1] = out[-1] + "、" + p
        else:
            out.append(p)
    return out


def plan_rows(plan: ParsedPlan) -> list[dict[str, Any]]:
    """A parsed plan as the preview ledger's rows: each task, then its indicators; the
    plan's goals; its stages. A task's warnings are on its row; the others on the goals'."""
    by_line: dict[int, list[str]] = {}
    for w in plan.warnings:
        by_line.setdefault(w.line, []).append(w.message)
    rows: list[dict[str, Any]] = []

    def indicator_row(kind: str, i: ParsedIndicator) -> dict[str, Any]:
        return {"类型": kind, "指标名称": i.name, "比较": COMPARATOR_SIGNS.get(i.comparator, i.comparator),
                "目标值": i.value, "计量单位": i.unit, "周期": i.period or None,
                "完成期限": i.deadline, "原文行号": i.line, "原文": i.text}

    for t in plan.tasks:
        rows.append({"类型": "任务", "编号": t.number, "类别": t.category, "任务名称": t.title,
                     "牵头单位": "、".join(t.lead), "责任单位": "、".join(t.responsible),
                     "完成期限": t.deadline if t.deadline_source != "none" else None,
                     "所属阶段": "、".join(t.stages) or None,
                     "原文行号": t.line, "原文": t.text,
                     "提示": "；".join(by_line.get(t.line, [])) or None})
        rows += [indicator_row("指标", i) for i in t.indicators]
    rows += [indicator_row("总体目标", g) for g in plan.goals]
    for s in plan.stages:
        rows.append({"类型": "阶段", "任务名称": s.name, "开始日期": s.start, "完成期限": s.end,
                     "原文行号": s.line})
    return rows


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def plan_from_rows(rows: list[tuple[int, dict[str, Any]]], meta: dict[str, Any]) -> ParsedPlan:
    """The plan exactly as the preview ledger says, every cell checked: a bad one raises
    naming its row and column."""
    import re

    from domain.plans import check_value

    period = None
    m = re.fullmatch(r"\s*(20\d\d)\s*[-—–至~]\s*(20\d\d)\s*", _text(meta.get("起止年份")))
    if m and int(m.group(1)) <= int(m.group(2)):
        period = (int(m.group(1)), int(m.group(2)))
    plan = ParsedPlan(title=_text(meta.get("方案名称")) or None, period=period,
                      issuer=_text(meta.get("发文单位")) or None)
    current: ParsedTask | None = None
    for n, r in rows:
        kind = _text(r.get("类型"))
        if kind not in ROW_KINDS:
            raise _bad(n, "类型", f"“{kind}”不是{'、'.join(ROW_KINDS)}之一",
                       f"{kind!r} is not one of {ROW_KINDS}")
        raw_line = _text(r.get("原文行号")).removesuffix(".0")
        line = int(raw_line) if raw_line.isdigit() and len(raw_line) < 9 else 0
        if kind == "任务":
            title = _text(r.get("任务名称"))
            if not title:
                raise _bad(n, "任务名称", "任务名称为空", "a task needs a title")
            if len(title) > 200:
                raise _bad(n, "任务名称", "任务名称过长（最多 200 字）", "title too long")
            deadline = sheet_date(r.get("完成期限"), n, "完成期限")
            lead, resp = _names(r.get("牵头单位")), _names(r.get("责任单位"))
            for col, names in (("牵头单位", lead), ("责任单位", resp)):
                for name in names:
                    if len(name) > 60:
                        raise _bad(n, col, f"“{name[:20]}…”过长，不像单位名称", "not a unit name")
            current = ParsedTask(
                ordinal=len(plan.tasks) + 1, number=_text(r.get("编号")) or str(len(plan.tasks) + 1),
                title=title, text=_text(r.get("原文")) or title, category=_text(r.get("类别")) or None,
                lead=lead, responsible=[u for u in resp if u not in lead], indicators=[],
                deadline=deadline, deadline_source="task" if deadline else "none", line=line,
                style="sheet", stages=[p for p in _text(r.get("所属阶段")).split("、") if p])
            plan.tasks.append(current)
            for name in (*lead, *resp):
                plan.units.setdefault(name, "group" if is_group(name) else "unit")
        elif kind in ("指标", "总体目标"):
            if kind == "指标" and current is None:
                raise _bad(n, "类型", "指标行之前没有任务行（指标行应紧跟在它的任务之后）",
                           "an indicator row before any task row")
            name = _text(r.get("指标名称"))
            if not name:
                raise _bad(n, "指标名称", "指标名称为空", "an indicator needs a name")
            sign = _text(r.get("比较"))
            if sign not in COMPARATORS:
                raise _bad(n, "比较", f"“{sign}”不是 ≥ ≤ > < = 之一", f"{sign!r} is not a comparator")
            try:
                value = check_value(_text(r.get("目标值")))
            except InvalidInput:
                raise _bad(n, "目标值", f"“{_text(r.get('目标值'))}”不是数值",
                           "not a number") from None
            due = sheet_date(r.get("完成期限"), n, "完成期限")
            ind = ParsedIndicator(name=name, comparator=COMPARATORS[sign], value=value,
                                  unit=_text(r.get("计量单位")), deadline=due, line=line,
                                  text=_text(r.get("原文")) or name)
            period_word = _text(r.get("周期"))
            if period_word:
                ind.period = period_word
            if kind == "指标":
                assert current is not None
                if due is None:
                    ind.deadline = current.deadline
                current.indicators.append(ind)
            else:
                plan.goals.append(ind)
        else:
            name = _text(r.get("任务名称"))
            start = sheet_date(r.get("开始日期"), n, "开始日期")
            end = sheet_date(r.get("完成期限"), n, "完成期限")
            if not name or start is None or end is None or end < start:
                raise _bad(n, "开始日期", "阶段须有名称、开始日期和不早于它的完成期限",
                           "a stage needs a name, a start and an end not before it")
            plan.stages.append(ParsedStage(name=name, start=start, end=end, line=line))
    return plan
