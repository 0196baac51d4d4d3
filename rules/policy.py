"""The escalation policy as data: one TOML file per policy version under ``rules/policies/``.

Policy staff edit the file; :func:`load_policy` validates it with pydantic and
refuses a wrong file with the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.accountability import (
    DEFAULT_AGGRAVATION_MONTHS,
    DEFAULT_STATEMENT_DAYS,
    MAX_AGGRAVATION_MONTHS,
    MAX_STATEMENT_DAYS,
)
from domain.errors import InvalidInput
from domain.findings import MAX_WITHIN, SEVERITIES
from domain.plans import LagPolicy
from domain.rungs import RUNGS, rung_of

POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY = "default"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,19}$")  # fits in table names
PLACEHOLDERS = {"unit", "deadline", "due", "threshold", "text", "name"}


class PolicyError(InvalidInput):
    """A policy file that cannot be used: names the file, the key and the reason."""


class Rung(BaseModel):
    """One rung of the ladder: when it fires, what it sets, what it says."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    name: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    before: int | None = Field(default=None, ge=0, le=3650)
    after: int | None = Field(default=None, ge=0, le=3650)
    days: Literal["working", "calendar"] = "working"
    due: int | None = Field(default=None, ge=1, le=3650)
    failed_reviews: int | None = Field(default=None, ge=1, le=100)
    skip_for: tuple[Literal["general", "serious", "major"], ...] = ()
    # committee: the rung proposes 问责 (opens a case) and the 督导委员会 decides it
    decided_by: Literal["rules", "committee"] = "rules"
    notice: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_start(self) -> Rung:
        if self.before is not None and self.after is not None:
            raise ValueError("before 与 after 只能写一个 (give either before or after, not both)")
        if self.before is None and self.after is None:
            raise ValueError("缺少 after 或 before (missing after or before)")
        if self.before is not None and self.from_ != "deadline":
            raise ValueError('before 只能用于 from = "deadline" (before needs from = "deadline")')
        bad = {m.group(1) for m in re.finditer(r"\{(\w*)\}", self.notice)} - PLACEHOLDERS
        if bad:
            raise ValueError(f"notice 里有未知占位符 {sorted(bad)} (unknown placeholders)")
        return self


class AccountabilityRules(BaseModel):
    """问责案件 ([accountability]): the statement window after 告知, the 从重 window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement_days: int = Field(default=DEFAULT_STATEMENT_DAYS, ge=1, le=MAX_STATEMENT_DAYS)
    aggravation_months: int = Field(default=DEFAULT_AGGRAVATION_MONTHS, ge=1,
                                    le=MAX_AGGRAVATION_MONTHS)


LAG_PLACEHOLDERS = {"plan", "number", "title", "reason", "deadline"}


class Lagging(BaseModel):
    """工作滞后: when a plan's task lags, and the finding it records (domain.plans.LagPolicy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="工作滞后", min_length=1)
    after: int = Field(default=0, ge=0, le=3650)
    days: Literal["working", "calendar"] = "working"
    within: int = Field(default=10, ge=1, le=MAX_WITHIN)
    severity: Literal["general", "serious", "major"] = "serious"
    inspector: str = Field(default="督导室（任务滞后规则）", min_length=1)
    text: str = Field(default="工作滞后：{plan}任务{number}“{title}”{reason}，截至{deadline}未完成",
                      min_length=1)

    @model_validator(mode="after")
    def _placeholders(self) -> Lagging:
        bad = {m.group(1) for m in re.finditer(r"\{(\w*)\}", self.text)} - LAG_PLACEHOLDERS
        if bad:
            raise ValueError(f"text 里有未知占位符 {sorted(bad)} (unknown placeholders)")
        return self

    def rule(self) -> LagPolicy:
        return LagPolicy(**self.model_dump())


