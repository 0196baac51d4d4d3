"""Rendering reports as JSON, Markdown or A4-printable HTML with SVG charts.

Charts are drawn by pygal into inline SVG with no script and nothing loaded
from elsewhere (pygal's default would link its tooltip script from the web).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any

import pygal
from jinja2 import Environment, PackageLoader
from pygal.style import Style

FORMATS = ("json", "md", "html")
FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif"

STYLE = Style(
    background="white", plot_background="white", foreground="#222", foreground_strong="#000",
    foreground_subtle="#999", colors=("#b22222", "#1f5fa8", "#d98c00", "#2e7d32", "#6a1b9a"),
    font_family=FONT, title_font_size=15, label_font_size=12, major_label_font_size=12,
    value_font_size=11, legend_font_size=12,
)


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE, "js": [], "disable_xml_declaration": True, "width": 640, "height": 300,
        "show_legend": False, "print_values": True, "explicit_size": True, "tooltip_fancy_mode": False,
        "pretty_print": False, "no_data_text": "暂无数据", **extra,
    }


def rate_chart(monthly: list[dict[str, Any]], title: str = "按月按期整改率（按销号月份）") -> str:
    chart = pygal.Bar(**_config(title=title, range=(0, 100), y_labels=[0, 25, 50, 75, 100],
                                value_formatter=lambda v: f"{v:.0f}%"))
    chart.x_labels = [m["month"] for m in monthly]
    chart.add("按期整改率", [round(100 * (m["on_time_rate"] or 0), 1) for m in monthly])
    return str(chart.render(is_unicode=True))


def rung_chart(rungs: list[dict[str, Any]], title: str = "各级升级次数") -> str:
    chart = pygal.Bar(**_config(title=title, value_formatter=lambda v: f"{v:.0f}",
                                show_y_labels=False, show_y_guides=False))
    chart.x_labels = [f"{r['rung']} {r['label']}" for r in rungs]
    chart.add("次数", [r["count"] for r in rungs])
    return str(chart.render(is_unicode=True))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def md_cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adapters.reports", "templates"),
        autoescape=lambda name: bool(name and name.endswith((".html.j2", ".html"))),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(percent=percent, day=day, cell=md_cell)
    return env


def json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, default=json_default, indent=2)


def render(report: dict[str, Any], fmt: str) -> str:
    """A unit report or a bulletin in ``json``, ``md`` or ``html``."""
    if fmt == "json":
        return to_json(report) + "\n"
    kind = report["report"]
    if fmt == "md":
        return environment().get_template(f"{kind}.md.j2").render(r=report)
    if kind == "unit":
        charts = {"rate": rate_chart(report["monthly"]),
                  "rungs": rung_chart(report["escalations_by_rung"])}
    else:
        overall = report["overall"]
        charts = {"rate": rate_chart(overall["monthly"]),
                  "rungs": rung_chart(overall["escalations_by_rung"])}
    return environment().get_template(f"{kind}.html.j2").render(r=report, charts=charts,
                                                                 standalone=True)
