"""The desks (工作台): an inspector's queues and search, a unit's to-do list.

``/desk`` shows, for a unit's visitor, its to-do list (findings to rectify, reports
awaiting review: each with its deadline, the days left or overdue in words and colour,
the rung reached and the next one with the day it applies from), then a link to its
report; for everyone else the queues of :mod:`projections.desk` (已逾期, 即将到期, 待复查,
延期申请, 待下达整改, 全部) with the filters (unit, rung, severity, inspector, period, text)
as a plain GET form, one page at a time (``cursor``: the next page's link). No script:
every control is a link or a form.

The next rung and its day come from the sweep's own escalation read model of the
service's policy (:func:`rules.ladder.next_step` over its stored thresholds), caught up
before the page is read: the day shown is the day the sweep takes it, if nothing changes.

``POST /desk/orders``: the findings ticked on 待下达整改 (or 全部) ordered at once, with one
date and period, all or nothing (:meth:`Dudao.order_rectifications`).
"""

from __future__ import annotations

import logging
import threading
import weakref
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.entrypoints.web.pages import live, parse_day, parse_int
from adapters.entrypoints.web.render import message, page, refused
from adapters.entrypoints.web.session import Visit, Visitor
from adapters.rendering.reports.render import cn_date
from domain.errors import DudaoError, InvalidInput
from domain.rungs import Ladder, rung_name
from projections.desk import DUE_SOON, QUEUES, Filters, queue_page, unit_todo
from projections.escalation import next_rungs
from projections.paging import Page
from rules.ladder import Step

router = APIRouter(include_in_schema=False)
log = logging.getLogger("dudao.web")

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


_MODELS: dict[int, tuple[Any, Any, Any]] = {}
"""By the service's components (a weak reference: a stopped service's model goes with it)."""


def escalation_model(c: Any) -> tuple[Any, Any]:
    """The sweep's escalation read model of the service's policy (its runner and
    projection), made once per service."""
    known = _MODELS.get(id(c))
    if known is None or known[0]() is not c:
        from adapters.bootstrap import policy
        from adapters.infrastructure.read_models import escalation_model as model

        runner, projection = model(c.app, c.db, policy(c.settings), c.engine)
        for key in [k for k, (ref, _, _) in _MODELS.items() if ref() is None]:
            del _MODELS[key]
        known = _MODELS[id(c)] = (weakref.ref(c), runner, projection)
    return known[1], known[2]


CATCH_UP_MAX = 3000
"""Events the desk applies to the escalation model before it answers (about 0.2 s): when
it is further behind, it is caught up in the background and the page names the next rung
without its day until then."""


_CATCHING_UP = threading.Lock()


def catch_up_later(runner: Any) -> None:
    """Catch the escalation model up in a thread of its own (one at a time)."""
    if not _CATCHING_UP.acquire(blocking=False):
        return

    def run() -> None:
        try:
            runner.catch_up()
        except Exception:
            log.warning("升级读模型未能更新", exc_info=True)
        finally:
            _CATCHING_UP.release()

    threading.Thread(target=run, name="dudao-desk-escalation", daemon=True).start()


def next_steps(c: Any, ids: list[str]) -> dict[str, Step | None] | None:
    """The next rung and its day for these findings, as the sweep works them out (its read
    model, caught up first); None when it cannot be read (the policy broken, say)."""
    if not ids:
        return {}
    try:
        runner, projection = escalation_model(c)
        try:
            seen = min(runner.positions().values(), default=0)
            last = c.app.last_position()
            if last - seen > CATCH_UP_MAX:
                # far behind (a service started without its sweep, say): caught up in the
                # background, the dates once it is; no page waits for a replay
                catch_up_later(runner)
                return None
            runner.catch_up()
        except Exception:  # the sweep's runner writing meanwhile: read what is there
            log.warning("升级读模型未能更新，工作台按已有数据显示下一级", exc_info=True)
        with runner.engine.connect() as conn:
            return next_rungs(conn, projection, ids)
    except DudaoError:
        return None


def next_words(row: dict[str, Any], step: Step | bool | None, names: dict[str, str],
               today: date, ladder: Ladder) -> str:
    """The next rung in words: which rung, from which day (the sweep's threshold: the rung
    applies from the start of that day, and the sweep records it on or after it)."""
    if row["status"] in ("recorded", "closed") or row["deadline"] is None:
        return ""
    if isinstance(step, bool):  # the model could not be read: the next rung's name only
        name = next_rung(row["rung"], ladder)
        return f"下一级：{name}（升级日期正在计算，稍后刷新可见）" if name else ""
    if step is None:
        if row["status"] == "under_review":
            return "整改报告待复查，复查前暂停升级"
        return "升级规则中没有自动升级的下一级"
    name = names.get(step.code) or rung_name(step.code)
    if step.day <= today:
        return f"下一级：{name}，自{cn_date(step.day)}起已达升级条件，待升级巡检记录"
    return f"下一级：{name}，{cn_date(step.day)}起仍未整改即升级"


