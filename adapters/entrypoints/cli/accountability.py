"""``dudao accountability …``: accountability cases (问责案件), from 问责建议 to 决定.

A case is opened by the escalation sweep when a rung the policy marks
``decided_by = "committee"`` fires (the default policy's 问责); these commands
take it on: 调查核实 (investigate), 告知 (notify), 陈述申辩 (statement),
决定 (decide) or 不予问责 (dismiss), and the 问责决定书 (document).

The command line is the supervision office's own tool (whoever runs it can
already write the event store): ``decide`` and ``dismiss`` act as the
督导委员会（办公室）, the ``committee`` role, and a statement is recorded by staff on
the unit's behalf unless ``--by-unit`` says the unit submits it itself. Over
HTTP, each role may do only its own steps (``adapters.infrastructure.tokens``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters.bootstrap import read_models
from adapters.entrypoints.cli.base import DATE, ChoiceType, Context, cli, emit, pass_app
from adapters.rendering.decision import DOCUMENT_FORMATS, render_document
from adapters.service_layer import accountability as cases
from adapters.service_layer.application import Dudao
from domain.accountability import CASE_STATUSES, AccountabilityCase
from domain.errors import DudaoError
from domain.rungs import PERSON_MODES, UNIT_MODES

COMMITTEE = "committee"


def _modes_help(table: dict[str, str]) -> str:
    return "、".join(f"{code} {name}" for code, name in table.items())


def _split(values: tuple[str, ...]) -> list[str]:
    """Repeated options, each of which may also list several values: a,b."""
    return [v.strip() for value in values for v in value.replace("，", ",").split(",")
            if v.strip()]


def case_json(case: AccountabilityCase) -> dict[str, Any]:
    return cases.case_view(case)


def case_line(c: dict[str, Any]) -> str:
    """One case in a list, as people read it."""
    status = CASE_STATUSES[c["status"]]
    parts = [f"{c['case_id']}  {c['unit_name']}  {status}  立案 {c['opened_on']}"]
    if c.get("notified_on"):
        parts.append(f"告知 {c['notified_on']}，陈述申辩期限至 {c['statement_due']}")
    if c["status"] == "decided":
        modes = "、".join(UNIT_MODES.get(m, m) for m in c["unit_modes"])
        people = "".join(f"；{p['name']}：" + "、".join(PERSON_MODES.get(m, m) for m in p["modes"])
                         for p in c["persons"])
        heavy = "（从重）" if c["aggravated"] else ""
        parts.append(f"{c['decided_on']}决定：{modes}{people}{heavy}")
    elif c["status"] == "dismissed":
        parts.append(f"{c['decided_on']}不予问责")
    return "  ".join(parts) + f"\n    问题：{c['finding_text']}"


def case_summary(c: dict[str, Any]) -> str:
    """One case in full, as people read it."""
    lines = [f"问责案件 {c['case_id']}（{c['status_name']}）",
             f"  单位：{c['unit_name']}",
             f"  问题：{c['finding_text']}（{c['severity_name']}）",
             f"  立案：{c['opened_on']}，依据升级策略“{c['policy']}”第{c['policy_version']}版"
             f"的“{c['rung_name']}”一级提请问责"]
    for i in c["investigations"]:
        lines.append(f"  调查核实：{i['on']}  {i['note']}")
    if c["notified_on"]:
        persons = f"及{'、'.join(c['notified_persons'])}" if c["notified_persons"] else ""
        lines.append(f"  告知：{c['notified_on']}告知单位{persons}，"
                     f"陈述申辩期限至{c['statement_due']}（{c['statement_days']}个工作日）")
    for s in c["statements"]:
        who = "单位自行提交" if s["by_unit"] else "工作人员代为记录"
        lines.append(f"  陈述申辩：{s['on']}（{who}）  {s['text']}")
    d = c["decision"]
    if d is not None:
        lines.append(f"  决定：{d['on']}，对单位：{'、'.join(d['unit_mode_names'])}"
                     + "".join(f"；对{p['name']}：{'、'.join(p['mode_names'])}"
                               for p in d["persons"])
                     + f"；依据：{d['basis']}；自{d['effective_on']}起生效")
        if c["aggravated"]:
            earlier = [r["case_id"] for r in d["aggravated_by"]] + [
                r["case_id"] for p in d["persons"] for r in p["aggravated_by"]]
            lines.append(f"  从重：{d['aggravation_since']}以来已被决定问责（案件 "
                         f"{'、'.join(dict.fromkeys(earlier))}）")
    if c["dismissal"] is not None:
        lines.append(f"  不予问责：{c['dismissal']['on']}，理由：{c['dismissal']['reason']}")
    return "\n".join(lines)


@cli.group("accountability")
def accountability() -> None:
    pass


@accountability.command("list")
@click.option("--status", type=ChoiceType(list(CASE_STATUSES)), default=None,
              help="只列这个状态的案件：proposed 问责建议 / notified 已告知 / stated 已陈述申辩 / "
                   "decided 已决定问责 / dismissed 不予问责")
@click.option("--unit", "unit_code", metavar="CODE", default=None, help="只列这个单位的案件")
@pass_app
def accountability_list(app: Dudao, actor: str, status: str | None,
                        unit_code: str | None) -> None:
    """问责案件列表（从读模型读取，最新的在前）。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    runner = read_models(app, ctx.settings.db)
    try:
        rows = cases.list_cases(runner, status=status, unit=unit_code)
    finally:
        runner.engine.dispose()
    items = [{
        "case_id": r["case_id"], "finding_id": r["finding_id"], "unit": r["unit"],
        "unit_name": r["unit_name"], "status": r["status"],
        "status_name": CASE_STATUSES[r["status"]], "finding_text": r["finding_text"],
        "code": r["code"], "rung_name": r["rung_name"], "opened_on": r["opened_on"],
        "notified_on": r["notified_on"], "statement_due": r["statement_due"],
        "statements": r["statements"], "decided_on": r["decided_on"],
        "effective_on": r["effective_on"], "unit_modes": r["unit_modes"],
        "persons": r["persons"], "aggravated": r["aggravated"],
        "aggravated_by": r["aggravated_by"],
    } for r in rows]
    emit({"cases": items, "count": len(items)},
         lambda: "\n".join(case_line(c) for c in items) if items else "没有问责案件")


