"""Auditors' commands: trail, verify, checkpoint, seal, replay, rules.

Exit status of ``audit verify``: 0 intact; 1 tampering found (the first bad
position is named on stderr). ``audit seal``: 0 listed (or, with ``--repair``,
sealed and recorded); 1 refused. ``audit checkpoint``: 0 printed and published;
3 printed but NOT published (NATS unreachable; stderr says so); 1 error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from adapters import bootstrap
from adapters.entrypoints.cli.base import MOMENT, cli, dumps, emit, pass_app, settings
from adapters.infrastructure.hash_chain import Checkpoint, Report
from adapters.infrastructure.sealing_recorders import SealPlan, sealed_upto
from adapters.service_layer.application import Dudao
from adapters.service_layer.audit import (
    EVENT_NAMES,
    NotPublished,
    publish_checkpoint,
    replay,
    rerun_rules,
    trail,
    trail_text,
)
from domain.errors import DudaoError

UNPUBLISHED_EXIT = 3
__all__ = ["EVENT_NAMES", "audit"]


class Tampered(DudaoError):
    """Verification found stored events changed, removed, inserted or reordered."""


@cli.group()
def audit() -> None:
    pass


# ------------------------------------------------------------------ trail


@audit.command("trail")
@click.argument("finding_id", metavar="FINDING")
@pass_app
def audit_trail(app: Dudao, actor: str, finding_id: str) -> None:
    """列出一条问题的全部事件：位置、操作人、业务日期、记录时间；升级事件另列规则、策略版本与依据事实。"""
    data = trail(app, finding_id)
    emit(data, lambda: trail_text(data))


# -------------------------------------------------------------- progress


@contextmanager
def progress_bar(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty() or length <= 0:
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr,
                           show_pos=True, width=30) as bar:
        yield bar.update


# ----------------------------------------------------------------- verify


def runs_text(ranges: list[Any]) -> str:
    return "、".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)


def repairs_text(report: Report) -> list[str]:
    lines = []
    for r in report.repairs:
        if "error" in r:
            lines.append(f"  位置 {r['position']} 的补封记录无法读出（{r['error']}）")
            continue
        when = r["recorded_at"].replace("T", " ")[:19]
        why = f"，理由：{r['reason']}" if r.get("reason") else ""
        lines.append(f"  {when}  {r['by']}（操作账号 {r['actor']}）补封了位置 "
                     f"{runs_text(r['ranges'])} 共 {r['count']} 个事件{why}；"
                     f"补封记录在位置 {r['position']}")
    if lines:
        lines.insert(0, f"注意：事件库曾经补封 {len(lines)} 次（这些事件不是在写入时封存的，"
                        "补封前的内容无从核对，只有更早保存的检查点能发现改动）：")
    return lines


def report_text(report: Report, plan: SealPlan | None = None) -> str:
    head = report.head
    if report.ok:
        text = (f"事件库完好：{report.events} 个事件全部封存，未被改动、删除、插入或调换。\n"
                f"链头 {head}")
        if report.checkpoint is not None:
            text += f"\n与检查点 {report.checkpoint.position}:{report.checkpoint.hash[:16]}… 相符"
        return "\n".join([text, *repairs_text(report)])
    lines = [f"事件库被改动：共发现 {report.problem_count} 处问题，第一个出问题的位置是 "
             f"{report.first_bad}。"]
    if report.first_unsealed is not None:
        lines.append(f"位置 {report.first_unsealed} 起有事件没有封存（封存记录 "
                     f"{report.sealed} 条，事件 {report.events} 个）：事件库不会自行补封。")
        if plan is not None and plan.ranges:
            lines.append(f"{sealed_upto(plan.head)}，位置 {runs_text(plan.ranges)} 的事件"
                         "未封存，写入一律拒绝；核查后由负责人运行 "
                         "dudao audit seal --repair --by 姓名 补封。")
        if plan is not None and plan.first != report.first_unsealed:
            lines.append(f"位置 {report.first_unsealed} 的事件插在已封存的事件之间，补封也不能封存它。")
    lines += [f"  位置 {p.position}：{p.zh}" for p in report.problems[:20]]
    if report.problem_count > 20:
        lines.append(f"  ……另有 {report.problem_count - 20} 处")
    lines += repairs_text(report)
    return "\n".join(lines)


@audit.command("verify")
@click.option("--checkpoint", "checkpoint", metavar="POSITION:HASH",
              help="同时核对一个保存在系统之外的检查点（可发现最新事件被截掉）")
@pass_app
def audit_verify(app: Dudao, actor: str, checkpoint: str | None) -> None:
    """校验哈希链：发现任何被改动、删除、插入或调换的事件，指出第一个出问题的位置。

    退出码 0 表示完好；1 表示发现篡改（标准错误上给出第一个出问题的位置）。
    """
    cp = Checkpoint.parse(checkpoint) if checkpoint is not None else None
    with progress_bar("校验", app.last_position()) as tick:
        report = app.verify(cp, progress=tick)
    plan = app.seal_plan() if report.first_unsealed is not None else None
    emit(report.as_dict(), lambda: report_text(report, plan))
    if not report.ok:
        first = report.problems[0] if report.problems else None
        raise Tampered(
            f"校验未通过：位置 {report.first_bad} 起事件库被改动（{first.zh if first else ''}）",
            f"verification failed: the store was altered at position {report.first_bad}",
            field="--checkpoint" if first is not None and first.kind in
            ("checkpoint", "truncated") else None,
        )


# ------------------------------------------------------------------- seal


def plan_text(plan: SealPlan) -> str:
    if not plan.ranges:
        return f"没有未封存的事件：封存记录到位置 {plan.head}，事件库完整封存，无需补封。"
    return (f"{sealed_upto(plan.head)}，有 {plan.count} 个事件没有封存："
            f"位置 {runs_text(plan.ranges)}。\n"
            "这是事件库被改动（链表被清空或截短、事件被直接插入）或早于封存功能的迹象，"
            "先用 dudao audit verify 与保存在系统之外的检查点核查。\n"
            "确认后补封：dudao audit seal --repair --by 姓名 [--reason 理由]"
            "（补封本身记为一个事件，audit verify 此后一直列出它）。现在什么也没有记录。")


@audit.command("seal")
@click.option("--repair", is_flag=True, help="补封：按位置顺序封存未封存的事件，并把补封记为一个事件")
@click.option("--by", "by", metavar="NAME", help="补封负责人姓名（--repair 必填）")
@click.option("--reason", "reason", metavar="TEXT", help="补封理由")
@pass_app
def audit_seal(app: Dudao, actor: str, repair: bool, by: str | None,
               reason: str | None) -> None:
    """列出没有封存的事件；加 --repair --by 姓名 则补封它们，并记录谁、何时、哪些位置、为什么。

    事件库只封存它刚写入的事件，打开时从不补封；链表比事件短时校验不通过、写入一律拒绝，
    直到负责人明确补封。补封记录本身是事件日志里的一个事件，同样被封存，audit verify 此后一直列出它。
    """
    if not repair and (by is not None or reason is not None):
        raise click.UsageError("--by/--reason: 只与 --repair 一起使用（only with --repair）")
    if repair and by is None:
        raise click.UsageError("--by: 补封必须写明负责人姓名（a repair needs --by NAME）")
    plan = app.seal_plan()
    if not repair or not plan.ranges:
        emit({"repaired": False, "head": plan.head, "count": plan.count,
              "ranges": [list(r) for r in plan.ranges], "first_unsealed_position": plan.first},
             lambda: plan_text(plan))
        return
    assert by is not None
    done = app.repair_chain(plan, by=by, reason=reason, actor=actor)
    emit(done, lambda: (
        f"已补封位置 {runs_text(done['ranges'])} 共 {done['count']} 个事件（负责人 {done['by']}，"
        f"{done['recorded_at'].replace('T', ' ')[:19]}）；补封记录为位置 {done['position']} 的事件。\n"
        "请运行 dudao audit verify 核查，并发布新的检查点（dudao audit checkpoint）。"))


# ------------------------------------------------------------- checkpoint


@audit.command("checkpoint")
@click.option("--no-publish", is_flag=True, help="只打印，不发布到 NATS")
@pass_app
def audit_checkpoint(app: Dudao, actor: str, no_publish: bool) -> None:
    """打印当前链头 {"position", "hash"}，并发布到 NATS 主题 dudao.audit.checkpoint。

    NATS 地址取 DUDAO_NATS（默认 nats://127.0.0.1:4222）。NATS 不可达时仍打印检查点，
    在标准错误上说明未发布，退出码为 3，请另行保存该检查点。
    """
    head = app.chain_head()
    click.echo(dumps(head.as_dict()))
    if no_publish:
        return
    try:
        how = publish_checkpoint(head, app.now(), url=settings().nats,
                                 replicas=settings().nats_replicas)
    except NotPublished as e:
        click.echo(f"警告：检查点未发布（{e.zh}）。上面的检查点只打印在这里，请另行保存。"
                   f" (the checkpoint was NOT published)", err=True)
        raise click.exceptions.Exit(UNPUBLISHED_EXIT) from e
    click.echo(how, err=True)


# ----------------------------------------------------------------- replay


class PhaseBars:
    """One progress bar per phase, on stderr when it is a terminal."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.bars: dict[str, Any] = {}
        self.done: dict[str, int] = {}

    def update(self, phase: str, done: int, total: int) -> None:
        if not sys.stderr.isatty() or total <= 0:
            return
        if phase not in self.bars:
            for other in self.bars.values():
                other.render_finish()
            bar = click.progressbar(length=total, label=self.labels.get(phase, phase),
                                    file=sys.stderr, show_pos=True, width=30)
            self.bars[phase] = bar.__enter__()
            self.done[phase] = 0
        step = max(0, min(done, total) - self.done[phase])
        self.bars[phase].update(step)
        self.done[phase] += step

    def close(self) -> None:
        for bar in self.bars.values():
            bar.__exit__(None, None, None)


