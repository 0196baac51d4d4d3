"""Business time: China Standard Time, whole days, deadlines at the end of their day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

# China has not observed daylight saving since 1991: a fixed offset is exact
# and keeps the domain free of the tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

Clock = Callable[[], datetime]
"""The one injected source of "now": returns an aware datetime."""


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment."""
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """The last instant of a day in Asia/Shanghai: a deadline's moment."""
    return datetime.combine(day + timedelta(days=1), time.min, SHANGHAI) - timedelta(
        microseconds=1
    )


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def has_passed(deadline: date, now: datetime) -> bool:
    """A deadline has passed once its whole day is over."""
    return local_date(now) > deadline


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always reads ``moment`` (simulation, replay, tests)."""

    def clock() -> datetime:
        return moment

    return clock
