"""The desks' queues, read from ``findings_view`` (with the unit's name from ``acc_units``).

An inspector's queues (督学工作台):

- ``overdue`` 已逾期: being rectified (ordered, no report under review, not closed) and
  the deadline has passed (its whole day is over);
- ``due_soon`` 即将到期: being rectified and the deadline is today or within the next
  ``DUE_SOON`` working days (the app's work calendar says which day that is);
- ``under_review`` 待复查: a 整改报告 awaits review;
- ``extension_requests`` 延期申请: a unit's extension request awaits a decision (the
  nullable ``extension_requested_on`` column of ``findings_view``, set by the request and
  cleared by its decision), on a finding not closed;
- ``to_order`` 待下达整改: recorded, no rectification ordered yet (newest first): where an
  inspector orders several at once (the desk's bulk form);
- ``all`` 全部: every finding, newest first (what a search looks in).

Each narrows by unit (code, or part of its name), rung reached, severity, inspector
(part of the name), period (inspection date from/to) and text. The text search is a
substring match (``LIKE '%…%'``, the wildcards in the words escaped): Chinese is written
without spaces between words, so a word search (FTS5's tokens, PostgreSQL's
``to_tsvector``) would need a Chinese word segmenter; a substring finds 体育课 in
“体育课开课率不足” on both stores, and at 20,000 findings a scan of the text column takes
milliseconds (bench/pages.py measures it).

A row's ``deadline`` is the current one (a 督办 due date moves it, as the domain's), by
which the queues count; ``rectify_deadline`` is the one ordered (整改通知, 复查未通过重新限期,
延期: ``acc_findings.deadline``), which the desk shows beside it when they differ.

Queues are ordered by deadline, soonest (or longest overdue) first, then id; ``all`` by
inspection date, newest first, then id; both paged by keyset (projections/paging.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from projections.accountability import findings as acc_findings
from projections.accountability import units
from projections.findings import NEWEST_FIRST, findings
from projections.paging import Key, Page, page

DUE_SOON = 3
"""即将到期: the deadline is within this many working days."""

QUEUES = {
    "overdue": "已逾期",
    "due_soon": "即将到期",
    "under_review": "待复查",
    "extension_requests": "延期申请",
    "to_order": "待下达整改",
    "all": "全部问题",
}

SOONEST_FIRST = (Key(findings.c.deadline), Key(findings.c.finding_id))


COLUMNS = (findings, units.c.name.label("unit_name"),
           acc_findings.c.deadline.label("rectify_deadline"))


def joined() -> Any:
    """The findings with their unit's name and their ordered deadline."""
    return (findings.outerjoin(units, units.c.code == findings.c.unit)
            .outerjoin(acc_findings, acc_findings.c.finding_id == findings.c.finding_id))


@dataclass(frozen=True)
class Filters:
    unit: str = ""
    rung: str = ""
    severity: str = ""
    inspector: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""


def queue_page(conn: Connection, queue: str, today: date, soon: date, filters: Filters, *,
               limit: int, cursor: str | None = None) -> Page:
    """One page of a queue on ``today`` (``soon``: the last day of 即将到期)."""
    f = findings.c
    query = select(*COLUMNS).select_from(joined())
    keys = SOONEST_FIRST
    if queue == "overdue":
        query = query.where(f.status == "rectifying", f.deadline < today)
    elif queue == "due_soon":
        query = query.where(f.status == "rectifying", f.deadline >= today, f.deadline <= soon)
    elif queue == "under_review":
        query = query.where(f.status == "under_review", f.deadline.is_not(None))
    elif queue == "extension_requests":
        query = query.where(f.extension_requested_on.is_not(None), f.status != "closed",
                            f.deadline.is_not(None))
    elif queue == "to_order":
        query = query.where(f.status == "recorded")
        keys = NEWEST_FIRST
    else:
        keys = NEWEST_FIRST
    if filters.unit:
        query = query.where((f.unit == filters.unit)
                            | units.c.name.contains(filters.unit, autoescape=True))
    if filters.rung:
        query = query.where(f.rung == filters.rung)
    if filters.severity:
        query = query.where(f.severity == filters.severity)
    if filters.inspector:
        query = query.where(f.inspector.contains(filters.inspector, autoescape=True))
    if filters.since is not None:
        query = query.where(f.on >= filters.since)
    if filters.until is not None:
        query = query.where(f.on <= filters.until)
    if filters.text:
        query = query.where(f.text.contains(filters.text, autoescape=True))
    return page(conn, query, keys, limit=limit, cursor=cursor)


def unit_todo(conn: Connection, unit: str, *, limit: int,
              cursor: str | None = None) -> Page:
    """A unit's to-do list: its findings being rectified or whose report awaits review,
    soonest deadline first."""
    f = findings.c
    query = (select(*COLUMNS).select_from(joined())
             .where(f.unit == unit, f.status.in_(("rectifying", "under_review")),
                    f.deadline.is_not(None)))
    return page(conn, query, SOONEST_FIRST, limit=limit, cursor=cursor)
