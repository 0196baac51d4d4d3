"""整改报告 with 佐证材料 over real HTTP (multipart), the downloads, and extension requests,
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import httpx

from adapters.service_layer import evidence
from domain.evidence import MAX_FILE_BYTES
from tests.apiserver import ApiServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n" + b"evidence " * 30_000  # more than one 256 KiB chunk


def setup(api: ApiServer) -> tuple[httpx.Client, httpx.Client, httpx.Client, str]:
    with api.client(api.token("admin", name="管理员")) as admin:
        for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
            assert admin.post("/units", json={"code": code, "name": name}).status_code == 201
    inspector = api.client(api.token("inspector", name="张督学"))
    unit = api.client(api.token("unit", unit="HTQ"))
    other = api.client(api.token("unit", unit="NZQ"))
    api.clock.at("2024-09-25")
    r = inspector.post("/findings", json={"unit": "HTQ", "on": "2024-09-25", "inspector": "张督学",
                                          "text": "校舍消防通道堵塞"})
    fid = r.json()["finding_id"]
    assert inspector.post(f"/findings/{fid}/orders",
                          json={"on": "2024-09-25", "within": 10}).status_code == 201
    return inspector, unit, other, fid


def files(*items: tuple[str, bytes, str]) -> list[tuple[str, Any]]:
    return [("files", (name, data, claimed)) for name, data, claimed in items]


def test_multipart_report_with_two_files_and_their_downloads(api: ApiServer) -> None:
    inspector, unit, other, fid = setup(api)
    api.clock.at("2024-10-11")
    r = unit.post(f"/findings/{fid}/reports", data={"text": "通道已清理"},
                  files=files(("现场照片.png", PNG, "image/png"),
                              ("整改报告.pdf", PDF, "text/html")))  # the client's type is ignored
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "under_review"
    assert [(f["name"], f["type"], f["size"], f["sha256"]) for f in body["files"]] == [
        ("现场照片.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest()),
        ("整改报告.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest())]
    finding = inspector.get(f"/findings/{fid}").json()
    history = inspector.get(f"/findings/{fid}/history").json()["events"]
    reported = next(e for e in history if e["type"] == "ReportSubmitted")
    assert reported["on"] == "2024-10-11"  # a unit's report is dated the day it is recorded
    assert [f["sha256"] for f in reported["details"]["files"]] == \
        [f["sha256"] for f in body["files"]]
    assert finding["status"] == "under_review"

    pdf = body["files"][1]["sha256"]
    r = inspector.get(f"/findings/{fid}/files/{pdf}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"____.pdf\"; filename*=UTF-8''" + quote("整改报告.pdf"))
    assert unit.get(f"/findings/{fid}/files/{pdf}").content == PDF  # its own
    r = other.get(f"/findings/{fid}/files/{pdf}")  # another unit's: as if it did not exist
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert inspector.get(f"/findings/{fid}/files/{'0' * 64}").status_code == 404


def test_refused_files_record_nothing(api: ApiServer) -> None:
    _, unit, _, fid = setup(api)
    api.clock.at("2024-10-11")
    before = api.events()
    store = evidence.store(api.app)
    html = b"<html><script>alert(1)</script></html>"
    r = unit.post(f"/findings/{fid}/reports", data={"text": "已整改"},
                  files=files(("a.png", PNG, "image/png"), ("page.pdf", html, "application/pdf")))
    assert r.status_code == 422 and r.json()["field"] == "files"
    assert "page.pdf" in r.json()["message"] and "类型不允许" in r.json()["message"]
    big = b"%PDF-1.4\n" + b"0" * MAX_FILE_BYTES
    r = unit.post(f"/findings/{fid}/reports", data={"text": "已整改"},
                  files=files(("大文件.pdf", big, "application/pdf")))
    assert r.status_code in (413, 422) and r.json()["field"] == "files", r.text
    assert "大文件.pdf" in r.json()["message"] and "20 MB" in r.json()["message"]
    r = unit.post(f"/findings/{fid}/reports", data={"text": "已整改", "on": "2024-10-01"},
                  files=files(("a.png", PNG, "image/png")))
    assert r.status_code == 422 and r.json()["field"] == "on"  # a unit cannot backdate
    assert api.events() == before
    assert not store.has(hashlib.sha256(PNG).hexdigest())  # nothing stored either
    # JSON without files keeps working, with the same answer
    r = unit.post(f"/findings/{fid}/reports", json={"on": "2024-10-11", "text": "已整改"})
    assert r.status_code == 201
    assert r.json() == {"finding_id": fid, "status": "under_review", "deadline": "2024-10-14"}


def test_extension_request_and_decision(api: ApiServer) -> None:
    inspector, unit, other, fid = setup(api)
    api.clock.at("2024-10-10")
    r = other.post(f"/findings/{fid}/extension-requests", json={"to": "2024-11-15", "reason": "x"})
    assert r.status_code == 404
    r = inspector.post(f"/findings/{fid}/extension-requests",
                       json={"to": "2024-11-15", "reason": "x"})
    assert r.status_code == 403
    r = unit.post(f"/findings/{fid}/extension-requests",
                  json={"to": "2024-10-14", "reason": "施工"})
    assert r.status_code == 422 and r.json()["field"] == "to"
    r = unit.post(f"/findings/{fid}/extension-requests",
                  json={"to": "2024-11-15", "reason": "汛期施工受阻"})
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    assert rid == f"{fid}.1" and r.json()["finding_id"] == fid
    r = unit.post(f"/findings/{fid}/extension-requests", json={"to": "2024-11-20", "reason": "再"})
    assert r.status_code == 409 and r.json()["field"] == "finding"  # one open request at a time
    assert unit.post(f"/extension-requests/{rid}/decision",
                     json={"grant": True}).status_code == 403
    assert inspector.post(f"/extension-requests/{fid}.9/decision",
                          json={"grant": True}).status_code == 404
    api.clock.at("2024-10-12")
    r = inspector.post(f"/extension-requests/{rid}/decision", json={"grant": True, "note": "同意"})
    assert r.status_code == 201, r.text
    assert r.json() == {"request_id": rid, "finding_id": fid, "granted": True,
                        "deadline": "2024-11-15"}
    assert unit.get(f"/findings/{fid}").json()["deadline"] == "2024-11-15"
    types = [e["type"] for e in inspector.get(f"/findings/{fid}/history").json()["events"]]
    assert types[-3:] == ["ExtensionRequested", "ExtensionGranted", "ExtensionRequestDecided"]
    r = inspector.post(f"/extension-requests/{rid}/decision", json={"grant": False})
    assert r.status_code == 409 and r.json()["field"] == "request"
    # a refused request leaves the deadline as it was
    rid2 = unit.post(f"/findings/{fid}/extension-requests",
                     json={"to": "2024-12-31", "reason": "资金未到位"}).json()["request_id"]
    r = inspector.post(f"/extension-requests/{rid2}/decision", json={"grant": False})
    assert r.status_code == 201 and r.json()["deadline"] == "2024-11-15"
    assert r.json()["granted"] is False
