"""The escalation ladder's vocabulary: one row per rung, in order.

Every other part derives from this table: the aggregate (which codes exist,
their order, which rung's due date becomes the deadline), the rules, the read
models, the API's enums and descriptions, the reports, the audit trail and the
default notice texts. Adding a rung means adding its row here (and its rule in
the policy file, rules/policies/*.toml).

``notice`` is the default notice text (a jinja2 template, variables: see
``adapters.infrastructure.notice_messages.build_notice``), used when the policy gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Rung:
    code: str
    order: int
    name: str  # 中文名称
    notice: str  # default notice text (jinja2)
    sets_deadline: bool = False  # its due date becomes the finding's deadline (督办)
    once_per_deadline: bool = False  # fires once per deadline, not once per finding (预警)


LADDER: tuple[Rung, ...] = (
    Rung(
        "reminder", 0, "预警",
        "【预警】{{ unit_name }}：你单位“{{ finding_text }}”问题的整改期限为"
        "{{ deadline | cn_date }}，期限将至，尚未提交整改报告。请抓紧整改，"
        "并在期限前报送整改报告。",
        once_per_deadline=True,
    ),
    Rung(
        "supervise", 1, "督办",
        "【督办通知】{{ unit_name }}：你单位“{{ finding_text }}”问题已超过整改期限"
        "（{{ deadline | cn_date }}）仍未整改到位，现予督办。请于{{ due | cn_date }}前"
        "完成整改并报送整改报告，逾期将约谈你单位主要负责人。",
        sets_deadline=True,
    ),
    Rung(
        "interview", 2, "约谈",
        "【约谈通知】{{ unit_name }}：你单位“{{ finding_text }}”问题经督办，"
        "督办期限（{{ deadline | cn_date }}）已过仍未整改到位。"
        "将约谈你单位主要负责人{% if principal %}{{ principal }}同志{% endif %}，"
        "约谈应于{{ due | cn_date }}前完成。",
    ),
    Rung(
        "public_notice", 3, "通报",
        "【通报】{{ unit_name }}：你单位“{{ finding_text }}”问题约谈后仍未整改到位，"
        "将在下一期督导通报中予以通报批评。",
    ),
    Rung(
        "accountability", 4, "问责",
        "【提请问责】{{ unit_name }}：你单位“{{ finding_text }}”问题经督办、约谈"
        "{% if code_skipped_notice %}{% else %}、通报{% endif %}仍未整改到位，"
        "已提请督导委员会问责。督导委员会核实事实后将书面告知你单位，"
        "你单位可在告知后规定期限内陈述申辩；是否问责及问责方式由督导委员会决定。",
    ),
)

RUNGS: dict[str, Rung] = {r.code: r for r in LADDER}
CODES: tuple[str, ...] = tuple(RUNGS)


def rung_of(code: str) -> int:
    """The order of a rung (0 = 预警)."""
    return RUNGS[code].order


def rung_name(code: str | None) -> str | None:
    """The Chinese name of a rung; an unknown code as itself; None for None."""
    if code is None:
        return None
    rung = RUNGS.get(code)
    return rung.name if rung is not None else code


def deadline_after_escalation(code: str, due: T | None, deadline: T) -> T:
    """The deadline once rung ``code`` fired with ``due``: a 督办's due date becomes the
    deadline; any other rung leaves it. (Dates or their ISO text alike.)"""
    if due is not None and RUNGS[code].sets_deadline:
        return due
    return deadline


# The decision modes of an accountability case (教育督导问责办法, 2021): what the
# 督导委员会 may decide for a supervised unit, and for a responsible person.
UNIT_MODES: dict[str, str] = {
    "public_criticism": "公开批评",
    "interview": "约谈",
    "public_notice": "督导通报",
    "resource_adjustment": "资源调整",
    "penalty_referral": "提请行政处罚",
}
PERSON_MODES: dict[str, str] = {
    "self_examination": "责令检查",
    "interview": "约谈",
    "criticism": "通报批评",
    "organisational": "组织处理",
    "disciplinary": "处分",
    "referral": "移交纪检监察机关或司法机关",
}
