"""``parse_plan``: a plan's text into the parsed model, tasks assembled from its blocks."""

from __future__ import annotations

import re
from datetime import date

from adapters.plan_reader.annotations import Annotation, read_annotation
from adapters.plan_reader.blocks import (
    ITEM_NUM_RE,
    L1_RE,
    L2_RE,
    PERIOD_RE,
    STAGE_HEAD_RE,
    Block,
    blocks_of,
    is_table_row,
    plan_issuer,
    plan_title,
    section_kind,
    table_cells,
    table_header,
)
from adapters.plan_reader.dates import (
    MONTH_RE,
    find_deadlines,
    parse_garbled_stage,
    parse_single_month,
    parse_stage,
)
from adapters.plan_reader.decoding import normalise_text
from adapters.plan_reader.indicators import mask, read_indicators
from adapters.plan_reader.layout import reflow
from adapters.plan_reader.model import ParsedPlan, ParsedStage, ParsedTask
from adapters.plan_reader.unit_names import is_group, looks_like_unit, split_names, split_on_known


def parse_plan(text: str, *, max_tasks: int | None = None) -> ParsedPlan:
    """Read a plan's text. Never raises on odd input: it warns instead.

    With ``max_tasks``, reading stops at the first task past it and the result is
    marked ``over_limit`` (see :func:`check_plan_tasks`): a huge plan costs no more
    than one of the limit's size."""
    lines = reflow(normalise_text(text).split("\n"))
    title = plan_title(lines)
    period = None
    if title:
        m = PERIOD_RE.search(title)
        if m and int(m.group(1)) <= int(m.group(2)):
            period = (int(m.group(1)), int(m.group(2)))
        else:
            years = set(re.findall(r"(20\d\d)\s*年", title))
            if len(years) == 1:  # 《2024年…工作方案》: the plan is for that year
                year = int(years.pop())
                period = (year, year)
    plan = ParsedPlan(title=title, period=period, issuer=plan_issuer(lines))
    blocks = blocks_of(lines)

    # First pass: stages (they give the plan's end when its title has no period).
    l1_kind: str | None = None
    kinds: list[tuple[Block, str | None, str | None]] = []
    l2_kind: str | None = None
    category: str | None = None
    for b in blocks:
        m1 = L1_RE.match(b.text)
        if m1 and len(m1.group(2)) <= 30 and "。" not in m1.group(2):
            l1_kind = section_kind(m1.group(2))
            l2_kind = None
            category = None
            kinds.append((b, "heading", None))
            continue
        m2 = L2_RE.match(b.text)
        if m2 and "。" not in b.text and len(b.text) <= 40 and not read_annotation(b.text):
            k = section_kind(m2.group(2))
            if l1_kind == "tasks" and k is None:
                category = m2.group(2).strip()
            else:
                l2_kind = k
            kinds.append((b, "heading", None))
            continue
        kind = l2_kind or l1_kind
        if kind == "tasks" and "。" not in b.text and len(b.text) <= 40 and \
                not read_annotation(b.text) and not is_table_row(b.text):
            category = b.text.strip(" ()")
            kinds.append((b, "heading", None))
            continue
        kinds.append((b, kind, category))

    for b, kind, _ in kinds:
        if kind == "goals":
            plan.goal_dates.extend(d for _, d in find_deadlines(mask(b.text)))
        if kind == "stages" or STAGE_HEAD_RE.match(b.text) or re.search(r"阶段\s*[(（:：]", b.text[:30]):
            if kind not in ("stages",) and not STAGE_HEAD_RE.match(b.text):
                continue
            _read_stage(plan, b)

    plan_end = plan.end
    ordinal = 0
    table: list[str] | None = None
    table_cols: dict[str, int] = {}
    seen_task_sections = 0
    for b, kind, category in kinds:
        if kind == "heading":
            if kind == "tasks":
                seen_task_sections += 1
            continue
        if kind == "stages" or STAGE_HEAD_RE.match(b.text):
            continue
        if is_table_row(b.text):
            cells = table_cells(b.text)
            cols = table_header(cells)
            if cols and (table is None or not _table_row_fits(cells, table_cols)):
                table, table_cols = cells, cols
                continue
            if table is None:
                pass
            elif re.fullmatch(r"[\s|:\-—=]+", b.text):
                continue
            else:
                ordinal += 1
                task = _table_task(plan, b, cells, table_cols, ordinal, category, plan_end)
                if task:
                    plan.tasks.append(task)
                    if max_tasks is not None and len(plan.tasks) > max_tasks:
                        plan.over_limit = True
                        return plan
                else:
                    ordinal -= 1
                continue
        else:
            table = None
        numbered = ITEM_NUM_RE.match(b.text) or L2_RE.match(b.text)
        ann = read_annotation(b.text, loose=bool(numbered) or kind == "tasks")
        if ann is not None or (kind == "tasks" and numbered and "。" in b.text):
            ordinal += 1
            plan.tasks.append(_task(plan, b, ann, ordinal, category, plan_end, numbered))
            if max_tasks is not None and len(plan.tasks) > max_tasks:
                plan.over_limit = True
                return plan
            continue
        if kind == "goals":
            inds, unread = read_indicators(b.text, b.line, _first_deadline(b.text) or plan_end,
                                           plan.first_year, plan_end.year if plan_end else None)
            plan.goals.extend(inds)
            for u in unread:
                plan.warn(b.line, f"工作目标中未能识别为指标的数值：“{u}”")
            if not inds and "。" in b.text:
                plan.warn(b.line, f"跳过段落（工作目标，没有可读的数值指标）：“{_head(b.text)}”")
            continue
        if "。" in b.text or (kind == "tasks" and len(b.text) >= 20):
            where = "任务部分" if kind == "tasks" else "非任务部分"
            plan.warn(b.line, f"跳过段落（{where}，没有任务编号或责任单位标注）：“{_head(b.text)}”")

    _number_tasks(plan)
    _resolve_units(plan)
    plan.warnings.sort(key=lambda w: w.line)
    return plan


