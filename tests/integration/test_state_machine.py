"""Random command sequences never reach an impossible state, a refused command
records nothing, and rebuilding a finding (or its accountability case) from its stored
events gives the same state.

The case's life is part of it. The finding's 问责 is a committee rung here, so its
escalation opens a case, which random notices, statements (by its unit, another unit or
staff), investigations, decisions and dismissals (by any role) then try to move on:
``FindingLife`` mixes them with the finding's own commands, ``CaseLife`` starts from a
case just opened and spends every step on it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.accountability import CASE_STATUSES, case_id
from domain.errors import DudaoError
from domain.findings import RUNGS, STATUSES
from domain.rungs import PERSON_MODES, UNIT_MODES
from rules.policy import load_policy
from tests.conftest import Clock

START = date(2024, 9, 2)
days = st.integers(min_value=0, max_value=120).map(lambda n: START + timedelta(days=n))
within = st.integers(min_value=-1, max_value=30)
codes = st.sampled_from([*RUNGS, "bogus"])
# the rungs a policy may have beyond the built-in ones: 挂牌督导 between 通报 and 问责
LISTED = load_policy(str(Path(__file__).resolve().parents[2] / "features/策略示例/listed.toml"))
rungs = st.sampled_from(LISTED.ladder())
reasons = st.sampled_from(["", "  ", "发生重大安全事故"])
# a case's steps are dated a few days after its last step, so that many go through
offsets = st.integers(min_value=-2, max_value=12)
# mostly what goes through, sometimes what must be refused
roles = st.sampled_from(["committee", "committee", "committee", "inspector", "unit", None])
units = st.sampled_from(["U1", "U1", "U2", None])
persons = st.lists(st.sampled_from(["校长", "校长", "副校长", " "]), max_size=2)
unit_modes = st.one_of(st.lists(st.sampled_from(list(UNIT_MODES)), min_size=1, max_size=2),
                       st.lists(st.sampled_from(["criticism", "bogus"]), max_size=1))
person_modes = st.one_of(st.lists(st.sampled_from(list(PERSON_MODES)), min_size=1, max_size=2),
                         st.lists(st.sampled_from(["public_notice"]), max_size=1))


class Life(RuleBasedStateMachine):
    """A store with one finding, and the rules and invariants of its case."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.app = Dudao(clock=self.clock, calendar=load_calendar(None),
                         env=store_env(":memory:"))
        self.app.add_unit("U1", "一中", actor="t")
        self.app.add_unit("U2", "二中", actor="t")
        self.in_memory: dict[UUID, dict[str, Any]] = {}
        commit = self.app.commit

        def capture(*aggregates: Any) -> None:
            # the state the command produced in memory, before it was stored
            for aggregate in aggregates:
                self.in_memory[aggregate.id] = state_of(aggregate)
            commit(*aggregates)

        self.app.commit = capture  # type: ignore[method-assign]
        self.fid: UUID = self.app.record_finding(unit="U1", on=START, inspector="督学",
                                                 text="问题", actor="t")
        self.case_id = case_id(self.fid, "accountability")

    def teardown(self) -> None:
        self.app.close()

    def attempt(self, command: Any, events: int = 1) -> None:
        before = self.app.event_count()
        try:
            command()
        except DudaoError:
            assert self.app.event_count() == before, "a refused command recorded something"
        else:
            assert self.app.event_count() == before + events

    # ----------------------------------------------------- the case (问责案件)

    def has_case(self) -> bool:
        return self.app.get_finding(self.fid).has_escalated("accountability")

    def case_day(self, offset: int) -> date:
        """A date ``offset`` days after the case's last step."""
        case = self.app.get_case(self.case_id)
        steps = [case.opened_on, case.notified_on, *(s["on"] for s in case.statements)]
        return max(d for d in steps if d is not None) + timedelta(days=offset)  # type: ignore[no-any-return]

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets)
    def investigate(self, offset: int) -> None:
        on = self.case_day(offset)
        self.attempt(lambda: self.app.investigate_case(self.case_id, on=on, note="核实",
                                                       actor="t"))

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets, names=persons)
    def notify(self, offset: int, names: list[str]) -> None:
        on = self.case_day(offset)
        self.attempt(lambda: self.app.notify_case(self.case_id, on=on, persons=names,
                                                  actor="t"))

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets, unit=units)
    def statement(self, offset: int, unit: str | None) -> None:
        on = self.case_day(offset)
        self.attempt(lambda: self.app.submit_statement(
            self.case_id, on=on, text="陈述", actor="t", role="unit" if unit else None,
            unit=unit))

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets, role=roles, modes=unit_modes, names=persons, pmodes=person_modes,
          later=st.one_of(st.none(), st.integers(min_value=-1, max_value=5)))
    def decide(self, offset: int, role: str | None, modes: list[str], names: list[str],
               pmodes: list[str], later: int | None) -> None:
        on = self.case_day(offset)
        effective = None if later is None else on + timedelta(days=later)
        self.attempt(lambda: self.app.decide_case(
            self.case_id, on=on, unit_modes=modes, persons=[(n, pmodes) for n in names],
            basis="依据", effective_on=effective, actor="t", role=role))

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets, names=st.lists(st.sampled_from(["校长", "副校长"]), max_size=2),
          modes=st.lists(st.sampled_from(list(UNIT_MODES)), min_size=1, max_size=2),
          pmodes=st.lists(st.sampled_from(list(PERSON_MODES)), min_size=1, max_size=2))
    def committee_decides(self, offset: int, names: list[str], modes: list[str],
                          pmodes: list[str]) -> None:
        """The committee, with modes that exist: only the case's state and dates decide."""
        on = self.case_day(offset)
        self.attempt(lambda: self.app.decide_case(
            self.case_id, on=on, unit_modes=modes, persons=[(n, pmodes) for n in names],
            basis="依据", actor="t", role="committee"))

    @precondition(lambda self: self.has_case())
    @rule(offset=offsets, role=st.sampled_from(["committee", "inspector", "unit", None]),
          reason=st.sampled_from(["理由", " ", " "]))  # rarer: a dismissal ends the case
    def dismiss(self, offset: int, role: str | None, reason: str) -> None:
        on = self.case_day(offset)
        self.attempt(lambda: self.app.dismiss_case(self.case_id, on=on, reason=reason,
                                                   actor="t", role=role))

    @invariant()
    def the_case_is_possible(self) -> None:
        f = self.app.get_finding(self.fid)
        case = self.app._find(self.case_id, object)
        assert (case is not None) == f.has_escalated("accountability")
        if case is None:
            return
        assert case.status in CASE_STATUSES and case.unit == f.unit
        assert (case.notified_on is None) == (case.status == "proposed"
                                              or case.statement_due is None)
        if case.statements:
            assert case.notified_on is not None and case.statement_due is not None
            assert all(case.notified_on <= s["on"] <= case.statement_due
                       for s in case.statements)
            assert all(s["by_unit"] in (True, False) for s in case.statements)
        assert (case.decision is not None) == (case.status == "decided")
        assert (case.dismissal is not None) == (case.status == "dismissed")
        if case.decision is not None:
            d = case.decision
            assert case.notified_on is not None and case.statement_due is not None
            assert case.statements or d["on"] > case.statement_due
            assert d["unit_modes"] and set(d["unit_modes"]) <= set(UNIT_MODES)
            assert all(p["name"] in case.notified_persons and p["modes"]
                       and set(p["modes"]) <= set(PERSON_MODES) for p in d["persons"])
            assert d["effective_on"] >= d["on"] >= case.opened_on

    @invariant()
    def rebuild_gives_the_same_state(self) -> None:
        # rebuilt from the stored (encoded, decoded) events of the store
        assert self.in_memory
        for aggregate_id, in_memory in self.in_memory.items():
            rebuilt: Any = self.app.repository.get(aggregate_id)
            assert state_of(rebuilt) == in_memory


