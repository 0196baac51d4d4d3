"""The policy compiled into a durable_rules ruleset, and the ruleset deciding.

Each open finding that the indexed query says is due becomes one fact: its
status, severity, highest rung so far, the day of any report under review, and
for every rung the day it applies from (worked out by :mod:`rules.ladder`) and
today's date, all as day numbers. The ruleset's rules compare them and name the
rungs that fire; Python only records what they decided.

durable_rules keeps its working memory per session id and holds at most about a
thousand sessions, and its timers run on the wall clock. So: one session per
sweep (deleted every few hundred facts and at the end, so its memory stays
small), no timers at all (our own host never starts durable's timer threads),
and time enters only as the ``today`` fact.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from durable import engine as durable_engine
from durable import lang

from domain.rungs import rung_of
from rules.ladder import Step
from rules.policy import Policy

NO_REPORT = date(9999, 12, 31).toordinal()
CHUNK = 250


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A durable_rules host without its wall-clock dispatch and timer threads."""

    def _run(self) -> None:
        return None


@dataclass(frozen=True)
class Fired:
    """A rule of the ruleset fired for one finding."""

    finding: str
    code: str
    rule: str
    threshold_of: str  # which fact holds the threshold the rule fired on


_host = _QuietHost()
_lock = threading.Lock()
_compiled: dict[str, CompiledPolicy] = {}
_sinks: dict[str, list[Fired]] = {}


def rung_no(code: str) -> int:
    return rung_of(code)


