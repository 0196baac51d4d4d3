"""Downloads on the pages: the findings list (问题清单) as xlsx, CSV or JSON and a plan's
工作台账 as xlsx, the same files as ``dudao report findings`` and ``dudao plan show
--format xlsx`` (``projections/exports.py`` makes the rows, ``adapters/rendering/exports.py``
the files).

Access as the pages: a ``unit`` visitor downloads its own unit's findings only (asking for
another unit's answers 404, as the unit page does) and, of a plan, the tasks naming its
unit. The file name is Chinese, sent per RFC 5987 (``filename*=UTF-8''…``) beside an
ASCII fallback.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from adapters.entrypoints.web.pages import live
from adapters.entrypoints.web.render import message, not_found
from adapters.entrypoints.web.session import Visitor
from adapters.rendering.exports import CONTENT_TYPES, EXPORT_FORMATS, findings_file, to_xlsx
from adapters.rendering.reports.render import to_json
from adapters.service_layer import action_plans as plans
from domain.errors import DudaoError, NotFound
from projections.exports import TASK_COLUMNS, findings_export

router = APIRouter(include_in_schema=False)


def disposition(name: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the UTF-8 ``filename*`` (RFC 5987)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", fallback)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(blob: bytes, fmt: str, name: str, fallback: str) -> Response:
    return Response(blob, media_type=CONTENT_TYPES[fmt],
                    headers={"Content-Disposition": disposition(f"{name}.{fmt}",
                                                                f"{fallback}.{fmt}"),
                             "X-Content-Type-Options": "nosniff"})


def findings_link(fmt: str, unit: str | None = None) -> str:
    return f"/reports/findings.{fmt}" + (f"?unit={quote(unit)}" if unit else "")


@router.get("/reports/findings.{fmt}")
def findings_download(fmt: str, visit: Visitor, unit: str | None = None, status: str | None = None,
                      overdue: bool = False) -> Response:
    who = visit.who
    if fmt not in EXPORT_FORMATS:
        return not_found("文件")
    if who.role == "unit":
        unit = unit or who.unit
        if unit is None or not who.sees_unit(unit):
            return not_found(f"单位 {unit} ")
    try:
        with live(visit.c) as v:
            if unit is not None and unit not in v.reports.model.units:
                return not_found(f"单位 {unit} ")
            data = findings_export(v.reports, unit=unit, status=status, overdue=overdue)
    except DudaoError as e:
        return message(422, "参数有误", str(e), who)
    today: date = data["as_of"].date()
    name = f"{data['unit_name'] or '全部单位'}问题清单{today.isoformat()}"
    fallback = f"findings-{unit or 'all'}-{today.isoformat()}"
    if fmt == "json":
        return download(to_json(data).encode(), fmt, name, fallback)
    blob = findings_file(data, fmt)
    return download(blob, fmt, name, fallback)


@router.get("/plans/{code}/ledger.xlsx")
def ledger_file(code: str, visit: Visitor) -> Response:
    who = visit.who
    try:
        ledger = plans.ledger_rows(visit.c.app, code)
    except NotFound:
        return not_found(f"实施方案 {code} ")
    rows = ledger["rows"]
    if who.role == "unit":
        rows = [r for r in rows if who.unit in (*r["lead"], *r["responsible"])]
        if not rows:
            return not_found(f"实施方案 {code} ")
    title = ledger["title"] or ledger["plan"]
    blob = to_xlsx(TASK_COLUMNS, rows, sheet="工作台账", title=f"{title} 工作台账")
    return download(blob, "xlsx", f"{title}工作台账{ledger['as_of'].isoformat()}",
                    f"ledger-{ledger['plan']}-{ledger['as_of'].isoformat()}")
