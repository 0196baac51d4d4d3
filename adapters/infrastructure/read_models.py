"""The read models of a store: the projection runner over the live projections, in the same
database as the events (the composition root and the services that rebuild reports use it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.infrastructure.event_store import engine_for, startup_lock
from projections.accountability import AccountabilityProjection
from projections.cases import CasesProjection
from projections.decode import FastDecoder
from projections.findings import FindingsProjection
from projections.persons import PersonsProjection
from projections.plans import PlansProjection
from projections.read import fast_reader
from projections.runner import Projection, Runner

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
