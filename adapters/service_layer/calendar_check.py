"""``dudao calendar check``: recorded open deadlines that the calendar now in force would
put on another day.

Each deadline an order or a failed review counted is counted again, from the same
date, the same number of days, working or calendar days, on the calendar in force now
(the package, ``DUDAO_HOLIDAYS``, or the provisional rule): when a year's holidays
were announced after a deadline was counted provisionally, an inspector sees which
deadlines to consider extending. Recorded deadlines are never rewritten.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from adapters.infrastructure.read_models import read_models
from adapters.service_layer.application import Dudao
from domain.errors import DudaoError
from projections.accountability import units
from projections.findings import counted_open_deadlines


def differing_deadlines(app: Dudao, db: str) -> list[dict[str, Any]]:
    """The open deadlines that differ under ``app.calendar``, by unit and deadline."""
    runner = read_models(app, db)
    try:
        runner.catch_up()
        with runner.engine.connect() as conn:
            rows = counted_open_deadlines(conn)
            names = dict(conn.execute(select(units.c.code, units.c.name)).all())
    finally:
        runner.engine.dispose()
    calendar = app.calendar
    out = []
    for r in rows:
        start, within, calendar_days = (r["deadline_from"], r["deadline_within"],
                                        bool(r["deadline_calendar_days"]))
        item: dict[str, Any] = {
            "finding_id": r["finding_id"], "unit": r["unit"],
            "unit_name": names.get(r["unit"], r["unit"]), "ordered_on": start,
            "within": within, "calendar_days": calendar_days,
            "recorded_deadline": r["deadline"],
            "recorded_provisional": bool(r["deadline_provisional"]),
        }
        try:
            now = calendar.add_days(start, within, calendar_days=calendar_days)
        except DudaoError as e:  # a year the calendar cannot count: say so, go on
            out.append(item | {"current_deadline": None, "current_provisional": None,
                               "reason": e.zh})
            continue
        if now != r["deadline"]:
            out.append(item | {"current_deadline": now,
                               "current_provisional": calendar.touches_provisional(start, now)})
    return out
