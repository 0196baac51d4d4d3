"""Rendering reports as JSON, Markdown or A4-printable HTML with SVG charts.

The two charts (on-time rate by month, escalations by rung) are bar charts drawn
by a jinja2 SVG template (``templates/bar_chart.svg.j2``): inline SVG with no
script and nothing loaded from elsewhere, its geometry worked out here. (They
were drawn by pygal, at 4–6 ms a chart: two charts for each of 1,000 units took
the HTML reports past their 5 s budget; the template takes a small fraction of
that.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader

FORMATS = ("json", "md", "html")
FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif"
RED = "#b22222"
WIDTH, HEIGHT = 480, 270


def _text_width(text: str, size: float) -> float:
    """About how wide ``text`` is at ``size`` px: CJK characters square, others ~0.55."""
    return sum(size if ord(ch) > 0x2E7F else 0.55 * size for ch in text)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], texts: Sequence[str], *,
              top: float | None = None, ticks: list[tuple[float, str]] | None = None,
              empty: str = "暂无数据") -> str:
    """One series of bars with their values printed above them, as inline SVG.

    ``top`` is the value at the top of the plot (default: the largest value);
    ``ticks`` are horizontal guides with their labels (value, label)."""
    n = len(values)
    left = 48.0 if ticks else 16.0
    right = WIDTH - 16.0
    slot = (right - left) / n if n else 0.0
    slant = n > 0 and max(_text_width(t, 13) for t in labels) > 0.95 * slot
    plot_top, bottom = 46.0, HEIGHT - (62.0 if slant else 38.0)
    scale_top = top if top is not None else max([*values, 0]) or 1
    span = bottom - plot_top

    def y(v: float) -> float:
        return round(bottom - span * min(max(v, 0), scale_top) / scale_top, 1)

    bar = round(min(slot * 0.7, 56.0), 1)
    bars = []
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        cx = left + slot * (i + 0.5)
        top_y = y(value)
        bars.append({"x": round(cx - bar / 2, 1), "cx": round(cx, 1), "y": top_y,
                     "h": round(bottom - top_y, 1), "label": label, "text": text})
    geometry = {
        "width": WIDTH, "height": HEIGHT, "title": title, "font": FONT, "color": RED,
        "left": left, "right": right, "top": plot_top, "bottom": bottom, "bar": bar,
        "slant": slant, "bars": bars, "empty": empty,
        "grid": [{"y": y(v), "label": label} for v, label in (ticks or [])],
    }
    return str(environment().get_template("bar_chart.svg.j2").render(c=geometry))


def rate_chart(monthly: list[dict[str, Any]],
               title: str = "按月按期整改率（销号按销号月份，逾期按期限月份）") -> str:
    """Each month's rate with the number of findings it is over (n); a month with none
    settled says so (无销号) and draws no bar, rather than a 0% one."""
    values = [round(100 * (m["on_time_rate"] or 0), 1) for m in monthly]
    texts = [f"{v:.0f}% (n={m.get('n', m['closed'])})" if m["on_time_rate"] is not None
             else "无销号" for v, m in zip(values, monthly, strict=True)]
    return bar_chart(title, [m["month"] for m in monthly], values, texts, top=100,
                     ticks=[(v, f"{v}%") for v in (0, 25, 50, 75, 100)])


def rung_chart(rungs: list[dict[str, Any]], title: str = "各级升级次数") -> str:
    values = [r["count"] for r in rungs]
    return bar_chart(title, [f"{r['rung']} {r['label']}" for r in rungs], values,
                     [f"{v:.0f}" for v in values])


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def cn_date(value: date | datetime | None) -> str:
    """A date in Chinese form, as 成文日期 is written: 2024年10月14日."""
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日"


def md_cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adapters.rendering.reports", "templates"),
        autoescape=lambda name: bool(name and name.endswith((".html.j2", ".html", ".svg.j2"))),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(percent=percent, day=day, cell=md_cell, cn_date=cn_date)
    return env


def json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, default=json_default, indent=2)


def render(report: dict[str, Any], fmt: str) -> str:
    """A unit report, a bulletin or a person's record in ``json``, ``md`` or ``html``."""
    if fmt == "json":
        return to_json(report) + "\n"
    kind = report["report"]
    if fmt == "md":
        return environment().get_template(f"{kind}.md.j2").render(r=report)
    if kind == "person":
        charts: dict[str, str] = {}
    elif kind == "unit":
        charts = {"rate": rate_chart(report["monthly"]),
                  "rungs": rung_chart(report["escalations_by_rung"])}
    else:
        overall = report["overall"]
        charts = {"rate": rate_chart(overall["monthly"]),
                  "rungs": rung_chart(overall["escalations_by_rung"])}
    return environment().get_template(f"{kind}.html.j2").render(r=report, charts=charts,
                                                                 standalone=True)
