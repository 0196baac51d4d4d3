"""Units, findings, rectification and interviews on the command line."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters.entrypoints.cli.base import DATE, POSITIVE, ChoiceType, cli, emit, pass_app
from adapters.service_layer.application import Dudao
from domain.calendar import PROVISIONAL_MARK
from domain.evidence import LIMITS_TEXT, REQUEST_STATUSES
from domain.findings import SEVERITIES, STATUSES, Finding
from domain.units import KINDS


def finding_summary(f: Finding) -> dict[str, object]:
    return {
        "finding_id": str(f.id),
        "unit": f.unit,
        "status": f.status,
        "severity": f.severity,
        "on": f.on,
        "text": f.text,
        "task": f.task,
        "deadline": f.deadline,
        "deadline_provisional": bool(f.deadline is not None and f.deadline_provisional),
        "rung": f.rung,
        "strikes": f.strikes,
        "extensions": f.extensions,
        "escalations": [
            {k: e[k] for k in ("code", "rung", "name", "mode", "rule", "policy_version",
                               "threshold", "due", "reason")}
            for e in f.escalations
        ],
        "interview_held_on": f.interview_held_on,
        "interviewee": f.interviewee,
        "interview_person": f.interview_person_id,
        "commitments": f.commitments,
        "closed_on": f.closed_on,
        "files": f.files,
        "extension_requests": f.extension_requests,
    }



def finding_line(f: Finding) -> str:
    rung = f"，升级至{f.rung_label}" if f.rung else ""
    mark = PROVISIONAL_MARK if f.deadline_provisional else ""
    deadline = f"，期限 {f.deadline}{mark}" if f.deadline else ""
    line = (f"{f.id}  {f.unit}  [{SEVERITIES[f.severity]}] {STATUSES[f.status]}"
            f"{deadline}{rung}  {f.text}")
    if f.interview_held_on is not None:
        line += f"\n  {f.interview_held_on} 约谈{f.interviewee}"
    for c in f.commitments:
        line += f"\n  整改承诺：{c['on']}前{c['text']}"
    for x in f.files:
        which = f"第{x['report']}次报告" if x["report"] else "登记时的现场材料"
        line += (f"\n  佐证材料（{which}，{x['on']}）：{x['name']}  "
                 f"{x['size']} 字节  SHA-256 {x['sha256']}")
    for r in f.extension_requests:
        decided = (f"，{r['decided_on']}审批" + (f"，意见：{r['note']}" if r["note"] else "")
                   if r["decided_on"] else "")
        line += (f"\n  延期申请 {r['request_id']}：{r['on']}申请延至{r['to']}，理由：{r['reason']}"
                 f"（{REQUEST_STATUSES[r['status']]}{decided}）")
    return line


class CommitmentType(click.ParamType):
    """``YYYY-MM-DD:TEXT``: a 整改承诺's date and what is promised (the domain checks both)."""

    name = "YYYY-MM-DD:TEXT"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[date, str]:
        if isinstance(value, tuple):
            return value
        day, sep, text = str(value).partition(":")
        try:
            if not sep or len(day.strip()) != 10:
                raise ValueError
            return date.fromisoformat(day.strip()), text
        except ValueError:
            self.fail(f"整改承诺格式不对：{value!r}，应为 YYYY-MM-DD:内容"
                      "（invalid commitment, expected YYYY-MM-DD:TEXT）", param, ctx)


# ------------------------------------------------------------------- unit


@cli.group()
def unit() -> None:
    pass


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True, help="单位名称")
@click.option("--parent", metavar="CODE", help="上级单位代码")
@click.option("--principal", metavar="NAME", help="主要负责人")
@click.option("--kind", "kind", metavar="KIND",
              help="单位类别：政府、部门、学校、党委机关、督导室、其他（默认按名称推断）")
@pass_app
def unit_add(app: Dudao, actor: str, code: str, name: str, parent: str | None,
             principal: str | None, kind: str | None) -> None:
    """登记责任单位 CODE。"""
    u = app.add_unit(code, name, parent=parent, principal=principal, category=kind,
                     actor=actor)
    emit(unit_data(u), f"已登记单位 {u.code}（{u.name}，{KINDS[u.category]}）")


