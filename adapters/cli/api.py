"""``dudao token create`` and ``dudao serve``: the adapter service on the command line."""

from __future__ import annotations

import click

from adapters.auth import ROLES, TokenStore
from adapters.cli.base import ChoiceType, Context, cli, emit, pass_app
from adapters.service import Dudao
from adapters.store import engine_for


@cli.group()
def token() -> None:
    """HTTP API 的令牌。"""


@token.command("create")
@click.option("--role", required=True, type=ChoiceType(list(ROLES)),
              help="角色：inspector 督学 / unit 责任单位 / policy 政策人员 / auditor 审计 / admin 管理员")
@click.option("--unit", "unit_code", metavar="CODE", help="责任单位令牌所属的单位（role=unit 时必填）")
@click.option("--name", metavar="NAME", help="持有人姓名，记在每个事件的操作人上（如 张督学）")
@pass_app
def token_create(app: Dudao, actor: str, role: str, unit_code: str | None,
                 name: str | None) -> None:
    """生成一个令牌：只显示这一次，库里只存它的哈希。"""
    if unit_code is not None:
        app.get_unit(unit_code)
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    engine = engine_for(ctx.settings.db)
    try:
        secret, who = TokenStore(engine).create(role=role, unit=unit_code, name=name,
                                                now=app.now(), created_by=actor)
    finally:
        engine.dispose()
    emit({"token": secret, "role": role, "unit": unit_code, "actor": who.actor},
         lambda: (f"{secret}\n（角色：{ROLES[role]}"
                  f"{'，单位：' + unit_code if unit_code else ''}；操作人记为 {who.actor}。"
                  "令牌只显示这一次，请妥善保存）"))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="监听端口（0 表示任选一个空闲端口）")
@click.option("--sweep-interval", default=60.0, show_default=True,
              type=click.FloatRange(min=1.0), metavar="SECONDS",
              help="升级巡检的间隔秒数（交给 dudao serve 的后台巡检任务）")
@click.pass_obj
def serve_command(ctx: Context, host: str, port: int, sweep_interval: float) -> None:
    """运行 HTTP API（/api/v1），SIGTERM 或 Ctrl-C 时干净地停止。"""
    from adapters.serve import ServeOptions, serve

    serve(ctx.settings, ServeOptions(host=host, port=port, sweep_interval=sweep_interval),
          announce=click.echo)
