"""Dates as plans write them: deadlines (2025年6月底), stages (2024年1月—2024年3月)."""

from __future__ import annotations

import calendar as _calendar
import re
from datetime import date


def last_day(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


DATE_RE = re.compile(
    r"(?<![\d.])(20\d\d|19\d\d)\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日?)?)?"
    r"(?!\s*(?:起|以来|开始|度?的|\d))"
)


def find_deadlines(text: str) -> list[tuple[int, date]]:
    """Every 'YYYY年[M月[D日]]' that reads as a deadline, with its offset."""
    out: list[tuple[int, date]] = []
    for m in DATE_RE.finditer(text):
        year = int(m.group(1))
        try:
            if m.group(3):
                d = date(year, int(m.group(2)), int(m.group(3)))
            elif m.group(2):
                d = last_day(year, int(m.group(2)))
            else:
                d = date(year, 12, 31)
        except ValueError:
            continue
        out.append((m.start(), d))
    return out


MONTH_RE = r"(20\d\d)\s*年\s*(\d{1,2})\s*月"
STAGE_RANGE = re.compile(MONTH_RE + r"(?:\s*(?:\d{1,2}\s*日)?)\s*[-—–~至到]+\s*(?:" + MONTH_RE + r")?")


def parse_stage(text: str) -> tuple[date, date] | None:
    m = STAGE_RANGE.search(text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
        if m.group(3):
            end = last_day(int(m.group(3)), int(m.group(4)))
        else:
            return None
    except ValueError:
        return None
    return (start, end) if end >= start else None


GARBLED_RANGE = re.compile(r"(20\d\d)(\d{1,2})\s*月?\s*[-—–~至到]+\s*(20\d\d)(\d{1,2})\s*月")


def parse_garbled_stage(text: str) -> tuple[date, date] | None:
    """'20241—20243月': 2024年1月—2024年3月 with 年 and a 月 lost in copying."""
    m = GARBLED_RANGE.search(text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
        end = last_day(int(m.group(3)), int(m.group(4)))
    except ValueError:
        return None
    return (start, end) if end >= start else None


def parse_single_month(text: str) -> tuple[date, date] | None:
    m = re.search(MONTH_RE, text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None
    return start, last_day(start.year, start.month)
