"""``dudao calendar show YEAR``: a year's days off and make-up working days, with their source;
``dudao calendar check``: open deadlines the calendar now in force would put elsewhere."""

from __future__ import annotations

import click

from adapters.entrypoints.cli.base import WHOLE, Context, cli, emit
from domain.calendar import PROVISIONAL_MARK

SOURCES = {"package": "法定（chinesecalendar 包）", "operator": "运营方文件（DUDAO_HOLIDAYS）",
           "provisional": "暂定（按放假办法推算，无调休）"}


@cli.group("calendar")
def calendar() -> None:
    pass


@calendar.command("show")
@click.argument("year", type=WHOLE)
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


@calendar.command("check")
@click.pass_obj
def calendar_check(ctx: Context) -> None:
    """列出按现行工作日历重新计算后与记录不同的未销号整改期限（记录的期限不会改动）。"""
    from adapters.service_layer.calendar_check import differing_deadlines

    rows = differing_deadlines(ctx.app, ctx.settings.db)

    def mark(provisional: bool | None) -> str:
        return PROVISIONAL_MARK if provisional else ""

    def human() -> str:
        if not rows:
            return "按现行工作日历重新计算，未销号问题的整改期限与记录一致，没有需要复核的期限。"
        lines = [f"按现行工作日历重新计算，{len(rows)} 个未销号问题的整改期限与记录不同"
                 "（记录的期限不会改动；如属公平，可办理延期）："]
        for r in rows:
            unit = "自然日" if r["calendar_days"] else "个工作日"
            now = (f"{r['current_deadline']}{mark(r['current_provisional'])}"
                   if r["current_deadline"] else f"无法计算（{r['reason']}）")
            lines.append(f"  {r['unit_name']}  {r['finding_id']}  "
                         f"记录期限 {r['recorded_deadline']}{mark(r['recorded_provisional'])}  "
                         f"现行日历 {now}  （{r['ordered_on']} 起 {r['within']}{unit}）")
        return "\n".join(lines)

    emit({"differing": rows}, human)
