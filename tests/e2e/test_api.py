"""The HTTP API through real HTTP (uvicorn on a free port, httpx), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from tests.apiserver import ApiServer
from tests.conftest import Clock

Json = dict[str, Any]


def setup_units(api: ApiServer) -> None:
    with api.client(api.token("admin", name="管理员")) as admin:
        for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
            r = admin.post("/units", json={"code": code, "name": name, "principal": "负责人"})
            assert r.status_code == 201, r.text


def finding_body(unit: str = "HTQ", text: str = "体育课开课率不足", **extra: Any) -> Json:
    return {"unit": unit, "on": "2024-09-25", "inspector": "张督学", "text": text, **extra}


def record(client: httpx.Client, **kw: Any) -> str:
    r = client.post("/findings", json=finding_body(**kw))
    assert r.status_code == 201, r.text
    return str(r.json()["finding_id"])


def test_health_needs_no_token_and_everything_else_does(api: ApiServer) -> None:
    with api.client() as anon:
        r = anon.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        for method, path in (("GET", "/findings"), ("POST", "/findings"),
                             ("GET", "/units/HTQ/report"), ("POST", "/units")):
            r = anon.request(method, path, json={})
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    with api.client("dd_not-a-real-token") as stranger:
        r = stranger.get("/findings")
        assert r.status_code == 401 and r.json()["message"] == "令牌无效"


def test_inspector_journey(api: ApiServer) -> None:
    setup_units(api)
    inspector = api.client(api.token("inspector", name="张督学"))
    unit = api.client(api.token("unit", unit="HTQ"))
    api.clock.at("2024-09-25")
    r = inspector.post("/inspections", json={
        "unit": "HTQ", "on": "2024-09-25", "inspectors": ["张督学", "李督学"],
        "findings": [{"text": "教师全员培训学时未达标", "severity": "serious", "task": "T-3"},
                     {"text": "培训台账不全"}],
    })
    assert r.status_code == 201, r.text
    created = r.json()
    assert len(created["finding_ids"]) == 2
    fid = created["finding_ids"][0]
    r = inspector.get(f"/inspections/{created['inspection_id']}")
    assert r.status_code == 200
    assert r.json()["inspectors"] == ["张督学", "李督学"]
    assert r.json()["finding_ids"] == created["finding_ids"]

    finding = inspector.get(f"/findings/{fid}").json()
    assert finding["status"] == "recorded" and finding["severity"] == "serious"
    assert finding["inspection_id"] == created["inspection_id"]
    assert finding["inspector"] == "张督学、李督学" and finding["task"] == "T-3"

    r = inspector.post(f"/findings/{fid}/orders", json={"on": "2024-09-25", "within": 10})
    assert r.status_code == 201, r.text
    assert r.json()["deadline"] == "2024-10-14"  # DESIGN.md's worked example

    api.clock.at("2024-10-11")
    r = unit.post(f"/findings/{fid}/reports", json={"on": "2024-10-11", "text": "已补齐培训学时"})
    assert r.status_code == 201 and r.json()["status"] == "under_review"

    api.clock.at("2024-10-12")
    r = inspector.post(f"/findings/{fid}/reviews",
                       json={"on": "2024-10-12", "passed": False, "within": 5, "note": "台账不全"})
    assert r.status_code == 201, r.text
    assert r.json() == {"finding_id": fid, "status": "rectifying", "deadline": "2024-10-18"}

    r = inspector.post(f"/findings/{fid}/extensions",
                       json={"on": "2024-10-12", "to": "2024-10-31", "reason": "汛期施工受阻"})
    assert r.status_code == 201 and r.json()["deadline"] == "2024-10-31"

    api.clock.at("2024-10-20")
    assert unit.post(f"/findings/{fid}/reports",
                     json={"on": "2024-10-20", "text": "台账已补齐"}).status_code == 201
    r = inspector.post(f"/findings/{fid}/reviews", json={"on": "2024-10-20", "passed": True})
    assert r.status_code == 201 and r.json()["status"] == "closed"

    # the list reads its own writes from the read model
    closed = inspector.get("/findings", params={"status": "closed"}).json()
    assert [f["finding_id"] for f in closed["findings"]] == [fid]
    report = inspector.get("/units/HTQ/report").json()
    assert (report["findings"], report["open"], report["closed"], report["closed_on_time"]) \
        == (2, 1, 1, 1)
    assert report["on_time_rate"] == 1.0

    # every event carries the actor of the token that recorded it
    events = inspector.get(f"/findings/{fid}/history").json()["events"]
    assert [e["type"] for e in events] == [
        "Recorded", "RectificationOrdered", "ReportSubmitted", "ReviewFailed",
        "ExtensionGranted", "ReportSubmitted", "ReviewPassed"]
    actors = [e["actor"] for e in events]
    assert all(a.startswith("inspector:张督学#") for a in actors[:2])
    assert actors[2].startswith("unit:HTQ#") and actors[5].startswith("unit:HTQ#")
    assert events[3]["details"]["deadline"] == "2024-10-18"
    inspector.close()
    unit.close()


def test_unit_journey_sees_and_acts_on_its_own_unit_only(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        own = record(inspector, unit="HTQ", text="本单位的问题")
        other = record(inspector, unit="NZQ", text="别的单位的问题")
        for fid in (own, other):
            r = inspector.post(f"/findings/{fid}/orders", json={"on": "2024-12-02", "within": 10})
            assert r.status_code == 201
    before = api.events()
    with api.client(api.token("unit", unit="HTQ")) as unit:
        listed = unit.get("/findings").json()
        assert [f["finding_id"] for f in listed["findings"]] == [own]
        assert listed["findings"][0]["deadline"] == "2024-12-16"
        assert unit.get("/findings", params={"unit": "HTQ", "status": "rectifying"}
                        ).json()["count"] == 1
        assert unit.get("/findings", params={"unit": "NZQ"}).status_code == 404
        # another unit's finding does not exist for this token
        for path in (f"/findings/{other}", f"/findings/{other}/history",
                     f"/findings/{other}/escalations",
                     "/units/NZQ", "/units/NZQ/report"):
            r = unit.get(path)
            assert r.status_code == 404, path
        r = unit.post(f"/findings/{other}/reports", json={"on": "2024-12-10", "text": "x"})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert api.events() == before
        # its own: report (a unit's report is dated the day it is recorded), then see the state
        api.clock.at("2024-12-10")
        r = unit.post(f"/findings/{own}/reports", json={"on": "2024-12-10", "text": "已整改"})
        assert r.status_code == 201 and r.json()["status"] == "under_review"
        assert unit.get(f"/findings/{own}").json()["reports"] == 1
        assert unit.get("/units/HTQ/report").json()["open"] == 1
        # a second report while the first awaits review is refused, recording nothing
        count = api.events()
        r = unit.post(f"/findings/{own}/reports", json={"on": "2024-12-11", "text": "再报"})
        assert r.status_code == 409 and r.json()["code"] == "refused"
        assert api.events() == count


WRITES = {
    "unit.add": ("/units", {"code": "CGX", "name": "城固县人民政府"}),
    "inspection.record": ("/inspections", {"unit": "HTQ", "on": "2024-09-25",
                                           "inspectors": ["张督学"], "findings": [{"text": "x"}]}),
    "finding.record": ("/findings", finding_body()),
    "finding.order": ("/findings/{fid}/orders", {"on": "2024-12-02", "within": 10}),
    "finding.report": ("/findings/{fid}/reports", {"on": "2024-12-03", "text": "已整改"}),
    "finding.review": ("/findings/{fid}/reviews", {"on": "2024-12-04", "passed": True}),
    "finding.extend": ("/findings/{fid}/extensions",
                       {"on": "2024-12-04", "to": "2024-12-31", "reason": "理由"}),
    "finding.interview": ("/findings/{fid}/interviews",
                          {"on": "2024-12-04", "interviewee": "陈明", "minutes": "纪要"}),
}
ALLOWED = {
    "inspector": {"inspection.record", "finding.record", "finding.order", "finding.review",
                  "finding.extend", "finding.interview"},
    "unit": {"finding.report"},
    "policy": set(),
    "auditor": set(),
    "admin": {"unit.add"},
}


def test_every_role_refusal(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        fid = record(inspector)
    tokens = {role: api.token(role, unit="HTQ" if role == "unit" else None) for role in ALLOWED}
    before = api.events()
    refused = 0
    for role, allowed in ALLOWED.items():
        with api.client(tokens[role]) as client:
            for action, (path, body) in WRITES.items():
                if action in allowed:
                    continue
                r = client.post(path.format(fid=fid), json=body)
                assert r.status_code == 403, (role, action, r.text)
                assert r.json()["code"] == "forbidden" and r.json()["field"] == "Authorization"
                refused += 1
            # every role reads (a unit token its own unit)
            assert client.get(f"/findings/{fid}").status_code == 200
            assert client.get(f"/findings/{fid}/history").status_code == 200
            assert client.get("/units/HTQ/report").status_code == 200
    assert refused == sum(len(WRITES) - len(a) for a in ALLOWED.values())
    assert api.events() == before  # a refusal records nothing


def test_bad_input_is_422_naming_the_field_and_records_nothing(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        fid = record(inspector)
        before = api.events()
        cases = [
            ("/findings", {k: v for k, v in finding_body().items() if k != "text"}, "text"),
            ("/findings", finding_body(on="2024-02-30"), "on"),
            ("/findings", finding_body(on="2025-01-02"), "on"),  # after today
            ("/findings", finding_body(severity="fatal"), "severity"),
            ("/findings", finding_body(text="含\x00空字符"), "text"),
            ("/findings", finding_body(text="   "), "text"),
            ("/findings", finding_body(unit="NOPE"), "unit"),
            ("/findings", finding_body(colour="red"), "colour"),
            # an unknown field with an empty name: the body is named (found by the property test)
            ("/findings", {**finding_body(), "": 1}, "body"),
            ("/inspections", {"unit": "HTQ", "on": "2024-09-25", "inspectors": [],
                              "findings": []}, "inspectors"),
            ("/inspections", {"unit": "HTQ", "on": "2024-09-25", "inspectors": ["甲"],
                              "findings": [{"text": "好"}, {"text": "x" * 4001}]},
             "findings[1].text"),
            # refused by the domain after the first finding was built: nothing of it is stored
            ("/inspections", {"unit": "HTQ", "on": "2024-09-25", "inspectors": ["甲"],
                              "findings": [{"text": "好"}, {"text": "   "}]}, "findings[1].text"),
            (f"/findings/{fid}/orders", {"on": "2024-09-25", "within": 0}, "within"),
            (f"/findings/{fid}/orders", {"on": "2024-09-25", "within": "ten"}, "within"),
            (f"/findings/{fid}/reviews", {"on": "2024-09-25"}, "passed"),
        ]
        for path, body, field in cases:
            r = inspector.post(path, json=body)
            assert r.status_code == 422, (path, body, r.text)
            error = r.json()
            assert error["field"] == field, (body, error)
            assert error["code"] == "invalid_input" and error["message"]
        r = inspector.post("/findings", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["field"] == "body"
        assert inspector.get("/findings/not-a-uuid").status_code == 404
        assert inspector.get("/findings", params={"status": "lost"}).json()["field"] == "status"
        assert api.events() == before


def test_idempotent_retries_return_the_first_response_across_restarts(
        api: ApiServer, db: str) -> None:
    setup_units(api)
    token = api.token("inspector", name="张督学")
    key = {"Idempotency-Key": "phone-7f3a-0001"}
    with api.client(token) as inspector:
        first = inspector.post("/findings", json=finding_body(), headers=key)
        assert first.status_code == 201
        count = api.events()
        again = inspector.post("/findings", json=finding_body(), headers=key)
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        fid = first.json()["finding_id"]
        order_key = {"Idempotency-Key": "order-1"}
        o1 = inspector.post(f"/findings/{fid}/orders", json={"on": "2024-09-25", "within": 10},
                            headers=order_key)
        o2 = inspector.post(f"/findings/{fid}/orders", json={"on": "2024-09-25", "within": 10},
                            headers=order_key)
        assert o1.status_code == o2.status_code == 201 and o1.json() == o2.json()
        assert api.events() == count + 1
        # the same key with a different body
        r = inspector.post("/findings", json=finding_body(text="另一条"), headers=key)
        assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
        # a refused command keeps nothing: fixing the request and retrying with the key works
        bad_key = {"Idempotency-Key": "retry-after-refusal"}
        r = inspector.post("/findings", json=finding_body(unit="NOPE"), headers=bad_key)
        assert r.status_code == 422
        ok = inspector.post("/findings", json=finding_body(unit="NOPE"), headers=bad_key)
        assert ok.status_code == 422  # still unknown: still refused, not replayed as success
        inspection = {"unit": "HTQ", "on": "2024-09-25", "inspectors": ["张督学"],
                      "findings": [{"text": "一"}, {"text": "二"}]}
        i1 = inspector.post("/inspections", json=inspection, headers={"Idempotency-Key": "i-1"})
        assert i1.status_code == 201
    count = api.events()
    # restart the service on the same database
    api.stop()
    restarted = ApiServer(db, api.clock).start()
    try:
        with restarted.client(token) as inspector:
            replay = inspector.post("/findings", json=finding_body(), headers=key)
            assert (replay.status_code, replay.json()) == (201, first.json())
            i2 = inspector.post("/inspections", json=inspection, headers={"Idempotency-Key": "i-1"})
            assert i2.json() == i1.json()
            assert restarted.events() == count
            assert inspector.get("/findings").json()["count"] == 3
        # keys belong to a token: another inspector's same key is a different request
        with restarted.client(restarted.token("inspector", name="李督学")) as other:
            r = other.post("/findings", json=finding_body(), headers=key)
            assert r.status_code == 201 and r.json() != first.json()
        assert restarted.events() == count + 1
    finally:
        restarted.stop()


def test_a_concurrent_change_is_a_409_and_records_nothing(api: ApiServer, db: str) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        fid = record(inspector)
        assert inspector.post(f"/findings/{fid}/orders",
                              json={"on": "2024-12-02", "within": 10}).status_code == 201
    unit = api.client(api.token("unit", unit="HTQ"))
    api.clock.at("2024-12-10")  # a unit's report is dated the day it is recorded
    # Deterministic race: another writer extends the deadline after the API loaded the
    # finding and before it saved the report.
    service = api.c.app
    original = service.commit
    raced = threading.Event()

    def race_then_commit(*aggregates: Any) -> None:
        if not raced.is_set() and threading.current_thread().name != "racer":
            raced.set()
            finding = aggregates[0]
            t = threading.Thread(name="racer", target=lambda: service.extend(
                finding.id, on=finding.deadline_set_on, to=finding.deadline.replace(day=31),
                reason="并发延期", actor="another"))
            t.start()
            t.join()
        original(*aggregates)

    service.commit = race_then_commit  # type: ignore[method-assign]
    try:
        before = api.events()
        r = unit.post(f"/findings/{fid}/reports", json={"on": "2024-12-10", "text": "已整改"})
    finally:
        service.commit = original  # type: ignore[method-assign]
    assert raced.is_set()
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "conflict"
    assert api.events() == before + 1  # only the other writer's extension
    assert unit.get(f"/findings/{fid}").json()["status"] == "rectifying"

    # A real race: many reports at once on one finding; exactly one wins, the rest are 409.
    results: list[int] = []
    barrier = threading.Barrier(6)

    def submit(i: int) -> None:
        with api.client(unit.headers["Authorization"].split()[1]) as client:
            barrier.wait()
            results.append(client.post(f"/findings/{fid}/reports",
                                       json={"on": "2024-12-10", "text": f"报告{i}"}).status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409, 409, 409]
    history = unit.get(f"/findings/{fid}/history").json()["events"]
    assert [e["type"] for e in history].count("ReportSubmitted") == 1
    unit.close()


def test_the_openapi_document_describes_every_field(api: ApiServer) -> None:
    with api.client() as anon:
        doc = anon.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/v1/health", "/api/v1/units", "/api/v1/inspections", "/api/v1/findings",
                 "/api/v1/findings/{finding_id}", "/api/v1/findings/{finding_id}/orders",
                 "/api/v1/findings/{finding_id}/reports", "/api/v1/findings/{finding_id}/reviews",
                 "/api/v1/findings/{finding_id}/extensions",
                 "/api/v1/findings/{finding_id}/interviews",
                 "/api/v1/findings/{finding_id}/history", "/api/v1/findings/{finding_id}/escalations",
                 "/api/v1/units/{code}/report"):
        assert path in paths, path
    undocumented = []
    for name, schema in doc["components"]["schemas"].items():
        if name in ("HTTPValidationError", "ValidationError"):
            continue
        for prop, spec in schema.get("properties", {}).items():
            if not spec.get("description"):
                undocumented.append(f"{name}.{prop}")
    assert undocumented == []
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            for param in op.get("parameters", []):
                if param["in"] != "path":
                    assert param.get("description"), (method, path, param["name"])
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_escalations_and_the_unit_report_follow_the_rules_decisions(api: ApiServer) -> None:
    from datetime import date

    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        fid = record(inspector)
        assert inspector.post(f"/findings/{fid}/orders",
                              json={"on": "2024-09-25", "within": 10}).status_code == 201
        assert inspector.get(f"/findings/{fid}/escalations").json() == {
            "finding_id": fid, "rung": None, "escalations": []}
        api.app.record_escalation(fid, code="supervise", rule="supervise", policy="default",
                                  policy_version=1, threshold=date(2024, 10, 15),
                                  due=date(2024, 10, 28), facts={"deadline": "2024-10-14"})
        body = inspector.get(f"/findings/{fid}/escalations").json()
        assert body["rung"] == "supervise"
        assert [(e["code"], e["due"]) for e in body["escalations"]] == [("supervise", "2024-10-28")]
        finding = inspector.get(f"/findings/{fid}").json()
        assert (finding["rung"], finding["deadline"]) == ("supervise", "2024-10-28")
        history = inspector.get(f"/findings/{fid}/history").json()["events"]
        assert history[-1]["type"] == "EscalationRaised"
        assert history[-1]["details"]["facts"] == {"deadline": "2024-10-14"}
        report = inspector.get("/units/HTQ/report").json()
        assert report["escalations"]["supervise"] == 1
        assert report["overdue"] == 1  # the 督办 deadline 2024-10-28 has passed by 2024-12-31


def test_a_review_may_find_the_report_false_and_escalations_name_their_rung(
        api: ApiServer, clock: Clock) -> None:
    """Issue 13: 弄虚作假 is a review outcome of its own through the API too (the deadline
    stays, nothing else is recorded on a refusal), and each escalation carries the name and
    mode it was recorded with."""
    from datetime import date

    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        fid = record(inspector)
        assert inspector.post(f"/findings/{fid}/orders",
                              json={"on": "2024-09-25", "within": 10}).status_code == 201
        api.app.record_escalation(fid, code="reminder", rule="reminder.before_deadline",
                                  policy="default", policy_version=1,
                                  threshold=date(2024, 10, 10), due=None, facts={})
        clock.at("2024-10-11")  # a unit's report is dated the day it is recorded
        with api.client(api.token("unit", unit="HTQ")) as unit:
            assert unit.post(f"/findings/{fid}/reports",
                             json={"on": "2024-10-11", "text": "已整改"}).status_code == 201
        clock.at("2024-10-16")
        events = len(inspector.get(f"/findings/{fid}/history").json()["events"])
        for body, field in (({"on": "2024-10-16", "passed": False, "falsified": True}, "note"),
                            ({"on": "2024-10-16", "passed": True, "falsified": True,
                              "note": "补造"}, "falsified"),
                            ({"on": "2024-10-16", "passed": False, "falsified": True,
                              "within": 5, "note": "补造"}, "within")):
            r = inspector.post(f"/findings/{fid}/reviews", json=body)
            assert r.status_code == 422 and r.json()["field"] == field, r.text
        assert len(inspector.get(f"/findings/{fid}/history").json()["events"]) == events
        r = inspector.post(f"/findings/{fid}/reviews", json={
            "on": "2024-10-16", "passed": False, "falsified": True, "note": "台账系事后补造"})
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["deadline"]) == ("rectifying", "2024-10-14")
        history = inspector.get(f"/findings/{fid}/history").json()["events"]
        assert (history[-1]["type"], history[-1]["name"]) == ("ReportFoundFalse", "复查认定弄虚作假")
        finding = inspector.get(f"/findings/{fid}").json()
        assert finding["strikes"] == 0 and finding["status"] == "rectifying"
        reminder = finding["escalations"][0]
        assert (reminder["name"], reminder["mode"], reminder["reason"]) == ("预警", "reminder", None)
