"""Decoding stored events fast, for replaying the log into read models.

eventsourcing's mapper resolves the topic, runs the transcoder's generic
decoder and rebuilds a real domain event for every notification. Projections
only read attributes, so this decoder turns the stored JSON straight into a
light object whose class has the event's ``__qualname__`` (``Finding.Recorded``)
and whose attributes are the decoded state, with the same types the mapper
gives (``date``, ``datetime``, ``UUID``, ``Decimal``). A state it does not
understand (an unknown ``_type_``, a cipher or compressor, an upcast) goes to
the full mapper, so the result never differs, only the speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

_DECODERS: dict[str, Callable[[str], Any]] = {
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
    "uuid_hex": UUID,
    "decimal_str": Decimal,
}


class _Unknown(Exception):
    pass


def _hook(obj: dict[str, Any]) -> Any:
    kind = obj.get("_type_")
    if kind is None or len(obj) != 2 or "_data_" not in obj:
        return obj
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise _Unknown(kind)
    return decoder(obj["_data_"])


class LightEvent:
    """A decoded event: attributes only, named like the domain event class."""

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.__dict__!r}>"


class FastDecoder:
    """``decode(notification)`` like the application's, several times faster."""

    def __init__(self, fallback: Callable[[Any], Any]) -> None:
        self.fallback = fallback
        self._classes: dict[str, type] = {}
        self._loads = json.JSONDecoder(object_hook=_hook).decode

    def _class(self, topic: str) -> type:
        cls = self._classes.get(topic)
        if cls is None:
            module, _, qualname = topic.partition(":")
            cls = type(qualname.rsplit(".", 1)[-1], (LightEvent,), {})
            cls.__qualname__ = qualname
            cls.__module__ = module
            self._classes[topic] = cls
        return cls

    def __call__(self, notification: Any) -> Any:
        state = notification.state
        if not state.startswith(b"{"):
            return self.fallback(notification)  # compressed or enciphered
        try:
            data = self._loads(state.decode("utf-8"))
        except (_Unknown, ValueError):
            return self.fallback(notification)
        if "class_version" in data:
            return self.fallback(notification)  # needs upcasting
        data["originator_id"] = notification.originator_id
        data["originator_version"] = notification.originator_version
        event = object.__new__(self._class(notification.topic))
        event.__dict__ = data
        return event
