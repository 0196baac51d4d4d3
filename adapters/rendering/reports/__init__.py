"""Accountability reports and the bulletin: figures from the read model, rendered.

``live(app, db)`` brings the read models up to date and answers at the
clock's now; ``as_of(app, moment)`` replays the events recorded up to a
moment into a scratch in-memory database (the live read models are not
touched) and answers as the system would have then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

from adapters.bootstrap import read_models
from adapters.service_layer.application import Dudao
from domain.errors import NotFound
from domain.rungs import LADDER, Ladder
from projections.accountability import AccountabilityProjection
from projections.cases import CasesProjection
from projections.decode import FastDecoder
from projections.persons import PersonsProjection
from projections.plans import PlansProjection
from projections.reports import Reports, load
from projections.runner import Runner


class View:
    """Reports at one moment, with the connection they read from."""

    def __init__(self, conn: Connection, now: datetime, ladder: Ladder = LADDER) -> None:
        self.conn = conn
        self.now = now
        self.ladder = ladder  # the policy's rungs: the reports' columns
        self.model = load(conn)
        self.reports = Reports(self.model, now, ladder=ladder)

    def period(self, since: date | None) -> View:
        """The same moment, counting only what was on the table from ``since`` on
        (findings still open or closed since then; escalations from then on)."""
        if since is None:
            return self
        other = object.__new__(View)
        other.conn, other.now, other.model = self.conn, self.now, self.model
        other.ladder = self.ladder
        other.reports = Reports(self.model, self.now, since, ladder=self.ladder)
        return other

    def unit(self, code: str) -> dict[str, Any]:
        if code not in self.reports.model.units:
            raise NotFound(f"单位 {code} 不存在", f"unknown unit {code!r}", field="code")
        return self.reports.unit(code, conn=self.conn)

    def bulletin(self) -> dict[str, Any]:
        return self.reports.bulletin()

    def all_units(self) -> dict[str, dict[str, Any]]:
        return self.reports.all_units(self.conn)


@contextmanager
def live(app: Dudao, db: str, *, catch_up: bool = True,
         runner: Runner | None = None) -> Iterator[View]:
    """The live read models, caught up with the log, at the clock's now.

    A long-lived caller (the web pages) passes its own ``runner``; otherwise one
    is made for this call and its engine disposed of afterwards.
    """
    own = runner is None
    runner = runner or read_models(app, db)
    try:
        if catch_up:
            runner.catch_up()
        with runner.engine.connect() as conn:
            yield View(conn, app.now(), app.ladder)
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
            yield View(conn, moment, app.ladder)
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
