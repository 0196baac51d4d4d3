"""The desks (工作台): an inspector's queues and search, a unit's to-do list.

``/desk`` shows, for a unit's visitor, its to-do list (findings to rectify, reports
awaiting review: each with its deadline, the days left or overdue in words and colour,
the rung reached and the next one), then a link to its report; for everyone else the
queues of :mod:`projections.desk` (已逾期, 即将到期, 待复查, 延期申请, 全部) with the filters
(unit, rung, severity, inspector, period, text) as a plain GET form, one page at a time
(``cursor``: the next page's link). No script: every control is a link or a form.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.web.pages import live
from adapters.entrypoints.web.render import message, page
from adapters.entrypoints.web.session import Visitor
from domain.errors import DudaoError, InvalidInput
from domain.rungs import Ladder, rung_name
from projections.desk import DUE_SOON, QUEUES, Filters, queue_page, unit_todo
from projections.paging import Page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Rows per page of a desk (a phone scrolls through 50 in a moment; 300 KB holds far more)."""


def due(row: dict[str, Any], today: date, soon: date) -> dict[str, str]:
    """The deadline as a person reads it: words, and a colour (红/黄/绿) said in words too.
    A report awaiting review is not overdue for the unit: it waits on the inspector."""
    deadline = row["deadline"]
    if deadline is None:
        return {"colour": "", "mark": "", "words": "未限期"}
    if row["status"] == "under_review":
        return {"colour": "grey", "mark": "", "words": "已报送整改报告，待复查"}
    days = (deadline - today).days
    if days < 0:
        return {"colour": "red", "mark": "红", "words": f"已逾期 {-days} 天"}
    if days == 0:
        return {"colour": "yellow", "mark": "黄", "words": "今天到期"}
    if deadline <= soon:
        return {"colour": "yellow", "mark": "黄", "words": f"还剩 {days} 天，即将到期"}
    return {"colour": "green", "mark": "绿", "words": f"还剩 {days} 天"}


def next_rung(code: str | None, ladder: Ladder) -> str | None:
    """The policy's rung after the one reached (its first when none), or None after the
    last (or after a rung the policy does not have)."""
    orders = {r.code: r.order for r in ladder}
    if code is not None and code not in orders:
        return None
    order = -1 if code is None else orders[code]
    later = [r for r in ladder if r.order > order]
    return later[0].name if later else None


def shown(rows: list[dict[str, Any]], today: date, soon: date,
          ladder: Ladder) -> list[dict[str, Any]]:
    names = {r.code: r.name for r in ladder}
    return [r | {"due": due(r, today, soon),
                 "rung_name": (names.get(r["rung"]) or rung_name(r["rung"])) if r["rung"]
                 else None, "next_rung": next_rung(r["rung"], ladder)} for r in rows]


def parse_date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} 日期格式不对：{text!r}，应为 YYYY-MM-DD",
                           f"invalid date {text!r}", field=field) from None


def soon_after(visit_app: Any, today: date) -> tuple[date, bool]:
    """The last day of 即将到期 by the work calendar; by calendar days (flagged) when the
    calendar does not cover the year."""
    try:
        return visit_app.calendar.add_working_days(today, DUE_SOON), False
    except DudaoError:
        return today + timedelta(days=DUE_SOON), True


@router.get("/desk", response_class=HTMLResponse)
def desk(visit: Visitor, queue: str = "overdue", unit: str = "", rung: str = "",
         severity: str = "", inspector: str = "", since: str = "", until: str = "",
         q: str = "", cursor: str = "") -> Response:
    who = visit.who
    ladder = visit.c.app.ladder  # the policy's rungs
    params = {"queue": queue, "unit": unit, "rung": rung, "severity": severity,
              "inspector": inspector, "since": since, "until": until, "q": q}
    try:
        if queue not in QUEUES:
            raise InvalidInput(f"queue 无效：{queue!r}", f"unknown queue {queue!r}",
                               field="queue")
        filters = Filters(unit=unit.strip(),
                          rung=rung if any(r.code == rung for r in ladder) else "",
                          severity=severity, inspector=inspector.strip(),
                          since=parse_date(since, "since"), until=parse_date(until, "until"),
                          text=q.strip()[:100])
        got: Page
        with live(visit.c) as v:
            today = v.today
            soon, rough = soon_after(visit.c.app, today)
            if who.role == "unit" and who.unit:
                got = unit_todo(v.conn, who.unit, limit=PAGE_SIZE, cursor=cursor or None)
                unit_name = v.units.get(who.unit, {}).get("name", who.unit)
            else:
                got = queue_page(v.conn, queue, today, soon, filters, limit=PAGE_SIZE,
                                 cursor=cursor or None)
                unit_name = None
    except DudaoError as e:
        return message(422, "参数有误", str(e), who)
    rows = shown(got.rows, today, soon, ladder)
    more = (f"/desk?{urlencode({k: v for k, v in params.items() if v} | {'cursor': got.next_cursor})}"
            if got.next_cursor else None)
    return page("desk.html.j2", who=who, queue=queue, queues=QUEUES, params=params, ladder=ladder,
                rows=rows, more=more, today=today, soon=soon, rough=rough,
                unit_name=unit_name, first=not cursor, due_soon=DUE_SOON)
