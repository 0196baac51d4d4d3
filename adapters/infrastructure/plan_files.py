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

from adapters.plan_reader import MAX_PLAN_BYTES, decode_plan
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
