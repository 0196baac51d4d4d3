"""One validation path for every user value: text, business dates, numbers."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation

from domain.errors import InvalidInput
from domain.time import local_date

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
MAX_DIGITS = 30
MAX_EXPONENT = 30
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str | None, field: str, zh_name: str, *, max_len: int = 200) -> str:
    """Non-empty text without NUL or other control characters (tab/newline/CR allowed)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{zh_name}不能为空", f"{field} must not be empty", field=field)
    if _CONTROL.search(text):
        raise InvalidInput(f"{zh_name}含有不可见的控制字符",
                           f"{field} contains a control character", field=field)
    if len(text) > max_len:
        raise InvalidInput(
            f"{zh_name}过长（{len(text)}字，最多{max_len}字）",
            f"{field} is too long ({len(text)} > {max_len})",
            field=field,
        )
    return text


def check_day(value: date, field: str) -> date:
    """A business date within 2000-01-01..2099-12-31."""
    if not isinstance(value, date) or not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(
            f"日期 {value} 超出范围（{FIRST_DAY}至{LAST_DAY}）",
            f"{field} {value} is out of range ({FIRST_DAY}..{LAST_DAY})",
            field=field,
        )
    return value


def check_number(value: object, field: str = "value") -> str:
    """A finite decimal, at most 30 significant digits and |exponent| <= 30; canonical text."""
    raw = str(value).strip()
    bad = InvalidInput(
        f"数值 {raw[:40]!r} 无效，应为不超过{MAX_DIGITS}位有效数字的数，如 96 或 4.5",
        f"invalid value {raw[:40]!r}: expected a number such as 96 or 4.5"
        f" (at most {MAX_DIGITS} significant digits)",
        field=field,
    )
    if len(raw) > 100:
        raise bad
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise bad from None
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT + MAX_DIGITS:
        raise bad
    number = number.normalize(Context(prec=MAX_DIGITS + 10))
    digits = len(number.as_tuple().digits)
    if digits > MAX_DIGITS or number.adjusted() > MAX_EXPONENT or (
            number and number.adjusted() < -MAX_EXPONENT):
        raise bad
    return format(number, "f")


def check_not_in_future(on: date, now: datetime, field: str = "on") -> date:
    """A business date no later than today (Beijing time) at ``now``."""
    today = local_date(now)
    if on > today:
        raise InvalidInput(
            f"日期 {field}={on} 晚于今天（{today}）",
            f"{field}={on} is after today ({today})",
            field=field,
        )
    return on