def unit_data(u: Any) -> dict[str, Any]:
    return {"unit": u.code, "name": u.name, "parent": u.parent, "principal": u.principal,
            "kind": u.category, "kind_label": KINDS[u.category], "group": u.kind == "group",
            "members": list(u.members),
            "kind_history": [{"kind": h["kind"], "previous": h["previous"], "actor": h["actor"],
                              "at": h["at"]} for h in u.kind_history]}


@unit.command("edit")
@click.argument("code")
@click.option("--kind", "kind", required=True, metavar="KIND",
              help="单位类别：政府、部门、学校、党委机关、督导室、其他"
                   "（或 government、department、school、party_organ、supervision_office、other）")
@pass_app
def unit_edit(app: Dudao, actor: str, code: str, kind: str) -> None:
    """更正单位 CODE 的类别（记为事件，历史保留原类别）。升级策略规定督导室可以问责哪些类别。"""
    before = app.get_unit(code, field="code").category
    u = app.change_unit_kind(code, kind, actor=actor)
    same = before == u.category
    emit(unit_data(u) | {"changed": not same},
         f"单位 {u.name} 的类别{'已是' if same else '改为'}{KINDS[u.category]}"
         + ("" if same else f"（原为{KINDS[before]}）"))


@unit.command("group")
@click.argument("code")
@click.option("--members", required=True, metavar="A,B,…",
              help="成员单位代码，用逗号分隔：每个成员对群组承担的任务各自负责")
@pass_app
def unit_group(app: Dudao, actor: str, code: str, members: str) -> None:
    """登记群组单位 CODE（如“各县区党委、政府”）的成员：工作滞后问题登记给每个成员，不登记给群组。"""
    codes = [m.strip() for m in members.replace("，", ",").split(",") if m.strip()]
    u = app.set_group_members(code, codes, actor=actor)
    names = "、".join(app.get_unit(m).name for m in u.members)
    emit(unit_data(u), f"群组 {u.name} 的成员：{names}")


@unit.command("show")
@click.argument("code")
@pass_app
def unit_show(app: Dudao, actor: str, code: str) -> None:
    """显示单位 CODE：名称、类别、上级、主要负责人、群组成员。"""
    u = app.get_unit(code, field="code")
    members = "、".join(app.get_unit(m).name for m in u.members)
    emit(unit_data(u), f"{u.name}（{u.code}）  类别：{KINDS[u.category]}"
         + (f"  上级：{u.parent}" if u.parent else "")
         + (f"  主要负责人：{u.principal}" if u.principal else "")
         + (f"\n群组成员：{members}" if members else "")
         + "".join(f"\n{h['at']:%Y-%m-%d} 类别由{KINDS[h['previous']]}改为{KINDS[h['kind']]}"
                   f"（{h['actor']}）" for h in u.kind_history))


# ---------------------------------------------------------------- finding


@cli.group()
def finding() -> None:
    pass


@finding.command("record")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="责任单位代码")
@click.option("--on", "on", required=True, type=DATE, help="检查日期")
@click.option("--inspector", required=True, metavar="NAME", help="督学")
@click.option("--text", required=True, help="问题描述")
@click.option("--severity", type=ChoiceType(list(SEVERITIES)), default="general",
              show_default=True, help="严重程度：general 一般 / serious 较重 / major 严重")
@click.option("--task", metavar="TASK_ID", help="对应的实施方案任务")
@click.option("--key", metavar="IDEMPOTENCY_KEY", help="幂等键：重复提交返回同一问题")
@click.option("--file", "paths", multiple=True, metavar="PATH",
              type=click.Path(exists=True, dir_okay=False, readable=True),
              help=f"现场材料（如现场照片，可多次给出；{LIMITS_TEXT}）")
@pass_app
def finding_record(app: Dudao, actor: str, unit_code: str, on: date, inspector: str,
                   text: str, severity: str, task: str | None, key: str | None,
                   paths: tuple[str, ...]) -> None:
    """登记一条问题（可附现场材料）。"""
    with ExitStack() as stack:
        files = [(Path(p).name, stack.enter_context(open(p, "rb"))) for p in paths]
        fid = app.record_finding(unit=unit_code, on=on, inspector=inspector, text=text,
                                 severity=severity, task=task, key=key, actor=actor,
                                 files=files)
    emit({"finding_id": str(fid)}, str(fid))


