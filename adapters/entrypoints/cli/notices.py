"""``dudao notices publish|follow|pending``: escalation notices over NATS JetStream."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from adapters.bootstrap import notice_publisher
from adapters.entrypoints.cli.base import Context, cli, echo_err, emit, pass_app, settings
from adapters.infrastructure.notice_messages import describe_notice
from adapters.infrastructure.notice_outbox import consumer_name, follow, publish_all
from adapters.service_layer.application import Dudao
from domain.units import check_code

T = TypeVar("T")

NATS_HELP = "NATS 服务器地址（DUDAO_NATS，默认 nats://127.0.0.1:4222）"


def until_signal(work: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``work`` in an event loop; SIGTERM or Ctrl-C sets its stop event."""

    async def main() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await work(stop)

    return asyncio.run(main())


def _db() -> str:
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    return ctx.settings.db


@cli.group("notices")
def notices() -> None:
    pass


@notices.command("publish")
@click.option("--watch", is_flag=True,
              help="持续运行：事件日志有新的升级就发布，直到 SIGTERM 或 Ctrl-C")
@click.option("--nats", "server", metavar="URL", help=NATS_HELP)
@pass_app
def publish(app: Dudao, actor: str, watch: bool, server: str | None) -> None:
    """发布所有待发布的升级通知，全部得到 JetStream 确认后退出（退出码 0）。

    NATS 不可达时以非零退出码说明原因；未确认的通知留在事件日志中，不会丢失。
    """
    publisher = notice_publisher(app, _db(), server, settings(), log=echo_err)
    if watch:
        async def work(stop: asyncio.Event) -> None:
            echo_err(f"正在向 {publisher.server} 持续发布升级通知（Ctrl-C 或 SIGTERM 停止）")
            await publisher.run(stop)

        until_signal(work)
        return

    result = publish_all(publisher)
    data = {"published": result.published, "duplicates": result.duplicates,
            "position": result.position, "pending": 0, "server": publisher.server}

    def human() -> str:
        if result.acknowledged == 0:
            return f"没有待发布的升级通知（事件日志位置 {result.position}）"
        text = f"已发布 {result.published} 条升级通知到 {publisher.server}"
        if result.duplicates:
            text += f"；{result.duplicates} 条此前已发布，由 JetStream 去重"
        return text + f"（事件日志位置 {result.position}）"

    emit(data, human)


@notices.command("pending")
@pass_app
def pending(app: Dudao, actor: str) -> None:
    """待发布（尚未得到 JetStream 确认）的升级通知数。"""
    publisher = notice_publisher(app, _db(), settings=settings())
    count, position = publisher.pending(), publisher.position()
    emit({"pending": count, "position": position},
         f"{count} 条升级通知待发布（已确认到事件日志位置 {position}）")


@notices.command("follow")
@click.option("--unit", metavar="CODE", help="只接收这个责任单位的通知")
@click.option("--name", "durable", metavar="NAME",
              help="持久消费者名称（默认 dudao-follow-<单位代码> 或 dudao-follow-all）")
@click.option("--count", type=click.IntRange(min=1), metavar="N", help="收到 N 条后退出")
@click.option("--once", is_flag=True, help="收完离线期间错过的通知后退出")
@click.option("--nats", "server", metavar="URL", help=NATS_HELP)
@click.pass_obj
def follow_notices(ctx: Context, unit: str | None, durable: str | None, count: int | None,
                   once: bool, server: str | None) -> None:
    """通知到达时逐条打印（持久消费者：离线期间错过的通知，下次接收时补上）。"""
    if unit is not None:
        check_code(unit, "unit")
    url = server or settings().nats

    def show(payload: dict[str, Any]) -> None:
        if ctx.json:
            click.echo(json.dumps(payload, ensure_ascii=False))
        else:
            click.echo(describe_notice(payload))

    async def work(stop: asyncio.Event) -> int:
        if not ctx.json:
            echo_err(f"正在接收 {unit or '全部单位'} 的升级通知（{url}，消费者 "
                     f"{durable or consumer_name(unit)}；Ctrl-C 停止）")
        return await follow(url, show, unit=unit, durable=durable, stop=stop, count=count,
                            once=once, replicas=settings().nats_replicas, log=echo_err)

    until_signal(work)
