"""``dudao escalate``: one escalation sweep at the clock's now; ``dudao escalate raise``:
an inspector's manual escalation."""

from __future__ import annotations

import signal
from datetime import date
from typing import Any

import click

from adapters import bootstrap
from adapters.bootstrap import sweeper
from adapters.entrypoints.cli.base import DATE, Context, cli, emit


@cli.group("escalate", invoke_without_command=True)
@click.option("--policy", "policy", metavar="NAME",
              help="升级策略：rules/policies/ 下的名称或 .toml 文件路径（DUDAO_POLICY，默认 default）")
@click.option("--dry-run", is_flag=True, help="只判定、不记录：列出同一时刻真实扫描将记录的一切（含工作滞后问题），什么也不写入")
@click.pass_context
def escalate(click_ctx: click.Context, policy: str | None, dry_run: bool) -> None:
    """以全局 --now 为当前时间（默认系统时钟）。--now 可以早于事件库里最后记录的时间，
    用于模拟与回放：判定仍按各级门槛日计算，记录的 decided_at 就是这个 --now。
    同一时刻重复运行不会产生新的升级。

    dudao escalate raise FINDING --rung CODE --reason TEXT --on DATE：督学手动升级。
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Context = click_ctx.obj
    app = ctx.app
    sweep = sweeper(app, ctx.settings.db, policy, ctx.settings)
    now = app.now()
    # SIGTERM or Ctrl-C: the sweep ends at its next page; what it recorded stays recorded.
    caught: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        caught.append(signum)
        sweep.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        decisions = sweep.run(now, dry_run=dry_run)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    rows = [
        {"finding_id": d.finding_id, "unit": d.unit, "code": d.code, "rung": d.rung, "name": d.name,
         "rule": d.rule, "policy": d.policy, "policy_version": d.policy_version,
         "threshold": d.threshold, "due": d.due, "notice": d.notice,
         "decided_by": d.decided_by, "case_id": d.case_id}
        for d in decisions
    ]

    def human() -> str:
        head = (f"{now:%Y-%m-%d %H:%M} 按“{sweep.policy.title}”（第{sweep.policy.version}版）"
                f"{'试判定' if dry_run else '扫描'}：")
        verb = "将登记" if dry_run else "新登记"
        lines = [f"  {verb}工作滞后问题 {len(sweep.lagged)} 条："] if sweep.lagged else []
        lines += [f"    {r['task']}  {sweep.unit_name(r['unit'])}  滞后自 {r['threshold']}，整改期限 {r['deadline']}"
                  for r in sweep.lagged]
        lines += [f"  跳过的问题 {len(sweep.skipped)} 条（下次扫描重试）："] if sweep.skipped else []
        lines += [f"    {r['finding_id']}  {r['unit']}  {r['reason']}" for r in sweep.skipped]
        if not decisions:
            return "\n".join([head + "没有新的升级", *lines])
        lines = [head + f"{'将记录 ' if dry_run else ''}{len(decisions)} 项升级", *lines]
        for d in decisions:
            due = f"，期限 {d.due}" if d.due else ""
            # a committee rung decides nothing: it proposes 问责 and opens a case
            what = (f"提请{d.name}（问责案件 {d.case_id}，由督导委员会决定）"
                    if d.case_id else d.name)
            lines.append(f"  {d.finding_id[:8]}  {sweep.unit_name(d.unit)}  {what}"
                         f"（自 {d.threshold} 起{due}）")
        return "\n".join(lines)

    emit({"escalations": rows, "skipped": sweep.skipped, "lagging": sweep.lagged, "policy": sweep.policy.policy,
          "policy_version": sweep.policy.version, "dry_run": dry_run,
          "interrupted": sweep.interrupted}, human)
    if caught:
        click.echo(f"已中断：本次{'判定' if dry_run else '记录'}了 {len(decisions)} 项升级"
                   f"（已判定 {sweep.pending} 项）；已记录的保持不变，"
                   "其余再运行 dudao escalate 即可继续", err=True)
        raise click.exceptions.Exit(128 + caught[0])


@escalate.command("raise")
@click.argument("finding_id", metavar="FINDING")
@click.option("--rung", "code", required=True, metavar="CODE",
              help="升到哪一级：升级策略里的级别代码，须高于问题已到达的最高一级")
@click.option("--reason", required=True, help="手动升级的理由（如发生重大安全事故）")
@click.option("--on", "on", required=True, type=DATE, help="升级日期（这一级自这天起）")
@click.option("--policy", "policy", metavar="NAME",
              help="升级策略（默认同 dudao escalate 的 --policy，再默认 DUDAO_POLICY、default）")
@click.pass_context
def escalate_raise(click_ctx: click.Context, finding_id: str, code: str, reason: str,
                   on: date, policy: str | None) -> None:
    """督学手动升级：把问题直接升到策略里更高的一级，写明理由；记录操作人（--actor）和理由。

    on = "manual" 的级别只能这样升级。"""
    from adapters.service_layer.manual import raise_manually

    ctx: Context = click_ctx.obj
    name = policy or (click_ctx.parent.params.get("policy") if click_ctx.parent else None)
    chosen = bootstrap.policy(ctx.settings, name)
    raised = raise_manually(ctx.app, chosen, finding_id, code=code, reason=reason, on=on,
                            actor=ctx.actor)
    due = f"，期限 {raised['due']}" if raised["due"] else ""
    emit(raised, f"已手动升级为{raised['name']}（自 {raised['threshold']} 起{due}），"
                 f"理由：{raised['reason']}")
