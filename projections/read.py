"""Reading pages of the event log fast, for replaying it into read models.

eventsourcing's SQLite recorder builds a ``Notification`` dataclass per stored
event and its originator id with ``UUID(text)``: together more than the
reading itself. ``fast_reader(app)`` reads the same rows with one query
through the recorder's own connection pool and returns them as named tuples
with the same fields (``id``, ``originator_id``, ``originator_version``,
``topic``, ``state``), the id built straight from its hexadecimal digits.
Other recorders (PostgreSQL) keep the application's ``read_log``;
tests/integration/test_decode.py (and tests/unit/test_fast_decoder.py) compares the two.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple
from uuid import UUID, SafeUUID

from eventsourcing.sqlite import SQLiteApplicationRecorder

Reader = Callable[[int, int], Sequence[Any]]

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


class StoredNote(NamedTuple):
    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


def uuid_of(text: str) -> UUID:
    """``UUID(text)`` for the recorder's 32 hexadecimal digits (or the dashed form)."""
    value = int(text.replace("-", ""), 16)
    if len(text) not in (32, 36) or value >> 128:
        return UUID(text)  # not a plain UUID text: let UUID say what is wrong
    u = _new(UUID)
    _set(u, "int", value)
    _set(u, "is_safe", _UNKNOWN)
    return u


def fast_reader(app: Any) -> Reader | None:
    """A ``read_log(start, limit)`` equivalent for an application on SQLite, else None."""
    recorder = getattr(app, "recorder", None)
    if not isinstance(recorder, SQLiteApplicationRecorder):
        return None
    datastore = recorder.datastore
    if datastore.originator_id_type != "uuid":
        return None
    sql = (f"SELECT rowid, originator_id, originator_version, topic, state "
           f"FROM {recorder.events_table_name} WHERE rowid>=? ORDER BY rowid LIMIT ?")
    note = StoredNote
    make = tuple.__new__  # the named tuple without its Python-level __new__

    def read(start: int, limit: int) -> list[StoredNote]:
        try:
            with datastore.transaction(commit=False) as c:
                c.execute(sql, (start, limit))
                rows = c.fetchall()
        except sqlite3.Error:
            return list(app.read_log(start, limit))  # the application reports it its way
        ids: dict[str, UUID] = {}  # one UUID object per aggregate in a page
        out = []
        for r in rows:
            text = r[1]
            oid = ids.get(text)
            if oid is None:
                oid = ids[text] = uuid_of(text)
            out.append(make(note, (r[0], oid, r[2], r[3], r[4])))
        return out

    return read
