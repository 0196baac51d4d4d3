"""Working days on the Chinese statutory calendar (调休 included).

The statutory data comes from the ``chinesecalendar`` package. A year it does
not cover is an explicit error, unless the operator supplies that year's
holidays (see :func:`parse_holiday_text`).

A year neither covers gets a PROVISIONAL calendar built from the national
holiday regulation (全国年节及纪念日放假办法, as amended 2024): 元旦 1-1, 春节
除夕–初三, 清明, 劳动节 5-1/5-2, 端午, 中秋, 国庆 10-1..10-3, a 补假 on the next
working day for a holiday on a Saturday or Sunday, weekends otherwise, and no
调休 make-up working days (those are announced year by year). Lunar dates come
from ``lunardate``; 清明 from the standard solar-term formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import chinese_calendar
from lunardate import LunarDate

from domain.errors import CalendarNotCovered, InvalidInput

HOLIDAY_WORDS = {"休": False, "假": False, "holiday": False, "班": True, "workday": True}


def _package_years() -> frozenset[int]:
    days = list(chinese_calendar.holidays) + list(chinese_calendar.workdays)
    return frozenset(d.year for d in days)


PACKAGE_YEARS = _package_years()

# The solar-term formula below holds for 2001-2100; lunardate ends in 2099.
PROVISIONAL_FIRST, PROVISIONAL_LAST = 2001, 2099

PACKAGE_NAMES = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                 "Labour Day": "劳动节", "Dragon Boat Festival": "端午节",
                 "Mid-autumn Festival": "中秋节", "National Day": "国庆节",
                 "Anti-Fascist 70th Day": "抗战胜利纪念日"}

Source = str  # 'package' | 'operator' | 'provisional'

PROVISIONAL_MARK = "（暂定）"
"""Follows a deadline counted on a provisional year wherever a person reads it."""


def qingming(year: int) -> date:
    """清明 by the standard solar-term formula (21st century: C = 4.81)."""
    y = year % 100
    return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)


def _lunar(year: int, month: int, day: int) -> date:
    return LunarDate(year, month, day).to_solar_date()  # type: ignore[no-any-return]


def statutory_holidays(year: int) -> set[date]:
    """The regulation's holidays of ``year`` (without 补假 or 调休)."""
    new_year = _lunar(year, 1, 1)
    days = {date(year, 1, 1), qingming(year), date(year, 5, 1), date(year, 5, 2)}
    days |= {new_year + timedelta(days=k) for k in range(-1, 3)}  # 除夕..初三
    days |= {_lunar(year, 5, 5), _lunar(year, 8, 15)}
    days |= {date(year, 10, d) for d in (1, 2, 3)}
    return {d for d in days if d.year == year}


def provisional_days_off(year: int) -> dict[date, str]:
    """{day: why} for the weekday days off of a provisional year (holidays + 补假)."""
    holidays = statutory_holidays(year)
    off: dict[date, str] = {d: "法定节假日" for d in holidays if d.weekday() < 5}
    taken = set(holidays)
    for h in sorted(holidays):
        if h.weekday() >= 5:
            d = h + timedelta(days=1)
            while d.weekday() >= 5 or d in taken:
                d += timedelta(days=1)
            taken.add(d)
            off[d] = "补假"
    return {d: why for d, why in off.items() if d.year == year}


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

    def __init__(
        self, extra: Mapping[date, bool] | None = None, *, provisional: bool = True
    ) -> None:
        self._extra = dict(extra or {})
        self._extra_years = frozenset(d.year for d in self._extra)
        fixed = PACKAGE_YEARS | self._extra_years
        self._provisional_years = (
            frozenset(range(PROVISIONAL_FIRST, PROVISIONAL_LAST + 1)) - fixed
            if provisional
            else frozenset()
        )
        self._provisional: dict[int, dict[date, str]] = {}
        self.years = fixed | self._provisional_years
        self._memo: dict[date, bool] = {}
        self._counted: dict[tuple[date, int], date] = {}  # deadlines cluster on few dates

    def covers(self, year: int) -> bool:
        return year in self.years

    def source(self, year: int) -> Source | None:
        """Where ``year``'s holidays come from: operator file, package or provisional."""
        if year in self._extra_years:
            return "operator"
        if year in PACKAGE_YEARS:
            return "package"
        if year in self._provisional_years:
            return "provisional"
        return None

    def is_provisional(self, day: date) -> bool:
        return day.year in self._provisional_years

    def touches_provisional(self, start: date, end: date) -> bool:
        """Whether counting from ``start`` to ``end`` used a provisional year."""
        low, high = min(start, end), max(start, end)
        return any(y in self._provisional_years for y in range(low.year, high.year + 1))

    def provisional_days_off(self, year: int) -> dict[date, str]:
        known = self._provisional.get(year)
        if known is None:
            known = self._provisional[year] = provisional_days_off(year)
        return known

    def year_days(self, year: int) -> tuple[Source, list[tuple[date, bool, str]]]:
        """The source of ``year`` and its listed days: (day, is_working_day, why)."""
        if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
            raise InvalidInput(f"年份 year 无效：{year!r}，应为1到9999之间的整数",
                               f"invalid year {year!r}: expected a whole number from 1 to 9999",
                               field="year")
        source = self.source(year)
        if source is None:
            self._check(date(year, 1, 1))
        if source == "operator":
            rows = [(d, w, "调休上班" if w else "休息") for d, w in self._extra.items()
                    if d.year == year]
        elif source == "package":
            rows = [(d, False, PACKAGE_NAMES.get(str(name), "休息"))
                    for d, name in chinese_calendar.holidays.items()
                    if d.year == year and d.weekday() < 5]
            rows += [(d, True, "调休上班") for d in chinese_calendar.workdays
                     if d.year == year and d.weekday() >= 5]
        else:
            rows = [(d, False, why) for d, why in self.provisional_days_off(year).items()]
        return str(source), sorted(rows)

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
        elif day.year in self._provisional_years:
            working = day.weekday() < 5 and day not in self.provisional_days_off(day.year)
        else:
            working = bool(chinese_calendar.is_workday(day))
        self._memo[day] = working
        return working

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself not counted)."""
        try:
            return self._add_working_days(start, n)
        except OverflowError:
            raise _out_of_range(start, n) from None

    def _add_working_days(self, start: date, n: int) -> date:
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
            try:
                return start + timedelta(days=n)
            except OverflowError:
                raise _out_of_range(start, n) from None
        return self.add_working_days(start, n)

    def deadline(self, start: date, n: int, *, calendar_days: bool = False) -> tuple[date, bool]:
        """The deadline ``n`` working (or calendar) days after ``start``, and whether
        counting it used a provisional year."""
        end = self.add_days(start, n, calendar_days=calendar_days)
        return end, self.touches_provisional(start, end)

    def subtract_working_days(self, end: date, n: int) -> date:
        """The date that is n working days before ``end`` (start of the window)."""
        try:
            return self._subtract_working_days(end, n)
        except OverflowError:
            raise _out_of_range(end, -n) from None

    def _subtract_working_days(self, end: date, n: int) -> date:
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


def _out_of_range(start: date, n: int) -> InvalidInput:
    return InvalidInput(
        f"期限超出日历范围：{start.isoformat()} 起 {n} 天",
        f"deadline: {start.isoformat()} plus {n} days is past the calendar's range",
        field="deadline",
    )
