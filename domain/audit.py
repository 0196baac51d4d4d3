"""An operator's explicit repair of the audit chain, recorded in the log itself.

The store seals only the events it has just inserted. Events found in the log
without a seal (the chain table emptied or shortened, a row inserted directly,
a store from before the chain) are sealed only by ``dudao audit seal
--repair --by NAME``, and that repair is one event of its own, ``Sealed``,
stored and sealed in the same transaction as the seals it adds: who asked
for it, why, when (the application's clock), and which positions it sealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.values import check_text

BY_MAX = 100
REASON_MAX = 1000


def ranges_of(positions: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending positions as runs of consecutive ones: 1,2,3,7 → (1,3),(7,7)."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


class ChainRepair(Aggregate):
    """One sealing of unsealed events, asked for by a named person."""

    @event("Sealed")
    def __init__(
        self,
        by: str,
        reason: str | None,
        ranges: list[list[int]],
        count: int,
        after: int,
        actor: str,
        recorded_at: datetime,
    ) -> None:
        self.by = by
        self.reason = reason
        self.ranges = ranges
        self.count = count
        self.after = after  # the chain head before the repair
        self.actor = actor
        self.recorded_at = recorded_at


def new_repair(*, by: str, reason: str | None, ranges: Sequence[tuple[int, int]], after: int,
               actor: str, recorded_at: datetime) -> ChainRepair:
    """A repair of these runs of positions, its name and reason checked."""
    who = check_text(by, "--by", "补封负责人", max_len=BY_MAX)
    why = None if reason is None else check_text(reason, "--reason", "补封理由",
                                                 max_len=REASON_MAX)
    return ChainRepair(
        by=who, reason=why, ranges=[[a, b] for a, b in ranges],
        count=sum(b - a + 1 for a, b in ranges), after=after, actor=actor,
        recorded_at=recorded_at,
    )
