"""An inspection (督导检查): a visit to one unit on one date by named inspectors.

The inspection and the findings it produced are recorded together, in one
save: either all of them are stored or none is.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.units import check_text

MAX_INSPECTORS = 20
MAX_FINDINGS = 200


def check_inspectors(names: list[str]) -> list[str]:
    """At least one inspector, each named, no duplicates."""
    if not isinstance(names, list) or not names:
        raise InvalidInput("督学名单不能为空", "inspectors must name at least one inspector",
                           field="inspectors")
    if len(names) > MAX_INSPECTORS:
        raise InvalidInput(
            f"督学人数过多（{len(names)}人，最多{MAX_INSPECTORS}人）",
            f"too many inspectors ({len(names)} > {MAX_INSPECTORS})",
            field="inspectors",
        )
    cleaned: list[str] = []
    for i, name in enumerate(names):
        text = check_text(name if isinstance(name, str) else None, f"inspectors[{i}]",
                          f"第{i + 1}位督学姓名", max_len=30)
        if text in cleaned:
            raise InvalidInput(f"督学 {text} 重复", f"inspector {text!r} is listed twice",
                               field=f"inspectors[{i}]")
        cleaned.append(text)
    return cleaned


class Inspection(Aggregate):
    """A supervision visit and the findings it recorded."""

    @event("Recorded")
    def __init__(
        self,
        id: UUID,
        unit: str,
        on: date,
        inspectors: list[str],
        finding_ids: list[UUID],
        actor: str,
        recorded_at: datetime,
    ) -> None:
        self.unit = unit
        self.on = on
        self.inspectors = list(inspectors)
        self.finding_ids = list(finding_ids)
        self.recorded_by = actor
        self.recorded_at = recorded_at

    @staticmethod
    def check_findings_count(n: int) -> None:
        if n > MAX_FINDINGS:
            raise InvalidInput(
                f"一次检查的问题过多（{n}条，最多{MAX_FINDINGS}条）",
                f"too many findings in one inspection ({n} > {MAX_FINDINGS})",
                field="findings",
            )