def _table_row_fits(cells: list[str], cols: dict[str, int]) -> bool:
    """A row under a header is a task row unless it is another header (its number cell
    says 序号)."""
    i = cols.get("number")
    return not (i is not None and i < len(cells) and re.search(r"序号|编号", cells[i]))


def _head(text: str, n: int = 24) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + "…"


def _first_deadline(text: str) -> date | None:
    ds = find_deadlines(mask(text))
    return ds[0][1] if ds else None


def _read_stage(plan: ParsedPlan, b: Block) -> None:
    text = b.text
    m = STAGE_HEAD_RE.match(text)
    names = [n for n in re.findall(r"([^\s,。:()（）\d—-]{2,12}阶段)", text[:80])
             if not n.startswith("第")]
    name = names[0] if names else _head(text, 12)
    if m:
        name = f"第{m.group(1)}阶段：{name}" if names else f"第{m.group(1)}阶段"
    span = parse_stage(text[:80])
    if span is None:
        span = parse_garbled_stage(text[:80])
        if span is not None:
            plan.warn(b.line, f"阶段日期缺少“年”“月”字，按{span[0]:%Y年%m月}—{span[1]:%Y年%m月}登记："
                              f"“{_head(text, 30)}”")
    if span is None:
        head = text[:60]
        if re.search(MONTH_RE, head) and not re.search(r"[-—–~至到]", head.split("。")[0]):
            span = parse_single_month(head)
    if span is None:
        if re.search(r"\d{4}", text[:60]):
            plan.warn(b.line, f"阶段的起止日期无法识别，未登记：“{_head(text, 30)}”")
        elif "。" in text:
            plan.warn(b.line, f"跳过段落（推进步骤，没有日期）：“{_head(text)}”")
        return
    plan.stages.append(ParsedStage(name=name, start=span[0], end=span[1], line=b.line))


def _task(plan: ParsedPlan, b: Block, ann: Annotation | None, ordinal: int,
          category: str | None, plan_end: date | None, numbered: re.Match[str] | None) -> ParsedTask:
    text = b.text
    style = "none"
    lead: list[str] = []
    resp: list[str] = []
    if ann is not None:
        text = (text[: ann.start] + text[ann.end:]).strip()
        lead, resp, style = ann.lead, ann.responsible, ann.style
    number = ""
    body = text
    m = ITEM_NUM_RE.match(text)
    if m:
        number = next(g for g in m.groups()[:4] if g)
        body = m.group(5)
    else:
        m2 = L2_RE.match(text)
        if m2:
            number = f"({m2.group(1)})"
            body = m2.group(2)
    body = body.strip()
    title_end = body.find("。")
    title = body[:title_end] if 0 < title_end <= 40 else _head(body, 20)
    task_deadlines = [d for _, d in find_deadlines(mask(body))]
    governing = plan.governing()
    stages: list[str] = []
    if task_deadlines:
        deadline, source = max(task_deadlines), "task"
    elif governing is not None:
        (deadline, stages), source = governing, "stage"
    elif plan_end is not None:
        deadline, source = plan_end, "plan"
    else:
        deadline, source = None, "none"
    inds, unread = read_indicators(body, b.line, deadline, plan.first_year,
                                   plan_end.year if plan_end else None)
    for u in unread:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）中未能识别为指标的数值：“{u}”")
    if ann is not None and not lead and not resp:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）的责任单位标注为空")
    elif ann is None:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）没有标注责任单位")
    return ParsedTask(
        ordinal=ordinal, number=number, title=title, text=body, category=category,
        lead=lead, responsible=resp, indicators=inds, deadline=deadline,
        deadline_source=source, line=b.line, style=style, stages=stages,
    )


