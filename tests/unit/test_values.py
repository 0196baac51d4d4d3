"""One validation path: text, dates and numbers are checked in the domain."""

from datetime import date

import pytest

from domain.errors import InvalidInput
from domain.plans import check_value
from domain.values import check_day, check_number, check_text


def test_nul_and_control_characters_are_refused_naming_the_field():
    for bad in ("web\x00nul", "a\x07b", "x\x1fy"):
        with pytest.raises(InvalidInput) as e:
            check_text(bad, "text", "问题描述")
        assert e.value.field == "text"
    assert check_text("行一\n行二\t尾", "text", "问题描述") == "行一\n行二\t尾"


def test_business_dates_are_2000_to_2099():
    assert check_day(date(2000, 1, 1), "on") == date(2000, 1, 1)
    assert check_day(date(2099, 12, 31), "on") == date(2099, 12, 31)
    for bad in (date(1, 1, 1), date(1999, 12, 31), date(2100, 1, 1), date(9999, 12, 31)):
        with pytest.raises(InvalidInput) as e:
            check_day(bad, "on")
        assert e.value.field == "on"


def test_huge_numbers_are_refused_and_small_ones_are_short():
    for bad in ("1e1000000", "1E+999999", "NaN", "Infinity", "1" * 31, "1e-40", "x"):
        with pytest.raises(InvalidInput):
            check_value(bad)
    assert check_number("96.50") == "96.5"
    assert check_value("1E+3") == "1000"
    assert check_value(" 4.5 ") == "4.5"
