"""Decoding stored events fast, for replaying the log into read models.

eventsourcing's mapper decodes the stored JSON with the standard library and
a Python hook per object; parsing is most of a replay's cost after the
projections themselves. This decoder parses with orjson, turns the
transcoded values (``{"_type_": "date_iso", "_data_": ...}`` and the other
transcodings the application registers) back into ``date``, ``datetime``,
``UUID`` and ``Decimal``, and builds the same domain event object the mapper
would (its class, its ``__dict__``). Anything else (a type it does not know,
a compressed or enciphered state, an event to upcast) goes to the mapper, so
the result is always the mapper's; tests/integration/test_decode.py (and tests/unit/test_fast_decoder.py) compares the two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime_iso": datetime.fromisoformat,
    "date_iso": date.fromisoformat,
    "uuid_hex": UUID,
    "decimal_str": Decimal,
}


class _Unknown(Exception):
    pass


def _value(value: Any) -> Any:
    if type(value) is dict:
        kind = value.get("_type_")
        if kind is not None and "_data_" in value and len(value) == 2:
            decoder = _DECODERS.get(kind)
            if decoder is None:
                raise _Unknown(kind)
            return decoder(value["_data_"])
        return {k: _value(v) for k, v in value.items()}
    if type(value) is list:
        return [_value(v) for v in value]
    return value


def _no_nul(value: Any) -> Any:
    """A NUL stored before input was checked (issue 11): PostgreSQL text refuses it."""
    if type(value) is str:
        return value.replace("\x00", "\ufffd")
    if type(value) is dict:
        return {k: _no_nul(v) for k, v in value.items()}
    if type(value) is list:
        return [_no_nul(v) for v in value]
    return value


class FastDecoder:
    """``decoder(notification)`` returns what ``mapper.to_domain_event`` would."""

    def __init__(self, fallback: Callable[[Any], Any]) -> None:
        self.fallback = fallback
        self._classes: dict[str, Any] = {}  # topic: class, or False

    def __call__(self, notification: Any) -> Any:
        state = notification.state
        if state[:1] != b"{":
            return self.fallback(notification)  # compressed or enciphered
        topic = notification.topic
        cls: Any = self._classes.get(topic)
        if cls is None:
            cls = resolve_topic(topic)
            if getattr(cls, "class_version", 1) != 1:
                cls = False  # may need upcasting: always the mapper's
            self._classes[topic] = cls
        if cls is False:
            return self.fallback(notification)
        decoders = _DECODERS
        try:
            data = orjson.loads(state)
            if b"\\u0000" in state:
                data = _no_nul(data)
            for key, value in data.items():
                kind = type(value)
                if kind is dict:
                    # most values that are not plain JSON are one transcoded date or time
                    tag = value.get("_type_")
                    if tag is not None and len(value) == 2 and "_data_" in value:
                        decoder = decoders.get(tag)
                        if decoder is None:
                            raise _Unknown(tag)
                        data[key] = decoder(value["_data_"])
                    else:
                        data[key] = _value(value)
                elif kind is list:
                    data[key] = _value(value)
        except (_Unknown, ValueError, TypeError):
            return self.fallback(notification)
        if "class_version" in data:
            return self.fallback(notification)
        data["originator_id"] = notification.originator_id
        data["originator_version"] = notification.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", data)
        return event
