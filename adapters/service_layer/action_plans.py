"""Action plans on the service: import, the ledger (工作台账), progress, sign-off, lagging.

The service methods in ``adapters.service_layer.application.Dudao`` delegate here. Everything an
import records -- new units, the plan and its tasks -- is saved in one
transaction: a refused import records nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from adapters.plan_reader import (
    MAX_PLAN_TASKS,
    ParsedPlan,
    base_code,
    check_plan_tasks,
    is_group,
    normalise_name,
    normalise_text,
    parse_plan,
    qualified_code,
)
from adapters.service_layer.plan_files import (
    is_ledger,
    ledger_xlsx,
    plan_from_rows,
    plan_rows,
    plan_text,
    sheet_rows,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.ids import keyed_id, unit_id
from domain.plans import (
    COMPARATOR_TEXT,
    INDICATOR_STATES,
    ROLES,
    TASK_STATUSES,
    ActionPlan,
    Lag,
    LagPolicy,
    Task,
    check_value,
    target_text,
    task_row,
)
from domain.time import local_date
from domain.units import CODE_PATTERN, KINDS, Unit, check_code, check_text, guess_kind
from domain.values import check_day
from projections.exports import task_rows

if TYPE_CHECKING:
    from adapters.service_layer.application import Dudao

# The lagging rule's defaults, until the policy file (rules/policies/) carries them.
LAG_POLICY = LagPolicy()


def plan_id(code: str) -> Any:
    return keyed_id("plan", code)


def task_id(code: str) -> Any:
    return keyed_id("task", code)


def default_plan_code(source: str, digest: str) -> str:
    """The file's stem if it is a valid code, else its initials, else P + the digest."""
    stem = PurePath(source).stem.strip()
    if CODE_PATTERN.match(stem) and len(stem) <= 48:
        return stem
    candidate = re.sub(r"[^A-Za-z0-9_-]", "", base_code(stem, max_len=48))
    if candidate and CODE_PATTERN.match(candidate):
        return candidate
    return "P" + digest[:8]


# ------------------------------------------------------------------ lookups


def _topic(cls: str, event_name: str) -> str:
    owner = {"Unit": Unit, "ActionPlan": ActionPlan, "Task": Task}[cls]
    return get_topic(getattr(owner, event_name))


def _scan(app: Dudao, topic: str) -> Iterator[Any]:
    start = 1
    while True:
        page = list(app.recorder.select_notifications(start=start, limit=1000, topics=[topic]))
        if not page:
            return
        for n in page:
            yield app.mapper.to_domain_event(n)
        start = page[-1].id + 1


def units_by_name(app: Dudao) -> dict[str, str]:
    """Every registered unit's normalised name → its code (the first one registered)."""
    out: dict[str, str] = {}
    for e in _scan(app, _topic("Unit", "Registered")):
        out.setdefault(normalise_name(e.name), e.code)
    return out


def find_plan(app: Dudao, code: str) -> ActionPlan | None:
    try:
        obj: Any = app.repository.get(plan_id(code))
    except AggregateNotFoundError:
        return None
    return obj if isinstance(obj, ActionPlan) else None


def get_plan(app: Dudao, code: str) -> ActionPlan:
    plan = find_plan(app, code) if isinstance(code, str) else None
    if plan is None:
        raise NotFound(f"实施方案 {code} 不存在", f"unknown plan {code!r}", field="plan")
    return plan


def find_task(app: Dudao, code: str) -> Task | None:
    try:
        obj: Any = app.repository.get(task_id(code))
    except AggregateNotFoundError:
        return None
    return obj if isinstance(obj, Task) else None


def get_task(app: Dudao, code: str) -> Task:
    task = find_task(app, code) if isinstance(code, str) else None
    if task is None:
        raise NotFound(f"任务 {code} 不存在", f"unknown task {code!r}", field="TASK")
    return task


def plan_codes(app: Dudao) -> list[str]:
    return [e.code for e in _scan(app, _topic("ActionPlan", "Imported"))]


def plan_with_digest(app: Dudao, digest: str) -> ActionPlan | None:
    for e in _scan(app, _topic("ActionPlan", "Imported")):
        if e.digest == digest:
            return find_plan(app, e.code)
    return None


