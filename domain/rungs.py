"""The escalation ladder's vocabulary: the modes a rung may stand for, and the built-in table.

Rungs are the policy's (rules/policies/*.toml): any number, any code ``[a-z_]+``, each
with a Chinese name and the 问责办法 mode it stands for, in the order the file writes
them. This module holds what does not depend on a policy:

- ``MODES``: the fixed vocabulary of modes a rung may stand for (预警、督办、约谈、公开批评、
  督导通报、挂牌督导、资源调整、问责), and the decision modes of an accountability case
  (``UNIT_MODES`` for supervised units, ``PERSON_MODES`` for responsible persons);
- :class:`Rung`: one rung as the domain sees it (its code, order, name, mode, whether its
  due date becomes the finding's deadline, whether it repeats per deadline). The
  aggregate receives these properties with each escalation command and records them in
  the event, so the domain stays pure and knows no policy;
- ``LADDER``: the built-in five rungs of the default policy. They name the rungs of
  escalation events recorded before events carried their own name and properties, and
  give the default notice texts (a jinja2 template, variables: see
  ``adapters.infrastructure.notice_messages.build_notice``) used when a policy gives none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

CODE = re.compile(r"^[a-z_]{1,20}$")
"""A rung's code: lower-case letters and underscores, at most 20 (a NATS subject token)."""

MODES: dict[str, str] = {
    "reminder": "预警",
    "supervise": "督办",
    "interview": "约谈",
    "public_criticism": "公开批评",
    "public_notice": "督导通报",
    "listed_supervision": "挂牌督导",
    "resource_adjustment": "资源调整",
    "accountability": "问责",
}
"""The 问责办法 mode each rung stands for (a policy's ``mode``)."""

UNIT_MODES: dict[str, str] = {
    "public_criticism": "公开批评",
    "interview": "约谈",
    "public_notice": "督导通报",
    "resource_adjustment": "资源调整",
    "penalty_referral": "提请行政处罚",
}
"""How an accountability case may hold a supervised unit to account."""

PERSON_MODES: dict[str, str] = {
    "self_examination": "责令检查",
    "interview": "约谈",
    "criticism": "通报批评",
    "organisational": "组织处理",
    "disciplinary": "处分",
    "referral": "移交纪检监察机关或司法机关",
}
"""How an accountability case may hold a responsible person to account."""


@dataclass(frozen=True)
class Rung:
    code: str
    order: int
    name: str  # 中文名称
    mode: str  # one of MODES
    notice: str = ""  # default notice text (jinja2); empty: the generic text
    sets_deadline: bool = False  # its due date becomes the finding's deadline (督办)
    per_deadline: bool = False  # fires once per deadline, not once per finding (预警)

    def props(self) -> dict[str, Any]:
        """What an escalation event records of its rung."""
        return {"code": self.code, "rung": self.order, "name": self.name, "mode": self.mode,
                "sets_deadline": self.sets_deadline, "per_deadline": self.per_deadline}


Ladder = tuple[Rung, ...]

LADDER: Ladder = (
    Rung(
        "reminder", 0, "预警", "reminder",
        "【预警】{{ unit_name }}：你单位“{{ finding_text }}”问题的整改期限为"
        "{{ deadline | cn_date }}，期限将至，尚未提交整改报告。请抓紧整改，"
        "并在期限前报送整改报告。",
        per_deadline=True,
    ),
    Rung(
        "supervise", 1, "督办", "supervise",
        "【督办通知】{{ unit_name }}：你单位“{{ finding_text }}”问题已超过整改期限"
        "（{{ deadline | cn_date }}）仍未整改到位，现予督办。请于{{ due | cn_date }}前"
        "完成整改并报送整改报告，逾期将约谈你单位主要负责人。",
        sets_deadline=True,
    ),
    Rung(
        "interview", 2, "约谈", "interview",
        "【约谈通知】{{ unit_name }}：你单位“{{ finding_text }}”问题经督办，"
        "督办期限（{{ deadline | cn_date }}）已过仍未整改到位。"
        "将约谈你单位主要负责人{% if principal %}{{ principal }}同志{% endif %}，"
        "约谈应于{{ due | cn_date }}前完成。",
    ),
    Rung(
        "public_notice", 3, "通报", "public_notice",
        "【通报】{{ unit_name }}：你单位“{{ finding_text }}”问题约谈后仍未整改到位，"
        "将在下一期督导通报中予以通报批评。",
    ),
    Rung(
        "accountability", 4, "问责", "accountability",
        "【提请问责】{{ unit_name }}：你单位“{{ finding_text }}”问题经督办、约谈"
        "{% if code_skipped_notice %}{% else %}、通报{% endif %}仍未整改到位，"
        "已提请督导委员会问责。督导委员会核实事实后将书面告知你单位，"
        "你单位可在告知后规定期限内陈述申辩；是否问责及问责方式由督导委员会决定。",
    ),
)
"""The built-in rungs (the default policy's), for events recorded without their own."""

GENERIC_NOTICE = (
    "【{{ code_name }}】{{ unit_name }}：你单位“{{ finding_text }}”问题"
    "{% if deadline %}（整改期限{{ deadline | cn_date }}）{% endif %}仍未整改到位，"
    "现予{{ code_name }}{% if due %}，请于{{ due | cn_date }}前整改到位并报告{% endif %}。"
)
"""The notice text of a rung that neither its policy nor the built-in table words."""

BULLETIN_WORDS: dict[str, tuple[str, str]] = {
    "public_notice": ("通报批评", "起通报"),
    "accountability": ("问责", "提请问责"),
}
"""How the bulletin heads the units of a rung of this mode, and what follows the date
("2024-11-19 起通报"); another mode: the rung's name, and "起" with it."""

RUNGS: dict[str, Rung] = {r.code: r for r in LADDER}
CODES: tuple[str, ...] = tuple(RUNGS)


def rung_of(code: str) -> int:
    """The order of a built-in rung (0 = 预警)."""
    return RUNGS[code].order


def rung_name(code: str | None) -> str | None:
    """The Chinese name of a built-in rung; an unknown code as itself; None for None."""
    if code is None:
        return None
    rung = RUNGS.get(code)
    return rung.name if rung is not None else code


def recorded_rung(event: Mapping[str, Any]) -> dict[str, Any]:
    """The rung an escalation event (its attributes) recorded: code, order, name, mode and
    the two properties; an event recorded before events carried them takes them from the
    built-in table (an unknown code: its own name, no property)."""
    code = event["code"]
    known = RUNGS.get(code)
    name = event.get("name")
    mode = event.get("mode")
    sets = event.get("sets_deadline")
    repeat = event.get("per_deadline")
    return {
        "code": code,
        "rung": event.get("rung", known.order if known else 0),
        "name": name or (known.name if known else code),
        "mode": mode or (known.mode if known else code),
        "sets_deadline": bool(known.sets_deadline if sets is None and known else sets),
        "per_deadline": bool(known.per_deadline if repeat is None and known else repeat),
    }


def sets_deadline(event: Mapping[str, Any]) -> bool:
    """Whether an escalation event's due date became the finding's deadline."""
    value = event.get("sets_deadline")
    if value is None:
        known = RUNGS.get(event["code"])
        return bool(known and known.sets_deadline)
    return bool(value)


def deadline_after_escalation(sets: bool, due: T | None, deadline: T) -> T:
    """The deadline once a rung fired with ``due``: the due date of a rung that sets the
    deadline (督办) becomes the deadline; any other rung leaves it. (Dates or their ISO
    text alike.)"""
    if due is not None and sets:
        return due
    return deadline
