"""Accountability reports and the bulletin: figures from the read model, rendered.

``live(app, db)`` brings the read models up to date and answers at the
clock's now; ``as_of(app, moment)`` replays the events recorded up to a
moment into a scratch in-memory database (the live read models are not
touched) and answers as the system would have then.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from domain.errors import NotFound
from domain.rungs import LADDER, Ladder
from domain.time import local_date
from domain.units import KINDS
from projections.accountability import AccountabilityProjection
from projections.accountability import units as units_table
from projections.cases import CasesProjection
from projections.decode import FastDecoder
from projections.persons import PersonsProjection
from projections.plans import PlansProjection, lagging_outside
from projections.reports import ReadModel, Reports, load
from projections.runner import Runner, positions


class Memo:
    """What the live views of one long-lived runner computed at one state of the read
    models: the loaded model, and per day and period the reports and the bulletin.

    The state is every read model's position (``projection_positions``): an event applied
    to any of them moves one, so a page after a write reads afresh, and pages between
    writes (most of them) reuse the work. Only live views of a caller's own runner (the
    web pages) keep one; ``as_of`` and the command line read afresh every time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: tuple[Any, ...] | None = None
        # keyed by the state too: a view still computing at an older state, storing its
        # result after a newer one reset the memo, stores it where no newer view looks
        self.models: dict[tuple[Any, ...], ReadModel] = {}
        self.reports: dict[tuple[Any, ...], Reports] = {}
        self.bulletins: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.counted: dict[tuple[Any, ...], Reports] = {}

    def at(self, state: tuple[Any, ...]) -> tuple[Any, ...]:
        """Start afresh unless the read models are at ``state`` still; returns it."""
        with self.lock:
            if state != self.state:
                self.state = state
                self.models, self.reports, self.bulletins = {}, {}, {}
                self.counted = {}
        return state


MEMOS: WeakKeyDictionary[Runner, Memo] = WeakKeyDictionary()


def read_state(conn: Connection) -> tuple[Any, ...]:
    """Every read model's position: what a :class:`Memo` is valid for."""
    return tuple(conn.execute(select(positions.c.name, positions.c.position)
                              .order_by(positions.c.name)).all())


def at_moment(kept: Reports, now: datetime) -> Reports:
    """Kept reports, answering at this request's moment (the same figures)."""
    if kept.now == now:
        return kept
    mine = copy.copy(kept)
    mine.now = now
    return mine


