"""The auditors' GET routes: trail, checkpoint and verification, for auditor and admin only."""

from __future__ import annotations

from typing import Any

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.integration.test_audit_cli import history


def test_auditor_reads_trail_checkpoint_and_verification(api: ApiServer, clock: Clock) -> None:
    _, escalated = history(api.app, clock)
    auditor = api.token("auditor", name="审计处")
    with api.client(auditor) as client:
        r = client.get(f"/audit/findings/{escalated}/trail")
        assert r.status_code == 200, r.text
        trail: dict[str, Any] = r.json()
        events = trail["events"]
        assert [e["type"] for e in events] == ["Recorded", "RectificationOrdered",
                                               "EscalationRaised"]
        assert [e["position"] for e in events] == [4, 6, 8]
        assert events[2]["rule"] == "supervise_after_deadline"
        assert events[2]["policy_version"] == 1
        assert events[2]["facts"] == {"deadline": "2024-10-14", "status": "rectifying"}
        assert events[2]["business_date"] == "2024-10-15"
        assert trail["unit_name"] == "城固县人民政府"
        head = client.get("/audit/checkpoint").json()
        assert head["position"] == 8 and len(head["hash"]) == 64
        report = client.get("/audit/verify").json()
        assert report["ok"] and report["events"] == 8 and report["head"] == head
        checked = client.get("/audit/verify",
                             params={"checkpoint": f"{head['position']}:{head['hash']}"}).json()
        assert checked["ok"] and checked["checkpoint"] == head
        wrong = client.get("/audit/verify", params={"checkpoint": f"9:{head['hash']}"}).json()
        assert not wrong["ok"] and wrong["first_bad_position"] == 9
        assert wrong["problems"][0]["kind"] == "truncated"
        bad = client.get("/audit/verify", params={"checkpoint": "8:xyz"})
        assert bad.status_code == 422 and bad.json()["field"] == "checkpoint"
        assert client.get("/audit/findings/nope/trail").status_code == 404
    with api.client(api.token("admin")) as client:
        assert client.get("/audit/checkpoint").status_code == 200
    for role, unit in (("inspector", None), ("unit", "CGX"), ("policy", None)):
        with api.client(api.token(role, unit=unit)) as client:
            for path in (f"/audit/findings/{escalated}/trail", "/audit/checkpoint",
                         "/audit/verify"):
                r = client.get(path)
                assert r.status_code == 403, (role, path, r.text)
    with api.client() as client:
        assert client.get("/audit/checkpoint").status_code == 401
