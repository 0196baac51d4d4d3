"""The parsed model of a plan: what ``parse_plan`` read, before anything is recorded.

Plain data, no rules: the service layer turns it into the domain's aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class ParsedIndicator:
    name: str
    comparator: str
    value: str  # the number as written (Arabic digits)
    unit: str
    deadline: date | None
    line: int
    text: str  # the clause it was read from
    period: str | None = None  # 每年, 每学期: one of a periodic target's indicators

    def as_dict(self, n: int) -> dict[str, object]:
        out: dict[str, object] = {
            "n": n, "name": self.name, "comparator": self.comparator, "value": self.value,
            "unit": self.unit, "deadline": self.deadline, "line": self.line, "text": self.text}
        if self.period:
            out["period"] = self.period
        return out


@dataclass
class ParsedTask:
    ordinal: int
    number: str  # as written: "(一)", "3", "附件(二)"
    title: str
    text: str
    category: str | None
    lead: list[str]
    responsible: list[str]
    indicators: list[ParsedIndicator]
    deadline: date | None
    deadline_source: str  # "task" (written in the task), "stage" (its 整改 stage's end),
    # "plan" (the plan's end), "none"
    line: int
    style: str  # which annotation style the units came from
    stages: list[str] = field(default_factory=list)
    """The stages that govern it (the 整改 stage it is due in, the 复评 stage that reviews it)."""


@dataclass
class ParsedStage:
    name: str
    start: date
    end: date
    line: int


@dataclass
class Warning:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.message}" if self.line else self.message


@dataclass
class ParsedPlan:
    title: str | None
    period: tuple[int, int] | None
    tasks: list[ParsedTask] = field(default_factory=list)
    goals: list[ParsedIndicator] = field(default_factory=list)
    stages: list[ParsedStage] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # name -> "unit" | "group"
    groups_lines: dict[str, int] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)

    issuer: str | None = None
    """The body that issued the plan (its 印发 line), if the text names one."""
    goal_dates: list[date] = field(default_factory=list)
    over_limit: bool = False
    """More tasks than ``parse_plan`` was told to read: it stopped there (never imported)."""

    @property
    def end(self) -> date | None:
        """The plan's own end: its period's last year, else the latest of its stages'
        ends and the dates in its goals section."""
        if self.period:
            return date(self.period[1], 12, 31)
        dates = [s.end for s in self.stages] + self.goal_dates
        return max(dates) if dates else None

    @property
    def first_year(self) -> int | None:
        """The plan's first year: its period's, else its first stage's (periodic targets
        count from it)."""
        if self.period:
            return self.period[0]
        return min(s.start.year for s in self.stages) if self.stages else None

    def governing(self) -> tuple[date, list[str]] | None:
        """The stage a task without a date of its own is due in (the first 整改 stage), with
        the stage that reviews it (the first 复评/验收 stage after it): (its end, names)."""
        doing = next((s for s in self.stages if "整改" in s.name), None)
        if doing is None:
            return None
        review = next((s for s in self.stages if s.start > doing.start
                       and any(w in s.name for w in ("复评", "验收", "评估", "复查"))), None)
        return doing.end, [doing.name] + ([review.name] if review else [])

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Warning(line, message))
