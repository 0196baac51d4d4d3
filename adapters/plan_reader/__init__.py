"""Reading an action plan (实施方案) from its text: a translator at the edge, pure, no I/O.

``parse_plan(text)`` returns the plan's title, period, tasks (number, title,
text, lead and responsible units, indicators, deadline), the plan-level goals
(indicators of its 工作目标 section), its stages (推进步骤) and a warning for
everything it could not read. It never invents a unit or a number: a unit is
a name written in an annotation, an indicator is a number written after (or
before) an explicit comparator (达到…以上, 不得超过, 不少于, 至少, …).

It imports only the standard library, itself and ``domain.errors`` (a refusal is the
domain's ``InvalidInput``); ``tests/test_architecture.py`` checks that. Its parts, each
reading one thing:

* ``decoding``: bytes → text (UTF-8 or GB18030; empty, binary, garbled refused);
* ``limits``: at most ``MAX_PLAN_BYTES`` bytes and ``MAX_PLAN_TASKS`` tasks;
* ``blocks``: paragraphs, section headings, table rows, the plan's title;
* ``annotations``: 责任单位/牵头单位 annotations;
* ``indicators``: numbers after a comparator; ``dates``: deadlines and stages;
  ``numerals``: Chinese numerals;
* ``unit_names``: unit names as plans write them, and unit codes;
* ``model``: the parsed plan; ``parser``: ``parse_plan``, which assembles it.
"""

from __future__ import annotations

from adapters.plan_reader.annotations import Annotation, read_annotation
from adapters.plan_reader.decoding import decode_plan, normalise_text
from adapters.plan_reader.limits import (
    MAX_PLAN_BYTES,
    MAX_PLAN_TASKS,
    check_plan_size,
    check_plan_tasks,
)
from adapters.plan_reader.model import (
    ParsedIndicator,
    ParsedPlan,
    ParsedStage,
    ParsedTask,
    Warning,
)
from adapters.plan_reader.parser import parse_plan
from adapters.plan_reader.unit_names import (
    base_code,
    is_group,
    looks_like_unit,
    normalise_name,
    qualified_code,
    split_names,
)

__all__ = [
    "MAX_PLAN_BYTES",
    "MAX_PLAN_TASKS",
    "Annotation",
    "ParsedIndicator",
    "ParsedPlan",
    "ParsedStage",
    "ParsedTask",
    "Warning",
    "base_code",
    "check_plan_size",
    "check_plan_tasks",
    "decode_plan",
    "is_group",
    "looks_like_unit",
    "normalise_name",
    "normalise_text",
    "parse_plan",
    "qualified_code",
    "read_annotation",
    "split_names",
]
