"""Responsible units (责任单位) and lead units (牵头单位)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.values import check_text

__all__ = ["check_text"]

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
UNIT_KINDS = ("unit", "group")  # one unit, or a group of units named as one (各县区…)

# What a unit is (单位类别): the escalation policy says which of these the 督导室 may hold
# to account (rules/policy.py, [lagging] accountable).
KINDS = {
    "government": "政府",
    "department": "部门",
    "school": "学校",
    "party_organ": "党委机关",
    "supervision_office": "督导室",
    "other": "其他",
}
_KIND_BY_LABEL = {label: code for code, label in KINDS.items()}
MAX_MEMBERS = 200

_SCHOOL = ("学校", "中学", "小学", "幼儿园", "大学", "学院", "职业中专", "中专", "技校")
_PARTY_PREFIX = ("中共", "省委", "市委", "州委", "盟委", "县委", "区委", "旗委", "党委", "团市委",
                 "团县委", "团区委")
_DEPARTMENT_SUFFIX = ("局", "委", "办", "厅", "部", "署", "处", "中心", "办公室")


def guess_kind(name: str) -> str:
    """The kind a unit's name suggests (其他 when it suggests none).

    …督导室 → 督导室; …学校/…中学/…小学/…幼儿园 → 学校; …政府 → 政府; 市委…/县委…/…纪委监委/
    …委员会 → 党委机关; …局/…委/…办 → 部门."""
    n = "".join(str(name).split())
    if "督导室" in n or n.endswith(("督导办", "督导办公室")):
        return "supervision_office"
    if n.endswith(_SCHOOL):
        return "school"
    if n.endswith("政府"):
        return "government"
    if (n.startswith(_PARTY_PREFIX) or "纪委" in n or "监委" in n or n.endswith("委员会")
            or "党委" in n or "党组" in n):
        return "party_organ"
    if n.endswith(_DEPARTMENT_SUFFIX):
        return "department"
    return "other"


def check_kind(kind: str, field: str = "kind") -> str:
    """A unit kind, by its code (government …) or its Chinese name (政府 …)."""
    if isinstance(kind, str):
        k = kind.strip()
        if k in KINDS:
            return k
        if k in _KIND_BY_LABEL:
            return _KIND_BY_LABEL[k]
    choices = "、".join(f"{label}（{code}）" for code, label in KINDS.items())
    raise InvalidInput(
        f"单位类别 {kind!r} 无效，可选：{choices}",
        f"invalid unit kind {kind!r}: one of {', '.join(KINDS)}",
        field=field,
    )


def check_members(code: str, members: list[str], field: str = "members") -> list[str]:
    """A group's members: distinct unit codes, at least one, not the group itself."""
    if not isinstance(members, (list, tuple)):
        raise InvalidInput("群组成员应是单位代码的列表", "members must be a list of unit codes",
                           field=field)
    out: list[str] = []
    for m in members:
        m = check_code(m.strip() if isinstance(m, str) else m, field)
        if m == code:
            raise InvalidInput(f"群组 {code} 不能是自己的成员",
                               f"group {code} cannot be its own member", field=field)
        if m in out:
            raise InvalidInput(f"成员 {m} 重复", f"member {m} is listed twice", field=field)
        out.append(m)
    if not out:
        raise InvalidInput("至少要有一个成员单位", "at least one member unit", field=field)
    if len(out) > MAX_MEMBERS:
        raise InvalidInput(f"成员最多 {MAX_MEMBERS} 个", f"at most {MAX_MEMBERS} members",
                           field=field)
    return out


def check_code(code: str, field: str = "code") -> str:
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise InvalidInput(
            f"单位代码 {code!r} 无效：只能用字母、数字、“-”和“_”，以字母或数字开头，最长64位",
            f"invalid unit code {code!r}: letters, digits, '-' and '_' only, "
            "starting with a letter or digit, at most 64",
            field=field,
        )
    return code


class Unit(Aggregate):
    """A responsible unit: an office, a county, a school, or a group of them.

    ``category`` is what it is (:data:`KINDS`): recorded at registration (or guessed from
    its name, for units registered before units had one) and changed by ``KindChanged``.
    ``members``: the units a group answers through (``MembersSet``); empty, a group is one
    unit like any other. The service remembers the units it has loaded and drops a unit
    from that memo when it records an event on it.
    """

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        code: str,
        name: str,
        parent: str | None,
        principal: str | None,
        kind: str,
        actor: str,
        recorded_at: datetime,
        category: str | None = None,
    ) -> None:
        self.code = code
        self.name = name
        self.parent = parent
        self.principal = principal
        self.kind = kind
        self.registered_by = actor
        self.registered_at = recorded_at
        # units registered before kinds were recorded get the guess on read
        self.category = category or guess_kind(name)
        self.members: list[str] = []
        # the kinds it had: [{"kind", "previous", "actor", "at"}], oldest first
        self.kind_history: list[dict[str, Any]] = []

    def change_kind(self, kind: str, *, actor: str, recorded_at: datetime) -> bool:
        """Set the unit's kind; False (nothing recorded) when it already is that kind."""
        kind = check_kind(kind)
        if kind == self.category:
            return False
        self._kind_changed(code=self.code, kind=kind, previous=self.category, actor=actor,
                           recorded_at=recorded_at)
        return True

    @event("KindChanged")
    def _kind_changed(self, code: str, kind: str, previous: str, actor: str,
                      recorded_at: datetime) -> None:
        self.kind_history.append({"kind": kind, "previous": previous, "actor": actor,
                                  "at": recorded_at})
        self.category = kind

    def set_members(self, members: list[str], *, actor: str, recorded_at: datetime) -> bool:
        """The units this group answers through; False when they already are these."""
        members = check_members(self.code, members)
        if members == self.members:
            return False
        self._members_set(code=self.code, members=members, previous=list(self.members),
                          actor=actor, recorded_at=recorded_at)
        return True

    @event("MembersSet")
    def _members_set(self, code: str, members: list[str], previous: list[str], actor: str,
                     recorded_at: datetime) -> None:
        self.members = list(members)

    def same_as(self, name: str, parent: str | None, principal: str | None, kind: str) -> bool:
        return (self.name, self.parent, self.principal, self.kind) == (
            name,
            parent,
            principal,
            kind,
        )
