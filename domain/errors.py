"""Domain errors: every refusal says why, in Chinese and in English."""

from __future__ import annotations


class DudaoError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, zh: str, en: str, *, field: str | None = None) -> None:
        self.zh = zh
        self.en = en
        self.field = field
        super().__init__(f"{zh} ({en})")

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})"


class InvalidInput(DudaoError):
    """A value is malformed or out of range; names the field."""


class NotFound(DudaoError):
    """The unit, finding or other object does not exist."""


class Refused(DudaoError):
    """The command makes no sense in the current state."""


class Conflict(DudaoError):
    """Someone else changed the same object at the same time, or a key was reused."""


class CalendarNotCovered(DudaoError):
    """The working-day calendar does not know the year asked about."""
