"""The demo's HTTP part: the adapter service on a free port, used by an inspector and a unit.

An inspector records an inspection with two findings and orders rectification;
the unit lists its own findings and submits a 整改报告 with two 佐证材料 files (a photo
and a PDF, made here: ``evidence_files``) as multipart, which then awaits review; it asks
for an extension of the other finding, which awaits the inspector's decision (so that a
newcomer signing in finds both in the inspector's 待复查 and 延期申请 queues); the unit then
asks for another unit's finding and is told it does not exist (404).
"""

from __future__ import annotations

import struct
import zlib
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


def png(width: int = 160, height: int = 96) -> bytes:
    """A small PNG photo stand-in: green and white stripes (a real, decodable image)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"".join(
        (b"\x2e\x7d\x32" if (x // 16 + y // 16) % 2 else b"\xf4\xf7\xf2") for x in range(width))
        for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def pdf(title: str = "Rectification evidence") -> bytes:
    """A one-page PDF (valid: header, objects, cross-reference table, trailer)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def evidence_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    """The demo report's 佐证材料, as httpx multipart ``files``."""
    return [("files", ("课后服务现场照片.png", png(), "image/png")),
            ("files", ("课后服务实施方案.pdf", pdf(), "application/pdf"))]


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
                # the second (留样 needs a freezer bought) gets 25 working days: into 2025
                for fid, within in zip(ids, (10, 25), strict=True):
                    o = inspector.post(f"/findings/{fid}/orders",
                                       json={"on": "2024-12-02", "within": within})
                    o.raise_for_status()
                    echo(f"  督学 POST /findings/{fid[:8]}…/orders → 整改期限 {o.json()['deadline']}")
                clock.at(date(2024, 12, 10))
                own = unit.get("/findings", params={"status": "rectifying"}).json()
                echo(f"  单位 HTQ GET /findings?status=rectifying → 本单位整改中的问题 {own['count']} 条")
                rep = unit.post(f"/findings/{ids[0]}/reports",
                                data={"text": "已将课后服务扩展到全部学生，附现场照片和实施方案"},
                                files=evidence_files())
                rep.raise_for_status()
                names = "、".join(f["name"] for f in rep.json()["files"])
                echo(f"  单位 HTQ POST /findings/{ids[0][:8]}…/reports（multipart，佐证材料 "
                     f"{names}）→ {rep.status_code}，状态 {rep.json()['status']}（待复查）")
                clock.at(date(2024, 12, 20))
                ask = unit.post(f"/findings/{ids[1]}/extension-requests",
                                json={"to": "2025-01-24",
                                      "reason": "留样冰柜需走政府采购程序，预计1月中旬到货"})
                ask.raise_for_status()
                echo(f"  单位 HTQ POST /findings/{ids[1][:8]}…/extension-requests → "
                     f"{ask.status_code}，申请延期至 2025-01-24（待督学审批）")
                other = next(f["finding_id"] for f in inspector.get("/findings").json()["findings"]
                             if f["unit"] != "HTQ")
                refused = unit.get(f"/findings/{other}")
                echo(f"  单位 HTQ GET 他单位的问题 /findings/{other[:8]}… → {refused.status_code}"
                     f"（{refused.json()['message']}）")
                clock.at(date(2024, 12, 31), 18)
    finally:
        close_components(c)
    return recorded