class View:
    """Reports at one moment, with the connection they read from.

    Nothing is read until a page asks: a page that shows one finding reads its row and
    ``units`` (names), not the whole read model that ``model`` and ``reports`` load; the
    bulletin and a unit's report are ``counted`` in SQL (GROUP BY over the read model,
    then the unit's own rows), which a page after a write can afford at 1,000 units.
    With a :class:`Memo` (live views of the web pages' runner) what was computed at the
    same state of the read models, on the same day, is reused.
    """

    def __init__(self, conn: Connection, now: datetime, since: date | None = None,
                 memo: Memo | None = None, state: tuple[Any, ...] = (),
                 ladder: Ladder = LADDER, lag: Any = None, calendar: Any = None) -> None:
        self.conn = conn
        # the lagging rule (whom the 督导室 holds to account) and the calendar it counts by:
        # the bulletin lists the others' lagging tasks as 滞后
        self.lag = lag
        self.calendar = calendar
        self.now = now
        self.ladder = ladder  # the policy's rungs: the reports' columns
        self.since = since
        self.today = local_date(now)
        self.memo = memo
        self.state = state

    @cached_property
    def model(self) -> ReadModel:
        memo = self.memo
        if memo is None:
            return load(self.conn)
        model = memo.models.get(self.state)
        if model is None:
            model = memo.models[self.state] = load(self.conn)
        return model

    @cached_property
    def reports(self) -> Reports:
        memo = self.memo
        if memo is None:
            return Reports(self.model, self.now, self.since, ladder=self.ladder)
        key = (self.state, self.today, self.since)
        kept = memo.reports.get(key)
        if kept is None:
            kept = memo.reports[key] = Reports(self.model, self.now, self.since,
                                               ladder=self.ladder)
        return at_moment(kept, self.now)

    @cached_property
    def counted(self) -> Reports:
        """The reports counted in SQL (the bulletin, a unit's report)."""
        memo = self.memo
        if memo is None:
            return Reports(None, self.now, self.since, ladder=self.ladder, conn=self.conn)
        key = (self.state, self.today, self.since)
        kept = memo.counted.get(key)
        if kept is None:
            kept = memo.counted[key] = Reports(None, self.now, self.since, ladder=self.ladder,
                                               conn=self.conn)
        return at_moment(kept, self.now)

    @cached_property
    def units(self) -> dict[str, dict[str, Any]]:
        """Every unit's row (code, name, parent, principal, kind), by code."""
        if "model" in self.__dict__ or (self.memo is not None
                                        and self.state in self.memo.models):
            return self.model.units
        if self.memo is not None and (self.state, self.today, self.since) in self.memo.counted:
            return self.counted.units
        result = self.conn.execute(select(units_table))
        names = list(result.keys())  # dicts by zip: row._mapping costs 40 ms per 1,000
        return {d["code"]: d for d in (dict(zip(names, r, strict=True)) for r in result)}

    def period(self, since: date | None) -> View:
        """The same moment, counting only what was on the table from ``since`` on
        (findings still open or closed since then; escalations from then on)."""
        if since is None:
            return self
        other = View(self.conn, self.now, since, self.memo, self.state, self.ladder,
                     self.lag, self.calendar)
        if "model" in self.__dict__:
            other.model = self.model
        return other

    def unit(self, code: str) -> dict[str, Any]:
        if code not in self.counted.units:
            raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field="code")
        return self.counted.unit(code, conn=self.conn)

    def bulletin(self) -> dict[str, Any]:
        if self.memo is None:
            return self._bulletin()
        key = (self.state, self.today, self.since)
        kept = self.memo.bulletins.get(key)
        if kept is None:
            kept = self.memo.bulletins[key] = self._bulletin()
        return kept | {"as_of": self.now}

    def _bulletin(self) -> dict[str, Any]:
        data = self.counted.bulletin(self.conn)
        lagging: list[dict[str, Any]] = []
        if self.lag is not None and self.calendar is not None:
            lagging = lagging_outside(self.conn, self.units, self.today, self.lag,
                                      self.calendar)
            for u in lagging:
                u["kind_label"] = KINDS.get(u["kind"], "其他")
        data["lagging_outside"] = lagging
        return data

    def all_units(self) -> dict[str, dict[str, Any]]:
        return self.reports.all_units(self.conn)


@contextmanager
def live(app: Dudao, db: str, *, catch_up: bool = True,
         runner: Runner | None = None) -> Iterator[View]:
    """The live read models, caught up with the log, at the clock's now.

    A long-lived caller (the web pages) passes its own ``runner`` (and its views share a
    :class:`Memo`); otherwise one is made for this call and its engine disposed of
    afterwards.
    """
    own = runner is None
    runner = runner or read_models(app, db)
    try:
        if catch_up:
            runner.catch_up()
        with runner.engine.connect() as conn:
            if own:
                yield View(conn, app.now(), ladder=app.ladder, lag=app.lag_policy,
                           calendar=app.calendar)
            else:
                memo = MEMOS.get(runner)
                if memo is None:
                    memo = MEMOS.setdefault(runner, Memo())
                yield View(conn, app.now(), memo=memo, state=memo.at(read_state(conn)),
                           ladder=app.ladder, lag=app.lag_policy, calendar=app.calendar)
    finally:
        if own:
            runner.engine.dispose()


def scratch_runner(app: Dudao, moment: datetime) -> Runner:
    """A runner into a fresh in-memory SQLite database over the events recorded up to ``moment``."""
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    return Runner(app, engine, [AccountabilityProjection(as_of=moment),
                                PlansProjection(as_of=moment), PersonsProjection(as_of=moment),
                                CasesProjection(as_of=moment)],
                  decoder=FastDecoder(app.decode))


@contextmanager
def as_of(app: Dudao, moment: datetime) -> Iterator[View]:
    """What the system knew at ``moment``: events recorded up to it, figures at it."""
    runner = scratch_runner(app, moment)
    try:
        runner.catch_up(batch=5000)
        with runner.engine.connect() as conn:
            yield View(conn, moment, ladder=app.ladder, lag=app.lag_policy,
                       calendar=app.calendar)
    finally:
        runner.engine.dispose()


@contextmanager
def view(app: Dudao, db: str, moment: datetime | None = None) -> Iterator[View]:
    if moment is None:
        with live(app, db) as v:
            yield v
    else:
        with as_of(app, moment) as v:
            yield v