def _table_task(plan: ParsedPlan, b: Block, cells: list[str], cols: dict[str, int],
                ordinal: int, category: str | None, plan_end: date | None) -> ParsedTask | None:
    def cell(key: str) -> str:
        i = cols.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    body = cell("task")
    if not body:
        plan.warn(b.line, f"跳过表格行（没有任务内容）：“{_head(b.text)}”")
        return None
    lead = split_names(cell("lead")) if cell("lead") else []
    resp = split_names(cell("responsible")) if cell("responsible") else []
    title_end = body.find("。")
    title = body[:title_end] if 0 < title_end <= 40 else _head(body, 20)
    ds = [d for _, d in find_deadlines(mask(cell("deadline") or body))]
    deadline, source = (max(ds), "task") if ds else ((plan_end, "plan") if plan_end else (None, "none"))
    inds, unread = read_indicators(body, b.line, deadline, plan.first_year,
                                   plan_end.year if plan_end else None)
    number = cell("number") or str(ordinal)
    for u in unread:
        plan.warn(b.line, f"任务{number}（{_head(title, 12)}）中未能识别为指标的数值：“{u}”")
    if not lead and not resp:
        plan.warn(b.line, f"任务{number}（{_head(title, 12)}）没有标注责任单位")
    return ParsedTask(ordinal=ordinal, number=number, title=title, text=body, category=category,
                      lead=lead, responsible=resp, indicators=inds, deadline=deadline,
                      deadline_source=source, line=b.line, style="table")


def _number_tasks(plan: ParsedPlan) -> None:
    """Keep written numbers unique: a repeated one (an attachment's (一)) gets a prefix."""
    seen: set[str] = set()
    for t in plan.tasks:
        if not t.number:
            t.number = str(t.ordinal)
        if t.number in seen:
            t.number = f"{t.ordinal}:{t.number}"
        seen.add(t.number)


FRAGMENT_STARTS = ("委", "政府", "府", "人民政府")
"""A name starting so lost its jurisdiction in copying (区委编办 → 委编办, 区政府办 → 政府办)."""


def _jurisdiction(names: set[str]) -> str | None:
    """The level (区, 市, 县…) at least two thirds of the plan's full unit names start with."""
    full = [n for n in names if not n.startswith(FRAGMENT_STARTS) and not is_group(n)]
    if len(full) < 2:
        return None
    firsts = [n[0] for n in full if n[0] in "区市县镇乡"]
    best = max(set(firsts), key=firsts.count) if firsts else None
    return best if best and firsts.count(best) * 3 >= len(full) * 2 else None


def _resolve_units(plan: ParsedPlan) -> None:
    """Check every name; split run-together ones on names seen elsewhere; drop fragments."""
    known = {n for t in plan.tasks for n in (*t.lead, *t.responsible)}
    prefix = _jurisdiction(known)
    for t in plan.tasks:
        for role in ("lead", "responsible"):
            names: list[str] = getattr(t, role)
            out: list[str] = []
            for name in names:
                parts = [name]
                split = split_on_known(name, known) if len(name) <= 80 else None
                if split and not looks_like_unit(split[0]):
                    plan.warn(t.line, f"责任单位“{name}”疑为两个名称连写，按“{split[1]}”登记；"
                                      f"“{split[0]}”不是完整的单位名称，未登记")
                    parts = [split[1]]
                elif split:
                    parts = list(split)
                for p in parts:
                    if p.startswith(FRAGMENT_STARTS):
                        if prefix and (prefix + p) not in out:
                            plan.warn(t.line, f"“{p}”没有写明所属地区，按本方案其他单位的"
                                              f"“{prefix}”登记为“{prefix}{p}”；如有误请在预览表中改正")
                            out.append(prefix + p)
                        elif not prefix:
                            plan.warn(t.line, f"“{p}”没有写明所属地区（如“区{p}”“市{p}”），"
                                              "不是完整的单位名称，未登记；请在预览表中改正")
                    elif len(p) > 40:
                        plan.warn(t.line, f"“{p[:20]}…”过长（{len(p)}字），不像单位名称，未登记")
                    elif is_group(p) or looks_like_unit(p):
                        if p not in out:
                            out.append(p)
                    else:
                        plan.warn(t.line, f"“{p}”不像单位名称，未登记为责任单位")
            setattr(t, role, out)
        for n in (*t.lead, *t.responsible):
            kind = "group" if is_group(n) else "unit"
            plan.units.setdefault(n, kind)
            if kind == "group":
                plan.groups_lines.setdefault(n, t.line)
        if not t.lead and not t.responsible and t.style != "none":
            plan.warn(t.line, f"任务{t.number}（{_head(t.title, 12)}）没有可登记的责任单位")
