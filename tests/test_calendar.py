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
        cal.add_working_days(date(2099, 1, 1), 3)
    assert "2099" in str(e.value) and "DUDAO_HOLIDAYS" in str(e.value)


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
