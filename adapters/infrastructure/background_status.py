"""What ``/health``, ``/ready`` (and metrics) say of the background roles: who holds each
lease and since when, how far the projector is behind the log, how many notices wait.

Every figure is read from the store, so any server reports the same, whichever process
runs the roles: the leases from :func:`adapters.infrastructure.leases.holders`, the
projector's lag as the log's last position minus the lowest read-model position, the
publisher's backlog as the escalations after its position (counted by a
:class:`adapters.infrastructure.notice_outbox.Backlog`: each event read at most once).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from adapters.infrastructure.leases import Holder, holders
from adapters.infrastructure.notice_outbox import Backlog, notice_positions
from adapters.service_layer.application import Dudao
from projections.runner import Runner

PUBLISHER = "notices"
"""The position's name of ``dudao serve``'s and ``dudao worker``'s publisher."""


class BackgroundStatus:
    def __init__(self, app: Dudao, db: str, engine: Engine, runner: Runner) -> None:
        self.app = app
        self.db = db
        self.engine = engine
        self.runner = runner
        self.backlog = Backlog(app.read_log)

    def leases(self) -> list[Holder]:
        return holders(self.db, self.engine)

    def projector_lag(self, last: int | None = None) -> int:
        """Events of the log the read models have not applied yet."""
        last = self.app.last_position() if last is None else last
        return max(0, last - min(self.runner.positions().values(), default=0))

    def publisher_position(self) -> int:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(notice_positions.name):
                return 0
            row = conn.execute(select(notice_positions.c.position)
                               .where(notice_positions.c.name == PUBLISHER)).first()
        return int(row[0]) if row else 0

    def publisher_backlog(self) -> int:
        """Escalations recorded after the publisher's position (not yet acknowledged by NATS)."""
        return self.backlog.count(self.publisher_position())

    def report(self) -> dict[str, Any]:
        last = self.app.last_position()
        return {"leases": [h.as_dict() for h in self.leases()],
                "projector_lag": self.projector_lag(last),
                "publisher_backlog": self.publisher_backlog()}


def status_of(c: Any) -> BackgroundStatus:
    """The components' status (made on first use, kept in ``c.background['status']``)."""
    status = c.background.get("status")
    if status is None:
        status = c.background.setdefault("status", BackgroundStatus(c.app, c.db, c.engine,
                                                                    c.runner))
    return status  # type: ignore[no-any-return]