@finding.command("show")
@click.argument("finding_id", metavar="FINDING")
@pass_app
def finding_show(app: Dudao, actor: str, finding_id: str) -> None:
    """显示一条问题的当前状态。"""
    f = app.get_finding(finding_id)
    emit(finding_summary(f), lambda: finding_line(f))


# ---------------------------------------------------------------- rectify


@cli.group()
def rectify() -> None:
    pass


@rectify.command("order")
@click.argument("finding_id", metavar="FINDING")
@click.option("--on", "on", required=True, type=DATE, help="下达日期")
@click.option("--within", required=True, type=POSITIVE, help="整改期限天数（默认工作日）")
@click.option("--calendar-days", is_flag=True, help="按自然日计算期限")
@pass_app
def rectify_order(app: Dudao, actor: str, finding_id: str, on: date, within: int,
                  calendar_days: bool) -> None:
    """下达整改通知，给出期限。"""
    deadline = app.order_rectification(finding_id, on=on, within=within,
                                       calendar_days=calendar_days, actor=actor)
    mark = PROVISIONAL_MARK if app.calendar.touches_provisional(on, deadline) else ""
    emit({"deadline": deadline}, f"整改期限：{deadline}{mark}")


@rectify.command("report")
@click.argument("finding_id", metavar="FINDING")
@click.option("--on", "on", required=True, type=DATE, help="报告日期")
@click.option("--text", required=True, help="整改报告内容")
@click.option("--file", "paths", multiple=True, metavar="PATH",
              type=click.Path(exists=True, dir_okay=False, readable=True),
              help=f"佐证材料（可多次给出；{LIMITS_TEXT}）")
@pass_app
def rectify_report(app: Dudao, actor: str, finding_id: str, on: date, text: str,
                   paths: tuple[str, ...]) -> None:
    """提交整改报告（补录纸质报告时，报告日期由录入人给出，录入人记为操作人）。"""
    with ExitStack() as stack:
        files = [(Path(p).name, stack.enter_context(open(p, "rb"))) for p in paths]
        recorded = app.submit_report(finding_id, on=on, text=text, actor=actor, files=files)
    f = app.get_finding(finding_id)
    emit({"finding_id": str(f.id), "status": f.status, "files": recorded},
         "已提交整改报告，待复查" + "".join(f"\n  佐证材料：{x['name']}  SHA-256 {x['sha256']}"
                                           for x in recorded))


@rectify.command("review")
@click.argument("finding_id", metavar="FINDING")
@click.option("--on", "on", required=True, type=DATE, help="复查日期")
@click.option("--pass", "passed", flag_value=True, default=None, help="复查通过（销号）")
@click.option("--fail", "passed", flag_value=False, help="复查未通过")
@click.option("--within", type=POSITIVE, help="未通过时新的整改期限天数")
@click.option("--calendar-days", is_flag=True, help="按自然日计算新的期限")
@click.option("--falsified", is_flag=True,
              help="复查认定整改报告弄虚作假（须写 --note）：退回整改，期限不变，升级策略可据此升级")
@click.option("--note", help="复查意见")
@pass_app
def rectify_review(app: Dudao, actor: str, finding_id: str, on: date, passed: bool | None,
                   within: int | None, calendar_days: bool, falsified: bool,
                   note: str | None) -> None:
    """复查整改：--pass 销号，或 --fail --within N 重新限期，或 --falsified --note TEXT
    认定弄虚作假。"""
    if falsified:
        if passed is not None:
            raise click.UsageError("--falsified: 不能与 --pass 或 --fail 同时给出"
                                   "（--falsified is a review outcome of its own）")
        app.review(finding_id, on=on, passed=False, within=within,
                   calendar_days=calendar_days, note=note, actor=actor, falsified=True)
        f = app.get_finding(finding_id)
        emit({"finding_id": str(f.id), "status": f.status, "deadline": f.deadline,
              "falsified": True},
             f"复查认定整改报告弄虚作假，退回整改，整改期限仍为 {f.deadline}")
        return
    if passed is None:
        raise click.UsageError("--pass/--fail: 必须给出 --pass、--fail 或 --falsified 之一"
                               "（one of --pass, --fail or --falsified is required）")
    deadline = app.review(finding_id, on=on, passed=passed, within=within,
                          calendar_days=calendar_days, note=note, actor=actor)
    f = app.get_finding(finding_id)
    mark = PROVISIONAL_MARK if deadline is not None and f.deadline_provisional else ""
    emit({"finding_id": str(f.id), "status": f.status, "deadline": deadline},
         "复查通过，已销号" if passed else f"复查未通过，新的整改期限：{deadline}{mark}")


