"""The demo's HTTP part: the adapter service on a free port, used by an inspector and a unit.

An inspector records an inspection with two findings and orders rectification;
the unit lists its own findings and submits a report; the unit then asks for
another unit's finding and is told it does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import httpx

from adapters.bootstrap import load_calendar
from adapters.entrypoints.server import (
    build_components,
    close_components,
    open_service,
    serving_in_thread,
)
from domain.time import Clock


def api_demo(db: str, clock: Any, echo: Callable[[str], None],
             holidays: str | None = None) -> list[UUID]:
    """Run the HTTP part of the demo on ``db``; returns the findings it recorded."""
    sim: Clock = clock
    c = build_components(open_service(db, sim, load_calendar(holidays)), db)
    recorded: list[UUID] = []
    try:
        inspector_token, _ = c.tokens.create(role="inspector", unit=None, name="李督学",
                                             now=sim(), created_by="演示")
        unit_token, _ = c.tokens.create(role="unit", unit="HTQ", name=None, now=sim(),
                                        created_by="演示")
        with serving_in_thread(c) as base:
            echo(f"\nHTTP API 已在 {base} 启动（令牌：督学 李督学；责任单位 HTQ）")
            inspector = httpx.Client(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {inspector_token}"})
            unit = httpx.Client(base_url=base, timeout=30,
                                headers={"Authorization": f"Bearer {unit_token}"})
            with inspector, unit:
                clock.at(date(2024, 12, 2))
                inspection = {"unit": "HTQ", "on": "2024-12-02", "inspectors": ["李督学", "张督学"],
                              "findings": [{"text": "课后服务未覆盖全部有需求的学生"},
                                           {"text": "校园食堂未落实食品留样制度",
                                            "severity": "serious"}]}
                key = {"Idempotency-Key": "demo-inspection-2024-12-02"}
                r = inspector.post("/inspections", headers=key, json=inspection)
                r.raise_for_status()
                ids = r.json()["finding_ids"]
                recorded += [UUID(i) for i in ids]
                echo(f"  督学 POST /inspections → {r.status_code}，登记检查及问题 "
                     f"{', '.join(i[:8] for i in ids)}")
                again = inspector.post("/inspections", headers=key, json=inspection)
                echo(f"  督学 重发同一请求（网络重试）→ {again.status_code}，返回同一结果："
                     f"{again.json() == r.json()}，未重复登记")
                for fid in ids:
                    o = inspector.post(f"/findings/{fid}/orders",
                                       json={"on": "2024-12-02", "within": 10})
                    o.raise_for_status()
                    echo(f"  督学 POST /findings/{fid[:8]}…/orders → 整改期限 {o.json()['deadline']}")
                clock.at(date(2024, 12, 10))
                own = unit.get("/findings", params={"status": "rectifying"}).json()
                echo(f"  单位 HTQ GET /findings?status=rectifying → 本单位整改中的问题 {own['count']} 条")
                rep = unit.post(f"/findings/{ids[0]}/reports",
                                json={"on": "2024-12-10", "text": "已将课后服务扩展到全部学生"})
                rep.raise_for_status()
                echo(f"  单位 HTQ POST /findings/{ids[0][:8]}…/reports → {rep.status_code}，"
                     f"状态 {rep.json()['status']}")
                other = next(f["finding_id"] for f in inspector.get("/findings").json()["findings"]
                             if f["unit"] != "HTQ")
                refused = unit.get(f"/findings/{other}")
                echo(f"  单位 HTQ GET 他单位的问题 /findings/{other[:8]}… → {refused.status_code}"
                     f"（{refused.json()['message']}）")
                clock.at(date(2024, 12, 31), 18)
    finally:
        close_components(c)
    return recorded