def task_codes(app: Dudao, unit: str | None = None) -> list[str]:
    """Codes of every task, or of those naming ``unit`` as lead or responsible unit (as
    recorded, or as corrected by ``task edit``)."""
    created = list(_scan(app, _topic("Task", "Created")))
    if unit is None:
        return [e.code for e in created]
    units = {e.originator_id: (list(e.lead), list(e.responsible)) for e in created}
    for e in _scan(app, _topic("Task", "Edited")):
        lead, responsible = units.get(e.originator_id, ([], []))
        units[e.originator_id] = (e.changes.get("lead", lead),
                                  e.changes.get("responsible", responsible))
    return [e.code for e in created
            if unit in units[e.originator_id][0] or unit in units[e.originator_id][1]]


# ------------------------------------------------------------------- import


def summary(plan: ActionPlan, *, new: bool, new_units: list[str] | None = None) -> dict[str, Any]:
    goal_n = len(plan.goals)
    return {
        "plan": plan.code,
        "title": plan.title,
        "tasks": len(plan.tasks),
        "units": len(plan.units),
        "indicators": plan.indicators,
        "task_indicators": plan.indicators - goal_n,
        "goal_indicators": goal_n,
        "warnings": list(plan.warnings),
        "groups": [u["name"] for u in plan.units if u["kind"] == "group"],
        "unit_codes": {u["name"]: u["code"] for u in plan.units},
        "new": new,
        "new_units": new_units or [],
    }


