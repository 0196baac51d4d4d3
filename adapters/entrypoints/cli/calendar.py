"""``dudao calendar show YEAR``: a year's days off and make-up working days, with their source."""

from __future__ import annotations

import click

from adapters.entrypoints.cli.base import Context, cli, emit

SOURCES = {"package": "法定（chinesecalendar 包）", "operator": "运营方文件（DUDAO_HOLIDAYS）",
           "provisional": "暂定（按放假办法推算，无调休）"}


@cli.group("calendar")
def calendar() -> None:
    pass


@calendar.command("show")
@click.argument("year", type=click.IntRange(1900, 9999))
@click.pass_obj
def calendar_show(ctx: Context, year: int) -> None:
    """列出 YEAR 年的休息日（工作日放假）与调休上班日及其来源。"""
    source, rows = ctx.app.calendar.year_days(year)
    days = [{"day": d, "working": w, "note": why} for d, w, why in rows]

    def human() -> str:
        lines = [f"{year}年工作日历，来源：{SOURCES[source]}"]
        lines += [f"  {d:%Y-%m-%d}  {'上班' if w else '休息'}  {why}" for d, w, why in rows]
        return "\n".join(lines)

    emit({"year": year, "source": source, "days": days}, human)
