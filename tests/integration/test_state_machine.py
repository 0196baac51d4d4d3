"""Random command sequences never reach an impossible state, a refused command
records nothing, and rebuilding a finding from its stored events gives the same state."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.errors import DudaoError
from domain.findings import RUNGS, STATUSES
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


class FindingLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.app = Dudao(clock=self.clock, calendar=load_calendar(None),
                         env=store_env(":memory:"))
        self.app.add_unit("U1", "一中", actor="t")
        self.in_memory: dict[str, Any] | None = None
        commit = self.app.commit

        def capture(*aggregates: Any) -> None:
            # the state the command produced in memory, before it was stored
            self.in_memory = state_of(aggregates[0])
            commit(*aggregates)

        self.app.commit = capture  # type: ignore[method-assign]
        self.fid: UUID = self.app.record_finding(unit="U1", on=START, inspector="督学",
                                                 text="问题", actor="t")

    def teardown(self) -> None:
        self.app.close()

    def attempt(self, command: Any) -> None:
        before = self.app.event_count()
        try:
            command()
        except DudaoError:
            assert self.app.event_count() == before, "a refused command recorded something"
        else:
            assert self.app.event_count() == before + 1

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
        self.attempt(lambda: self.app.raise_manually(
            self.fid, rung=rung, on=on, due=due, reason=reason, policy="listed",
            policy_version=1, actor="王督学"))
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
        self.attempt(lambda: self.app.record_escalation(
            self.fid, code=code, rule="r", policy="default", policy_version=1,
            threshold=threshold, due=due, facts={"k": 1}))

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

    @invariant()
    def rebuild_gives_the_same_state(self) -> None:
        # rebuilt from the stored (encoded, decoded) events of the store
        rebuilt = self.app.repository.get(self.fid)
        assert self.in_memory is not None
        assert state_of(rebuilt) == self.in_memory


def state_of(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in aggregate.__dict__.items() if k != "_pending_events"}


FindingLife.TestCase.settings = settings(max_examples=60, stateful_step_count=25,
                                         deadline=None)
TestFindingLife = FindingLife.TestCase