def _read(app: Dudao, raw: bytes, source: str) -> tuple[str, ParsedPlan | None, str | None, Any]:
    """A plan file's digest, its parsed plan when it is a preview ledger (else None: parse
    later, only if the digest is new), the ledger's plan code, and the text (or None)."""
    name = PurePath(source).name
    if is_ledger(raw):
        rows, meta = sheet_rows(raw, name)
        parsed = plan_from_rows(rows, meta)
        canon = json.dumps([[n, {k: str(v) for k, v in r.items() if v is not None}]
                            for n, r in rows], ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha256(("ledger\n" + canon).encode("utf-8")).hexdigest()
        hint = str(meta.get("方案代码") or "").strip() or None
        return digest, parsed, hint, None
    text = plan_text(raw, name)
    digest = hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()
    return digest, None, None, text


def _parse(text: str, source: str) -> ParsedPlan:
    parsed = parse_plan(text, max_tasks=MAX_PLAN_TASKS)
    check_plan_tasks(parsed, PurePath(source).name)
    return parsed


def assign_default_unit(app: Dudao, parsed: ParsedPlan, default_unit: str | None
                        ) -> dict[str, str]:
    """Tasks that name no unit: with ``default_unit`` (a registered unit's code) each of them
    is that unit's; else, when no task names one, the issuing body's (the plan's 印发 line).
    One warning says so. Returns the names whose code is fixed (name -> code)."""
    bare = [t for t in parsed.tasks if not t.lead and not t.responsible]
    if not bare:
        return {}
    fixed: dict[str, str] = {}
    if default_unit is not None:
        unit = app.get_unit(default_unit, field="default_unit")
        name, how = unit.name, f"按 --default-unit 指定的“{unit.name}”（{unit.code}）"
        fixed[name] = unit.code
    elif len(bare) == len(parsed.tasks) and parsed.issuer:
        name, how = parsed.issuer, f"按发文单位“{parsed.issuer}”"
    else:
        return {}
    lines = {t.line for t in bare}
    parsed.warnings = [w for w in parsed.warnings  # one warning for them all, below
                       if not (w.line in lines and w.message.endswith("没有标注责任单位"))]
    for t in bare:
        t.responsible = [name]
    parsed.units.setdefault(name, "group" if is_group(name) else "unit")
    whole = "方案中的任务都" if len(bare) == len(parsed.tasks) else f"有 {len(bare)} 项任务"
    parsed.warn(0, f"{whole}没有标注责任单位，{how}登记为这些任务的责任单位；"
                   "如有误，请用 --preview 导出预览表改正后再导入")
    return fixed


def drop_past_periods(parsed: ParsedPlan, today: date) -> None:
    """A periodic target's periods that ended before the import (每年: 2023 for a plan
    imported in 2024) are not recorded: nobody can still meet them, and no unit lags for
    them. One warning per task says which."""
    for t in parsed.tasks:
        past = [i for i in t.indicators if i.period and i.deadline is not None
                and i.deadline < today]
        if not past:
            continue
        t.indicators = [i for i in t.indicators if i not in past]
        parsed.warn(t.line, f"任务{t.number}（{t.title[:12]}）的周期性指标中，"
                            + "、".join(i.name for i in past)
                            + f"在导入（{today:%Y年%m月%d日}）前已结束，未登记")
    parsed.warnings.sort(key=lambda w: w.line)


def prepare(app: Dudao, raw: bytes, *, source: str, default_unit: str | None = None
            ) -> tuple[str, ParsedPlan, str | None, dict[str, str]]:
    """What an import would record, read and checked: digest, parsed plan, code hint, fixed
    unit codes. Refuses (``InvalidInput``) a plan with no task, or none with a unit."""
    digest, parsed, hint, text = _read(app, raw, source)
    if parsed is None:
        parsed = _parse(text, source)
        drop_past_periods(parsed, local_date(app.now()))
    fixed = assign_default_unit(app, parsed, default_unit)
    refuse_if_empty(parsed, source)
    return digest, parsed, hint, fixed


def preview_plan(app: Dudao, raw: bytes, *, source: str, code: str | None = None,
                 default_unit: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """The preview ledger of a plan file (xlsx) and its figures; records nothing."""
    if code:
        check_code(code, "code")
    digest, parsed, hint, _ = prepare(app, raw, source=source, default_unit=default_unit)
    code = code or hint or default_plan_code(source, digest)
    rows = plan_rows(parsed)
    meta = {"方案代码": code, "方案名称": parsed.title,
            "起止年份": f"{parsed.period[0]}-{parsed.period[1]}" if parsed.period else None,
            "发文单位": parsed.issuer, "原文件": PurePath(source).name,
            "提示": [str(w) for w in parsed.warnings
                     if w.line not in {t.line for t in parsed.tasks}]}
    figures = {"plan": code, "title": parsed.title, "tasks": len(parsed.tasks),
               "units": len(parsed.units),
               "indicators": len(parsed.goals) + sum(len(t.indicators) for t in parsed.tasks),
               "warnings": [str(w) for w in parsed.warnings], "rows": len(rows)}
    return ledger_xlsx(rows, meta), figures


def import_plan(app: Dudao, raw: bytes, *, source: str, code: str | None = None,
                actor: str, default_unit: str | None = None) -> dict[str, Any]:
    """Import a plan file (text, .docx, .xlsx, or a preview ledger as the office corrected
    it); importing the same content under the same code again records nothing."""
    if code:
        check_code(code, "code")
    digest, parsed, hint, text = _read(app, raw, source)
    same = plan_with_digest(app, digest)
    if same is not None:  # the same text, whatever its file name: nothing new
        return summary(same, new=False)
    code = code or hint or default_plan_code(source, digest)
    existing = find_plan(app, code)
    if existing is not None:
        if existing.digest == digest:
            return summary(existing, new=False)
        raise Conflict(
            f"实施方案代码 {code} 已用于另一份内容不同的方案（{existing.source}），"
            "本次未导入；如是新方案，请用 --code 另起代码",
            f"plan code {code} is already used by a different text ({existing.source}); "
            "nothing imported; give another --code",
            field="code",
        )
    if parsed is None:
        parsed = _parse(text, source)
        drop_past_periods(parsed, local_date(app.now()))
    fixed = assign_default_unit(app, parsed, default_unit)
    refuse_if_empty(parsed, source)
    now = app.now()

    known = units_by_name(app)
    known.update(fixed)
    units: list[dict[str, Any]] = []
    new_units: list[Unit] = []
    codes: dict[str, str] = {}
    for name, kind in parsed.units.items():
        check_text(name, "name", "单位名称")
        unit_code = known.get(name)
        if unit_code is None:
            unit_code = _free_code(app, name, {u.code for u in new_units})
            new_units.append(Unit(id=unit_id(unit_code), code=unit_code, name=name, parent=None,
                                  principal=None, kind=kind, actor=actor, recorded_at=now,
                                  category=guess_kind(name)))
        codes[name] = unit_code
        units.append({"name": name, "code": unit_code, "kind": kind})

    warnings = [str(w) for w in parsed.warnings]
    for name, line in parsed.groups_lines.items():
        warnings.append(f"第{line}行：“{name}”代表多个单位，作为一个群组单位（kind=group，"
                        f"代码 {codes[name]}）登记")
    tasks: list[Task] = []
    indicator_count = len(parsed.goals)
    for t in parsed.tasks:
        t_code = f"{code}-{t.ordinal}"
        indicators = [i.as_dict(n) for n, i in enumerate(t.indicators, start=1)]
        indicator_count += len(indicators)
        tasks.append(Task(
            id=task_id(t_code), code=t_code, plan=code, ordinal=t.ordinal, number=t.number,
            title=t.title, text=t.text, category=t.category,
            lead=[codes[n] for n in t.lead], responsible=[codes[n] for n in t.responsible],
            indicators=indicators, deadline=t.deadline, deadline_source=t.deadline_source,
            line=t.line, actor=actor, recorded_at=now, stages=t.stages or None,
        ))
    plan = ActionPlan(
        id=plan_id(code), code=code, title=parsed.title, source=PurePath(source).name,
        digest=digest, period=list(parsed.period) if parsed.period else None, end=parsed.end,
        goals=[i.as_dict(n) for n, i in enumerate(parsed.goals, start=1)],
        stages=[{"name": s.name, "start": s.start, "end": s.end, "line": s.line}
                for s in parsed.stages],
        tasks=[t.code for t in tasks], units=units, indicators=indicator_count,
        warnings=warnings, actor=actor, recorded_at=now,
    )
    app.commit(*new_units, plan, *tasks)
    return summary(plan, new=True, new_units=[u.code for u in new_units])


def refuse_if_empty(parsed: ParsedPlan, source: str) -> None:
    name = PurePath(source).name
    hints = "；".join(str(w) for w in parsed.warnings[:3])
    if not parsed.tasks:
        raise InvalidInput(
            f"{name} 中没有找到任何任务（没有带编号的任务段落，也没有责任单位标注），未导入"
            + (f"。前几条提示：{hints}" if hints else ""),
            f"no task found in {name} (no numbered task paragraphs, no unit annotations); "
            "nothing imported",
            field="FILE",
        )
    if not any(t.lead or t.responsible for t in parsed.tasks):
        raise InvalidInput(
            f"{name} 中找到 {len(parsed.tasks)} 项任务，但没有一项标注了责任单位，也没有找到发文单位，"
            "未导入；可用 --default-unit CODE 指定责任单位。"
            "支持的标注：<责任单位:…>、[责任单位:…]、(牵头单位:…;责任单位:…)、"
            "段末“责任单位:…”、(某某牵头,某某配合)、表格中的“责任单位/责任部门”列",
            f"{len(parsed.tasks)} tasks found in {name} but none names a responsible unit; "
            "nothing imported",
            field="FILE",
        )


def _free_code(app: Dudao, name: str, taken: set[str]) -> str:
    for candidate in (base_code(name), qualified_code(name)):
        if candidate in taken:
            continue
        unit = app.find_unit(candidate)
        if unit is None or unit.name == name:
            return candidate
    raise Conflict(f"无法为单位“{name}”生成不重复的代码", f"no free code for unit {name!r}",
                   field="code")


# -------------------------------------------------------- progress, sign-off


def report_progress(app: Dudao, task: str, *, indicator: int, value: str, on: date,
                    unit: str | None = None, note: str | None = None, actor: str) -> Task:
    t = get_task(app, task)
    member_of = None
    if unit is not None:
        app.get_unit(unit)
        if unit not in t.units:  # a member of a group the task names reports its part
            member_of = next((g for who, g in answering(app, t) if who == unit), None)
    check_day(on, "on")
    note = check_text(note, "note", "备注", max_len=2000) if note and note.strip() else None
    t.report_progress(indicator=indicator, value=check_value(value), on=on, unit=unit,
                      note=note, actor=actor, recorded_at=app.now(), member_of=member_of)
    app.commit(t)
    return t


def close_task(app: Dudao, task: str, *, on: date | None = None, inspector: str | None = None,
               note: str | None = None, actor: str) -> Task:
    t = get_task(app, task)
    now = app.now()
    inspector = check_text(inspector or actor, "inspector", "督学姓名", max_len=100)
    note = check_text(note, "note", "备注", max_len=2000) if note and note.strip() else None
    t.close(on=check_day(on or local_date(now), "on"), inspector=inspector, note=note, actor=actor,
            recorded_at=now)
    app.commit(t)
    return t


# ---------------------------------------------------------------- corrections


def edit_task(app: Dudao, task: str, *, title: str | None = None, deadline: date | None = None,
              lead: list[str] | None = None, responsible: list[str] | None = None,
              actor: str) -> tuple[Task, dict[str, Any]]:
    """Correct a recorded task (``task edit``): an event on the task, the history keeps
    both. Units must be registered; the plan's unit list learns the new ones."""
    t = get_task(app, task)
    if deadline is not None:
        deadline = check_day(deadline, "deadline")
    for field, codes in (("lead", lead), ("units", responsible)):
        for c in codes or []:
            app.get_unit(c.strip() if isinstance(c, str) else c, field=field)
    changes = t.edit(title=title, deadline=deadline, lead=lead, responsible=responsible,
                     actor=actor, recorded_at=app.now())
    if not changes:
        return t, {}
    plan = get_plan(app, t.plan)
    known = {u["code"] for u in plan.units}
    added = [c for c in (*t.lead, *t.responsible) if c not in known]
    if added:
        plan_units = [*plan.units]
        for c in dict.fromkeys(added):
            unit = app.get_unit(c)
            plan_units.append({"name": unit.name, "code": c, "kind": unit.kind})
        plan.add_units(units=plan_units[len(plan.units):], actor=actor, recorded_at=app.now())
        app.commit(t, plan)
    else:
        app.commit(t)
    return t, changes


def edit_plan(app: Dudao, code: str, *, title: str | None = None, end: date | None = None,
              actor: str) -> tuple[ActionPlan, dict[str, Any]]:
    """Correct a recorded plan's title or end (``plan edit``)."""
    plan = get_plan(app, code)
    if end is not None:
        end = check_day(end, "end")
    changes = plan.edit(title=title, end=end, actor=actor, recorded_at=app.now())
    if changes:
        app.commit(plan)
    return plan, changes


# -------------------------------------------------------------------- ledger


def ledger(app: Dudao, plan_code: str) -> dict[str, Any]:
    """工作台账: each unit of the plan with its tasks, indicators and their status, today.

    Each unit says whether the policy holds it to account (``accountable``); a unit it
    does not has its overdue tasks shown as 滞后 (for the government's attention)."""
    plan = get_plan(app, plan_code)
    today = local_date(app.now())
    tasks = [get_task(app, c) for c in plan.tasks]
    policy = app.lag_policy
    units = []
    for u in plan.units:
        mine = [t for t in tasks if t.role_of(u["code"])]
        rows = [task_row(t, today, u["code"]) for t in mine]
        unit = app.find_unit(u["code"])
        category = unit.category if unit is not None else "other"
        units.append({
            "unit": u["code"], "name": u["name"], "kind": u["kind"],
            "category": category, "category_label": KINDS[category],
            "accountable": policy.holds_to_account(category),
            "members": list(unit.members) if unit is not None else [],
            "members_names": [app.get_unit(m).name for m in unit.members] if unit else [],
            "tasks": rows,
            "counts": {s: sum(1 for r in rows if r["status"] == s) for s in TASK_STATUSES},
        })
    unassigned = [task_row(t, today) for t in tasks if not t.units]
    return {
        "plan": plan.code, "title": plan.title, "as_of": today, "end": plan.end,
        "goals": plan.goals, "stages": plan.stages,
        "tasks": len(tasks), "indicators": plan.indicators,
        "counts": {s: sum(1 for t in tasks if t.status(today) == s) for s in TASK_STATUSES},
        "units": units, "unassigned": unassigned,
    }


def ledger_rows(app: Dudao, plan_code: str) -> dict[str, Any]:
    """The 工作台账 as one row per task (the xlsx export), unit names for codes."""
    plan = get_plan(app, plan_code)
    today = local_date(app.now())
    names = {u["code"]: u["name"] for u in plan.units}
    rows = [task_row(get_task(app, c), today) for c in plan.tasks]
    for r in rows:
        for code in (*r["lead"], *r["responsible"]):
            if code not in names:
                unit = app.find_unit(code)
                names[code] = unit.name if unit is not None else code
    return {"plan": plan.code, "title": plan.title, "as_of": today,
            "rows": task_rows(rows, names)}


def groups_of(app: Dudao, unit: str) -> list[str]:
    """The groups ``unit`` is a member of (``unit group``), by their latest members."""
    members: dict[str, list[str]] = {}
    for e in _scan(app, _topic("Unit", "MembersSet")):
        members[e.code] = list(e.members)
    return sorted(g for g, ms in members.items() if unit in ms)


def unit_tasks(app: Dudao, unit: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """The tasks of every plan that name ``unit``, with their status: for the unit report;
    then those naming a group it is a member of (its own part, role 群组成员)."""
    today = as_of or local_date(app.now())
    direct = task_codes(app, unit)
    rows = [task_row(get_task(app, c), today, unit) for c in direct]
    seen = set(direct)
    for group in groups_of(app, unit):
        for c in task_codes(app, group):
            if c not in seen:
                seen.add(c)
                rows.append(task_row(get_task(app, c), today, unit, via=group))
    return rows


def ledger_text(data: dict[str, Any]) -> str:
    lines = [f"工作台账：{data['title'] or data['plan']}（{data['plan']}），截至 {data['as_of']}",
             f"任务 {data['tasks']} 项，指标 {data['indicators']} 项；"
             + "，".join(f"{TASK_STATUSES[s]} {n}" for s, n in data["counts"].items())]
    if data["goals"]:
        lines.append("总体目标：" + "；".join(f"{g['name']}{target_text(g)}（{g['deadline']}）"
                                            for g in data["goals"]))
    for u in data["units"]:
        kind = "（群组）" if u["kind"] == "group" else ""
        held = u.get("accountable", True)
        mark = "" if held else "，不在督导室问责范围：逾期的任务列为滞后，提请政府关注"
        lines.append(f"\n■ {u['name']}{kind} [{u['unit']}]  {u.get('category_label', '')}{mark}  "
                     + "，".join(f"{TASK_STATUSES[s]} {n}" for s, n in u["counts"].items()))
        if u.get("members"):
            lines.append("  群组成员（各自负责）：" + "、".join(u["members_names"]))
        for r in u["tasks"]:
            role = ROLES.get(r["role"] or "", "")
            status = ("滞后" if not held and r["status"] == "overdue"
                      else TASK_STATUSES[r["status"]])
            lines.append(f"  {r['task']}  {r['number']} {r['title']}  [{role}] "
                         f"期限 {r['deadline'] or '—'}  {status}")
            for i in r["indicators"]:
                value = f"已报 {i['value']}{i['unit']}（{i['reported_on']}）" if i["value"] else "未填报"
                lines.append(f"      指标{i['n']} {i['name']} "
                             f"{COMPARATOR_TEXT[i['comparator']]}{i['target']}{i['unit']}"
                             f"（{i['deadline']}）{value}  {INDICATOR_STATES[i['status']]}")
    if data["unassigned"]:
        lines.append("\n■ 未标注责任单位的任务")
        for r in data["unassigned"]:
            lines.append(f"  {r['task']}  {r['number']} {r['title']}  期限 {r['deadline'] or '—'}")
    return "\n".join(lines)



# ------------------------------------------------------------------- lagging


def answering(app: Dudao, t: Task) -> list[tuple[str, str | None]]:
    """Who answers for a task: each unit it names, a group with members through its
    members (``(member, group)``); a unit named directly answers once, for itself."""
    named = t.units
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for code in named:
        unit = app.find_unit(code)
        members = unit.members if unit is not None else []
        pairs = [(m, code) for m in members if m not in named] if members else [(code, None)]
        for who, via in pairs:
            if who not in seen:
                seen.add(who)
                out.append((who, via))
    return out


def unit_kind(app: Dudao, code: str) -> str:
    unit = app.find_unit(code)
    return unit.category if unit is not None else "other"


def lagging_all(app: Dudao, *, as_of: date | None = None,
                policy: LagPolicy = LAG_POLICY) -> list[tuple[Task, Lag, bool]]:
    """Every (task, unit) that lags today, and whether the policy holds that unit to
    account (its kind is one of ``policy.accountable``): pure detection, records nothing.

    A unit answers through :func:`answering`; the first lagging day is never before the
    plan's import plus the policy's grace (domain.plans, "Fairness")."""
    today = as_of or local_date(app.now())
    floors: dict[date | None, Any] = {}
    out: list[tuple[Task, Lag, bool]] = []
    for c in task_codes(app):
        t = get_task(app, c)
        threshold_of = floors.get(t.imported_on)
        if threshold_of is None:
            threshold_of = floors[t.imported_on] = policy.threshold_of(app.calendar,
                                                                        t.imported_on)
        for u, via in answering(app, t):
            lag = t.lags(today, u, threshold_of, via=via)
            if lag is not None:
                out.append((t, lag, policy.holds_to_account(unit_kind(app, u))))
    return out


def lagging(app: Dudao, *, as_of: date | None = None,
            policy: LagPolicy = LAG_POLICY) -> list[tuple[Task, Lag]]:
    """Every (task, unit) that lags today and that the policy holds to account."""
    return [(t, lag) for t, lag, held in lagging_all(app, as_of=as_of, policy=policy) if held]


def lagging_outside(app: Dudao, *, as_of: date | None = None,
                    policy: LagPolicy = LAG_POLICY) -> list[dict[str, Any]]:
    """滞后 for the government's attention: the lagging tasks of units the policy does not
    hold to account (no finding is opened for them), by unit."""
    by_unit: dict[str, dict[str, Any]] = {}
    for t, lag, held in lagging_all(app, as_of=as_of, policy=policy):
        if held:
            continue
        unit = app.find_unit(lag.unit)
        row = by_unit.setdefault(lag.unit, {
            "unit": lag.unit, "name": unit.name if unit else lag.unit,
            "kind": unit.category if unit else "other",
            "kind_label": KINDS.get(unit.category if unit else "other", "其他"), "tasks": []})
        row["tasks"].append({"task": t.code, "plan": t.plan, "number": t.number,
                             "title": t.title, "deadline": lag.deadline,
                             "lagging_since": lag.threshold})
    return [by_unit[k] for k in sorted(by_unit)]


def lag_key(task: str, unit: str) -> str:
    return f"lag:{task}:{unit}"


def lagging_findings(app: Dudao, *, policy: LagPolicy = LAG_POLICY, today: date | None = None,
                     actor: str = "dudao:rules") -> tuple[list[dict[str, Any]], list[Any]]:
    """What :func:`record_lagging` would record, built and checked but not saved: the rows it
    returns, and the findings (new ones recorded and ordered; one recorded earlier whose
    order did not go through, ordered) holding their pending events. The dry run of the
    sweep (``dudao escalate --dry-run``) and the real one both start here."""
    today = today or local_date(app.now())
    recorded: list[dict[str, Any]] = []
    changed: list[Any] = []
    now = app.now()
    for t, lag in lagging(app, as_of=today, policy=policy):
        key = lag_key(t.code, lag.unit)
        fid = keyed_id("finding", key)
        existing = app.find_finding(fid)
        if existing is not None:
            if existing.status == "recorded":  # recorded, but its order did not go through
                existing.order_rectification(on=existing.on, within=policy.within,
                                             calendar_days=False, calendar=app.calendar,
                                             actor=actor, recorded_at=now)
                changed.append(existing)
            continue
        plan = find_plan(app, t.plan)
        unmet = [t.indicator(n) for n in lag.unmet]
        reason = ("，指标" + "、".join(f"{i['name']}{target_text(i)}" for i in unmet) + "未达到"
                  if unmet else "未销号")
        text = policy.text.format(
            plan=f"《{plan.title}》" if plan and plan.title else t.plan, number=t.number,
            title=t.title, reason=reason, deadline=lag.deadline)
        on = min(lag.threshold, today)
        finding = app.new_finding(unit=lag.unit, on=on, inspector=policy.inspector, text=text,
                                  severity=policy.severity, task=t.code, finding_id=fid,
                                  actor=actor)
        deadline = finding.order_rectification(on=on, within=policy.within,
                                               calendar_days=False, calendar=app.calendar,
                                               actor=actor, recorded_at=now)
        changed.append(finding)
        recorded.append({"finding_id": str(fid), "task": t.code, "unit": lag.unit,
                         "threshold": lag.threshold, "deadline": deadline,
                         "unmet": list(lag.unmet), "on": on, "text": text,
                         "severity": policy.severity})
    return recorded, changed


def record_lagging(app: Dudao, *, policy: LagPolicy = LAG_POLICY, today: date | None = None,
                   actor: str = "dudao:rules") -> list[dict[str, Any]]:
    """Record a finding 工作滞后 against each unit of each lagging task, and order it
    rectified, all in one transaction; running it again records nothing new. Returns what
    it recorded.

    ``today`` (default: the clock's) is the day the check runs for, as a sweep's ``now``."""
    recorded, changed = lagging_findings(app, policy=policy, today=today, actor=actor)
    if changed:
        app.commit(*changed)
    return recorded