@audit.command("replay")
@click.option("--as-of", "as_of", required=True, type=MOMENT,
              help="时刻（ISO 8601，无时区按北京时间）：只用此刻及之前记录的事件")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="输出目录：临时事件库 replay.db、读模型与报表")
@pass_app
def audit_replay(app: Dudao, actor: str, as_of: datetime, out: str) -> None:
    """在临时事件库中回放截至某一时刻记录的事件，重建读模型与报表（不动现有读模型）。"""
    bars = PhaseBars({"copy": "复制事件", "build": "重建读模型"})
    try:
        manifest = replay(app, as_of, Path(out), progress=bars.update)
    finally:
        bars.close()
    emit(manifest, lambda: (
        f"已回放截至 {as_of.isoformat(sep=' ')} 记录的 {manifest['events']} 个事件"
        f"（库中共 {manifest['events_in_store']} 个）到临时事件库 {Path(out) / manifest['store']}\n"
        f"现有事件库链头 {manifest['live_head']['position']}:{manifest['live_head']['hash']}"
        f"（{'校验完好' if manifest['live_verified'] else '校验未通过'}）\n"
        f"输出（目录 {out}）：findings.json、reports/bulletin.html|md|json、"
        f"reports/units/<单位代码>.html|md|json（共 {len(manifest['files'])} 个文件）"
        + (f"\n注意：另有 {manifest['held_back']} 个事件虽在该时刻前记录，但同一对象更早的事件"
           f"记录在该时刻之后，一并未计入" if manifest["held_back"] else "")))
    if not manifest["live_verified"]:
        raise Tampered(
            f"回放已完成，但现有事件库校验未通过：位置 {manifest['live_first_bad_position']} 起被改动",
            f"replayed, but the live store failed verification at position "
            f"{manifest['live_first_bad_position']}",
        )


