"""How much of a plan is read at all: its size in bytes and its number of tasks."""

from __future__ import annotations

from adapters.plan_reader.model import ParsedPlan
from domain.errors import InvalidInput

MAX_PLAN_BYTES = 5 * 1024 * 1024
"""A plan file (or the text of ``POST /plans``) is at most 5 MiB."""
MAX_PLAN_TASKS = 2000
"""A plan has at most 2,000 tasks."""


def check_plan_size(size: int, source: str = "FILE") -> None:
    """Refuse a plan over ``MAX_PLAN_BYTES`` (a reader passes at most one byte more)."""
    if size > MAX_PLAN_BYTES:
        raise InvalidInput(
            f"文件 {source} 过大（FILE 最多 {MAX_PLAN_BYTES // (1024 * 1024)} MiB），未导入",
            f"{source} is too large (FILE: at most {MAX_PLAN_BYTES} bytes); nothing imported",
            field="FILE",
        )


def check_plan_tasks(plan: ParsedPlan, source: str = "FILE") -> None:
    """Refuse a plan of more than ``MAX_PLAN_TASKS`` tasks (never import part of it)."""
    if plan.over_limit or len(plan.tasks) > MAX_PLAN_TASKS:
        raise InvalidInput(
            f"文件 {source} 的任务过多（FILE 最多 {MAX_PLAN_TASKS} 项任务），未导入"
            "（不会只导入一部分）；请把方案拆成几份分别导入",
            f"{source} has too many tasks (FILE: at most {MAX_PLAN_TASKS}); nothing imported"
            " (never a part of it); split the plan",
            field="FILE",
        )
