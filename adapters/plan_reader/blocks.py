"""A plan's structure: paragraphs (blocks), section headings and their kinds, table rows,
the plan's title."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.plan_reader.annotations import LABEL_RE
from adapters.plan_reader.unit_names import looks_like_unit, normalise_name

L1_RE = re.compile(r"^\s*([一二三四五六七八九十]{1,3})\s*[、.]\s*(\S.*)$")
L2_RE = re.compile(r"^\s*[(（]\s*([一二三四五六七八九十]{1,3})\s*[)）]\s*(\S.*)$")
ITEM_NUM_RE = re.compile(
    r"^\s*(?:[(（]\s*(\d{1,4})\s*[)）]|(\d{1,4})\s*[.、．)]|(\d{1,4})(?=[\u4e00-\u9fff])"
    r"(?![年月日号%个所人名项次])|第([一二三四五六七八九十]{1,3})[条项])\s*(\S.*)$"
)
STAGE_HEAD_RE = re.compile(r"^\s*第([一二三四五六七八九十]{1,3})阶段\s*[:：]?\s*(.*)$")
TASK_SECTION = ("任务", "措施", "重点工作", "工作内容", "主要内容", "重点项目")
GOAL_SECTION = ("目标",)
STAGE_SECTION = ("步骤", "进度", "时间安排", "实施阶段", "阶段安排")
OTHER_SECTION = ("组织", "保障", "要求", "实施", "指导思想", "原则", "背景", "说明", "打算",
                 "过程", "内容")


NOT_TASK_SECTION = ("保障措施", "保障机制", "组织实施", "组织领导", "组织保障", "工作要求", "工作保障")


def section_kind(title: str) -> str | None:
    head = title.split("。")[0][:20]
    if any(w in head for w in NOT_TASK_SECTION):
        return "other"
    for words, kind in ((STAGE_SECTION, "stages"), (GOAL_SECTION, "goals"),
                        (TASK_SECTION, "tasks"), (OTHER_SECTION, "other")):
        if any(w in head for w in words):
            return kind
    return None


@dataclass
class Block:
    line: int
    text: str
    lines: int = 1


def blocks_of(lines: list[str]) -> list[Block]:
    """Paragraphs: a blank line or a numbered/heading line starts a new one."""
    out: list[Block] = []
    current: Block | None = None
    pipes = tabs = 0
    heading = False
    parts: list[str] = []
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            if current is not None:
                current.text = "".join(parts)
            current = None
            continue
        starts_new = bool(
            L1_RE.match(line) or L2_RE.match(line) or ITEM_NUM_RE.match(line)
            or STAGE_HEAD_RE.match(line) or is_table_row(line)
        )
        attaches = bool(re.match(LABEL_RE + r"\s*[:：]", line)) or bool(
            re.match(r"^[<\[(【]\s*" + LABEL_RE, line))
        # is the block so far a table row (``is_table_row`` of its text, counted as it grows:
        # a long paragraph costs no more than its length)
        if current is not None and (attaches or not starts_new) and not (
                pipes >= 2 or tabs >= 1) and not heading:
            parts.append(line)
            current.lines += 1
            pipes, tabs = pipes + line.count("|"), tabs + line.count("\t")
        else:
            if current is not None:
                current.text = "".join(parts)
            current = Block(i, line)
            out.append(current)
            parts = [line]
            pipes, tabs = line.count("|"), line.count("\t")
            # a section heading on a line of its own (一、工作目标) does not take in the
            # paragraph under it when no blank line separates them
            m = L1_RE.match(line) or L2_RE.match(line)
            heading = bool(m and len(m.group(2)) <= 16 and not re.search(r"[。,;:]", m.group(2))
                           and section_kind(m.group(2)) is not None)
    if current is not None:
        current.text = "".join(parts)
    return out


def table_cells(line: str) -> list[str]:
    if "|" in line:
        return [c.strip() for c in line.strip().strip("|").split("|")]
    if "\t" in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in re.split(r"\s{2,}", line.strip())]


def is_table_row(line: str) -> bool:
    return ("|" in line and line.count("|") >= 2) or line.count("\t") >= 1


def table_header(cells: list[str]) -> dict[str, int] | None:
    """The columns of a task table's header row (task, lead, responsible, number,
    deadline), or None if the row is no such header."""
    cols: dict[str, int] = {}
    for i, c in enumerate(cells):
        if re.search(r"牵头", c):
            cols.setdefault("lead", i)
        elif re.search(r"责任|配合|承办", c):
            cols.setdefault("responsible", i)
        elif re.search(r"序号|编号", c):
            cols.setdefault("number", i)
        elif re.search(r"时限|时间|期限|完成", c):
            cols.setdefault("deadline", i)
        elif re.search(r"任务|内容|措施|事项|工作", c):
            cols.setdefault("task", i)
    if "task" in cols and ("responsible" in cols or "lead" in cols):
        return cols
    return None


# ------------------------------------------------------------------ title

PERIOD_RE = re.compile(r"(20\d\d)\s*年?\s*[-—–~至到]+\s*(20\d\d)")


def plan_title(lines: list[str]) -> str | None:
    for line in lines[:60]:
        for m in re.finditer(r"《([^》]{4,80})》", line):
            if re.search(r"方案|计划|规划", m.group(1)):
                return m.group(1).strip()
    for line in lines[:60]:
        s = line.strip()
        if 4 <= len(s) <= 80 and re.search(r"(实施方案|行动计划|行动方案|工作方案|工作计划|实施意见)", s):
            return s
    return None


ISSUER_RE = re.compile(r"([\u4e00-\u9fff()]{2,40}?)(?:关于)?印发")


def plan_issuer(lines: list[str]) -> str | None:
    """The body that issued the plan: the one in its 关于印发…的通知 line or the line that
    says it 印发 the plan, in the first 40 lines."""
    for line in lines[:40]:
        m = ISSUER_RE.search(line.strip()[:300])
        if m:
            name = normalise_name(re.split(r"[、,\s]", m.group(1))[-1])
            if looks_like_unit(name) and not name.startswith(("现将", "特")):
                return name
    return None
