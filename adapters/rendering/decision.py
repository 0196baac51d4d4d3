"""The 问责决定书 (and 不予问责决定书) of a case: print-ready Markdown or A4 HTML.

The data is :func:`adapters.service_layer.accountability.decision_document`'s; the
templates are ``reports/templates/decision.{md,html}.j2`` (the reports' own style
sheet: nothing is loaded from elsewhere). Every code is shown by its Chinese name.
"""

from __future__ import annotations

from typing import Any

from adapters.rendering.reports.render import environment
from domain.calendar import PROVISIONAL_MARK
from domain.rungs import rung_name

DOCUMENT_FORMATS = ("md", "html")


def _day(value: Any) -> str:
    return str(value) if value else "—"


def describe_fact(item: dict[str, Any], case_code: str | None = None) -> str:
    """One event of the finding's history, in Chinese (``case_code``: the rung that
    opened the case, which proposes rather than decides)."""
    kind = item.get("event")
    if kind == "Recorded":
        return f"{item.get('inspector', '督学')}检查发现问题：{item.get('text', '')}"
    if kind == "RectificationOrdered":
        unit = "个自然日" if item.get("calendar_days") else "个工作日"
        return f"下达整改通知，限{item.get('within')}{unit}内整改，整改期限{_day(item.get('deadline'))}"
    if kind == "ReportSubmitted":
        return f"单位提交整改报告：{item.get('text', '')}"
    if kind == "ReviewPassed":
        return "复查通过，销号" + (f"（{item['note']}）" if item.get("note") else "")
    if kind == "ReviewFailed":
        return (f"复查未通过，重新限期至{_day(item.get('deadline'))}"
                + (f"（{item['note']}）" if item.get("note") else ""))
    if kind == "ExtensionGranted":
        return (f"批准延期：整改期限由{_day(item.get('previous'))}延至{_day(item.get('to'))}"
                f"（{item.get('reason', '')}）")
    if kind == "InterviewHeld":
        return f"约谈{item.get('interviewee', '')}：{item.get('minutes', '')}"
    if kind == "EscalationRaised":
        name = item.get("name") or rung_name(item.get("code")) or item.get("code")
        if case_code is not None and item.get("code") == case_code:
            return f"升级：提请{name}（本案）"
        due = f"，期限{item['due']}" if item.get("due") else ""
        return f"升级：{name}{due}"
    return str(kind)


def render_document(doc: dict[str, Any], fmt: str = "md") -> str:
    """The decision document of a decided or dismissed case, as ``md`` or ``html``."""
    facts = [{"on": h.get("on"), "text": describe_fact(h, doc["code"])} for h in doc["history"]]
    context = {"d": doc, "facts": facts, "provisional": PROVISIONAL_MARK}
    if fmt == "md":
        return str(environment().get_template("decision.md.j2").render(**context))
    return str(environment().get_template("decision.html.j2").render(**context))
