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


class CompiledPolicy:
    """A policy version as a durable_rules ruleset."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name = f"dudao_{policy.policy}_v{policy.version}_{policy.digest}"
        self.rules: dict[str, str] = {}  # rule name -> the rung it fires
        self.vias = {c: vias_of(r) for c, r in policy.rungs.items()}
        # the rungs whose fact says which trigger came first (more than one may)
        self.via_rungs = {c for c, v in self.vias.items() if len(v) > 1}
        self.repeating = {c for c, r in policy.rungs.items() if r.per_deadline}
        codes = policy.order
        self.higher = {c: codes[n + 1:] for n, c in enumerate(codes)}
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
                if rung.manual:
                    continue  # raised by an inspector only (dudao escalate raise)
                higher = self.higher[code]
                source = policy.rungs.get(rung.from_ or "")
                base = self._common(code, code, higher)
                for severity in rung.skip_for:
                    base = base & (lang.m.severity != severity)
                vias = self.vias[code]
                for via in vias:
                    main = base
                    if source is not None and via == rung.from_:
                        for severity in source.skip_for:
                            main = main & (lang.m.severity != severity)
                    if len(vias) > 1:
                        main = main & (getattr(lang.m, f"{code}_via") == via)
                    self._rule(rule_name(code, rung.before is not None, via), code, code, main)
                if source is not None and source.skip_for:
                    # A rung that is skipped for some severities: this one fires instead,
                    # from the day the skipped one would have fired.
                    day = rung.from_ or ""
                    takeover = self._common(code, day, [])
                    for severity in rung.skip_for:
                        takeover = takeover & (lang.m.severity != severity)
                    severities = None
                    for severity in source.skip_for:
                        term = lang.m.severity == severity
                        severities = term if severities is None else (severities | term)
                    if len(vias) > 1:
                        takeover = takeover & (getattr(lang.m, f"{code}_via") == rung.from_)
                    self._rule(f"{code}.instead_of_{rung.from_}", code, day,
                               takeover & severities)
            lang.when_all(lang.m.kind == "end_of_batch")(_ignore)
        finally:
            lang._ruleset_stack.pop()
        full_name, definition = rs.define()
        return {full_name: definition}

    def _common(self, code: str, day: str, higher: list[str]) -> Any:
        """What every rule of a rung asks; ``day`` names the rung whose threshold counts."""
        m = lang.m
        order = self.policy.index(code)
        expr = (m.kind == "finding") & (m.status != "closed")
        expr = expr & (getattr(m, f"{day}_since") >= 0)  # the threshold has been reached
        # A report in before the threshold and still under review pauses the rung.
        expr = expr & (getattr(m, f"{day}_report_lead") <= 0)
        if code in self.repeating:
            # once per deadline, while nothing above it has fired
            expr = expr & (m.top <= order) & (getattr(m, f"{code}_done") == False)  # noqa: E712
        else:
            expr = expr & (m.top < order)  # each rung once, and never back down
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
        fact: dict[str, Any] = {
            "sid": sid,
            "kind": "finding",
            "finding": state["finding_id"],
            "status": state["status"],
            "severity": state["severity"],
            "top": state.get("top", -1),
        }
        repeating = self.repeating
        for code, (day, via, done) in days.items():
            if code in repeating:
                fact[f"{code}_done"] = bool(done)
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


def vias_of(rung: Any) -> list[str]:
    """The triggers a rung may fire on, as the ladder names them (``Step.via``)."""
    vias = [rung.from_] if rung.from_ is not None else []
    if rung.failed_reviews:
        vias.append("failed_reviews")
    vias += [x for x in rung.on if x != "manual"]
    return vias


def rule_name(code: str, before: bool, via: str) -> str:
    """``supervise.after_deadline``, ``interview.after_supervise``, ``interview.failed_reviews``…"""
    if via == "deadline":
        return f"{code}.{'before' if before else 'after'}_deadline"
    if via in ("failed_reviews", "falsified", "interview_missed"):
        return f"{code}.{via}"
    return f"{code}.after_{via}"


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