@accountability.command("show")
@click.argument("case_id", metavar="CASE")
@pass_app
def accountability_show(app: Dudao, actor: str, case_id: str) -> None:
    """一个问责案件的事实、告知、陈述申辩与决定。"""
    data = case_json(cases.get_case(app, case_id))
    emit(data, lambda: case_summary(data))


@accountability.command("investigate")
@click.argument("case_id", metavar="CASE")
@click.option("--on", "on", required=True, type=DATE, help="调查核实日期")
@click.option("--note", required=True, help="调查核实情况")
@pass_app
def accountability_investigate(app: Dudao, actor: str, case_id: str, on: date,
                               note: str) -> None:
    """调查核实：登记核实了什么、如何核实（可多次）。"""
    case = app.investigate_case(case_id, on=on, note=note, actor=actor)
    emit(case_json(case), f"已登记{on}的调查核实（{case.unit_name}，"
                          f"共{len(case.investigations)}次）")


@accountability.command("notify")
@click.argument("case_id", metavar="CASE")
@click.option("--on", "on", required=True, type=DATE, help="告知日期")
@click.option("--person", "persons", multiple=True, metavar="NAME",
              help="同时告知的相关责任人（可重复）；决定中只能对被告知的人员问责")
@pass_app
def accountability_notify(app: Dudao, actor: str, case_id: str, on: date,
                          persons: tuple[str, ...]) -> None:
    """告知：把事实和陈述申辩的权利告知单位（及相关责任人），按工作日计算陈述申辩期限。"""
    case = app.notify_case(case_id, on=on, persons=list(persons), actor=actor)
    who = case.unit_name + (f"及{'、'.join(case.notified_persons)}"
                            if case.notified_persons else "")
    emit(case_json(case), f"已于{on}告知{who}：可在{case.statement_days}个工作日内陈述申辩，"
                          f"期限至{case.statement_due}")


