"""The pages' templates (jinja2, autoescaped) and the answers every page may give."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader

from adapters.infrastructure.tokens import ROLES
from adapters.rendering.reports.render import cn_date, day, md_cell, percent
from domain.accountability import CASE_STATUSES
from domain.evidence import REQUEST_STATUSES, TYPES
from domain.findings import MAX_WITHIN, SEVERITIES, STATUSES

SYSTEM_ACTORS = {"dudao:rules": "升级规则（自动）", "dudao:demo": "演示"}

People = Mapping[str, tuple[str, str]]
"""user name → (display name, role): the accounts, to name a ``user:NAME`` actor."""

PEOPLE: ContextVar[Callable[[], People] | None] = ContextVar("dudao_people", default=None)
"""The accounts of the store the page is served from, looked up when a page first names a
user (set by the visitor's session, :class:`adapters.entrypoints.web.session.Visit`)."""


def actor_name(actor: str | None, units: Mapping[str, str] | None = None,
               people: People | None = None) -> str:
    """An event's actor as a person reads it: ``inspector:张督学#4c749865`` → 张督学（督学）,
    ``user:zhangsan`` → 张三（督学） (its display name and role), ``cli:root`` → root（命令行）,
    the sweep → 升级规则（自动）; a unit's token without a person's name,
    ``unit:HTQ#4c749865``, by the unit's name in ``units`` (code → name):
    汉台区教育局（责任单位）, never its code; anything else as recorded."""
    if not actor:
        return ""
    if actor in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[actor]
    role, sep, rest = actor.partition(":")
    if not sep:
        return actor
    if role == "user":
        if people is None:
            lookup = PEOPLE.get()
            people = lookup() if lookup is not None else {}
        display, user_role = people.get(rest, (rest, ""))
        return f"{display}（{ROLES[user_role]}）" if user_role in ROLES else f"{display}（用户）"
    who = rest.rsplit("#", 1)[0] if "#" in rest else rest
    if role == "unit" and units and who in units:
        who = units[who]
    if role in ROLES:
        return f"{who}（{ROLES[role]}）" if who and who != "token" else ROLES[role]
    if role == "cli":
        return f"{who}（命令行）"
    if role == "dudao":
        return "系统"
    return actor


@cache
def environment() -> Environment:
    # the report templates (and their style sheet) are shared with adapters.rendering.reports
    loader = ChoiceLoader([PackageLoader("adapters.entrypoints.web", "templates"),
                           PackageLoader("adapters.rendering.reports", "templates")])
    env = Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, day=day, cell=md_cell, actor=actor_name, cn_date=cn_date)
    env.globals.update(SEVERITIES=SEVERITIES, STATUSES=STATUSES,
                       MAX_WITHIN=MAX_WITHIN, CASE_STATUSES=CASE_STATUSES, ROLES=ROLES,
                       TYPE_NAMES=TYPES, REQUEST_STATUSES=REQUEST_STATUSES)
    return env


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)


def message(status: int, title: str, text: str, who: Any = None) -> HTMLResponse:
    return page("message.html.j2", status, title=title, message=text, who=who)


def not_found(what: str) -> HTMLResponse:
    return message(404, "未找到", f"{what}不存在或无权查看。")


def refused(who: Any, text: str) -> HTMLResponse:
    """The visitor's role may not do this (the page says who may)."""
    return message(403, "无权操作", text, who)