class FindingLife(Life):
    """The finding's commands, its escalations (问责 opening the case) and the case's."""

    @rule(on=days, n=within, calendar_days=st.booleans())
    def order(self, on: date, n: int, calendar_days: bool) -> None:
        self.attempt(lambda: self.app.order_rectification(
            self.fid, on=on, within=n, calendar_days=calendar_days, actor="t"))

    @rule(on=days)
    def report(self, on: date) -> None:
        self.attempt(lambda: self.app.submit_report(self.fid, on=on, text="报告", actor="t"))

    @rule(on=days, passed=st.booleans(), n=st.one_of(st.none(), within))
    def review(self, on: date, passed: bool, n: int | None) -> None:
        self.attempt(lambda: self.app.review(self.fid, on=on, passed=passed, within=n,
                                             actor="t"))

    @rule(on=days, note=reasons)
    def falsified(self, on: date, note: str) -> None:
        before = self.app.get_finding(self.fid).deadline
        self.attempt(lambda: self.app.review(self.fid, on=on, passed=False, falsified=True,
                                             note=note, actor="t"))
        # 弄虚作假 leaves the deadline as it was
        assert self.app.get_finding(self.fid).deadline == before

    @rule(rung=rungs, on=days, due=st.one_of(st.none(), days), reason=reasons)
    def raise_by_hand(self, rung: Any, on: date, due: date | None, reason: str) -> None:
        finding = self.app.get_finding(self.fid)
        before, count = finding.top, len(finding.escalations)
        # 问责 is the committee's, raised by hand too: its case opens in the same commit
        committee = LISTED.rungs[rung.code].decided_by == "committee"
        self.attempt(lambda: self.app.raise_manually(
            self.fid, rung=rung, on=on, due=due, reason=reason, policy="listed",
            policy_version=1, actor="王督学",
            decided_by="committee" if committee else "rules"), events=2 if committee else 1)
        finding = self.app.get_finding(self.fid)
        if len(finding.escalations) > count:
            # only above the highest rung reached, with the reason and the inspector
            raised = finding.escalations[-1]
            assert before is None or raised["rung"] > before["rung"]
            assert raised["reason"].strip() and raised["actor"] == "王督学"
            assert raised["rule"] == f"{rung.code}.manual" and raised["threshold"] == on

    @rule(on=days, to=days)
    def extend(self, on: date, to: date) -> None:
        self.attempt(lambda: self.app.extend(self.fid, on=on, to=to, reason="理由", actor="t"))

    @rule(code=codes, threshold=days, due=st.one_of(st.none(), days))
    def escalate(self, code: str, threshold: date, due: date | None) -> None:
        # 问责 is the committee's: its escalation opens the case in the same commit
        committee = code == "accountability"
        self.attempt(lambda: self.app.record_escalation(
            self.fid, code=code, rule="r", policy="default", policy_version=1,
            threshold=threshold, due=due, facts={"k": 1},
            decided_by="committee" if committee else "rules"), events=2 if committee else 1)

    @rule(on=days)
    def interview(self, on: date) -> None:
        self.attempt(lambda: self.app.hold_interview(self.fid, on=on, interviewee="校长",
                                                     minutes="纪要", actor="t"))

    @invariant()
    def state_is_possible(self) -> None:
        f = self.app.get_finding(self.fid)
        assert f.status in STATUSES
        assert (f.status == "recorded") == (f.deadline is None)
        assert (f.status == "closed") == (f.closed_on is not None)
        if f.status == "recorded":
            assert not f.escalations and f.reports == 0
        if f.closed_on is not None:
            assert f.closed_on >= f.on
        assert f.strikes + f.falsified <= f.reports
        codes_seen = [e["code"] for e in f.escalations if not e["per_deadline"]]
        assert len(codes_seen) == len(set(codes_seen)), "a rung fired twice"
        if f.rung is not None:
            assert all(e["rung"] <= f.top["rung"] for e in f.escalations)  # type: ignore[index]
        # never back down: each rung that does not repeat is above every one before it
        for n, e in enumerate(f.escalations):
            if not e["per_deadline"]:
                assert all(e["rung"] > x["rung"] for x in f.escalations[:n])
        assert all(e["reason"] for e in f.escalations if e["rule"].endswith(".manual"))
        if f.interview_held_on is not None:
            assert f.has_mode("interview")


