"""Issue 11, case 8, over HTTP: a running server refuses writes while the chain is shorter
than the log, and its verification shows the audited repair (the rest:
tests/integration/test_audit_repair.py)."""

from __future__ import annotations

from typing import Any

from tests.integration.test_audit_repair import direct


def test_the_api_refuses_writes_and_its_verification_shows_the_repair(api: Any) -> None:
    api.app.add_unit("U1", "一中", actor="t")
    store = direct(api.db)
    try:
        forged = store.forge()
        events = store.count(store.events)
    finally:
        store.close()
    with api.client(api.token("admin")) as client:
        r = client.post("/units", json={"code": "U2", "name": "二中"})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "refused" and f"位置 {forged}" in r.json()["message"]
        report = client.get("/audit/verify").json()
        assert not report["ok"] and report["first_unsealed_position"] == forged
        assert report["repairs"] == []
        assert direct_count(api.db) == events
        api.app.repair_chain(api.app.seal_plan(), by="张三", reason=None, actor="t")
        report = client.get("/audit/verify").json()
        assert report["ok"] and report["first_unsealed_position"] is None
        assert [(r["by"], r["ranges"]) for r in report["repairs"]] == [("张三", [[forged, forged]])]
        assert client.post("/units", json={"code": "U2", "name": "二中"}).status_code == 201


def direct_count(db: str) -> int:
    store = direct(db)
    try:
        return store.count(store.events)
    finally:
        store.close()
