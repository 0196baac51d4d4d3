"""Auditors' commands: the trail of a finding."""

from __future__ import annotations

from typing import Any

import click

from adapters.cli.base import cli, emit, pass_app
from adapters.service import Dudao

EVENT_NAMES = {
    "Recorded": "登记问题",
    "RectificationOrdered": "下达整改通知",
    "ReportSubmitted": "提交整改报告",
    "ReviewPassed": "复查通过（销号）",
    "ReviewFailed": "复查未通过",
    "ExtensionGranted": "批准延期",
    "InterviewHeld": "约谈",
    "EscalationRaised": "升级",
}
SKIP = {"type", "version", "actor", "on", "recorded_at"}


def trail_line(e: dict[str, Any]) -> str:
    name = EVENT_NAMES.get(e["type"], e["type"])
    if e["type"] == "EscalationRaised":
        name = f"升级：{e['code']}（规则 {e['rule']}，策略 {e['policy']} v{e['policy_version']}）"
    business = e.get("on") or e.get("threshold") or ""
    details = "；".join(f"{k}={v}" for k, v in e.items() if k not in SKIP and v is not None)
    return (f"#{e['version']:<3} {business!s:<10}  {name}  "
            f"[{e['actor']} 于 {e['recorded_at']:%Y-%m-%d %H:%M:%S%z}]  {details}")


@cli.group()
def audit() -> None:
    """审计：轨迹、回放与校验。"""


@audit.command("trail")
@click.argument("finding_id", metavar="FINDING")
@pass_app
def audit_trail(app: Dudao, actor: str, finding_id: str) -> None:
    """列出一条问题的全部事件。"""
    events = app.history(finding_id)
    emit({"finding_id": finding_id, "events": events},
         lambda: "\n".join(trail_line(e) for e in events))
