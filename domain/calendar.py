"""Working days on the Chinese statutory calendar (调休 included).

The statutory data comes from the ``chinesecalendar`` package. A year it does
not cover is an explicit error, unless the operator supplies that year's
holidays (see :func:`parse_holiday_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import chinese_calendar

from domain.errors import CalendarNotCovered, InvalidInput

HOLIDAY_WORDS = {"休": False, "假": False, "holiday": False, "班": True, "workday": True}


def _package_years() -> frozenset[int]:
    days = list(chinese_calendar.holidays) + list(chinese_calendar.workdays)
    return frozenset(d.year for d in days)


PACKAGE_YEARS = _package_years()


def parse_holiday_text(text: str, source: str = "DUDAO_HOLIDAYS") -> dict[date, bool]:
    """Parse an operator's holiday file.

    One day per line, ``YYYY-MM-DD 休`` for a statutory holiday or
    ``YYYY-MM-DD 班`` for a make-up working day (``holiday``/``workday`` are
    accepted too); ``#`` starts a comment; a line ``YYYY`` alone declares a year
    covered even if it lists no day. Returns {day: is_working_day}; the years
    of the file are covered. Weekends not listed are rest days, weekdays not
    listed are working days.
    """
    days: dict[date, bool] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in HOLIDAY_WORDS:
            raise InvalidInput(
                f"{source} 第{number}行格式不对，应为“YYYY-MM-DD 休”或“YYYY-MM-DD 班”：{raw!r}",
                f"{source} line {number}: expected 'YYYY-MM-DD 休|班', got {raw!r}",
                field=source,
            )
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            raise InvalidInput(
                f"{source} 第{number}行日期无效：{parts[0]!r}",
                f"{source} line {number}: invalid date {parts[0]!r}",
                field=source,
            ) from None
        days[day] = HOLIDAY_WORDS[parts[1]]
    return days


class WorkCalendar:
    """Counts working days and calendar days from a date."""

    def __init__(self, extra: Mapping[date, bool] | None = None) -> None:
        self._extra = dict(extra or {})
        self._extra_years = frozenset(d.year for d in self._extra)
        self.years = PACKAGE_YEARS | self._extra_years
        self._memo: dict[date, bool] = {}
        self._counted: dict[tuple[date, int], date] = {}  # deadlines cluster on few dates

    def covers(self, year: int) -> bool:
        return year in self.years

    def _check(self, day: date) -> None:
        if day.year not in self.years:
            first, last = min(PACKAGE_YEARS), max(PACKAGE_YEARS)
            raise CalendarNotCovered(
                f"工作日历不含{day.year}年的法定节假日安排（内置{first}–{last}年），"
                f"请通过 DUDAO_HOLIDAYS 提供该年的节假日文件",
                f"the working-day calendar does not cover {day.year} "
                f"(built in: {first}-{last}); supply its holidays with DUDAO_HOLIDAYS",
                field="calendar",
            )

    def is_working_day(self, day: date) -> bool:
        memo = self._memo.get(day)
        if memo is not None:
            return memo
        self._check(day)
        if day.year in self._extra_years:
            known = self._extra.get(day)
            working = known if known is not None else day.weekday() < 5
        else:
            working = bool(chinese_calendar.is_workday(day))
        self._memo[day] = working
        return working

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself not counted)."""
        known = self._counted.get((start, n))
        if known is not None:
            return known
        day = start
        remaining = n
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        self._counted[(start, n)] = day
        return day

    def add_days(self, start: date, n: int, *, calendar_days: bool = False) -> date:
        if calendar_days:
            return start + timedelta(days=n)
        return self.add_working_days(start, n)

    def subtract_working_days(self, end: date, n: int) -> date:
        """The date that is n working days before ``end`` (start of the window)."""
        known = self._counted.get((end, -n))
        if known is not None:
            return known
        day = end
        remaining = n
        while remaining > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        self._counted[(end, -n)] = day
        return day

    def working_days(self, days: Iterable[date]) -> list[date]:
        return [d for d in days if self.is_working_day(d)]
