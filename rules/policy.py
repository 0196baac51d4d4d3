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
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.accountability import (
    DEFAULT_AGGRAVATION_MONTHS,
    DEFAULT_STATEMENT_DAYS,
    MAX_AGGRAVATION_MONTHS,
    MAX_STATEMENT_DAYS,
)
from domain.errors import DudaoError, InvalidInput
from domain.findings import MAX_WITHIN, SEVERITIES
from domain.plans import ACCOUNTABLE_KINDS, LagPolicy, check_accountable
from domain.rungs import CODE, MODES, Ladder
from domain.rungs import Rung as LadderRung

POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY = "default"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,19}$")  # fits in table names
PLACEHOLDERS = {"unit", "unit_code", "principal", "deadline", "due", "threshold", "text", "name"}
EVENTS = {
    "falsified": "复查认定整改报告弄虚作假",
    "interview_missed": "约谈期限已过仍未接受约谈（拒不接受约谈）",
    "manual": "只由督学手动升级",
}
"""What a rung's ``on`` may name: a trigger that is an event, not a count of days."""
BY_SEVERITY_KEYS = (*SEVERITIES, "default")


class PolicyError(InvalidInput):
    """A policy file that cannot be used: names the file, the key and the reason."""


def _by_severity(low: int, high: int) -> Any:
    """A number, or a table of numbers by severity (``{general = 20, major = 10}``), read
    as a table of every severity: one not listed takes ``default`` if given, else
    general's value; a table with neither refuses to load."""

    def number(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}应为整数，收到 {value!r}")
        if value < low:
            raise ValueError(f"{where}不能小于 {low}" + ("（不能为负数）" if low == 0 else "")
                             + f"，收到 {value}")
        if value > high:
            raise ValueError(f"{where}超出上限 {high}，收到 {value}")
        return value

    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            return dict.fromkeys(SEVERITIES, number(value, ""))
        unknown = [k for k in value if k not in BY_SEVERITY_KEYS]
        if unknown:
            raise ValueError(f"按严重程度取值的表里有未知的键 {unknown[0]!r}，"
                             f"应为 {'、'.join(BY_SEVERITY_KEYS)} 之一")
        table = {k: number(v, f"{k} 的取值") for k, v in value.items()}
        fallback = table.get("default", table.get("general"))
        missing = [s for s in SEVERITIES if s not in table]
        if missing and fallback is None:
            raise ValueError(f"按严重程度取值的表缺少 {missing[0]} 的取值，也没有 default "
                             f"或 general 可以沿用 (a severity is missing and there is no "
                             f"default or general)")
        return {s: table.get(s, fallback) for s in SEVERITIES}

    return BeforeValidator(check)


BySeverity = dict[str, int]


def _events(value: Any) -> Any:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        raise ValueError("on 应为文字或文字的列表")
    unknown = [x for x in items if x not in EVENTS]
    if unknown:
        raise ValueError(f"未知的触发条件 on = {unknown[0]!r}，应为 "
                         f"{'、'.join(EVENTS)} 之一 (unknown trigger)")
    return tuple(items)