# ------------------------------------------------------------------ rules


def rules_text(result: dict[str, Any]) -> str:
    head = (f"按策略 {result['policy']} 第{result['policy_version']}版重新判定全部历史"
            f"（在记录过升级的 {result['sweeps']} 个扫描时刻重跑）：记录的升级 {result['recorded']} 项"
            f"（{'、'.join(result['recorded_with']) or '无'}），重新判定 {result['decided']} 项"
            + (f"；督学手动升级 {result['manual']} 项照原样保留" if result.get("manual") else "")
            + "。")
    diffs = result["differences"]
    if not diffs:
        return head + "\n与记录完全一致，没有差异。"
    kinds = {"only_recorded": "记录有、重判无", "only_decided": "重判有、记录无",
             "changed": "两边都有但不同"}
    lines = [head, f"差异 {len(diffs)} 项："]
    for d in diffs:
        old, new = d["recorded"], d["decided"]

        def show(x: dict[str, Any] | None) -> str:
            if x is None:
                return "—"
            due = f"，期限 {x['due']}" if x["due"] else ""
            return f"自 {x['threshold']} 起{due}（{x['rule']}）"

        lines.append(f"  {d['finding_id'][:8]}  {d['unit']}  {d['name']}  {kinds[d['kind']]}："
                     f"记录 {show(old)}；重判 {show(new)}")
    return "\n".join(lines)


@audit.command("rules")
@click.option("--policy", "policy", metavar="NAME",
              help="升级策略：rules/policies/ 下的名称或 .toml 文件路径（默认 default）")
@pass_app
def audit_rules(app: Dudao, actor: str, policy: str | None) -> None:
    """用某一版升级策略重新判定全部历史，列出与已记录升级的每一处差异（不写入事件库）。

    用记录这些升级的那一版策略时应当没有差异；换一版策略，就是修改策略之前要看的“假如”。
    """
    bars = PhaseBars({"rules": "重新判定"})
    try:
        result = rerun_rules(app, bootstrap.policy(settings(), policy),
                             progress=lambda done, total: bars.update("rules", done, total))
    finally:
        bars.close()
    emit(result, lambda: rules_text(result))
