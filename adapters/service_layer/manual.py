"""手动升级: an inspector raises a rung of the policy by hand (重大事故 and the like).

A rung the committee decides (``decided_by = "committee"``, the default policy's 问责) opens
its accountability case as it would when the rules raise it: the inspector proposes 问责,
the 督导委员会 decides.

The rung must be one of the policy's and above the highest the finding has reached
(the aggregate refuses one at or below it, and a raise without a reason); its due date,
if the rung has one, is counted from the day of the raise for the finding's severity.
The event records the inspector as its actor, the reason, and the policy's version.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from adapters.service_layer.application import Dudao
from domain.errors import InvalidInput
from rules.ladder import add_days

if TYPE_CHECKING:
    from rules.policy import Policy


def raise_manually(app: Dudao, policy: Policy, finding_id: UUID | str, *, code: str,
                   reason: str, on: date, actor: str) -> dict[str, Any]:
    """Raise rung ``code`` of ``policy`` on a finding from ``on``; returns what was raised."""
    if code not in policy.rungs:
        raise InvalidInput(
            f"升级策略“{policy.title}”（{policy.label()}）没有级别 {code!r}，"
            f"可选：{'、'.join(f'{c}（{r.name}）' for c, r in policy.rungs.items())}",
            f"the policy {policy.label()} has no rung {code!r}", field="rung")
    finding = app.get_finding(finding_id)
    rung = policy.rungs[code]
    days = rung.value("due", finding.severity)
    due = add_days(app.calendar, on, days, rung.days) if days else None
    finding = app.raise_manually(finding.id, rung=policy.rung(code), on=on, due=due,
                                 reason=reason, policy=policy.policy,
                                 policy_version=policy.version, actor=actor,
                                 decided_by=rung.decided_by,
                                 statement_days=policy.accountability.statement_days,
                                 aggravation_months=policy.accountability.aggravation_months)
    raised = finding.escalations[-1]
    return {"finding_id": str(finding.id), "unit": finding.unit, "code": code,
            "rung": raised["rung"], "name": raised["name"], "mode": raised["mode"],
            "rule": raised["rule"], "policy": policy.policy, "policy_version": policy.version,
            "threshold": raised["threshold"], "due": raised["due"],
            "deadline": finding.deadline, "reason": raised["reason"], "actor": actor}
