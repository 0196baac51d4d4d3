"""Writing an export (``projections/exports.py``: columns and rows) as xlsx, CSV or JSON.

- **xlsx** (openpyxl): the header row frozen and bold, column widths that fit the text
  (a CJK character counts as two narrow ones), dates as real dates shown ``yyyy-mm-dd``,
  whole numbers as numbers, highlighted rows (逾期) filled light red; the row also says
  so in words, in its own column.
- **CSV**: UTF-8 with a byte-order mark, so that Excel opens the Chinese text right;
  dates ``YYYY-MM-DD``; the same columns and values.
- **JSON**: the export dict itself (``render.to_json``).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from projections.exports import FINDING_COLUMNS, Column

EXPORT_FORMATS = ("xlsx", "csv", "json")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
OVERDUE_FILL = PatternFill("solid", start_color="FFF4CCCC", end_color="FFF4CCCC")
HEADER_FILL = PatternFill("solid", start_color="FFF2E6E6", end_color="FFF2E6E6")
DATE_FORMAT = "yyyy-mm-dd"
MAX_WIDTH = 60


def display_width(text: str) -> int:
    """Width in narrow characters: wide and full-width characters (CJK) count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cell_text(value: Any) -> str:
    """A value as the CSV (and the width estimate) writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(columns: Sequence[Column], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for r in rows:
        writer.writerow([cell_text(r.get(c.key)) for c in columns])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(columns: Sequence[Column], rows: list[dict[str, Any]], *, sheet: str,
            title: str | None = None) -> bytes:
    """One sheet: the header row (frozen), then the rows; ``title`` is the workbook's."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    if title:
        wb.properties.title = title
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    widths = [display_width(c.header) for c in columns]
    for n, r in enumerate(rows, start=2):
        ws.append([r.get(c.key) for c in columns])
        for i, c in enumerate(columns):
            cell = ws.cell(row=n, column=i + 1)
            if c.kind == "date" and cell.value is not None:
                cell.number_format = DATE_FORMAT
            if c.width:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if r.get("highlight"):
                cell.fill = OVERDUE_FILL
            widths[i] = max(widths[i], 10 if c.kind == "date" else display_width(
                cell_text(r.get(c.key))))
    for i, c in enumerate(columns):
        width = min(widths[i], c.width or MAX_WIDTH)
        ws.column_dimensions[get_column_letter(i + 1)].width = width + 2
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def findings_file(data: dict[str, Any], fmt: str) -> bytes:
    """The 问题清单 (``projections.exports.findings_export``) as an xlsx or CSV file."""
    if fmt == "xlsx":
        return to_xlsx(FINDING_COLUMNS, data["rows"], sheet="问题清单", title="问题清单")
    return to_csv(FINDING_COLUMNS, data["rows"])