@accountability.command("statement")
@click.argument("case_id", metavar="CASE")
@click.option("--on", "on", required=True, type=DATE, help="陈述申辩日期")
@click.option("--text", required=True, help="陈述申辩内容")
@click.option("--by-unit", "by_unit", metavar="CODE", default=None,
              help="由该单位自行提交（须是本案的单位）；不写则为工作人员代为记录")
@pass_app
def accountability_statement(app: Dudao, actor: str, case_id: str, on: date, text: str,
                             by_unit: str | None) -> None:
    """陈述申辩：在告知后的期限内，登记单位的陈述申辩。"""
    try:
        case = app.submit_statement(case_id, on=on, text=text, actor=actor,
                                    role="unit" if by_unit else None, unit=by_unit)
    except DudaoError as e:
        if e.field == "unit":
            e.field = "--by-unit"
        raise
    who = "单位自行提交" if by_unit else "工作人员代为记录"
    emit(case_json(case), f"已登记{case.unit_name}{on}的陈述申辩（{who}）")


@accountability.command("decide")
@click.argument("case_id", metavar="CASE")
@click.option("--on", "on", required=True, type=DATE, help="决定日期")
@click.option("--unit-mode", "unit_modes", multiple=True, required=True, metavar="MODE",
              help=f"对单位的问责方式，可重复或用逗号分隔：{_modes_help(UNIT_MODES)}")
@click.option("--person", "persons", multiple=True, metavar="NAME",
              help="被问责的人员（须已被告知；可重复，与 --person-mode 按顺序一一对应）")
@click.option("--person-mode", "person_modes", multiple=True, metavar="MODE",
              help=f"对前一个 --person 的问责方式，多种用逗号分隔：{_modes_help(PERSON_MODES)}")
@click.option("--basis", required=True, help="问责依据（依据的规定、条款与事实）")
@click.option("--effective", "effective_on", type=DATE, default=None,
              help="生效日期（默认为决定日期）")
@pass_app
def accountability_decide(app: Dudao, actor: str, case_id: str, on: date,
                          unit_modes: tuple[str, ...], persons: tuple[str, ...],
                          person_modes: tuple[str, ...], basis: str,
                          effective_on: date | None) -> None:
    """决定（督导委员会）：对单位及被告知人员的问责方式、依据与生效日期。"""
    if len(persons) != len(person_modes):
        raise click.UsageError(
            "--person-mode: 每个 --person 之后须跟一个 --person-mode（多种方式用逗号分隔）"
            f"，收到 {len(persons)} 个 --person、{len(person_modes)} 个 --person-mode"
            "（each --person needs one --person-mode）")
    pairs = [(name, _split((modes,))) for name, modes in zip(persons, person_modes, strict=True)]
    case = app.decide_case(case_id, on=on, unit_modes=_split(unit_modes), persons=pairs,
                           basis=basis, effective_on=effective_on, actor=actor,
                           role=COMMITTEE)
    data = case_json(case)
    emit(data, lambda: case_summary(data))


@accountability.command("dismiss")
@click.argument("case_id", metavar="CASE")
@click.option("--on", "on", required=True, type=DATE, help="决定日期")
@click.option("--reason", required=True, help="不予问责的理由")
@pass_app
def accountability_dismiss(app: Dudao, actor: str, case_id: str, on: date,
                           reason: str) -> None:
    """不予问责（督导委员会）：写明理由。"""
    case = app.dismiss_case(case_id, on=on, reason=reason, actor=actor, role=COMMITTEE)
    emit(case_json(case), f"已于{on}决定对{case.unit_name}不予问责")


@accountability.command("document")
@click.argument("case_id", metavar="CASE")
@click.option("--format", "fmt", type=ChoiceType(list(DOCUMENT_FORMATS)), default="md",
              show_default=True, help="md 或 html（可打印的 A4 页面）")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="写入文件而不是标准输出")
@pass_app
def accountability_document(app: Dudao, actor: str, case_id: str, fmt: str,
                            out: str | None) -> None:
    """问责决定书（或不予问责决定书）：已决定的案件才有。"""
    doc = cases.decision_document(app, case_id)
    text = render_document(doc, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    title = "问责决定书" if doc["status"] == "decided" else "不予问责决定书"
    emit({"written": str(path), "case_id": doc["case_id"]}, f"已写入{doc['unit_name']}的{title}：{path}")