def shown(rows: list[dict[str, Any]], today: date, soon: date,
          ladder: Ladder, steps: dict[str, Step | None] | None = None) -> list[dict[str, Any]]:
    names = {r.code: r.name for r in ladder}
    return [r | {"due": due(r, today, soon),
                 "rung_name": (names.get(r["rung"]) or rung_name(r["rung"])) if r["rung"]
                 else None, "next_rung": next_rung(r["rung"], ladder),
                 "next_words": next_words(r, False if steps is None else steps.get(r["finding_id"]),
                                          names, today, ladder)} for r in rows]


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
def desk_page(visit: Visitor, queue: str = "overdue", unit: str = "", rung: str = "",
              severity: str = "", inspector: str = "", since: str = "", until: str = "",
              q: str = "", cursor: str = "", ordered: int = 0) -> Response:
    notice = f"已为 {ordered} 个问题下达整改通知。" if ordered > 0 else None
    return desk(visit, queue, unit, rung, severity, inspector, since, until, q, cursor,
                notice=notice)


def desk(visit: Visit, queue: str = "overdue", unit: str = "", rung: str = "",
         severity: str = "", inspector: str = "", since: str = "", until: str = "",
         q: str = "", cursor: str = "", *, notice: str | None = None,
         error: str | None = None, ticked: set[str] | None = None,
         values: dict[str, str] | None = None, status: int = 200) -> Response:
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
    rows = shown(got.rows, today, soon, ladder,
                 next_steps(visit.c, [r["finding_id"] for r in got.rows]))
    more = (f"/desk?{urlencode({k: v for k, v in params.items() if v} | {'cursor': got.next_cursor})}"
            if got.next_cursor else None)
    bulk = (unit_name is None and who.may("finding.order") and queue in ("to_order", "all")
            and any(r["status"] == "recorded" for r in rows))
    return page("desk.html.j2", status, who=who, queue=queue, queues=QUEUES, params=params,
                ladder=ladder, rows=rows, more=more, today=today, soon=soon, rough=rough,
                unit_name=unit_name, first=not cursor, cursor=cursor, due_soon=DUE_SOON, bulk=bulk,
                csrf=visit.csrf, notice=notice, error=error, ticked=ticked or set(),
                values=values or {})


KEPT = ("unit", "rung", "severity", "inspector", "since", "until", "q", "cursor")
"""The desk's filters (and page) a bulk order's form carries back."""


@router.post("/desk/orders")
async def order_many(visit: Visitor) -> Response:
    """下达整改通知 for the findings ticked on the desk, with one date and one period: all
    or nothing (:meth:`Dudao.order_rectifications`); a refusal shows the desk again, the
    boxes still ticked, and records nothing."""
    who = visit.who
    if not who.may("finding.order"):
        return refused(who, "只有督学可以下达整改通知。")
    data, ticked = await form_with_list(visit, "finding")
    back = data.get("back", "")
    queue = back if back in QUEUES else "to_order"
    # the queue's filters and page, carried by the form's hidden fields: shown again as
    # they were when the order is refused, and kept after it
    kept = {k: data.get(k, "")[:100] for k in KEPT}
    try:
        visit.check(data)
        on = parse_day(data.get("on", ""), "on", "下达日期")
        within = parse_int(data.get("within", "").strip(), "within", "整改期限（天）")
        done = visit.c.app.order_rectifications(
            ticked, on=on, within=within, calendar_days=data.get("calendar_days") == "1",
            actor=who.actor, visible=who.sees_unit)
    except DudaoError as e:
        return desk(visit, queue, **kept, error=e.zh, ticked=set(ticked), values=data,
                    status=422)
    back_to = {"queue": queue, **{k: v for k, v in kept.items() if v and k != "cursor"},
               "ordered": len(done)}
    return RedirectResponse(f"/desk?{urlencode(back_to)}", status_code=303)


async def form_with_list(visit: Any, name: str) -> tuple[dict[str, str], list[str]]:
    """A posted form's fields, and every value of the repeated field ``name``."""
    async with visit.request.form(max_fields=1000) as got:
        fields = {k: v for k, v in got.multi_items() if isinstance(v, str) and k != name}
        return fields, [v for v in got.getlist(name) if isinstance(v, str)]
