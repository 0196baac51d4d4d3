"""The event classes the read models apply, matched by class.

Each read model looks an event's class up in one of these dicts (one lookup per
event, no parsing of names). The names are the aggregates' own (``@event("...")``)
and are what the read models store (the timelines' ``kind``); the classes are
resolved from them once, here. The fast decoder (projections/decode.py) builds
events of these same classes, so both decoders' events match.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import TopicError, resolve_topic

from domain.accountability import AccountabilityCase
from domain.findings import Finding
from domain.plans import Task
from domain.units import Unit


def event_classes(aggregate: type, *names: str) -> dict[type, str]:
    """{event class: its name} for these events of ``aggregate``."""
    out: dict[type, str] = {}
    for name in names:
        cls: Any = getattr(aggregate, name)
        assert isinstance(cls, type) and issubclass(cls, aggregate.Event), name  # type: ignore[attr-defined]
        out[cls] = name
    return out


FINDING_EVENTS = event_classes(
    Finding, "Recorded", "RectificationOrdered", "ReportSubmitted", "ReviewPassed",
    "ReviewFailed", "ReportFoundFalse", "ExtensionGranted", "InterviewHeld",
    "EscalationRaised", "ExtensionRequested", "ExtensionRequestDecided",
)
UNIT_REGISTERED: Any = getattr(Unit, "Registered")  # noqa: B009
UNIT_KIND_CHANGED: Any = getattr(Unit, "KindChanged")  # noqa: B009
UNIT_MEMBERS_SET: Any = getattr(Unit, "MembersSet")  # noqa: B009
TASK_EVENTS = event_classes(Task, "Created", "ProgressReported", "Closed", "Edited")
CASE_EVENTS = event_classes(
    AccountabilityCase, "Opened", "Investigated", "Notified", "Stated", "Decided", "Dismissed",
)
FINDING_RECORDED: Any = getattr(Finding, "Recorded")  # noqa: B009
ESCALATION_RAISED: Any = getattr(Finding, "EscalationRaised")  # noqa: B009

_BY_TOPIC: dict[str, type | None] = {}


def event_class(topic: str) -> type | None:
    """The event class a stored event's topic names (resolved once per topic, with
    eventsourcing's topic resolution: renamed or moved classes included), or None."""
    try:
        return _BY_TOPIC[topic]
    except KeyError:
        pass
    try:
        cls: type | None = resolve_topic(topic)
    except TopicError:
        cls = None
    _BY_TOPIC[topic] = cls
    return cls
