"""Action plans over HTTP: import, ledger, a unit's progress on its own tasks, sign-off."""

from __future__ import annotations

from tests.apiserver import ApiServer
from tests.conftest import SAMPLE_PLANS, Clock

PLAN = SAMPLE_PLANS / \
    "county-high-schools-2023-2025.txt"


def test_plans_over_http(api: ApiServer, clock: Clock) -> None:
    clock.at("2024-06-01")
    text = PLAN.read_text(encoding="utf-8")
    with api.client(api.token("inspector", name="张督学")) as inspector:
        r = inspector.post("/plans", json={"text": text, "code": "XZ"})
        assert r.status_code == 403, r.text
        assert r.json()["field"] == "Authorization"
    with api.client(api.token("policy", name="督导室")) as office:
        r = office.post("/plans", json={"text": text, "code": "XZ", "source": PLAN.name})
        assert r.status_code == 201, r.text
        assert (r.json()["tasks"], r.json()["units"], r.json()["indicators"]) == (13, 9, 5)
        count = api.events()
        again = office.post("/plans", json={"text": text, "code": "XZ"})
        assert again.status_code == 201 and again.json()["new"] is False
        assert api.events() == count
        bad = office.post("/plans", json={"text": "你好。" * 10})
        assert bad.status_code == 422 and "没有找到任何任务" in bad.json()["message"]
        assert api.events() == count
    with api.client(api.token("unit", unit="SJYJ", name="市教育局")) as unit:
        ledger = unit.get("/plans/XZ").json()
        assert [u["unit"] for u in ledger["units"]] == ["SJYJ"]
        r = unit.post("/tasks/XZ-4/progress",
                      json={"indicator": 1, "value": "50", "on": "2024-05-31"})
        assert r.status_code == 201, r.text
        assert r.json()["met"] is True and r.json()["unit"] == "SJYJ"
        # a task that does not name the unit is invisible to its token
        assert unit.get("/tasks/XZ-11").status_code == 404  # the attachment's, unassigned
        r = unit.post("/tasks/XZ-4/progress",
                      json={"indicator": 1, "value": "50", "on": "2024-05-31", "unit": "SCZJ"})
        assert r.status_code == 404
        assert unit.post("/tasks/XZ-4/close", json={}).status_code == 403
        row = unit.get("/tasks/XZ-4").json()
        assert row["role"] == "responsible" and row["indicators"][0]["value"] == "50"
    with api.client(api.token("inspector", name="张督学")) as inspector:
        r = inspector.post("/tasks/XZ-4/close", json={"on": "2024-06-01", "note": "已达标"})
        assert r.status_code == 201, r.text
        assert r.json() == {"task": "XZ-4", "status": "closed", "closed_on": "2024-06-01",
                            "closed_by": "张督学"}
        assert inspector.post("/tasks/XZ-4/close", json={}).status_code == 409
        assert inspector.get("/tasks/XZ-99").status_code == 404
    with api.client(api.token("auditor")) as auditor:
        edu = next(u for u in auditor.get("/plans/XZ").json()["units"] if u["unit"] == "SJYJ")
        assert {t["task"]: t["status"] for t in edu["tasks"]}["XZ-4"] == "closed"


def test_a_plan_with_no_annotations_over_http_names_a_default_unit(api: ApiServer,
                                                                   clock: Clock) -> None:
    from tests.plan_shapes import NO_ANNOTATIONS

    clock.at("2024-06-01")
    text = NO_ANNOTATIONS.replace("某某县教育局关于印发", "关于印发")  # no issuing body either
    with api.client(api.token("policy", name="督导室")) as office:
        r = office.post("/plans", json={"text": text, "code": "KFW"})
        assert r.status_code == 422 and "--default-unit" in r.json()["message"]
        r = office.post("/plans", json={"text": text, "code": "KFW", "default_unit": "NOPE"})
        assert r.status_code in (404, 422) and r.json()["field"] == "default_unit"
        assert office.post("/plans", json={"text": PLAN.read_text(encoding="utf-8"),
                                           "code": "XZ"}).status_code == 201  # 市教育局 SJYJ
        r = office.post("/plans", json={"text": text, "code": "KFW", "default_unit": "SJYJ"})
        assert r.status_code == 201, r.text
        assert (r.json()["tasks"], r.json()["units"], r.json()["new_units"]) == (3, 1, [])
        assert sum("没有标注责任单位" in w for w in r.json()["warnings"]) == 1