class Rung(BaseModel):
    """One rung of the ladder: what it stands for, when it fires, what it sets, what it says."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    name: str = Field(min_length=1, max_length=40)
    mode: str
    from_: str | None = Field(default=None, alias="from", min_length=1)
    before: Annotated[BySeverity | None, _by_severity(0, 3650)] = None
    after: Annotated[BySeverity | None, _by_severity(0, 3650)] = None
    days: Literal["working", "calendar"] = "working"
    due: Annotated[BySeverity | None, _by_severity(1, 3650)] = None
    failed_reviews: Annotated[BySeverity | None, _by_severity(1, 100)] = None
    on: Annotated[tuple[str, ...], BeforeValidator(_events)] = ()
    sets_deadline: bool = False
    repeat: Literal["per_deadline", "once"] = "once"
    skip_for: tuple[Literal["general", "serious", "major"], ...] = ()
    # committee: the rung proposes 问责 (opens a case) and the 督导委员会 decides it
    decided_by: Literal["rules", "committee"] = "rules"
    notice: str = Field(min_length=1)

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in MODES:
            raise ValueError(f"未知的方式 {value!r}，应为 "
                             + "、".join(f"{k}（{v}）" for k, v in MODES.items()) + " 之一")
        return value

    @model_validator(mode="after")
    def _one_start(self) -> Rung:
        if self.manual:
            extra = [k for k in ("from_", "before", "after", "failed_reviews")
                     if getattr(self, k) is not None] + [x for x in self.on if x != "manual"]
            if extra:
                key = {"from_": "from"}.get(extra[0], extra[0])
                raise ValueError(f'on = "manual" 的级别只由督学手动升级，不能再写 {key} '
                                 f'(a manual rung has no other trigger)')
        elif self.from_ is None:
            if self.before is not None or self.after is not None:
                raise ValueError("写了 before 或 after，却没有写 from（从什么时候起算）"
                                 " (before/after need from)")
            if self.failed_reviews is None and not self.on:
                raise ValueError("缺少触发条件：from（及 after 或 before）、failed_reviews 或 on"
                                 " 至少写一个 (the rung has no trigger)")
        else:
            if self.before is not None and self.after is not None:
                raise ValueError("before 与 after 只能写一个 (give either before or after, not both)")
            if self.before is None and self.after is None:
                raise ValueError("缺少 after 或 before (missing after or before)")
            if self.before is not None and self.from_ != "deadline":
                raise ValueError('before 只能用于 from = "deadline" (before needs from = "deadline")')
        if self.sets_deadline and self.due is None:
            raise ValueError("sets_deadline = true 需要写 due（新期限是起算后多少天）"
                             " (sets_deadline needs due)")
        if self.repeat == "per_deadline" and self.from_ != "deadline":
            raise ValueError('repeat = "per_deadline" 只能用于 from = "deadline" 的级别'
                             ' (a rung repeats per deadline only when it counts from it)')
        bad = {m.group(1) for m in re.finditer(r"\{(\w*)\}", self.notice)} - PLACEHOLDERS
        if bad:
            raise ValueError(f"notice 里有未知占位符 {sorted(bad)} (unknown placeholders)")
        return self

    @property
    def manual(self) -> bool:
        """Fires only when an inspector raises it (``on = "manual"``)."""
        return "manual" in self.on

    @property
    def per_deadline(self) -> bool:
        return self.repeat == "per_deadline"

    def value(self, key: str, severity: str) -> int | None:
        """``before``, ``after``, ``due`` or ``failed_reviews`` for a finding's severity."""
        table: BySeverity | None = getattr(self, key)
        if table is None:
            return None
        return table.get(severity, table["general"])


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
    # days after a plan's import before any of its tasks may lag (nothing lags retroactively)
    grace: int = Field(default=10, ge=0, le=3650)
    # the unit kinds (domain.units.KINDS) the 督导室 may hold to account
    accountable: tuple[str, ...] = ACCOUNTABLE_KINDS

    @model_validator(mode="after")
    def _placeholders(self) -> Lagging:
        bad = {m.group(1) for m in re.finditer(r"\{(\w*)\}", self.text)} - LAG_PLACEHOLDERS
        if bad:
            raise ValueError(f"text 里有未知占位符 {sorted(bad)} (unknown placeholders)")
        try:
            check_accountable(self.accountable)
        except DudaoError as e:
            raise ValueError(f"accountable：{e}") from None
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
    _ladder: Ladder = PrivateAttr(default=())
    _index: dict[str, int] = PrivateAttr(default_factory=dict)
    _codes: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _ladder_check(self) -> Policy:
        if not self.rungs:
            raise ValueError("至少要有一级 (the ladder has no rung)")
        for code in self.rungs:
            if not CODE.match(code):
                raise ValueError(
                    f"@rungs.{code}@升级级别代码 {code!r} 无效：只能是小写字母和下划线，至多20个字符"
                    f"（它是通知主题的一段） (a rung's code is [a-z_]+, at most 20)"
                )
        codes = list(self.rungs)
        for code, rung in self.rungs.items():
            if rung.from_ is not None and rung.from_ != "deadline" and rung.from_ not in self.rungs:
                raise ValueError(
                    f"@rungs.{code}.from@引用了不存在的级别 {rung.from_!r} "
                    f"(from names an unknown rung)"
                )
        cycle = find_cycle({code: rung.from_ for code, rung in self.rungs.items()
                            if rung.from_ is not None})
        if cycle:
            raise ValueError(
                f"@rungs.{cycle[0]}.from@起算关系形成循环：{' → '.join(cycle)} "
                f"(the rungs count from each other in a cycle)"
            )
        for n, (code, rung) in enumerate(self.rungs.items()):
            if rung.from_ not in (None, "deadline") and codes.index(rung.from_) > n:
                raise ValueError(
                    f"@rungs.{code}.from@只能从排在它前面的级别起算（{rung.from_} 排在它后面；"
                    f"级别的先后就是文件里书写的先后） (from must name an earlier rung)"
                )
            if "interview_missed" in rung.on and self.interview_before(code) is None:
                raise ValueError(
                    f'@rungs.{code}.on@on = "interview_missed" 需要排在它前面有一级'
                    f' mode = "interview" 且写了 due（约谈期限）的约谈 '
                    f"(interview_missed needs an earlier interview rung with a due date)"
                )
        object.__setattr__(self, "_index", {code: n for n, code in enumerate(codes)})
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_ladder", tuple(
            LadderRung(code=code, order=n, name=rung.name, mode=rung.mode,
                       notice=rung.notice, sets_deadline=rung.sets_deadline,
                       per_deadline=rung.per_deadline)
            for n, (code, rung) in enumerate(self.rungs.items())))
        return self

    # ------------------------------------------------------------------ helpers

    def interview_before(self, code: str) -> str | None:
        """The nearest rung before ``code`` that stands for an interview and has a due date:
        the interview whose missing an ``on = "interview_missed"`` rung fires on."""
        codes = list(self.rungs)
        for other in reversed(codes[:codes.index(code)]):
            rung = self.rungs[other]
            if rung.mode == "interview" and rung.due is not None:
                return other
        return None

    @property
    def order(self) -> list[str]:
        """Rung codes in ladder order: the order the file writes them (each rung counts
        only from an earlier one)."""
        return self._codes

    def index(self, code: str) -> int:
        """A rung's order number (0 = the first written)."""
        return self._index[code]

    def ladder(self) -> Ladder:
        """The rungs as the domain records them (code, order, name, mode, properties)."""
        return self._ladder

    def rung(self, code: str) -> LadderRung:
        return self._ladder[self._index[code]]

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
    """A rung's notice text with its placeholders filled: ``unit`` is the unit's name,
    ``unit_code`` its code, ``principal`` its principal."""
    rung = policy.rungs[code]
    fields = {}
    for p in PLACEHOLDERS:
        value = values.get(p)
        fields[p] = "" if value is None else value
    fields["name"] = rung.name
    return rung.notice.format_map(fields)


__all__ = ["DEFAULT_POLICY", "SEVERITIES", "AccountabilityRules", "Lagging", "Policy", "PolicyError", "Rung", "load_policy",
           "parse_policy", "render_notice"]
