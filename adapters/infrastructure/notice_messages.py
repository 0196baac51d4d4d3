"""Escalation notices: what a notice says, and the message that carries it.

An escalation event (``Finding.EscalationRaised``) becomes one notice on the
subject ``dudao.notice.<code>.<unit>``; its message id is the event's id
(``<finding id>:<version>``), stable across republishing, so JetStream drops
a repeat. The Chinese text is rendered with jinja2 from the policy's notice
text for the rung, or from the default text below when the policy gives none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from domain.findings import SEVERITIES
from domain.rungs import GENERIC_NOTICE, LADDER, recorded_rung
from domain.time import SHANGHAI
from projections.events import ESCALATION_RAISED

STREAM = "DUDAO_NOTICES"
SUBJECT_PREFIX = "dudao.notice"
ESCALATION: type = ESCALATION_RAISED  # the event class a notice is made from

# Default notice texts (政策文件未给出通知文本时使用), one per built-in rung in
# domain/rungs.py; any other rung gets the generic text. Variables: see ``context``.
DEFAULT_TEXTS: dict[str, str] = {r.code: r.notice for r in LADDER}


def default_text(code: str) -> str:
    return DEFAULT_TEXTS.get(code, GENERIC_NOTICE)


def cn_date(value: Any) -> str:
    """2024-10-14 → 2024年10月14日 (a datetime is shown in Beijing time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value.astimezone(SHANGHAI)
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


PolicyTexts = Callable[[str, int], Mapping[str, str] | None]
"""Given a policy name and version, its notice text per rung code (or None)."""


# The policy files (rules/policies/*.toml) write placeholders as {unit}, {text}, {deadline}…;
# they become these jinja2 expressions (dates in Chinese).
POLICY_PLACEHOLDERS = {
    "unit": "{{ unit_name }}",
    "unit_code": "{{ unit }}",
    "principal": "{{ principal or '' }}",
    "text": "{{ finding_text }}",
    "deadline": "{{ deadline | cn_date }}",
    "due": "{{ due | cn_date }}",
    "threshold": "{{ threshold | cn_date }}",
    "name": "{{ code_name }}",
}


def policy_template(text: str) -> str:
    """A policy's notice text as a jinja2 template: ``{due}`` → ``{{ due | cn_date }}``.

    A text already written in jinja2 (``{{ … }}`` or ``{% … %}``) is taken as it is.
    """
    if "{{" in text or "{%" in text:
        return text
    return re.sub(r"\{(\w+)\}",
                  lambda m: POLICY_PLACEHOLDERS.get(m.group(1), m.group(0)), text)


def policy_notice_texts(policy: str, version: int,
                        folders: Sequence[Path] = ()) -> Mapping[str, str] | None:
    """The notice texts of the policy file (``rules/policies/<policy>.toml``), as templates.

    Only when the file is the version that decided the escalation; an
    escalation of an older version gets the default text of its rung.
    """
    try:
        from rules.policy import load_policy
    except ImportError:
        return None
    try:
        loaded = load_policy(policy, folders)
    except Exception:  # an unknown or broken policy falls back to the defaults
        return None
    if loaded.version != version:
        return None
    return {code: policy_template(rung.notice) for code, rung in loaded.rungs.items()}


class NoticeRenderer:
    """Renders notice texts with jinja2 (sandboxed: policy files are data, not code)."""

    def __init__(self, policy_texts: PolicyTexts | None = policy_notice_texts) -> None:
        self.policy_texts = policy_texts
        self.env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
        self.env.filters["cn_date"] = cn_date
        self._templates: dict[str, Any] = {}
        self._policies: dict[tuple[str, int], Mapping[str, str] | None] = {}

    def source(self, policy: str, version: int, code: str) -> str:
        """The template text for a rung: the policy's own, else the default."""
        key = (policy, version)
        if key not in self._policies:
            self._policies[key] = self.policy_texts(policy, version) if self.policy_texts else None
        texts = self._policies[key] or {}
        text = texts.get(code)
        return text if isinstance(text, str) and text.strip() else default_text(code)

    def _template(self, source: str) -> Any:
        template = self._templates.get(source)
        if template is None:
            template = self.env.from_string(source)
            self._templates[source] = template
        return template

    def render(self, policy: str, version: int, code: str, context: Mapping[str, Any]) -> str:
        """The notice text; a policy text that fails to render falls back to the default,
        so one bad template never holds back the notices behind it."""
        source = self.source(policy, version, code)
        try:
            return str(self._template(source).render(**context)).strip()
        except TemplateError:
            if source == default_text(code):
                raise
            return str(self._template(default_text(code)).render(**context)).strip()


def check_template(source: str) -> None:
    """Raise ``jinja2.TemplateError`` when a notice text does not compile (for policy loaders)."""
    NoticeRenderer(None).env.from_string(source)


@dataclass(frozen=True)
class UnitInfo:
    name: str
    principal: str | None = None


@dataclass(frozen=True)
class FindingInfo:
    unit: str
    text: str
    severity: str


@dataclass(frozen=True)
class Notice:
    """One notice, ready to publish."""

    msg_id: str
    subject: str
    payload: dict[str, Any]
    position: int

    def data(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"),
                          default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def message_id(originator_id: Any, originator_version: int) -> str:
    """The escalation event's id: stable, so a republished notice is a duplicate."""
    return f"{originator_id}:{originator_version}"


def subject_for(code: str, unit: str) -> str:
    return f"{SUBJECT_PREFIX}.{code}.{unit}"


def unit_subject(unit: str | None) -> str:
    """The subjects of one unit's notices (or of all notices)."""
    return f"{SUBJECT_PREFIX}.*.{unit}" if unit else f"{SUBJECT_PREFIX}.>"


def manual_reason(event: Any) -> str | None:
    """The reason of an escalation an inspector raised by hand (among its facts)."""
    facts = getattr(event, "facts", None)
    if not str(getattr(event, "rule", "")).endswith(".manual") or not isinstance(facts, dict):
        return None
    return facts.get("reason")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, (date, datetime)) else None


def build_notice(
    event: Any, position: int, finding: FindingInfo, unit: UnitInfo, renderer: NoticeRenderer,
) -> Notice:
    """The notice of one ``Finding.EscalationRaised`` event at a log position."""
    code = event.code
    rung = recorded_rung(event.__dict__)  # the name it was recorded with
    unit_code = finding.unit
    context = {
        "finding": str(event.originator_id),
        "finding_text": finding.text,
        "severity": finding.severity,
        "severity_name": SEVERITIES.get(finding.severity, finding.severity),
        "unit": unit_code,
        "unit_name": unit.name,
        "principal": unit.principal,
        "code": code,
        "code_name": rung["name"],
        "mode": rung["mode"],
        "rung": event.rung,
        "rule": event.rule,
        "policy": event.policy,
        "policy_version": event.policy_version,
        "deadline": event.deadline,
        "due": event.due,
        "threshold": event.threshold,
        "decided_at": event.decided_at,
        "code_skipped_notice": code == "accountability" and finding.severity == "major",
        "reason": manual_reason(event),  # an inspector's reason for raising it by hand
    }
    # Chinese names for policy staff writing notice texts: {{ 单位 }}、{{ 期限 }}…
    context.update({
        "单位": unit.name, "主要负责人": unit.principal, "问题": finding.text,
        "级别": rung["name"], "期限": cn_date(event.deadline), "新期限": cn_date(event.due),
        "决定时间": cn_date(event.decided_at),
    })
    text = renderer.render(event.policy, event.policy_version, code, context)
    msg_id = message_id(event.originator_id, event.originator_version)
    payload = {
        "id": msg_id,
        "finding": str(event.originator_id),
        "finding_text": finding.text,
        "severity": finding.severity,
        "unit": unit_code,
        "unit_name": unit.name,
        # the unit's principal on the rung's threshold date (persons, else as registered)
        "principal": unit.principal,
        "rung": event.rung,
        "code": code,
        "code_name": rung["name"],
        "mode": rung["mode"],
        "rule": event.rule,
        "policy": event.policy,
        "policy_version": event.policy_version,
        "deadline": _iso(event.deadline),
        "due": _iso(event.due),
        "threshold": _iso(event.threshold),
        "decided_at": _iso(event.decided_at),
        "position": position,
        "reason": manual_reason(event),
        "notice": text,
    }
    return Notice(msg_id=msg_id, subject=subject_for(code, unit_code), payload=payload,
                  position=position)


def describe_notice(payload: Mapping[str, Any]) -> str:
    """A notice as people read it in a terminal."""
    decided = payload.get("decided_at") or ""
    head = (f"【{payload.get('code_name', payload.get('code'))}】"
            f"{payload.get('unit_name')}（{payload.get('unit')}） "
            f"问题 {str(payload.get('finding', ''))[:8]}  决定于 {cn_date(decided)}")
    return f"{head}\n  {payload.get('notice', '')}"