@rectify.command("extend")
@click.argument("finding_id", metavar="FINDING")
@click.option("--on", "on", required=True, type=DATE, help="批准日期")
@click.option("--to", "to", required=True, type=DATE, help="延期后的期限")
@click.option("--reason", required=True, help="延期理由")
@pass_app
def rectify_extend(app: Dudao, actor: str, finding_id: str, on: date, to: date,
                   reason: str) -> None:
    """批准延期。"""
    deadline = app.extend(finding_id, on=on, to=to, reason=reason, actor=actor)
    emit({"deadline": deadline}, f"已延期，新的整改期限：{deadline}")


@rectify.command("request-extension")
@click.argument("finding_id", metavar="FINDING")
@click.option("--to", "to", required=True, type=DATE, help="申请延至的期限")
@click.option("--reason", required=True, help="延期理由")
@pass_app
def rectify_request_extension(app: Dudao, actor: str, finding_id: str, to: date,
                              reason: str) -> None:
    """申请延期（以今天为申请日期）；输出延期申请编号（问题编号.序号），
    dudao finding show FINDING 也列出它。"""
    request_id = app.request_extension(finding_id, to=to, reason=reason, actor=actor)
    emit({"request_id": request_id, "finding_id": str(app.get_finding(finding_id).id)},
         f"已提出延期申请，编号 {request_id}，待审批")


@rectify.command("decide-extension")
@click.argument("request_id", metavar="REQUEST")
@click.option("--grant", "grant", flag_value=True, default=None, help="批准（期限延至申请的日期）")
@click.option("--refuse", "grant", flag_value=False, help="不批准")
@click.option("--note", help="审批意见")
@pass_app
def rectify_decide_extension(app: Dudao, actor: str, request_id: str, grant: bool | None,
                             note: str | None) -> None:
    """审批延期申请 REQUEST（编号见 request-extension 的输出或 finding show）。"""
    if grant is None:
        raise click.UsageError("--grant/--refuse: 必须给出 --grant 或 --refuse 之一"
                               "（one of --grant or --refuse is required）")
    out = app.decide_extension(request_id, grant=grant, note=note, actor=actor)
    emit(out, f"已批准延期，新的整改期限：{out['deadline']}" if grant
         else f"未批准延期，整改期限仍为：{out['deadline']}")


# -------------------------------------------------------------- interview


@cli.group()
def interview() -> None:
    pass


@interview.command("hold")
@click.argument("finding_id", metavar="FINDING")
@click.option("--on", "on", required=True, type=DATE, help="约谈日期")
@click.option("--interviewee", metavar="NAME", help="被约谈人（给出 --person 时默认为其姓名）")
@click.option("--person", "person_id", metavar="PERSON_ID",
              help="被约谈的人员（dudao person add 登记的，须属于该问题的责任单位）")
@click.option("--minutes", required=True, help="约谈纪要")
@click.option("--commitment", "commitments", multiple=True, type=CommitmentType(),
              help="整改承诺：YYYY-MM-DD:内容（承诺完成的日期和内容），可重复")
@pass_app
def interview_hold(app: Dudao, actor: str, finding_id: str, on: date, interviewee: str | None,
                   person_id: str | None, minutes: str,
                   commitments: tuple[tuple[date, str], ...]) -> None:
    """登记约谈，可点名被约谈的人员并记录整改承诺。"""
    if interviewee is None and person_id is None:
        raise click.UsageError("--interviewee: 必须给出 --interviewee 或 --person 之一"
                               "（one of --interviewee or --person is required）")
    app.hold_interview(finding_id, on=on, interviewee=interviewee, minutes=minutes,
                       person=person_id, commitments=list(commitments), actor=actor)
    f = app.get_finding(finding_id)
    emit({"finding_id": finding_id, "interview_held_on": on, "interviewee": f.interviewee,
          "person_id": f.interview_person_id, "commitments": f.commitments},
         f"已登记{on}对{f.interviewee}的约谈"
         + (f"，整改承诺 {len(f.commitments)} 条" if f.commitments else ""))
