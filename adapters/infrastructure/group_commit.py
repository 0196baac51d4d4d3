"""Group commit for the served application: concurrent saves share one transaction.

When several requests save at the same moment, the first to arrive becomes the
leader: it takes every save waiting at that time and writes all their events in
one transaction (one fsync on SQLite, one round trip on PostgreSQL), then wakes
the others with their result. If that transaction fails (one request lost a race
on its aggregate's version, say), the leader saves each request on its own, so
each request gets exactly its own outcome and no request is half written: a
request's events are always in one transaction, with or without company.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Save:
    """One request's save. ``done`` is a lock taken at birth and released by the
    leader once the save has its outcome: acquiring it waits for that (a bare lock
    costs much less than a ``threading.Event``, its condition and its waiter list)."""

    __slots__ = ("done", "error", "events")

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.done = threading.Lock()
        self.done.acquire()
        self.error: BaseException | None = None


class GroupCommitter:
    """Batches concurrent ``save(*events)`` calls (leader/follower, no extra thread)."""

    def __init__(self, save: Callable[..., Any], *, max_batch: int = 256) -> None:
        self._save = save
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Save] = []
        self._leading = False
        self.batches = 0
        self.saves = 0

    @staticmethod
    def events_of(objs: Sequence[Any]) -> list[Any]:
        """The pending events of aggregates (collected now) and events given as such.

        An aggregate is what ``CollectEventsProtocol`` says: it has ``collect_events``.
        """
        events: list[Any] = []
        for obj in objs:
            if obj is None:
                continue
            # The check CollectEventsProtocol makes, without typing's slow runtime
            # Protocol isinstance (it walks the protocol's attributes on every call).
            collect = getattr(obj, "collect_events", None)
            if callable(collect):
                events.extend(collect())
            else:
                events.append(obj)
        return events

    def save(self, objs: Sequence[Any]) -> None:
        mine = _Save(self.events_of(objs))
        if not mine.events:
            return
        with self._lock:
            self._waiting.append(mine)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        mine.done.acquire()  # released by the leader (maybe this thread) when written
        if mine.error is not None:
            raise mine.error

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                if not batch:
                    self._leading = False
                    return
            self._write(batch)

    def _write(self, batch: list[_Save]) -> None:
        self.batches += 1
        self.saves += len(batch)
        try:
            if len(batch) == 1:
                self._save(*batch[0].events)
            else:
                try:
                    self._save(*(e for s in batch for e in s.events))
                except Exception:  # retried one by one below, each its own outcome
                    for s in batch:
                        try:
                            self._save(*s.events)
                        except BaseException as e:  # handed to its own request
                            s.error = e
                    return
        except BaseException as e:  # the single save's own error
            batch[0].error = e
        finally:
            for s in batch:
                s.done.release()