class CaseLife(Life):
    """A case just opened (the finding ordered 2024-09-02 and escalated to 问责 on
    2024-10-14), most often notified at once; every step goes to the case."""

    def __init__(self) -> None:
        super().__init__()
        self.app.order_rectification(self.fid, on=START, within=10, actor="t")
        self.app.record_escalation(
            self.fid, code="accountability", rule="r", policy="default", policy_version=1,
            threshold=date(2024, 10, 14), due=None, facts={}, decided_by="committee")

    @initialize(notified=st.sampled_from([True, True, True, False]),
                offset=st.integers(min_value=0, max_value=5),
                names=st.lists(st.sampled_from(["校长", "副校长"]), max_size=2))
    def start(self, notified: bool, offset: int, names: list[str]) -> None:
        if notified:
            self.app.notify_case(self.case_id, on=self.case_day(offset), persons=names,
                                 actor="t")


def state_of(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in aggregate.__dict__.items() if k != "_pending_events"}


FindingLife.TestCase.settings = settings(max_examples=60, stateful_step_count=25,
                                         deadline=None)
CaseLife.TestCase.settings = settings(max_examples=100, stateful_step_count=15,
                                      deadline=None)
TestFindingLife = FindingLife.TestCase
TestCaseLife = CaseLife.TestCase
