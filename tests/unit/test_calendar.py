from datetime import date

import pytest

from domain.calendar import WorkCalendar, parse_holiday_text
from domain.errors import CalendarNotCovered, InvalidInput

cal = WorkCalendar()


def test_ten_working_days_from_2024_09_25_is_2024_10_14() -> None:
    # 9-26, 9-27, 9-29 (Sunday, make-up day), 9-30, then the National Day
    # holiday 10-01..10-07, then 10-08..10-11 and 10-12 (Saturday, make-up day), 10-14.
    assert cal.add_working_days(date(2024, 9, 25), 10) == date(2024, 10, 14)


def test_make_up_saturday_is_a_working_day() -> None:
    assert cal.is_working_day(date(2024, 10, 12))
    assert date(2024, 10, 12).weekday() == 5


def test_national_day_is_not_a_working_day() -> None:
    assert not cal.is_working_day(date(2024, 10, 1))
    assert not cal.is_working_day(date(2024, 10, 7))  # a Monday inside the holiday


def test_ordinary_weekend_is_not_a_working_day() -> None:
    assert not cal.is_working_day(date(2024, 11, 16))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2024-02-09", 1, "2024-02-18"),  # Spring Festival: 2-10..2-17 off, 2-18 a make-up Sunday
        ("2024-04-30", 1, "2024-05-06"),  # Labour Day 5-01..5-05
        ("2024-12-31", 1, "2025-01-02"),  # New Year's Day
        ("2024-09-25", 3, "2024-09-29"),  # 9-29 is a make-up Sunday
    ],
)
def test_working_days_across_holidays(start: str, n: int, expected: str) -> None:
    assert cal.add_working_days(date.fromisoformat(start), n) == date.fromisoformat(expected)


def test_calendar_days_count_every_day() -> None:
    assert cal.add_days(date(2024, 9, 25), 10, calendar_days=True) == date(2024, 10, 5)


def test_three_working_days_before_the_worked_example_deadline() -> None:
    assert cal.subtract_working_days(date(2024, 10, 14), 3) == date(2024, 10, 10)


def test_uncovered_year_is_an_explicit_error() -> None:
    with pytest.raises(CalendarNotCovered) as e:
        cal.add_working_days(date(2100, 1, 1), 3)  # past the provisional range
    assert "2100" in str(e.value) and "DUDAO_HOLIDAYS" in str(e.value)


def test_operator_holiday_file_covers_a_new_year() -> None:
    extra = parse_holiday_text(
        "# 2099年节假日安排\n2099-01-01 休\n2099-01-02 休\n2099-01-04 班  # 补班\n"
    )
    c = WorkCalendar(extra)
    assert c.covers(2099)
    assert not c.is_working_day(date(2099, 1, 1))  # a Thursday, declared a holiday
    assert c.is_working_day(date(2099, 1, 4))  # a Sunday, declared a make-up day
    assert not c.is_working_day(date(2099, 1, 3))  # an ordinary Saturday
    assert c.add_working_days(date(2098, 12, 31), 2) == date(2099, 1, 5)
    # the package's own years are untouched
    assert c.add_working_days(date(2024, 9, 25), 10) == date(2024, 10, 14)


@pytest.mark.parametrize("text", ["2099-01-01", "2099-13-01 休", "2099-01-01 放假", "x y z"])
def test_bad_holiday_file_line_is_named(text: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_holiday_text(text, source="holidays.txt")
    assert "holidays.txt" in str(e.value) and "第1行" in str(e.value)


# -- provisional years (issue 11, case 1) ---------------------------------------------


def test_2026_12_18_plus_ten_working_days_is_2027_01_04_provisionally() -> None:
    # 12-21..25, 12-28..31, 2027-01-01 (Friday, 元旦) off, 01-04 the tenth.
    assert cal.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 4)
    assert cal.source(2027) == "provisional" and cal.is_provisional(date(2027, 1, 4))
    assert cal.source(2026) == "package" and not cal.is_provisional(date(2026, 12, 18))
    assert cal.touches_provisional(date(2026, 12, 18), date(2027, 1, 4))
    assert not cal.touches_provisional(date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("year", "day"), [(2008, 4), (2020, 4), (2024, 4), (2025, 4), (2026, 5)]
)
def test_qingming_solar_term(year: int, day: int) -> None:
    from domain.calendar import qingming

    assert qingming(year) == date(year, 4, day)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_provisional_holidays_are_days_off_in_the_package(year: int) -> None:
    # (the 2024 amendment made 除夕 a holiday from 2025; in 2024 it was a working day)
    # The package adds 调休 on top, so each statutory day of the regulation must be
    # a day off there; this checks the lunar and solar-term dates against real years.
    from domain.calendar import statutory_holidays

    days = statutory_holidays(year)
    assert len(days) >= 12
    if year == 2024:
        days.discard(date(2024, 2, 9))
    for d in days:
        assert not cal.is_working_day(d), d


def test_provisional_2027_days_off() -> None:
    from domain.calendar import provisional_days_off

    off = provisional_days_off(2027)
    # 春节 2027: 除夕 02-05 (Fri) .. 初三 02-08 (Mon); 02-06/02-07 fall on a weekend
    # and give 补假 on 02-09 and 02-10.
    for d in ("2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",
              "2027-04-05", "2027-06-09", "2027-09-15", "2027-10-01"):
        assert date.fromisoformat(d) in off, d
    # 国庆 10-02/10-03 fall on Sat/Sun: 补假 10-04 and 10-05; no make-up working days.
    assert off[date(2027, 10, 4)] == "补假" and off[date(2027, 10, 5)] == "补假"
    assert not cal.is_working_day(date(2027, 10, 5))
    assert not cal.is_working_day(date(2027, 2, 6))  # a Saturday stays a rest day
    assert cal.is_working_day(date(2027, 10, 6))


def test_operator_file_overrides_provisional() -> None:
    c = WorkCalendar(parse_holiday_text("2027-01-04 休\n"))
    assert c.source(2027) == "operator" and not c.is_provisional(date(2027, 1, 4))
    assert not c.is_working_day(date(2027, 1, 4))
    # the file lists only 01-04, so 2027-01-01 (元旦 provisionally) is a working day here
    assert c.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 1)


def test_without_provisional_a_new_year_is_not_covered() -> None:
    with pytest.raises(CalendarNotCovered):
        WorkCalendar(provisional=False).add_working_days(date(2027, 1, 1), 1)


@pytest.mark.parametrize("calendar_days", [True, False])
def test_overflow_past_year_9999_is_invalid_input(calendar_days: bool) -> None:
    with pytest.raises(InvalidInput) as e:
        WorkCalendar(parse_holiday_text("9999-12-30 休\n")).add_days(
            date(9999, 12, 31), 5, calendar_days=calendar_days
        )
    assert "deadline" in str(e.value) and "期限" in str(e.value)
