"""The rows of the exports people pass on: the findings list (问题清单) and a plan's
工作台账, as a person reads them (unit names, Chinese labels, dates), computed from the
same read model and by the same rules as the reports (``projections/reports.py``).

Each export is a list of columns (:class:`Column`: the header, the row key, the kind of
value: ``text``, ``date`` or ``int``) and a list of rows (dicts); a row's ``highlight``
says whether the row is marked (overdue, 逾期), and the row says so in words too (the
``逾期`` column), not by colour alone. The JSON, CSV and xlsx forms of an export hold the
same rows and values (``adapters/rendering/exports.py`` writes the files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.errors import InvalidInput
from domain.findings import SEVERITIES, STATUSES
from domain.plans import TASK_STATUSES
from domain.rungs import rung_name
from projections.reports import Reports, awaiting_on_time, finding_state


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = "text"  # text | date | int
    width: int | None = None  # in "narrow characters" (a CJK character counts 2)


FINDING_COLUMNS = (
    Column("单位名称", "unit_name"),
    Column("问题", "text", width=60),
    Column("严重程度", "severity_label"),
    Column("登记日期", "on", "date"),
    Column("督学", "inspector"),
    Column("整改期限", "deadline", "date"),
    Column("状态", "status_label"),
    Column("当前升级级别", "rung_label"),
    Column("逾期", "overdue_text"),
    Column("逾期天数", "days_overdue", "int"),
    Column("销号日期", "closed_on", "date"),
    Column("问题编号", "finding_id"),
)

TASK_COLUMNS = (
    Column("任务编号", "number"),
    Column("任务", "title", width=50),
    Column("牵头单位", "lead_names", width=24),
    Column("责任单位", "responsible_names", width=30),
    Column("时限", "deadline", "date"),
    Column("指标", "indicators_text", width=40),
    Column("进展", "progress_text", width=40),
    Column("状态", "status_label"),
)


def status_key(text: str) -> str:
    """A ``--status`` value: a status code or its Chinese label (待复查)."""
    for key, label in STATUSES.items():
        if text in (key, label):
            return key
    choices = "、".join(f"{k}（{v}）" for k, v in STATUSES.items())
    raise InvalidInput(f"状态 {text!r} 不存在，可选：{choices}", f"unknown status {text!r}",
                       field="status")


def overdue_text(f: dict[str, Any], overdue: bool, days: int, today: date) -> str:
    """The row's overdue state in words (the highlight is not the only sign)."""
    if overdue:
        return f"已逾期{days}天"
    if awaiting_on_time(f, today):
        return "按期提交整改报告，待复查"
    return "否"


def finding_rows(reports: Reports, *, unit: str | None = None, status: str | None = None,
                 overdue: bool = False) -> list[dict[str, Any]]:
    """One row per finding (of ``unit``, in ``status``, only the overdue ones), by unit
    code then date recorded."""
    model = reports.model
    if unit is not None and unit not in model.units:
        raise InvalidInput(f"单位 {unit} 不存在", f"unknown unit {unit!r}", field="unit")
    wanted = status_key(status) if status else None
    today = reports.today
    out = []
    for code in sorted(model.findings) if unit is None else [unit]:
        name = model.units.get(code, {}).get("name", code)
        # each rung's name as its escalation recorded it (a policy's own rungs included)
        labels = {(e["finding_id"], e["code"]): e["name"]
                  for e in model.escalations.get(code, [])}
        for f in model.findings.get(code, []):
            is_overdue, _late = finding_state(f, today)
            if wanted is not None and f["status"] != wanted:
                continue
            if overdue and not is_overdue:
                continue
            days = (today - f["deadline"]).days if is_overdue else 0
            out.append({
                "finding_id": f["finding_id"], "unit": code, "unit_name": name,
                "text": f["text"], "severity": f["severity"],
                "severity_label": SEVERITIES[f["severity"]], "on": f["on"],
                "inspector": f["inspector"], "deadline": f["deadline"],
                "status": f["status"], "status_label": STATUSES[f["status"]],
                "rung": f["rung"], "rung_label": (labels.get((f["finding_id"], f["rung"]))
                                                 or rung_name(f["rung"]) or "未升级"),
                "overdue": is_overdue, "overdue_text": overdue_text(f, is_overdue, days, today),
                "days_overdue": days, "closed_on": f["closed_on"], "highlight": is_overdue,
            })
    return out


def findings_export(reports: Reports, *, unit: str | None = None, status: str | None = None,
                    overdue: bool = False) -> dict[str, Any]:
    """The 问题清单 as JSON: what it selects, its columns and its rows."""
    rows = finding_rows(reports, unit=unit, status=status, overdue=overdue)
    return {
        "report": "findings", "title": "问题清单", "as_of": reports.now,
        "unit": unit, "unit_name": reports.model.units[unit]["name"] if unit else None,
        "status": status_key(status) if status else None, "overdue_only": overdue,
        "columns": [{"header": c.header, "key": c.key, "kind": c.kind} for c in FINDING_COLUMNS],
        "rows": rows,
    }


def indicators_text(row: dict[str, Any]) -> str:
    return "；".join(f"{i['name']} {i['target_text']}"
                    + (f"（{i['deadline'].isoformat()}前）" if i.get("deadline") else "")
                    for i in row["indicators"])


def progress_text(row: dict[str, Any]) -> str:
    parts = []
    for i in row["indicators"]:
        if i["value"]:
            parts.append(f"{i['name']} 已报 {i['value']}{i['unit']}"
                         f"（{i['reported_on'].isoformat() if i['reported_on'] else ''}，"
                         f"{i['status_label']}）")
        else:
            parts.append(f"{i['name']} {i['status_label']}")
    if row.get("closed_on"):
        parts.append(f"{row['closed_on'].isoformat()} 销号")
    return "；".join(parts) or "—"


def task_rows(rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per task of a plan (``task_row`` dicts), unit codes turned into names."""
    def named(codes: list[str]) -> str:
        return "、".join(names.get(c, c) for c in codes) or "—"

    return [r | {"lead_names": named(r["lead"]), "responsible_names": named(r["responsible"]),
                 "indicators_text": indicators_text(r) or "—", "progress_text": progress_text(r),
                 "status_label": TASK_STATUSES[r["status"]],
                 "highlight": r["status"] == "overdue"}
            for r in rows]
