"""The accountability pages (问责案件): the list of cases, one case with its facts and steps,
the forms for the next steps, and the 问责决定书.

The forms a visitor sees follow the roles of the API: who may record 调查核实 and 告知
(inspectors, the committee) sees those forms while they apply; the unit sees the
陈述申辩 form of its own case while the statement window is open, with the last day in
words; the committee sees the 决定 form (the unit's modes, and the modes of each person
named in the notice) and the 不予问责 form. A unit visitor sees its own unit's cases only:
another unit's answers 404. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from adapters.entrypoints.api.accountability import document_response
from adapters.entrypoints.web.pages import parse_day, submit
from adapters.entrypoints.web.render import message, not_found, page
from adapters.entrypoints.web.session import Visit, Visitor
from adapters.rendering.decision import describe_fact
from adapters.service_layer import accountability
from domain.accountability import CASE_STATUSES, AccountabilityCase
from domain.errors import DudaoError, NotFound, Refused
from domain.rungs import PERSON_MODES, UNIT_MODES
from domain.time import local_date

router = APIRouter(include_in_schema=False)

WEEKDAYS = "一二三四五六日"
NOTICES = {
    "investigated": "调查核实已登记。",
    "notified": "已告知单位，陈述申辩期限已起算。",
    "stated": "陈述申辩已提交。",
    "decided": "问责决定已作出。",
    "dismissed": "已决定不予问责。",
}
FORMS = {  # step → (action, refusal page's text)
    "investigations": ("case.investigate", "只有督学或督导委员会可以登记调查核实。"),
    "notices": ("case.notify", "只有督学或督导委员会可以告知。"),
    "statements": ("case.statement", "只有本单位（或代为记录的工作人员）可以陈述申辩。"),
    "decision": ("case.decide", "只有督导委员会可以作出问责决定。"),
    "dismissal": ("case.dismiss", "只有督导委员会可以决定不予问责。"),
}


def case_link(case_id: str) -> str:
    return f"/accountability/{case_id}"


def date_words(day: date) -> str:
    """2024-12-25 → 2024年12月25日（星期三）."""
    return f"{day.year}年{day.month}月{day.day}日（星期{WEEKDAYS[day.weekday()]}）"


def working_days_left(visit: Visit, today: date, due: date) -> int | None:
    """Working days from today to the last day, both counted (None: the calendar does not
    cover them)."""
    try:
        days = [date.fromordinal(n) for n in range(today.toordinal(), due.toordinal() + 1)]
        return len(visit.c.app.calendar.working_days(days))
    except DudaoError:
        return None


def split_names(text: str) -> list[str]:
    """Names typed one a line, or separated by 、，, or ;."""
    return [n.strip() for n in re.split(r"[\n\r、，,;；]+", text) if n.strip()]


# --------------------------------------------------------------------- list


@router.get("/accountability", response_class=HTMLResponse)
def cases_page(visit: Visitor, status: str | None = None) -> Response:
    who = visit.who
    status = status or None
    if status is not None and status not in CASE_STATUSES:
        return message(422, "参数有误",
                       f"案件状态“{status}”无效，应为：{'、'.join(CASE_STATUSES.values())}", who)
    unit = who.unit if who.role == "unit" else None
    rows = accountability.list_cases(visit.c.runner, status=status, unit=unit)
    return page("cases.html.j2", rows=rows, selected=status, who=who, csrf=visit.csrf,
                UNIT_MODES=UNIT_MODES)


# --------------------------------------------------------------------- case


def find_visible(visit: Visit, case_id: str) -> AccountabilityCase | None:
    who = visit.who
    try:
        return accountability.visible_case(visit.c.app, case_id, role=who.role, unit=who.unit)
    except NotFound:
        return None


def forms_for(visit: Visit, case: AccountabilityCase, today: date) -> dict[str, bool]:
    """Which of the case's forms the visitor sees now."""
    who = visit.who
    window = (case.is_open and case.statement_due is not None
              and today <= case.statement_due)
    return {
        "investigate": who.may("case.investigate") and case.is_open,
        "notify": who.may("case.notify") and case.status == "proposed",
        "statement": who.role == "unit" and who.unit == case.unit and window,
        "decide": who.may("case.decide") and case.status in ("notified", "stated"),
        "dismiss": who.may("case.dismiss") and case.is_open,
    }


