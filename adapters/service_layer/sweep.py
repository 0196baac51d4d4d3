"""The escalation sweep: find what is due, let the ruleset decide, record the decisions.

``Sweeper.run(now)`` is what ``dudao escalate`` and the service's periodic
timer call. It catches the escalation read model up with the event log, asks
it (one indexed query) for the open findings whose next threshold has come,
hands only their facts to the policy's durable_rules ruleset, and records each
rung the ruleset fired as an ``EscalationRaised`` event on the finding, with
the rule, the policy version, the threshold crossed, the due date it sets, the
facts it fired on and the moment it was decided (several at once, saved in
batches; the read model catches up with them at the start of the next sweep). Thresholds and dues come from
the read model, which counts each rung from the one before: a late sweep
decides exactly what punctual ones would have, and a second sweep at the same
``now`` finds nothing new.

A rung the policy marks ``decided_by = "committee"`` (the default policy's 问责)
decides nothing about accountability: its escalation is recorded as 提请问责 and,
in the same commit, opens an accountability case (问责建议) for the 督导委员会
(``adapters.service_layer.accountability``). The ruleset never records a decision.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection

from adapters.service_layer.application import Dudao
from domain.accountability import case_id
from domain.time import local_date
from projections.escalation import EscalationProjection
from projections.runner import Runner
from rules.engine import compiled
from rules.policy import DEFAULT_POLICY, Policy, load_policy, render_notice

RULES_ACTOR = "dudao:rules"


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """One rung the ruleset fired for one finding."""

    finding_id: str
    unit: str
    code: str
    rung: int
    rule: str
    policy: str
    policy_version: int
    threshold: date
    due: date | None
    deadline: date | None
    notice: str
    facts: dict[str, Any]
    name: str = ""  # the rung's Chinese name in the policy
    # committee: the rung proposes 问责 and opens an accountability case (case_id)
    decided_by: str = "rules"

    @property
    def case_id(self) -> str | None:
        """The accountability case this decision opens (a committee rung's), or None."""
        if self.decided_by != "committee":
            return None
        return str(case_id(UUID(self.finding_id), self.code))

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["case_id"] = self.case_id
        return data


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the length of a sweep, as it was after.

    A sweep allocates hundreds of thousands of small containers (states, facts, events,
    aggregates) that reference counting frees on its own; with the collector on, it
    scans them every few hundred allocations (some 700 collections and about a fifth
    of the sweep's time over 10,000 due findings). Whatever cycles the sweep leaves are
    collected by the next collection after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _days(state: dict[str, Any]) -> dict[str, tuple[int, str, bool]]:
    return {code: (s.get("n") or date.fromisoformat(s["day"]).toordinal(), s["via"], s["fired"])
            for code, s in (state.get("steps") or {}).items()}


class Sweeper:
    """The sweep of one policy over one store."""

    PAGE = 2000
    """Findings recorded per transaction, and events per page of the read model's catch-up."""

    def __init__(self, app: Dudao, engine: Any, policy: Policy | str = DEFAULT_POLICY, *,
                 page: int | None = None) -> None:
        self.app = app
        self.page = page or self.PAGE
        # Set by stop() (SIGTERM, say): the sweep ends at the next page, what it committed
        # stays committed, and the next sweep does the rest. Never cleared.
        self.stopping = threading.Event()
        self.interrupted = False  # the last run stopped before it was done
        self.pending = 0  # the last run's decisions, recorded or not
        self.policy = load_policy(policy) if isinstance(policy, str) else policy
        self.projection = EscalationProjection(self.policy, app.calendar)
        self.runner = Runner(app, engine, [self.projection])
        self.ruleset = compiled(self.policy)
        self.lagged: list[dict[str, Any]] = []  # the last run's 工作滞后 findings
        self.skipped: list[dict[str, str]] = []  # the last run's findings it could not decide

    def stop(self) -> None:
        """Ask a sweep in progress (in another thread) to end at its next page."""
        self.stopping.set()

    def _catch_up(self) -> bool:
        """Catch the read model up, page by page; False when stopped first."""
        self.runner.catch_up(batch=self.page, should_stop=self.stopping.is_set)
        if self.stopping.is_set():
            self.interrupted = True
            return False
        return True

    def unit_name(self, code: str) -> str:
        """A unit's name as a person reads it (its code when it cannot be read)."""
        return self._unit(code)[0]


    def _unit(self, code: str, on: date | None = None) -> tuple[str, str | None]:
        """A unit's name and its principal on ``on`` (its code, when it cannot be read)."""
        try:
            unit = self.app.get_unit(code)
        except Exception:  # naming a skipped finding must not fail either
            return code, None
        try:
            return unit.name, self.app.principal_at(code, on) if on else unit.principal
        except Exception:  # a notice text is no reason to hold a decision back
            return unit.name, unit.principal

    def due(self, today: date, conn: Connection | None = None) -> list[dict[str, Any]]:
        """The states of the open findings whose next threshold is on or before today."""
        if conn is None:
            with self.runner.engine.connect() as own:
                return self.due(today, own)
        t = self.projection.table
        rows = conn.execute(
            select(t.c.state).where(t.c.next_at <= today).order_by(t.c.next_at,
                                                                   t.c.finding_id)
        ).all()
        return [orjson.loads(r[0]) for r in rows]

    def _due_with(self, today: date, unsaved: Sequence[Any]) -> list[dict[str, Any]]:
        """The due states as they would be once ``unsaved`` events were recorded: the read
        model applies them inside a transaction that is rolled back, and the same query
        reads the states there. Nothing is written."""
        if not unsaved:
            return self.due(today)
        with self.runner.engine.connect() as conn:
            transaction = conn.begin()
            try:
                self.projection.apply_many(conn, [(0, e) for e in unsaved])
                return self.due(today, conn)
            finally:
                transaction.rollback()

    def decide(self, now: datetime, unsaved_events: Sequence[Any] = ()) -> list[Decision]:
        """What the ruleset decides at ``now`` (nothing is recorded); nothing when stopped
        before the read model was caught up (it would decide on stale states).

        ``unsaved_events``: events not in the store (a dry run's 工作滞后 findings),
        decided on as if they had been recorded before ``now``."""
        if not self._catch_up():
            return []
        today = local_date(now)
        states = {s["finding_id"]: s for s in self._due_with(today, unsaved_events)}
        today_no = today.toordinal()
        self.skipped = []
        facts_in = []
        for s in list(states.values()):
            try:
                if "skip_reason" in s:  # retried: the calendar may know the year now
                    self.projection.next_at(s)
                    if "skip_reason" in s:
                        raise RuntimeError(s["skip_reason"])
                facts_in.append(self.ruleset.fact(s, _days(s), today_no, "sweep"))
            except Exception as e:
                log.warning("升级巡检跳过问题 %s（单位 %s），下次巡检重试：%s",
                            s["finding_id"], s["unit"], e)
                self.skipped.append({"finding_id": s["finding_id"],
                                     "unit": self.unit_name(s["unit"]), "reason": str(e)})
                del states[s["finding_id"]]
        fired = self.ruleset.decide(facts_in)
        policy = self.policy
        units: dict[tuple[str, date], tuple[str, str | None]] = {}
        decisions = []
        for f in fired:
            state = states[f.finding]
            steps = state["steps"]
            threshold = date.fromisoformat(steps[f.threshold_of]["day"])
            # (a rung taking over a skipped one counts its due from what that one counted from)
            due_text = steps[f.code]["due"]
            due = date.fromisoformat(due_text) if due_text else None
            deadline = date.fromisoformat(state["deadline"]) if state["deadline"] else None
            facts = {
                "today": today.isoformat(),
                "status": state["status"],
                "severity": state["severity"],
                "deadline": state["deadline"],
                "report_on": state["report_on"],
                "failed_reviews": state["failed_reviews"],
                "falsified": state["falsified"],
                "interview_held_on": state["interview_held_on"],
                "rung_so_far": (policy.order[state["top"]]
                                if 0 <= state["top"] < len(policy.order) else None),
                "threshold": threshold.isoformat(),
                "days_since_threshold": (today - threshold).days,
            }
            # {unit} is the unit's name; {principal} the principal in post on the threshold
            key = (state["unit"], threshold)
            unit = units.get(key)
            if unit is None:
                unit = units[key] = self._unit(state["unit"], threshold)
            notice = render_notice(policy, f.code, unit=unit[0], unit_code=state["unit"],
                                   principal=unit[1], text=state["text"], deadline=deadline,
                                   due=due, threshold=threshold)
            decisions.append(Decision(
                finding_id=f.finding, unit=state["unit"], code=f.code, rung=policy.index(f.code),
                rule=f.rule, policy=policy.policy, policy_version=policy.version,
                threshold=threshold, due=due, deadline=deadline, notice=notice, facts=facts,
                name=policy.rungs[f.code].name,
                decided_by=policy.rungs[f.code].decided_by,
            ))
        # Per finding, in the order a punctual sweep would have met them.
        decisions.sort(key=lambda d: (d.finding_id, d.threshold, d.rung))
        return decisions

    def run(self, now: datetime | None = None, *, dry_run: bool = False) -> list[Decision]:
        """Decide at ``now`` (default: the application's clock) and record every decision.

        ``dry_run``: the same sweep, recording nothing, returning what it would record. The
        工作滞后 findings are built and checked as the real run builds them but not saved;
        the read model takes their events in a transaction it rolls back (see
        :meth:`decide`); the decisions are raised on the findings in memory, each refusal
        the aggregate would make made here too; nothing is committed. So the list is the
        real run's at the same ``now``, by the same code, and ``lagged`` lists the 工作滞后
        findings it would record."""
        moment = now or self.app.now()
        self.interrupted = False
        self.pending = 0
        if self.stopping.is_set():
            self.interrupted = True
            return []
        # 工作滞后: lagging plan tasks become findings first, then climb the same ladder.
        rule, today = self.policy.lagging.rule(), local_date(moment)
        unsaved: list[Any] = []
        if dry_run:
            self.lagged, unsaved = self.app.lagging_findings(policy=rule, today=today,
                                                             actor=RULES_ACTOR)
        else:
            self.lagged = self.app.record_lagging(policy=rule, today=today, actor=RULES_ACTOR)
        # Catching up may replay many events; the collector pauses only for the sweep's
        # own work (the catch-up in ``decide`` then finds nothing new).
        if not self._catch_up():
            return []
        with _gc_paused():
            return self._run(moment, unsaved, dry_run)

    def _run(self, moment: datetime, unsaved: Sequence[Any] = (),
             dry_run: bool = False) -> list[Decision]:
        events = [e for finding in unsaved for e in finding.collect_events()]
        decisions = self.decide(moment, events)
        self.pending = len(decisions)
        cases = self.policy.accountability
        if decisions:
            recorded = set(self.app.record_escalations(
                [
                    {"finding_id": d.finding_id, "code": d.code, "rule": d.rule,
                     "policy": d.policy, "policy_version": d.policy_version,
                     "threshold": d.threshold, "due": d.due, "facts": d.facts,
                     "rung": self.policy.rung(d.code),
                     "decided_by": d.decided_by, "rung_name": self.policy.rungs[d.code].name,
                     "statement_days": cases.statement_days,
                     "aggravation_months": cases.aggravation_months}
                    for d in decisions
                ],
                decided_at=moment, actor=RULES_ACTOR, batch=self.page,
                should_stop=self.stopping.is_set, save=not dry_run,
                unsaved={f.id: f for f in unsaved},
            ))
            decisions = [d for d in decisions if (d.finding_id, d.code) in recorded]
            if self.stopping.is_set() and len(decisions) < self.pending:
                self.interrupted = True
        # The read model learns of these escalations at the next catch-up, which every
        # sweep does before it decides: a second sweep at the same now decides nothing.
        return decisions
