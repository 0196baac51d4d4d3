"""Action plans on the command line: import, the ledger (工作台账), progress, sign-off."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters import bootstrap
from adapters.entrypoints.cli.base import DATE, ChoiceType, cli, emit, pass_app, settings
from adapters.entrypoints.cli.report import write_bytes
from adapters.plan_reader import MAX_PLAN_BYTES, check_plan_size
from adapters.rendering.exports import to_xlsx
from adapters.service_layer import action_plans as plans
from adapters.service_layer.application import Dudao
from domain.errors import InvalidInput
from domain.plans import COMPARATOR_TEXT, ROLES, TASK_STATUSES, target_text, task_row
from domain.time import local_date
from projections.exports import TASK_COLUMNS


@cli.group()
def plan() -> None:
    pass


def import_text(data: dict[str, Any]) -> str:
    head = (f"已导入《{data['title'] or data['plan']}》（代码 {data['plan']}）"
            if data["new"] else
            f"《{data['title'] or data['plan']}》（代码 {data['plan']}）已导入过，本次未记录任何内容")
    lines = [head,
             f"任务 {data['tasks']} 项，责任单位 {data['units']} 个"
             f"（新登记 {len(data['new_units'])} 个），指标 {data['indicators']} 项"
             f"（任务指标 {data['task_indicators']}，总体目标 {data['goal_indicators']}）"]
    if data["groups"]:
        lines.append("群组单位（代表多个单位，作为一个单位登记）：" + "、".join(data["groups"]))
    lines.append("单位代码：" + "，".join(f"{n}={c}" for n, c in data["unit_codes"].items()))
    if data["warnings"]:
        lines.append(f"提示 {len(data['warnings'])} 条：")
        lines += [f"  {w}" for w in data["warnings"]]
    return "\n".join(lines)


@plan.command("import")
@click.argument("file", metavar="FILE")
@click.option("--code", metavar="CODE", help="方案代码（默认取文件名）")
@click.option("--default-unit", "default_unit", metavar="CODE",
              help="没有标注责任单位的任务由该单位（已登记的单位代码）负责")
@click.option("--preview", is_flag=True,
              help="只预览：把读出的台账写入 -o 指定的 xlsx（每个任务、指标一行），不登记任何内容")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="预览表的输出文件（.xlsx，须与 --preview 同用）")
@pass_app
def plan_import(app: Dudao, actor: str, file: str, code: str | None, default_unit: str | None,
                preview: bool, out: str | None) -> None:
    """导入实施方案 FILE：文本（UTF-8/GB18030）、.docx、.xlsx，或改正过的预览表（.xlsx），
    登记方案、任务和责任单位。--preview -o 预览表.xlsx 只导出预览表，不登记。"""
    if preview != (out is not None):
        raise InvalidInput("--preview 须用 -o FILE.xlsx 指定预览表文件（-o 只用于 --preview）",
                           "--preview needs -o FILE.xlsx (and -o needs --preview)", field="out")
    try:
        # At most one byte past the limit is read (never the whole of /dev/zero, say),
        # and no stat is trusted: the size check then names the limit.
        with Path(file).open("rb") as f:
            raw = f.read(MAX_PLAN_BYTES + 1)
    except OSError as e:
        raise InvalidInput(f"无法读取文件 {file}：{e.strerror}",
                           f"cannot read {file}: {e.strerror}", field="FILE") from None
    check_plan_size(len(raw), Path(file).name)
    if preview:
        assert out is not None
        blob, figures = app.preview_plan(raw, source=file, code=code, default_unit=default_unit)
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        figures["written"] = str(path)
        emit(figures, lambda: "\n".join([
            f"已写入预览表：{path}（未登记任何内容）",
            f"《{figures['title'] or figures['plan']}》（代码 {figures['plan']}）：任务 {figures['tasks']} 项，"
            f"责任单位 {figures['units']} 个，指标 {figures['indicators']} 项，提示 {len(figures['warnings'])} 条",
            *[f"  {w}" for w in figures["warnings"]],
            f"在 WPS/Excel 中改正后，用 dudao plan import {path} 导入该表"]))
        return
    data = app.import_plan(raw, source=file, code=code, actor=actor, default_unit=default_unit)
    emit(data, lambda: import_text(data))


@plan.command("list")
@pass_app
def plan_list(app: Dudao, actor: str) -> None:
    """列出已导入的实施方案。"""
    rows = []
    for c in plans.plan_codes(app):
        p = plans.get_plan(app, c)
        rows.append({"plan": p.code, "title": p.title, "tasks": len(p.tasks),
                     "units": len(p.units), "indicators": p.indicators, "end": p.end})
    emit({"plans": rows}, lambda: "\n".join(
        f"{r['plan']}  {r['title']}  任务{r['tasks']} 单位{r['units']} 指标{r['indicators']}"
        for r in rows) or "尚未导入实施方案")


@plan.command("show")
@click.argument("plan_code", metavar="PLAN")
@click.option("--format", "fmt", type=ChoiceType(("text", "xlsx")), default="text",
              help="text（默认，按单位列出）或 xlsx（每个任务一行的 Excel 台账，须 -o）")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="写入文件（xlsx）")
@pass_app
def plan_show(app: Dudao, actor: str, plan_code: str, fmt: str, out: str | None) -> None:
    """工作台账：方案 PLAN 的每个单位的任务、指标及状态（推进中/逾期/已销号）。"""
    if fmt == "xlsx":
        if out is None:
            raise InvalidInput("xlsx 格式须用 -o FILE 指定输出文件", "xlsx needs -o FILE",
                               field="out")
        ledger = plans.ledger_rows(app, plan_code)
        blob = to_xlsx(TASK_COLUMNS, ledger["rows"], sheet="工作台账",
                       title=f"{ledger['title'] or ledger['plan']} 工作台账")
        write_bytes(blob, out, f"《{ledger['title'] or ledger['plan']}》工作台账"
                               f"（{len(ledger['rows'])}项任务）")
        return
    data = app.plan_ledger(plan_code)
    emit(data, lambda: plans.ledger_text(data))


@plan.command("edit")
@click.argument("plan_code", metavar="CODE")
@click.option("--title", help="方案标题")
@click.option("--end", "end", type=DATE, help="方案的期限（完成日期）")
@pass_app
def plan_edit(app: Dudao, actor: str, plan_code: str, title: str | None,
              end: date | None) -> None:
    """更正已导入的方案 CODE（记为事件，历史保留原值）。"""
    if title is None and end is None:
        raise InvalidInput("请至少给出 --title 或 --end", "give --title or --end", field="title")
    p, changes = app.edit_plan(plan_code, title=title, end=end, actor=actor)
    emit({"plan": p.code, "title": p.title, "end": p.end, "changed": sorted(changes)},
         f"已更正方案 {p.code}：" + ("、".join(EDIT_NAMES[k] for k in changes) or "没有变化"))


EDIT_NAMES = {"title": "标题", "end": "期限", "deadline": "期限", "deadline_source": "期限来源",
              "lead": "牵头单位", "responsible": "责任单位"}


@plan.command("lagging")
@click.option("--record", is_flag=True, help="对每个滞后任务的每个责任单位登记“工作滞后”问题并限期整改")
@click.option("--policy", "policy_name", metavar="NAME",
              help="升级策略（其中 [lagging] 一节）：rules/policies/ 下的名称或 .toml 路径（DUDAO_POLICY，默认 default）")
@pass_app
def plan_lagging(app: Dudao, actor: str, record: bool, policy_name: str | None) -> None:
    """工作滞后的任务：期限已过、指标未达到且未销号（升级扫描 dudao escalate 也会登记）。"""
    rule = bootstrap.policy(settings(), policy_name).lagging.rule()
    if record:
        done = app.record_lagging(policy=rule, actor=actor)
        emit({"recorded": done, "outside": plans.lagging_outside(app, policy=rule)},
             lambda: "\n".join(
            f"{r['task']}  {app.get_unit(r['unit']).name}  滞后自 {r['threshold']}，"
            f"整改期限 {r['deadline']}"
            for r in done) or "没有新的滞后任务")
        return
    rows: list[dict[str, Any]] = [
        {"task": t.code, "unit": lag.unit, "threshold": lag.threshold,
         "deadline": lag.deadline, "unmet": list(lag.unmet)}
        for t, lag in plans.lagging(app, policy=rule)]
    outside = plans.lagging_outside(app, policy=rule)

    def human() -> str:
        lines = [f"{r['task']}  {app.get_unit(r['unit']).name}  期限 {r['deadline']}，"
                 f"滞后自 {r['threshold']}"
                 + (f"，未达标指标 {r['unmet']}" if r["unmet"] else "，未销号")
                 for r in rows] or ["没有滞后的任务"]
        if outside:
            lines.append("滞后（不在督导室问责范围，提请政府关注，不登记问题、不升级）：")
            lines += [f"  {u['name']}（{u['kind_label']}）："
                      + "、".join(f"{t['task']} {t['title']}（期限 {t['deadline']}）"
                                 for t in u["tasks"]) for u in outside]
        return "\n".join(lines)

    emit({"lagging": rows, "outside": outside}, human)


# ------------------------------------------------------------------- task


@cli.group()
def task() -> None:
    pass


def task_data(app: Dudao, code: str) -> dict[str, Any]:
    t = app.get_task(code)
    row = task_row(t, local_date(app.now()))
    row["text"] = t.text
    row["line"] = t.line
    row["reports"] = t.reports
    return row


def task_text(row: dict[str, Any]) -> str:
    lines = [f"{row['task']}  {row['number']} {row['title']}  {TASK_STATUSES[row['status']]}",
             f"牵头单位：{'、'.join(row['lead']) or '—'}；责任单位：{'、'.join(row['responsible']) or '—'}"
             f"；期限 {row['deadline'] or '—'}"]
    for i in row["indicators"]:
        value = f"已报 {i['value']}{i['unit']}（{i['reported_on']}）" if i["value"] else "未填报"
        lines.append(f"  指标{i['n']} {i['name']} {COMPARATOR_TEXT[i['comparator']]}"
                     f"{i['target']}{i['unit']}（{i['deadline']}）{value}  "
                     f"{plans.INDICATOR_STATES[i['status']]}")
    return "\n".join(lines)


@task.command("show")
@click.argument("task_code", metavar="TASK")
@pass_app
def task_show(app: Dudao, actor: str, task_code: str) -> None:
    """显示任务 TASK 的责任单位、指标和进度。"""
    row = task_data(app, task_code)
    emit(row, lambda: task_text(row))


@task.command("progress")
@click.argument("task_code", metavar="TASK")
@click.option("--indicator", "indicator", required=True, type=click.IntRange(min=1),
              help="指标序号（见 task show）")
@click.option("--value", required=True, help="达到的数值")
@click.option("--on", "on", required=True, type=DATE, help="填报日期")
@click.option("--unit", "unit_code", metavar="CODE", help="填报单位（默认：整个任务）")
@click.option("--note", help="说明")
@pass_app
def task_progress(app: Dudao, actor: str, task_code: str, indicator: int, value: str, on: date,
                  unit_code: str | None, note: str | None) -> None:
    """填报任务 TASK 某项指标达到的数值。"""
    t = app.report_progress(task_code, indicator=indicator, value=value, on=on,
                            unit=unit_code, note=note, actor=actor)
    ind = t.indicator(indicator)
    met = t.met(indicator, unit=unit_code)
    emit({"task": t.code, "indicator": indicator, "value": t.reports[-1]["value"],
          "unit": unit_code, "on": on, "met": met},
         f"已填报：{t.code} 指标{indicator} {ind['name']} = {t.reports[-1]['value']}{ind['unit']}"
         f"（目标 {target_text(ind)}，{'已达标' if met else '未达标'}）")


def unit_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [c.strip() for c in text.replace("，", ",").replace("、", ",").split(",") if c.strip()]


@task.command("edit")
@click.argument("task_code", metavar="TASK")
@click.option("--title", help="任务名称")
@click.option("--deadline", "deadline", type=DATE, help="任务期限")
@click.option("--lead", metavar="A,B", help="牵头单位代码，逗号分隔（空串：没有牵头单位）")
@click.option("--units", metavar="A,B", help="责任单位代码，逗号分隔（空串：没有责任单位）")
@pass_app
def task_edit(app: Dudao, actor: str, task_code: str, title: str | None, deadline: date | None,
              lead: str | None, units: str | None) -> None:
    """更正已导入的任务 TASK：名称、期限、牵头单位、责任单位（记为事件，历史保留原值）。"""
    if title is None and deadline is None and lead is None and units is None:
        raise InvalidInput("请至少给出 --title、--deadline、--lead 或 --units 之一",
                           "give --title, --deadline, --lead or --units", field="title")
    t, changes = app.edit_task(task_code, title=title, deadline=deadline,
                               lead=unit_list(lead), responsible=unit_list(units), actor=actor)
    row = task_data(app, t.code) | {"changed": sorted(changes)}
    shown = [k for k in changes if k != "deadline_source"]
    emit(row, lambda: f"已更正任务 {t.code}：" + ("、".join(EDIT_NAMES[k] for k in shown)
                                                 or "没有变化") + "\n" + task_text(row))


@task.command("close")
@click.argument("task_code", metavar="TASK")
@click.option("--on", "on", type=DATE, help="销号日期（默认今天）")
@click.option("--inspector", metavar="NAME", help="签字销号的督学（默认操作人）")
@click.option("--note", help="销号意见")
@pass_app
def task_close(app: Dudao, actor: str, task_code: str, on: date | None,
               inspector: str | None, note: str | None) -> None:
    """督学对任务 TASK 签字销号。"""
    t = app.close_task(task_code, on=on, inspector=inspector, note=note, actor=actor)
    emit({"task": t.code, "status": "closed", "closed_on": t.closed_on,
          "closed_by": t.closed_by}, f"任务 {t.code} 已于 {t.closed_on} 销号（{t.closed_by}）")


__all__ = ["ROLES", "plan", "task"]
