"""A plan's lines as the parser reads them, whatever shape the copy left them in.

Three repairs, each a pass over the lines before ``blocks`` reads them:

* ``split_inline``: a page scraped into one line (thousands of characters, sections and
  items separated by spaces only) is split before each inline number (一、 (一) 1. 1) ①)
  that follows a space or a full stop; a short heading glued to its body by a space
  (``二、工作目标 到2026年…``) is split from it;
* ``spaced_tables``: a table whose columns are runs of two or more spaces gets tabs,
  from its header row (one naming a task column and a 责任/牵头 column) to its last row;
* ``unflatten``: a table flattened one cell per line (a PDF's copy) is put back together:
  its header (``序号`` and the cells after it, a cell split over two lines such as
  ``责任`` / ``部门`` joined), then a row from each item number (1, 2, 3 …); a cell a row
  leaves out (a department given once for a group of items) is the previous row's; a year
  or stage in the table's title (``2024年工作进程表``) is its items' deadline when the
  table has no deadline column.

Each pass is linear in the text's length.
"""

from __future__ import annotations

import re

from adapters.plan_reader.blocks import table_header

INLINE_MIN = 1000
"""A line at least this long, with at least three inline numbers, is a scrape to split."""

_MARK = (r"(?:[一二三四五六七八九十]{1,3}、|\([一二三四五六七八九十]{1,3}\)|\d{1,2}[.、)](?=[\u4e00-\u9fff])"
         r"|\d{1,2}(?![年月日号%个所人名项次万元\d])(?=[\u4e00-\u9fff])|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])")
INLINE_RE = re.compile(r"(?:(?<=\s)|(?<=[。;!?]))(?=" + _MARK + ")")
HEADING_GLUED = re.compile(
    r"^((?:[一二三四五六七八九十]{1,3}、|\([一二三四五六七八九十]{1,3}\))[^\s,。;:]{2,16})\s+(\S.*)$")


def split_inline(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if len(line) < INLINE_MIN or len(INLINE_RE.findall(line)) < 3:
            out.append(line)
            continue
        for piece in INLINE_RE.split(line):
            piece = piece.strip()
            if not piece:
                continue
            m = HEADING_GLUED.match(piece)
            if m:
                out += [m.group(1), "", m.group(2)]
            else:
                out.append(piece)
            out.append("")  # each piece its own paragraph
    return out


_SPACED = re.compile(r"\S\s{2,}\S")


def _spaced_cells(line: str) -> list[str]:
    return [c for c in re.split(r"\s{2,}", line.strip()) if c]


def spaced_tables(lines: list[str]) -> list[str]:
    out: list[str] = []
    width = 0
    for line in lines:
        if "|" in line or "\t" in line:
            width = 0
            out.append(line)
            continue
        if width == 0:
            if _SPACED.search(line):
                cells = _spaced_cells(line)
                if len(cells) >= 2 and all(len(c) <= 12 for c in cells) and table_header(cells):
                    width = len(cells)
                    out.append("\t".join(cells))
                    continue
            out.append(line)
            continue
        if _SPACED.search(line) and len(_spaced_cells(line)) >= 2:
            out.append("\t".join(_spaced_cells(line)))
            continue
        width = 0
        out.append(line)
    return out


_NUMBER = re.compile(r"^\d{1,3}$")
_JOIN = {("责任", "部门"), ("责任", "单位"), ("牵头", "部门"), ("牵头", "单位"), ("配合", "部门"),
         ("配合", "单位"), ("完成", "时限"), ("完成", "时间"), ("时间", "节点"), ("工作", "任务"),
         ("工作", "内容"), ("重点", "任务"), ("任务", "内容"), ("具体", "任务"), ("主要", "任务")}
_DATE_COL = re.compile(r"时限|时间|期限|完成")
_TITLE_DATE = re.compile(r"20\d\d\s*年")


def _header_at(lines: list[str], i: int) -> tuple[list[str], int] | None:
    """The flattened header starting at line i (``序号``): its cells and the next line."""
    if lines[i].strip() not in ("序号", "编号"):
        return None
    cells = [lines[i].strip()]
    j = i + 1
    while j < len(lines) and len(cells) < 12:
        s = lines[j].strip()
        if not s:
            j += 1
            continue
        if len(s) > 8 or _NUMBER.match(s) or re.search(r"[。,;:]", s):
            break
        if (cells[-1], s) in _JOIN:
            cells[-1] += s
        else:
            cells.append(s)
        j += 1
    cols = table_header(cells)
    if cols is None or cols.get("number") != 0:
        return None
    return cells, j


def _title_before(lines: list[str], i: int) -> str | None:
    for k in range(i - 1, max(-1, i - 3), -1):
        s = lines[k].strip()
        if s:
            return s if len(s) <= 40 and _TITLE_DATE.search(s) else None
    return None


def unflatten(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        head = _header_at(lines, i)
        if head is None:
            out.append(lines[i])
            i += 1
            continue
        title = _title_before(lines, i)
        cells, i = head
        cols = table_header(cells)
        assert cols is not None
        extra = [] if "deadline" in cols or title is None else [title]
        out.append("\t".join(cells + (["完成时限"] if extra else [])))
        width = len(cells)
        previous: list[str] = [""] * width
        expected = 1
        row: list[str] | None = None
        rows: list[list[str]] = []
        while i < len(lines):
            s = lines[i].strip()
            if not s:
                i += 1
                continue
            if _NUMBER.match(s) and int(s) == expected and (row is None or len(row) >= 2):
                if row is not None:
                    rows.append(row)
                row = [s]
                expected += 1
                i += 1
                continue
            if row is None or len(row) >= width or _header_at(lines, i) is not None:
                break
            if len(row) >= 2 and (len(s) > 60 or "。" in s):
                break  # a paragraph after the table, not a cell of its last row
            row.append(s)
            i += 1
        if row is not None:
            rows.append(row)
        for r in rows:  # a cell left out is the previous row's (a merged cell, flattened)
            full = r + previous[len(r):]
            previous = full
            out.append("\t".join(full + extra))
        out.append("")
    return out


def reflow(lines: list[str]) -> list[str]:
    """The three repairs, in order (see the module docstring)."""
    return unflatten(spaced_tables(split_inline(lines)))
