"""Persons (人员) through the HTTP API (uvicorn on a free port, httpx), on SQLite and
PostgreSQL: add, end, list, a person's record, the unit's principal on a date; the roles;
a unit token's 404 for another unit's persons; Idempotency-Key; every bad field a 422
naming it that records nothing; the interview naming a person with commitments."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID, uuid5

import httpx

from tests.apiserver import ApiServer

Json = dict[str, Any]


def setup_units(api: ApiServer) -> None:
    with api.client(api.token("admin", name="管理员")) as admin:
        for code, name, principal in (("HTQ", "汉台区人民政府", "陈明"),
                                      ("NZQ", "南郑区人民政府", None)):
            r = admin.post("/units", json={"code": code, "name": name, "principal": principal})
            assert r.status_code == 201, r.text


def person(unit: str = "HTQ", name: str = "李明", **extra: Any) -> Json:
    return {"unit": unit, "name": name, "from": "2024-01-01", **extra}


def add(client: httpx.Client, **kw: Any) -> str:
    r = client.post("/persons", json=person(**kw))
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"person_id"}
    return str(r.json()["person_id"])


def interview_due(api: ApiServer, client: httpx.Client, unit: str = "HTQ") -> str:
    """A finding of ``unit`` ordered 2024-09-25 and escalated to 约谈 on 2024-10-29."""
    r = client.post("/findings", json={"unit": unit, "on": "2024-09-25", "inspector": "张督学",
                                       "text": "教师全员培训学时未达标"})
    assert r.status_code == 201, r.text
    fid = str(r.json()["finding_id"])
    assert client.post(f"/findings/{fid}/orders",
                       json={"on": "2024-09-25", "within": 10}).status_code == 201
    for code, day, due in (("supervise", date(2024, 10, 15), date(2024, 10, 28)),
                           ("interview", date(2024, 10, 29), date(2024, 11, 4))):
        api.app.record_escalation(fid, code=code, rule=f"test-{code}", policy="default",
                                  policy_version=1, threshold=day, due=due, facts={})
    return fid


def decided_case(api: ApiServer, fid: str, *, named: str) -> str:
    """The finding's 问责 case (a committee rung), told on 2024-12-02 and decided on
    2024-12-16 by the committee, naming ``named`` (通报批评、组织处理)."""
    app = api.app
    app.record_escalation(fid, code="accountability", rule="test-accountability",
                          policy="default", policy_version=1, threshold=date(2024, 12, 2),
                          due=None, facts={}, decided_by="committee")
    case = str(uuid5(UUID(fid), "accountability:accountability"))
    app.notify_case(case, on=date(2024, 12, 2), persons=[named], actor="t")
    app.decide_case(case, on=date(2024, 12, 16), unit_modes=["public_notice"],
                    persons=[(named, ["criticism", "organisational"])],
                    basis="《教育督导问责办法》第七条", actor="t", role="committee")
    return case


def test_add_end_list_record_and_the_principal_on_a_date(api: ApiServer) -> None:
    setup_units(api)
    admin = api.client(api.token("admin", name="管理员"))
    inspector = api.client(api.token("inspector", name="张督学"))
    li = add(admin, name="李明", post="区长", principal=True)
    zhao = add(inspector, name="赵六", post="教育局长", **{"from": "2024-03-01"})
    # the registered principal before anyone was recorded, the person after
    r = inspector.get("/units/HTQ/principal", params={"on": "2023-12-31"})
    assert r.status_code == 200, r.text
    assert r.json() == {"unit": "HTQ", "on": "2023-12-31", "name": "陈明",
                        "source": "registered", "person_id": None, "post": None,
                        "from": None, "to": None}
    r = inspector.get("/units/HTQ/principal", params={"on": "2024-06-01"})
    assert r.json() == {"unit": "HTQ", "on": "2024-06-01", "name": "李明", "source": "person",
                        "person_id": li, "post": "区长", "from": "2024-01-01", "to": None}
    # without ?on=: today (the clock's, Beijing time)
    assert inspector.get("/units/HTQ/principal").json()["on"] == "2024-12-31"
    assert inspector.get("/units/NZQ/principal").json() == {
        "unit": "NZQ", "on": "2024-12-31", "name": None, "source": None, "person_id": None,
        "post": None, "from": None, "to": None}
    # the list: principals first; as of a day, those in post then
    listed = inspector.get("/persons", params={"unit": "HTQ"}).json()
    assert listed["count"] == 2
    assert [p["person_id"] for p in listed["persons"]] == [li, zhao]
    assert listed["persons"][0] == {"person_id": li, "unit": "HTQ", "name": "李明",
                                    "post": "区长", "principal": True, "from": "2024-01-01",
                                    "to": None}
    early = inspector.get("/persons", params={"unit": "HTQ", "as_of": "2024-02-01"}).json()
    assert [p["name"] for p in early["persons"]] == ["李明"]
    assert inspector.get("/persons").json()["count"] == 2  # every unit
    # a second principal while the first is in post: refused, naming the field
    before = api.events()
    r = admin.post("/persons", json=person(name="王强", principal=True,
                                           **{"from": "2024-10-26"}))
    assert r.status_code == 409 and r.json()["field"] == "principal", r.text
    assert "person end" in r.json()["message"] or "离任" in r.json()["message"]
    assert api.events() == before
    # the handover: end the first, add the next from a later day
    r = inspector.post(f"/persons/{li}/end", json={"on": "2024-10-25"})
    assert r.status_code == 201, r.text
    assert r.json() == {"person_id": li, "unit": "HTQ", "name": "李明", "post": "区长",
                        "principal": True, "from": "2024-01-01", "to": "2024-10-25"}
    r = inspector.post(f"/persons/{li}/end", json={"on": "2024-10-26"})
    assert r.status_code == 409 and r.json()["field"] == "person"  # already ended
    wang = add(admin, name="王强", post="区长", principal=True, **{"from": "2024-10-26"})
    for day, name in (("2024-10-25", "李明"), ("2024-10-26", "王强")):
        assert inspector.get("/units/HTQ/principal", params={"on": day}).json()["name"] == name
    # the interview names the person and records commitments; the record shows both
    fid = interview_due(api, inspector)
    r = inspector.post(f"/findings/{fid}/interviews", json={
        "on": "2024-11-01", "person": wang, "minutes": "限期整改",
        "commitments": [{"on": "2024-11-30", "text": "11月底前完成培训补课"}]})
    assert r.status_code == 201, r.text
    finding = inspector.get(f"/findings/{fid}").json()
    assert (finding["interviewee"], finding["interview_person"]) == ("王强", wang)
    assert finding["commitments"] == [{"on": "2024-11-30", "text": "11月底前完成培训补课"}]
    record = inspector.get(f"/persons/{wang}").json()
    assert (record["name"], record["unit_name"], record["in_post"]) == ("王强", "汉台区人民政府", True)
    assert [(p["person_id"], p["this"]) for p in record["posts"]] == [(wang, True)]
    assert [(i["finding_id"], i["on"], i["interviewee"]) for i in record["interviews"]] == [
        (fid, "2024-11-01", "王强")]
    assert record["interviews"][0]["finding_text"] == "教师全员培训学时未达标"
    assert [(c["on"], c["text"], c["interview_on"]) for c in record["commitments"]] == [
        ("2024-11-30", "11月底前完成培训补课", "2024-11-01")]
    assert record["decisions"] == []
    # a decision of the committee naming the person is on their record
    case = decided_case(api, fid, named="王强")
    record = inspector.get(f"/persons/{wang}").json()
    assert record["decisions"] == [{
        "on": "2024-12-16", "case_id": case, "finding_id": fid, "modes": "通报批评、组织处理",
        "aggravated": False, "summary": "“教师全员培训学时未达标”：通报批评、组织处理"}]
    old = inspector.get(f"/persons/{li}").json()
    assert (old["to"], old["in_post"], old["interviews"]) == ("2024-10-25", False, [])
    for client in (admin, inspector):
        client.close()


def test_the_interview_refuses_a_person_not_of_the_unit_or_not_in_post(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        gone = add(inspector, name="李明", **{"to": "2024-06-30"})
        other = add(inspector, unit="NZQ", name="周七")
        fid = interview_due(api, inspector)
        before = api.events()
        cases = [
            ({"person": other}, 409, "person"),  # another unit's
            ({"person": gone}, 409, "person"),  # not in post on the day
            ({"person": "not-a-person"}, 422, "person"),
            ({"person": "4c749865-0000-4000-8000-000000000000"}, 422, "person"),
            ({"interviewee": "陈明", "commitments": [{"on": "2024-10-31", "text": "补课"}]},
             422, "commitments"),  # before the interview
            ({"interviewee": "陈明", "commitments": [{"on": "2024-11-30", "text": "  "}]},
             422, "commitments"),
            ({"interviewee": "陈明", "commitments": [{"on": "2024-11-30"}]}, 422,
             "commitments[0].text"),
            ({"interviewee": "陈明",
              "commitments": [{"on": "2024-11-30", "text": "补课"}] * 21}, 422, "commitments"),
            ({}, 422, "interviewee"),  # neither a person nor a name
        ]
        for extra, status, field in cases:
            r = inspector.post(f"/findings/{fid}/interviews",
                               json={"on": "2024-11-01", "minutes": "纪要", **extra})
            assert r.status_code == status, (extra, r.text)
            assert r.json()["field"] == field, (extra, r.json())
            assert r.json()["message"] and r.json()["message_en"]
        assert api.events() == before


# ------------------------------------------------------------------- roles

WRITES = {"person.add", "person.end"}
ALLOWED = {"admin": WRITES, "inspector": WRITES, "unit": set(), "policy": set(),
           "auditor": set(), "committee": set()}


def test_every_role_may_do_what_the_table_says(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("admin", name="管理员")) as admin:
        pid = add(admin, name="李明", principal=True)
    tokens = {role: api.token(role, unit="HTQ" if role == "unit" else None)
              for role in ALLOWED}
    for role, allowed in ALLOWED.items():
        with api.client(tokens[role]) as client:
            before = api.events()
            r = client.post("/persons", json=person(name=f"{role}登记"))
            if "person.add" in allowed:
                assert r.status_code == 201, (role, r.text)
            else:
                assert r.status_code == 403, (role, r.text)
                assert r.json()["code"] == "forbidden" and r.json()["field"] == "Authorization"
                assert "登记人员" in r.json()["message"]
                assert api.events() == before
            if "person.end" not in allowed:
                r = client.post(f"/persons/{pid}/end", json={"on": "2024-10-25"})
                assert r.status_code == 403 and "办理人员离任" in r.json()["message"], role
                assert api.events() == before
            # every role reads (a unit token its own unit)
            assert client.get("/persons").status_code == 200, role
            assert client.get(f"/persons/{pid}").status_code == 200, role
            assert client.get("/units/HTQ/principal").json()["name"] == "李明", role
    for role in ("admin", "inspector"):
        with api.client(tokens[role]) as client:
            mine = client.get("/persons", params={"unit": "HTQ"}).json()["persons"]
            made = next(p for p in mine if p["name"] == f"{role}登记")
            r = client.post(f"/persons/{made['person_id']}/end", json={"on": "2024-10-25"})
            assert r.status_code == 201 and r.json()["to"] == "2024-10-25", (role, r.text)
    with api.client() as anon:
        for method, path in (("GET", "/persons"), ("POST", "/persons"),
                             ("GET", f"/persons/{pid}"), ("GET", "/units/HTQ/principal")):
            assert anon.request(method, path, json={}).status_code == 401, path


def test_a_unit_token_sees_its_own_units_persons_only(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("admin", name="管理员")) as admin:
        mine = add(admin, name="李明")
        theirs = add(admin, unit="NZQ", name="周七", principal=True)
    with api.client(api.token("unit", unit="HTQ")) as unit:
        listed = unit.get("/persons").json()
        assert [p["person_id"] for p in listed["persons"]] == [mine]
        assert unit.get("/persons", params={"unit": "HTQ"}).json() == listed
        r = unit.get("/persons", params={"unit": "NZQ"})
        assert r.status_code == 404 and r.json()["field"] == "unit"
        # another unit's person answers as an unknown one does
        r = unit.get(f"/persons/{theirs}")
        unknown = unit.get("/persons/4c749865-0000-4000-8000-000000000000")
        assert r.status_code == unknown.status_code == 404
        assert r.json()["code"] == unknown.json()["code"] == "not_found"
        assert r.json()["field"] == unknown.json()["field"] == "person"
        assert "周七" not in r.text and "NZQ" not in r.text
        r = unit.get("/units/NZQ/principal")
        assert r.status_code == 404 and "周七" not in r.text
        assert unit.get(f"/persons/{mine}").json()["name"] == "李明"
    with api.client(api.token("auditor")) as auditor:  # a reader of every unit
        assert auditor.get(f"/persons/{theirs}").json()["name"] == "周七"
        assert auditor.get("/persons", params={"unit": "NZQ"}).json()["count"] == 1
        r = auditor.get("/persons", params={"unit": "NOPE"})
        assert r.status_code == 404 and r.json()["field"] == "unit"


# ------------------------------------------------------------ idempotency


def test_an_idempotency_key_replays_the_first_answer(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        key = {"Idempotency-Key": "person-7f3a-0001"}
        before = api.events()
        first = inspector.post("/persons", json=person(principal=True), headers=key)
        assert first.status_code == 201, first.text
        added = api.events()
        assert added > before
        again = inspector.post("/persons", json=person(principal=True), headers=key)
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        assert api.events() == added
        # the same key with another body
        r = inspector.post("/persons", json=person(name="王强"), headers=key)
        assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
        pid = first.json()["person_id"]
        end_key = {"Idempotency-Key": "end-1"}
        e1 = inspector.post(f"/persons/{pid}/end", json={"on": "2024-10-25"}, headers=end_key)
        e2 = inspector.post(f"/persons/{pid}/end", json={"on": "2024-10-25"}, headers=end_key)
        assert e1.status_code == e2.status_code == 201 and e1.json() == e2.json()
        assert e2.headers["idempotent-replayed"] == "true"
        ended = api.events()
        # without the key, ending again is refused (the person has left): nothing recorded
        r = inspector.post(f"/persons/{pid}/end", json={"on": "2024-10-25"})
        assert r.status_code == 409 and r.json()["field"] == "person"
        # a refused add keeps nothing under its key: a retry is refused again, not replayed
        bad = {"Idempotency-Key": "retry-after-refusal"}
        for _ in range(2):
            r = inspector.post("/persons", json=person(unit="NOPE"), headers=bad)
            assert r.status_code == 422 and r.json()["field"] == "unit"
            assert "idempotent-replayed" not in r.headers
        assert api.events() == ended
        # the same person added again without a key: the first id, nothing recorded
        r = inspector.post("/persons", json=person(principal=True, **{"to": "2024-10-25"}))
        assert r.status_code == 201 and r.json()["person_id"] == pid
        assert api.events() == ended


# ------------------------------------------------------------- bad input


def test_a_bad_field_is_a_422_naming_it_and_records_nothing(api: ApiServer) -> None:
    setup_units(api)
    with api.client(api.token("inspector", name="张督学")) as inspector:
        pid = add(inspector, **{"from": "2024-03-01"})
        before = api.events()
        cases: list[tuple[str, Any, str]] = [
            ("/persons", {k: v for k, v in person().items() if k != "name"}, "name"),
            ("/persons", {k: v for k, v in person().items() if k != "from"}, "from"),
            ("/persons", person(name="   "), "name"),  # the domain's check
            ("/persons", person(name="李" * 51), "name"),  # the domain's length
            ("/persons", person(name="李\x00明"), "name"),
            ("/persons", person(post="校" * 101), "post"),
            ("/persons", person(post="校\x07长"), "post"),
            ("/persons", person(unit="NOPE"), "unit"),
            ("/persons", person(unit="含 空格"), "unit"),
            ("/persons", person(principal="maybe"), "principal"),
            ("/persons", person(**{"from": "2024-02-30"}), "from"),
            ("/persons", person(**{"from": "2025-01-02"}), "from"),  # after today
            ("/persons", person(**{"from": "1999-12-31"}), "from"),  # out of range
            ("/persons", person(**{"to": "2023-12-31"}), "to"),  # before from
            ("/persons", person(**{"to": "2025-01-02"}), "to"),
            ("/persons", person(colour="red"), "colour"),
            ("/persons", {**person(), "from_date": "2024-01-01"}, "from_date"),
            ("/persons", [person()], "body"),
            (f"/persons/{pid}/end", {"on": "2024-02-29"}, "on"),  # before the first day
            (f"/persons/{pid}/end", {"on": "2025-01-02"}, "on"),
            (f"/persons/{pid}/end", {"on": "soon"}, "on"),
            (f"/persons/{pid}/end", {}, "on"),
            (f"/persons/{pid}/end", {"on": "2024-10-25", "why": "调任"}, "why"),
        ]
        for path, body, field in cases:
            r = inspector.post(path, json=body)
            assert r.status_code == 422, (path, body, r.text)
            error = r.json()
            assert error["field"] == field, (body, error)
            assert error["code"] == "invalid_input" and error["message"] and error["message_en"]
            assert re.search(r"[\u4e00-\u9fff]", error["message"]), error
        for path, params, field in (("/persons", {"as_of": "2024-13-01"}, "as_of"),
                                    ("/units/HTQ/principal", {"on": "tomorrow"}, "on"),
                                    ("/units/HTQ/principal", {"on": "1999-12-31"}, "on")):
            r = inspector.get(path, params=params)
            assert r.status_code == 422 and r.json()["field"] == field, (path, r.text)
        # an unknown person in the path is a 404, not a 422
        r = inspector.post("/persons/not-a-uuid/end", json={"on": "2024-10-25"})
        assert r.status_code == 404 and r.json()["field"] == "person"
        assert inspector.get("/persons/not-a-uuid").status_code == 404
        assert api.events() == before
        assert inspector.get("/persons").json()["count"] == 1


def test_the_openapi_document_describes_the_persons_in_chinese(api: ApiServer) -> None:
    with api.client() as anon:
        doc = anon.get("/openapi.json").json()
    paths = doc["paths"]
    for path, methods in (("/api/v1/persons", {"get", "post"}),
                          ("/api/v1/persons/{person_id}", {"get"}),
                          ("/api/v1/persons/{person_id}/end", {"post"}),
                          ("/api/v1/units/{code}/principal", {"get"})):
        assert set(paths[path]) == methods, path
        for op in paths[path].values():
            assert re.search(r"[\u4e00-\u9fff]", op["summary"]), path
            assert op["security"] == [{"HTTPBearer": []}]
            if "requestBody" in op:
                assert {"401", "403", "404", "409", "422"} <= set(op["responses"])
            for param in op.get("parameters", []):
                if param["in"] != "path":
                    assert re.search(r"[\u4e00-\u9fff]", param["description"]), param
    assert {p["name"] for p in paths["/api/v1/persons"]["post"]["parameters"]} == {
        "Idempotency-Key"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["PersonIn"]["required"]) == {"unit", "name", "from"}
    assert schemas["PersonIn"]["properties"]["name"]["maxLength"] == 50
    assert schemas["InterviewIn"]["properties"]["commitments"]["maxItems"] == 20
    for name in ("PersonIn", "PersonEndIn", "PersonCreated", "PersonOut", "PersonList",
                 "PrincipalOut", "PersonPost", "PersonInterview", "PersonCommitment",
                 "PersonRecordOut", "InterviewIn", "CommitmentIn", "InterviewOut"):
        for prop, spec in schemas[name]["properties"].items():
            assert re.search(r"[\u4e00-\u9fff]", spec.get("description", "")), (name, prop)
