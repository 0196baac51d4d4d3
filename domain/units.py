"""Responsible units (责任单位) and lead units (牵头单位)."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.values import check_text

__all__ = ["check_text"]

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
UNIT_KINDS = ("unit", "group")


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

    A unit has no events after it is registered, so the service remembers the
    units it has loaded; whoever adds an event here must drop that memo.
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
    ) -> None:
        self.code = code
        self.name = name
        self.parent = parent
        self.principal = principal
        self.kind = kind
        self.registered_by = actor
        self.registered_at = recorded_at

    def same_as(self, name: str, parent: str | None, principal: str | None, kind: str) -> bool:
        return (self.name, self.parent, self.principal, self.kind) == (
            name,
            parent,
            principal,
            kind,
        )
