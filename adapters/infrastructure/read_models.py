"""The read models of a store: the projection runner over the live projections, in the same
database as the events (the composition root and the services that rebuild reports use it)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.infrastructure.event_store import engine_for, is_postgres, startup_lock
from projections.accountability import AccountabilityProjection
from projections.cases import CasesProjection
from projections.decode import FastDecoder
from projections.findings import FindingsProjection
from projections.persons import PersonsProjection
from projections.plans import PlansProjection
from projections.read import fast_reader
from projections.runner import Progress, Projection, Runner

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao


def read_models(app: Dudao, db: str, projections: list[Projection] | None = None) -> Runner:
    """The projection runner over the read models, in the same database as the events."""
    with startup_lock(db):  # the read models' tables are made once
        return Runner(app, engine_for(db), projections or default_projections(),
                      decoder=FastDecoder(app.decode), reader=fast_reader(app))


def default_projections() -> list[Projection]:
    """Every live read model. ``findings_view`` follows the accountability projection:
    both are worked out in one pass over each page of events."""
    accountability = AccountabilityProjection()
    return [accountability, FindingsProjection(follow=accountability), PlansProjection(),
            PersonsProjection(), CasesProjection()]


def escalation_model(app: Dudao, db: str, policy: Any, engine: Any = None) -> tuple[Runner, Any]:
    """The sweep's escalation read model of ``policy`` (its table and position, shared with
    the sweep's runner), with a runner of its own: what the desks read the next rung from."""
    from projections.escalation import EscalationProjection

    projection = EscalationProjection(policy, app.calendar)
    with startup_lock(db):
        runner = Runner(app, engine or engine_for(db), [projection],
                        decoder=FastDecoder(app.decode),
                        reader=fast_reader(app))
    return runner, projection


READ_WAIT = 5.0
"""Seconds a server waits for the projector to reach the log's end before it reads; past
that (a projector stuck or gone) it catches the read models up itself."""

PROJECTOR_CHECK = 1.0
"""Seconds a server trusts what it last learnt of whether a projector holds its lease."""


class FollowingRunner(Runner):
    """The read models as a server reads them: kept up to date by the projector.

    A read (``catch_up()`` with no arguments, as every route calls it) returns once the
    read models have reached the log's last position as it is when the read begins, which
    is at or after every write this server acknowledged: a server reads its own writes.
    While a projector holds its lease the server only waits for it (no replay of its
    own); with no projector, or one that has not got there within :data:`READ_WAIT`
    seconds, the server catches up itself, as every server did before (two runners on
    the same read models take turns: :class:`projections.runner.ConcurrentRunner`)."""

    def __init__(self, *args: Any, projector_active: Callable[[], bool],
                 wake: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.projector_active = projector_active
        self.wake = wake
        """Asks the projector to look at the log now (a waiting read need not wait its poll)."""
        self.waited = 0
        """Reads that waited for the projector (and did not catch up themselves)."""
        self.caught_up = 0
        """Reads that caught up themselves."""

    def catch_up(self, *, batch: int = 2000, progress: Progress | None = None,
                 stop_at: int | None = None,
                 should_stop: Callable[[], bool] | None = None) -> int:
        if progress is None and stop_at is None and should_stop is None \
                and self.projector_active():
            target = self.source.last_position()
            if self.wait_for(target):
                return 0
        self.caught_up += 1
        return super().catch_up(batch=batch, progress=progress, stop_at=stop_at,
                                should_stop=should_stop)

    def wait_for(self, target: int, timeout: float = READ_WAIT) -> bool:
        """Whether every read model reached ``target`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        pause = 0.002
        woken = False
        while True:
            if min(self.positions().values(), default=0) >= target:
                self.waited += 1
                return True
            if not woken and self.wake is not None:
                woken = True
                with contextlib.suppress(Exception):  # the projector polls anyway
                    self.wake()
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def projector_watch(db: str, engine: Any) -> Callable[[], bool]:
    """Whether some process holds the projector's lease (asked at most once a second)."""
    if not is_postgres(db):
        return lambda: False
    from adapters.infrastructure.leases import role_held

    known: dict[str, Any] = {"at": -PROJECTOR_CHECK - 1.0, "held": False}
    lock = threading.Lock()

    def active() -> bool:
        now = time.monotonic()
        with lock:
            if now - known["at"] < PROJECTOR_CHECK:
                return bool(known["held"])
        try:
            held = role_held(db, engine, "project")
        except Exception:  # the store unreachable: the read itself will say so
            held = False
        with lock:
            known.update(at=now, held=held)
        return held

    return active


def served_read_models(app: Dudao, db: str) -> FollowingRunner:
    """The read models of ``dudao serve``: followed, on PostgreSQL, from the projector."""
    engine = engine_for(db)
    wake = None
    if is_postgres(db):
        from adapters.infrastructure.leases import wake_projector

        def wake() -> None:
            with engine.begin() as conn:
                wake_projector(db, conn)

    with startup_lock(db):
        return FollowingRunner(app, engine, default_projections(),
                               decoder=FastDecoder(app.decode), reader=fast_reader(app),
                               projector_active=projector_watch(db, engine), wake=wake)