class CompiledPolicy:
    """A policy version as a durable_rules ruleset."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name = f"dudao_{policy.policy}_v{policy.version}_{policy.digest}"
        self.rules: dict[str, str] = {}  # rule name -> the rung it fires
        self.via_rungs = {c for c, r in policy.rungs.items() if r.failed_reviews}
        self.higher = {c: [h for h in policy.rungs if rung_no(h) > rung_no(c)]
                       for c in policy.rungs}
        definitions = self._define()
        _host.register_rulesets(definitions)

    # --------------------------------------------------------------- compiling

    def _define(self) -> dict[str, Any]:
        policy = self.policy
        codes = policy.order
        with lang.ruleset(self.name) as _:
            pass
        rs = lang._rulesets.pop(self.name)  # we register it on our own host
        lang._ruleset_stack.append(rs)
        try:
            for code in codes:
                rung = policy.rungs[code]
                higher = [h for h in codes if rung_no(h) > rung_no(code)]
                source = policy.rungs.get(rung.from_)
                base = self._common(code, code, higher)
                for severity in rung.skip_for:
                    base = base & (lang.m.severity != severity)
                main = base
                if source is not None:
                    for severity in source.skip_for:
                        main = main & (lang.m.severity != severity)
                if rung.from_ == "deadline":
                    name = f"{code}.{'before' if rung.before is not None else 'after'}_deadline"
                else:
                    name = f"{code}.after_{rung.from_}"
                if rung.failed_reviews:
                    self._rule(name, code, code,
                               main & (getattr(lang.m, f"{code}_via") != "failed_reviews"))
                    self._rule(f"{code}.failed_reviews", code, code,
                               main & (getattr(lang.m, f"{code}_via") == "failed_reviews"))
                else:
                    self._rule(name, code, code, main)
                if source is not None and source.skip_for:
                    # A rung that is skipped for some severities: this one fires instead,
                    # from the day the skipped one would have fired.
                    day = rung.from_
                    takeover = self._common(code, day, [])
                    severities = None
                    for severity in source.skip_for:
                        term = lang.m.severity == severity
                        severities = term if severities is None else (severities | term)
                    self._rule(f"{code}.instead_of_{rung.from_}", code, day,
                               takeover & severities)
            lang.when_all(lang.m.kind == "end_of_batch")(_ignore)
        finally:
            lang._ruleset_stack.pop()
        full_name, definition = rs.define()
        return {full_name: definition}

    @staticmethod
    def _common(code: str, day: str, higher: list[str]) -> Any:
        """What every rule of a rung asks; ``day`` names the rung whose threshold counts."""
        m = lang.m
        expr = (m.kind == "finding") & (m.status != "closed")
        expr = expr & (getattr(m, f"{day}_since") >= 0)  # the threshold has been reached
        # A report in before the threshold and still under review pauses the rung.
        expr = expr & (getattr(m, f"{day}_report_lead") <= 0)
        if code == "reminder":
            expr = expr & (m.top < 1) & (m.reminded == False)  # noqa: E712 - a rule, not Python
        else:
            expr = expr & (m.top < rung_no(code))  # each rung once, and never back down
        for h in higher:
            # A rung whose threshold comes after a higher rung's is passed over.
            expr = expr & (getattr(m, f"{day}_lead_{h}") >= 0)
        return expr

    def _rule(self, name: str, code: str, threshold_of: str, expr: Any) -> None:
        self.rules[name] = code

        lang.when_all(expr)(_consequent(name, code, threshold_of))

    # ---------------------------------------------------------------- deciding

    def facts(self, state: dict[str, Any], steps: dict[str, Step], today: date,
              sid: str) -> dict[str, Any]:
        """The fact the ruleset sees for one finding."""
        return self.fact(state, {c: (s.day.toordinal(), s.via, s.fired) for c, s in steps.items()},
                         today.toordinal(), sid)

    def fact(self, state: dict[str, Any], days: dict[str, tuple[int, str, bool]], today: int,
             sid: str) -> dict[str, Any]:
        """The fact for one finding, from each rung's (threshold day number, via, fired)."""
        report_on = state.get("report_on")
        report_day = date.fromisoformat(report_on).toordinal() if report_on else None
        reminder = days.get("reminder")
        fact: dict[str, Any] = {
            "sid": sid,
            "kind": "finding",
            "finding": state["finding_id"],
            "status": state["status"],
            "severity": state["severity"],
            "top": state.get("top", -1),
            "reminded": bool(reminder and reminder[2]),
        }
        for code, (day, via, _) in days.items():
            fact[f"{code}_since"] = today - day
            fact[f"{code}_report_lead"] = day - report_day if report_day else -NO_REPORT
            if code in self.via_rungs:
                fact[f"{code}_via"] = via
            for h in self.higher[code]:
                if h in days:
                    fact[f"{code}_lead_{h}"] = days[h][0] - day
        return fact

    def _clear(self, sid: str) -> None:
        """Empty the session: a matched marker first (durable_rules 2.0.28 can crash
        deleting a session whose last fact matched nothing)."""
        _host.assert_fact(self.name, {"sid": sid, "kind": "end_of_batch"})
        _host.delete_state(self.name, sid)

    def decide(self, facts: Iterable[dict[str, Any]], sid: str = "sweep") -> list[Fired]:
        """Assert the facts, a chunk at a time; return what the rules fired.

        A chunk goes to durable_rules in one call. When some fact of it matches no rule,
        durable_rules reports the chunk as not handled and runs the actions of the facts
        that did match at the next assertion on the session: the end-of-batch marker that
        ``_clear`` asserts (always handled) before it empties the session. So every rule
        that fired has run by the time a chunk is cleared; the order of the ``Fired``
        within a chunk is durable_rules' own."""
        with _lock:
            out: list[Fired] = []
            _sinks[sid] = out
            try:
                chunk: list[dict[str, Any]] = []
                for fact in facts:
                    fact["sid"] = sid
                    chunk.append(fact)
                    if len(chunk) == CHUNK:
                        self._assert_chunk(chunk, sid)
                        chunk = []
                if chunk:
                    self._assert_chunk(chunk, sid)
            finally:
                self._clear(sid)
                del _sinks[sid]
        return out

    def _assert_chunk(self, chunk: list[dict[str, Any]], sid: str) -> None:
        # No rule matching is no error: nothing is due for some finding of the chunk.
        with contextlib.suppress(durable_engine.MessageNotHandledException):
            _host.assert_facts(self.name, chunk)
        self._clear(sid)


def _ignore(c: Any) -> None:
    return None


def _consequent(name: str, code: str, threshold_of: str) -> Any:
    def consequent(c: Any) -> None:
        m = c.m  # durable_rules wraps the fact anew at each access
        _sinks[m.sid].append(Fired(m.finding, code, name, threshold_of))

    consequent.__name__ = name.replace(".", "__")
    return consequent


def compiled(policy: Policy) -> CompiledPolicy:
    key = f"{policy.policy}/{policy.version}/{policy.digest}"
    with _lock:
        if key not in _compiled:
            _compiled[key] = CompiledPolicy(policy)
        return _compiled[key]