def show_case(visit: Visit, case_id: str, status: int = 200, *, error: str | None = None,
              notice: str | None = None) -> Response:
    case = find_visible(visit, case_id)
    if case is None:
        return not_found("问责案件")
    c = accountability.case_view(case)
    today = local_date(visit.c.app.now())
    due = case.statement_due
    return page(
        "case.html.j2", status, c=c, who=visit.who, csrf=visit.csrf, error=error,
        notice=notice, today=today, forms=forms_for(visit, case, today),
        facts=[{"on": h.get("on"), "text": describe_fact(h, c["code"])} for h in c["history"]],
        due_words=date_words(due) if due else None,
        days_left=working_days_left(visit, today, due) if due and today <= due else None,
        UNIT_MODES=UNIT_MODES, PERSON_MODES=PERSON_MODES,
    )


@router.get("/accountability/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, visit: Visitor, notice: str | None = None) -> Response:
    return show_case(visit, case_id, notice=NOTICES.get(notice or ""))


@router.get("/accountability/{case_id}/document", response_class=HTMLResponse)
def document_page(case_id: str, visit: Visitor) -> Response:
    """The 问责决定书 as a print-ready page (shown in the browser, saved under its name)."""
    who = visit.who
    if find_visible(visit, case_id) is None:
        return not_found("问责案件")
    try:
        doc = accountability.decision_document(visit.c.app, case_id, role=who.role,
                                               unit=who.unit)
    except DudaoError as e:
        return message(409, "尚无决定书", e.zh, who)
    return document_response(doc, "html", inline=True)


# -------------------------------------------------------------------- steps


def chosen(data: dict[str, str], prefix: str, table: dict[str, str]) -> list[str]:
    """The ticked checkboxes ``prefix<code>``, in the table's order."""
    return [code for code in table if data.get(prefix + code)]


def act(visit: Visit, case: AccountabilityCase, step: str, data: dict[str, str]) -> str:
    """The step's command with the form's values; the case page to go to next."""
    app, who = visit.c.app, visit.who
    on = parse_day(data.get("on", ""), "on")
    if step == "investigations":
        app.investigate_case(case.id, on=on, note=data.get("note", ""), actor=who.actor)
        done = "investigated"
    elif step == "notices":
        app.notify_case(case.id, on=on, persons=split_names(data.get("persons", "")),
                        actor=who.actor)
        done = "notified"
    elif step == "statements":
        app.submit_statement(case.id, on=on, text=data.get("text", ""), actor=who.actor,
                             role=who.role, unit=who.unit)
        done = "stated"
    elif step == "decision":
        persons = [(name, chosen(data, f"person.{i}.", PERSON_MODES))
                   for i, name in enumerate(case.notified_persons)]
        effective = data.get("effective_on", "")
        app.decide_case(case.id, on=on, unit_modes=chosen(data, "unit_mode.", UNIT_MODES),
                        persons=[(n, m) for n, m in persons if m], basis=data.get("basis", ""),
                        effective_on=parse_day(effective, "effective_on") if effective else None,
                        actor=who.actor, role=who.role)
        done = "decided"
    else:
        app.dismiss_case(case.id, on=on, reason=data.get("reason", ""), actor=who.actor,
                         role=who.role)
        done = "dismissed"
    return f"{case_link(str(case.id))}?notice={done}"


@router.post("/accountability/{case_id}/{step}")
async def case_step(case_id: str, step: str, visit: Visitor) -> Response:
    if step not in FORMS:
        return not_found("页面")
    case = find_visible(visit, case_id)
    if case is None:
        return not_found("问责案件")
    action, refusal = FORMS[step]

    def failed(e: DudaoError, _: dict[str, str]) -> Response:
        return show_case(visit, case_id, 409 if isinstance(e, Refused) else 422, error=e.zh)

    return await submit(visit, action, refusal, lambda data: act(visit, case, step, data),
                        failed)

