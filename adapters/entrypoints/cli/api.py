"""``dudao token create`` and ``dudao serve``: the adapter service on the command line."""

from __future__ import annotations

import click
from sqlalchemy.engine import Engine

from adapters.entrypoints.cli.base import ChoiceType, Context, cli, emit, pass_app
from adapters.infrastructure.event_store import engine_for, startup_lock
from adapters.infrastructure.tokens import ROLES, TokenStore
from adapters.service_layer.application import Dudao


def token_store(db: str, engine: Engine) -> TokenStore:
    """The token store (its tables made once, however many processes start at once)."""
    with startup_lock(db):
        return TokenStore(engine)


@cli.group()
def token() -> None:
    pass


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
        secret, who = token_store(ctx.settings.db, engine).create(role=role, unit=unit_code, name=name,
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
@click.option("--no-background", is_flag=True,
              help="只提供 API 和网页，不运行后台任务（升级巡检、通知发布、读模型更新）："
                   "多进程部署时交给 dudao worker，服务进程的响应时间不受后台任务影响")
@click.pass_obj
def serve_command(ctx: Context, host: str, port: int, sweep_interval: float,
                  no_background: bool) -> None:
    from adapters.entrypoints.server import ServeOptions, serve

    serve(ctx.settings, ServeOptions(host=host, port=port, sweep_interval=sweep_interval,
                                     background=not no_background),
          announce=click.echo)


@cli.command("worker")
@click.argument("roles", nargs=-1, type=click.Choice(["sweep", "publish", "project"]))
@click.option("--sweep-interval", default=60.0, show_default=True,
              type=click.FloatRange(min=1.0), metavar="SECONDS", help="升级巡检的间隔秒数")
@click.option("--metrics-port", default=None, type=click.IntRange(0, 65535), metavar="PORT",
              help="在此端口提供 GET /metrics（Prometheus 运行指标：巡检耗时、升级数、积压等；"
                   "与 dudao serve 的 /metrics 相同，只对本机或带 DUDAO_METRICS_TOKEN 的请求开放）；"
                   "不写则不提供 HTTP")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="运行指标的监听地址（只在给出 --metrics-port 时使用）")
@click.pass_obj
def worker_command(ctx: Context, roles: tuple[str, ...], sweep_interval: float,
                   metrics_port: int | None, metrics_host: str) -> None:
    """角色：sweep 升级巡检、publish 通知发布、project 读模型更新，不写则三者都运行。

    PostgreSQL 上每个角色凭租约（咨询锁）同一时刻只由一个进程运行，持有者退出或被杀死后，其他进程在约 1 秒内接手。

    SIGTERM 或 Ctrl-C 时干净地停止。
    """
    from adapters.entrypoints.worker import WorkerOptions, parse_roles, work

    work(ctx.settings, WorkerOptions(roles=parse_roles(roles), sweep_interval=sweep_interval,
                                     metrics_port=metrics_port, metrics_host=metrics_host),
         announce=click.echo)


@token.command("list")
@pass_app
def token_list(app: Dudao, actor: str) -> None:
    """列出令牌（编号前缀、角色、单位、名称、创建与吊销时间）；从不显示令牌本身。"""
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    engine = engine_for(ctx.settings.db)
    try:
        rows = token_store(ctx.settings.db, engine).list()
    finally:
        engine.dispose()
    data = [{"id": r["id"][:8], "role": r["role"], "unit": r["unit"], "name": r["name"],
             "created_at": r["created_at"], "last_used_at": r["last_used_at"],
             "revoked_at": r["revoked_at"]} for r in rows]

    def text() -> str:
        if not data:
            return "（还没有令牌）"
        lines = []
        for r in data:
            state = f"已吊销 {r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "有效"
            used = f"{r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "—"
            lines.append(f"{r['id']}  {ROLES[r['role']]}  {r['unit'] or '—'}  "
                         f"{r['name'] or '—'}  创建 {r['created_at']:%Y-%m-%d %H:%M}  "
                         f"最近使用 {used}  {state}")
        return "\n".join(lines)

    emit(data, text)


@token.command("revoke")
@click.argument("ident", metavar="ID")
@pass_app
def token_revoke(app: Dudao, actor: str, ident: str) -> None:
    """吊销一个令牌（编号或唯一前缀）：运行中的服务两秒内即拒绝它；记录保留。"""
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    engine = engine_for(ctx.settings.db)
    try:
        row = token_store(ctx.settings.db, engine).revoke(ident, now=app.now())
    finally:
        engine.dispose()
    emit({"id": row["id"][:8], "role": row["role"], "unit": row["unit"],
          "revoked_at": row["revoked_at"]},
         lambda: f"已吊销令牌 {row['id'][:8]}（{ROLES[row['role']]}"
                 f"{'，' + row['unit'] if row['unit'] else ''}）")
