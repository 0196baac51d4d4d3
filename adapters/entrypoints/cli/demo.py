"""``dudao demo``."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.demo.year import run_demo
from adapters.entrypoints.cli.base import Context, cli


@cli.command("demo")
@click.option("--out", "out", default="out", show_default=True, type=click.Path(file_okay=False),
              help="输出目录（演示事件库与报告写在这里）")
@click.pass_obj
def demo(ctx: Context, out: str) -> None:
    run_demo(Path(out), click.echo, holidays=ctx.settings.holidays)