class Policy(BaseModel):
    """A whole policy version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = Field(pattern=NAME.pattern)
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    rungs: dict[str, Rung]
    lagging: Lagging = Lagging()
    accountability: AccountabilityRules = AccountabilityRules()

    @model_validator(mode="after")
    def _ladder(self) -> Policy:
        unknown = [code for code in self.rungs if code not in RUNGS]
        if unknown:
            raise ValueError(
                f"@rungs.{unknown[0]}@未知的升级级别 {unknown[0]!r}，应为 {'、'.join(RUNGS)} 之一 "
                f"(unknown rung)"
            )
        if not self.rungs:
            raise ValueError("至少要有一级 (the ladder has no rung)")
        for code, rung in self.rungs.items():
            if rung.from_ != "deadline" and rung.from_ not in self.rungs:
                raise ValueError(
                    f"@rungs.{code}.from@引用了不存在的级别 {rung.from_!r} "
                    f"(from names an unknown rung)"
                )
        cycle = find_cycle({code: rung.from_ for code, rung in self.rungs.items()})
        if cycle:
            raise ValueError(
                f"@rungs.{cycle[0]}.from@起算关系形成循环：{' → '.join(cycle)} "
                f"(the rungs count from each other in a cycle)"
            )
        return self

    # ------------------------------------------------------------------ helpers

    @property
    def order(self) -> list[str]:
        """Rung codes so that each comes after the rung it counts from."""
        done: list[str] = []
        pending = sorted(self.rungs, key=rung_of)
        while pending:
            for code in pending:
                source = self.rungs[code].from_
                if source == "deadline" or source in done:
                    done.append(code)
                    pending.remove(code)
                    break
        return done

    @property
    def digest(self) -> str:
        """A short fingerprint of the content: read models are kept per digest."""
        return hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()[:10]

    def label(self) -> str:
        return f"{self.policy} v{self.version}"


def find_cycle(edges: dict[str, str]) -> list[str] | None:
    for start in edges:
        seen = [start]
        node = edges[start]
        while node in edges:
            if node in seen:
                return [*seen[seen.index(node):], node]
            seen.append(node)
            node = edges[node]
    return None


ZH_ERRORS = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的键",
    "greater_than_equal": "不能小于下限（不能为负数）",
    "less_than_equal": "超出上限",
    "string_too_short": "不能为空",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "string_type": "应为文字",
    "literal_error": "取值无效",
    "string_pattern_mismatch": "格式不对（小写字母开头，只含小写字母、数字、下划线，至多20个字符）",
    "dict_type": "应为表",
    "tuple_type": "应为列表",
}


def _describe(error: Any) -> tuple[str, str]:
    key = ".".join(str(p) for p in error["loc"]) or "policy"
    kind = error["type"]
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        named = re.match(r"@([^@]+)@(.*)", message, re.S)
        if named:
            return named.group(1), named.group(2)
        return key, message
    zh = ZH_ERRORS.get(kind, "")
    if kind == "literal_error":
        zh = f"取值无效，{message}"
    return key, f"{zh} ({message})" if zh else message


def parse_policy(text: str, source: str) -> Policy:
    """Validate the text of a policy file; errors name the file, key and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(
            f"策略文件 {source} 不是有效的 TOML：{e}",
            f"policy file {source} is not valid TOML: {e}",
            field="--policy",
        ) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        key, reason = _describe(e.errors()[0])
        more = f"（另有{e.error_count() - 1}处错误）" if e.error_count() > 1 else ""
        raise PolicyError(
            f"策略文件 {source} 的 {key}：{reason}{more}",
            f"policy file {source}, key {key}: {reason}",
            field="--policy",
        ) from None


def policy_path(name: str, folders: Sequence[Path] = ()) -> Path:
    """The file of a policy: a path to a .toml file, or a name under the policy folders."""
    if name.endswith(".toml") or os.sep in name:
        return Path(name)
    if not NAME.match(name):
        raise PolicyError(
            f"策略名称 {name!r} 无效（小写字母开头，只含小写字母、数字、下划线）",
            f"invalid policy name {name!r}",
            field="--policy",
        )
    for folder in [*folders, POLICY_DIR]:
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in POLICY_DIR.glob("*.toml"))
    raise PolicyError(
        f"没有名为 {name} 的升级策略（已有：{'、'.join(known)}）",
        f"no escalation policy named {name!r} (known: {', '.join(known)})",
        field="--policy",
    )


def load_policy(name: str | None = None, folders: Sequence[Path] = ()) -> Policy:
    """The policy of this name (``None``: the default policy) or file; named policies are
    looked up in ``folders`` (the operator's, ``DUDAO_POLICIES``) before the built-in ones."""
    name = name or DEFAULT_POLICY
    path = policy_path(name, folders)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(
            f"无法读取策略文件 {path}：{e.strerror}",
            f"cannot read the policy file {path}: {e.strerror}",
            field="--policy",
        ) from None
    policy = parse_policy(text, str(path))
    if not (name.endswith(".toml") or os.sep in name) and policy.policy != name:
        raise PolicyError(
            f"策略文件 {path} 的 policy：写的是 {policy.policy!r}，与文件名 {name!r} 不符",
            f"policy file {path}, key policy: {policy.policy!r} does not match the file name",
            field="--policy",
        )
    return policy


def render_notice(policy: Policy, code: str, **values: Any) -> str:
    rung = policy.rungs[code]
    fields = {p: values.get(p, "") for p in PLACEHOLDERS}
    fields["name"] = rung.name
    return rung.notice.format(**{k: ("" if v is None else v) for k, v in fields.items()})


__all__ = ["DEFAULT_POLICY", "SEVERITIES", "AccountabilityRules", "Lagging", "Policy", "PolicyError", "Rung", "load_policy",
           "parse_policy", "render_notice"]
