"""Accountability cases over real HTTP (uvicorn on a free port, httpx), on SQLite and
PostgreSQL: the list and one case, each step by the roles that may take it, the
Idempotency-Key, refusals that name the field and record nothing, and the 问责决定书.

The cases are opened as in production: two findings left unrectified, and the escalation
sweep run on 2024-12-17 (the default policy's 问责 rung opens a case for each).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import engine_for, store_env
from adapters.service_layer.application import Dudao
from adapters.service_layer.sweep import Sweeper
from domain.accountability import case_id
from rules.policy import load_policy
from tests.apiserver import ApiServer
from tests.conftest import Clock

D = date.fromisoformat
UNITS = {"CZJ": ("市财政局", "生均公用经费未足额拨付"), "JYJ": ("市教育局", "教师培训学时未达标")}
Json = dict[str, Any]


def seed_cases(db: str, clock: Clock) -> dict[str, str]:
    """Two units, a finding each ordered on 2024-09-25 and never rectified, and the sweep
    of 2024-12-17: one case per unit. Returns {unit code: case id}."""
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    engine = engine_for(db)
    cases = {}
    try:
        clock.at("2024-09-25", 10)
        for code, (name, text) in UNITS.items():
            app.add_unit(code, name, principal="王局长", actor="test")
            fid = app.record_finding(unit=code, on=D("2024-09-25"), inspector="张督学",
                                     text=text, severity="serious", actor="test")
            app.order_rectification(fid, on=D("2024-09-25"), within=10, actor="test")
            cases[code] = str(case_id(fid, "accountability"))
        clock.at("2024-12-17", 9)
        sweeper = Sweeper(app, engine, load_policy())
        sweeper.run()
        sweeper.runner.engine.dispose()
        for cid in cases.values():
            assert app.get_case(cid).status == "proposed"
    finally:
        engine.dispose()
        app.close()
    return cases


class Site:
    """The running service, its cases, and one client per role."""

    def __init__(self, server: ApiServer, cases: dict[str, str]) -> None:
        self.server = server
        self.cases = cases
        self.inspector = server.client(server.token("inspector", name="张督学"))
        self.committee = server.client(server.token("committee", name="督导委员会办公室"))
        self.czj = server.client(server.token("unit", unit="CZJ"))
        self.jyj = server.client(server.token("unit", unit="JYJ"))
        self.auditor = server.client(server.token("auditor", name="审计"))

    def events(self) -> int:
        return self.server.events()

    def close(self) -> None:
        for client in (self.inspector, self.committee, self.czj, self.jyj, self.auditor):
            client.close()


@pytest.fixture
def site(db: str, clock: Clock) -> Iterator[Site]:
    cases = seed_cases(db, clock)
    server = ApiServer(db, clock).start()
    s = Site(server, cases)
    yield s
    s.close()
    server.stop()


def created(r: httpx.Response) -> Json:
    assert r.status_code == 201, r.text
    body: Json = r.json()
    return body


def refused(r: httpx.Response, status: int, field: str | None) -> Json:
    assert r.status_code == status, r.text
    body: Json = r.json()
    assert set(body) == {"code", "field", "message", "message_en"}
    assert body["field"] == field, body
    return body


@contextmanager
def unrecorded(s: Site) -> Iterator[None]:
    """What runs inside records no event."""
    before = s.events()
    yield
    assert s.events() == before


def notify_and_state(s: Site, cid: str) -> None:
    clock = s.server.clock
    clock.at("2024-12-18", 10)
    created(s.inspector.post(f"/accountability/{cid}/notices",
                             json={"on": "2024-12-18", "persons": ["王局长"]}))
    clock.at("2024-12-20", 10)
    created(s.czj.post(f"/accountability/{cid}/statements",
                       json={"on": "2024-12-20", "text": "因财政收支紧张延迟拨付"}))


DECISION = {"on": "2024-12-23", "unit_modes": ["public_criticism", "interview"],
            "persons": [{"name": "王局长", "modes": ["criticism", "organisational"]}],
            "basis": "《教育督导问责办法》第七条", "effective_on": "2024-12-24"}


def test_a_case_from_the_proposal_to_the_decision_document(site: Site) -> None:
    s, clock = site, site.server.clock
    czj, jyj = s.cases["CZJ"], s.cases["JYJ"]
    # the list: everyone but a unit sees every case; a unit its own only
    listed = s.inspector.get("/accountability").json()
    assert listed["count"] == 2
    assert {(c["case_id"], c["unit"], c["status"], c["status_name"], c["opened_on"])
            for c in listed["cases"]} == {
        (czj, "CZJ", "proposed", "问责建议（待告知）", "2024-12-17"),
        (jyj, "JYJ", "proposed", "问责建议（待告知）", "2024-12-17")}
    own = s.czj.get("/accountability").json()
    assert [c["case_id"] for c in own["cases"]] == [czj]
    refused(s.czj.get("/accountability", params={"unit": "JYJ"}), 404, "unit")
    assert [c["case_id"] for c in s.auditor.get(
        "/accountability", params={"unit": "JYJ"}).json()["cases"]] == [jyj]
    refused(s.inspector.get("/accountability", params={"status": "closed"}), 422, "status")
    # one case: its facts; another unit's is 404, exactly as a case that does not exist
    case = s.czj.get(f"/accountability/{czj}").json()
    assert (case["unit_name"], case["finding_text"], case["rung_name"], case["policy"]) == (
        "市财政局", "生均公用经费未足额拨付", "问责", "default")
    assert [h["event"] for h in case["history"]][:2] == ["Recorded", "RectificationOrdered"]
    other = refused(s.czj.get(f"/accountability/{jyj}"), 404, "case")
    absent = refused(s.czj.get("/accountability/00000000-0000-0000-0000-000000000000"),
                     404, "case")
    assert other["message"].endswith("不存在") and absent["message"].endswith("不存在")
    # 调查核实 and 告知: inspectors; a unit may not
    clock.at("2024-12-18", 9)
    with unrecorded(s):
        refused(s.czj.post(f"/accountability/{czj}/investigations",
                           json={"on": "2024-12-18", "note": "核对"}), 403, "Authorization")
        refused(s.czj.post(f"/accountability/{czj}/notices", json={"on": "2024-12-18"}),
                403, "Authorization")
    case = created(s.inspector.post(f"/accountability/{czj}/investigations",
                                    json={"on": "2024-12-18", "note": "核对拨付凭证"}))
    assert case["investigations"] == [{"on": "2024-12-18", "note": "核对拨付凭证"}]
    clock.at("2024-12-18", 10)
    case = created(s.inspector.post(f"/accountability/{czj}/notices",
                                    json={"on": "2024-12-18", "persons": ["王局长"]}))
    assert (case["status"], case["notified_persons"], case["statement_due"]) == (
        "notified", ["王局长"], "2024-12-25")  # 5 working days
    # 陈述申辩: the unit for its own case (201); another unit's case is 404 to it
    clock.at("2024-12-20", 10)
    with unrecorded(s):
        refused(s.jyj.post(f"/accountability/{czj}/statements",
                           json={"on": "2024-12-20", "text": "代他人申辩"}), 404, "case")
    case = created(s.czj.post(f"/accountability/{czj}/statements",
                              json={"on": "2024-12-20", "text": "因财政收支紧张延迟拨付"}))
    assert case["status"] == "stated"
    assert case["statements"] == [{"on": "2024-12-20", "text": "因财政收支紧张延迟拨付",
                                   "by_unit": True}]
    # 决定: the committee only (an inspector is 403, recording nothing)
    clock.at("2024-12-23", 10)
    with unrecorded(s):
        refused(s.inspector.post(f"/accountability/{czj}/decision", json=DECISION),
                403, "Authorization")
        refused(s.czj.post(f"/accountability/{czj}/decision", json=DECISION),
                403, "Authorization")
    before = s.events()
    case = created(s.committee.post(f"/accountability/{czj}/decision", json=DECISION))
    assert s.events() == before + 1
    d = case["decision"]
    assert (case["status"], d["on"], d["effective_on"], d["basis"]) == (
        "decided", "2024-12-23", "2024-12-24", "《教育督导问责办法》第七条")
    assert (d["unit_modes"], d["unit_mode_names"]) == (
        ["public_criticism", "interview"], ["公开批评", "约谈"])
    assert [(p["name"], p["modes"], p["mode_names"]) for p in d["persons"]] == [
        ("王局长", ["criticism", "organisational"], ["通报批评", "组织处理"])]
    assert case["aggravated"] is False
    decided = s.auditor.get("/accountability", params={"status": "decided"}).json()["cases"]
    assert [(c["case_id"], c["unit_modes"], c["persons"], c["decided_on"]) for c in decided] \
        == [(czj, ["public_criticism", "interview"],
             [{"name": "王局长", "modes": ["criticism", "organisational"]}], "2024-12-23")]
    # the 问责决定书: Markdown and HTML, with a Chinese file name (RFC 6266 / 5987)
    for fmt, kind in (("md", "text/markdown"), ("html", "text/html")):
        r = s.czj.get(f"/accountability/{czj}/document", params={"format": fmt})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == f"{kind}; charset=utf-8"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="decision-{czj}.{fmt}"; ')
        encoded = disposition.split("filename*=UTF-8''", 1)[1]
        assert encoded.isascii() and " " not in encoded
        assert unquote(encoded) == f"问责决定书-市财政局-{czj[:8]}.{fmt}"
        for text in ("市财政局", "公开批评、约谈", "王局长：" if fmt == "md" else "对王局长：",
                     "通报批评、组织处理", "《教育督导问责办法》第七条"):
            assert text in r.text, (fmt, text)
        for code in ("public_criticism", "organisational", "criticism"):
            assert code not in r.text, (fmt, code)
    assert s.czj.get(f"/accountability/{czj}/document").headers["content-type"].startswith(
        "text/markdown")  # md by default
    refused(s.jyj.get(f"/accountability/{czj}/document"), 404, "case")
    refused(s.czj.get(f"/accountability/{czj}/document", params={"format": "pdf"}),
            422, "format")
    # the unit's report counts the case as proposed and decided
    report = s.auditor.get("/units/CZJ/report").json()
    assert (report["accountability"], report["accountability_decided"],
            report["accountability_dismissed"], report["accountability_pending"]) == (1, 1, 0, 0)
    report = s.auditor.get("/units/JYJ/report").json()
    assert (report["accountability"], report["accountability_decided"],
            report["accountability_pending"]) == (1, 0, 1)


def test_dismissal_and_a_statement_recorded_by_staff(site: Site) -> None:
    s, clock = site, site.server.clock
    jyj = s.cases["JYJ"]
    clock.at("2024-12-18", 10)
    refused(s.committee.get(f"/accountability/{jyj}/document"), 409, "case")  # no decision yet
    created(s.committee.post(f"/accountability/{jyj}/notices", json={"on": "2024-12-18"}))
    clock.at("2024-12-19", 10)
    case = created(s.inspector.post(f"/accountability/{jyj}/statements",
                                    json={"on": "2024-12-19", "text": "电话陈述，已补训"}))
    assert case["statements"][0]["by_unit"] is False  # recorded on the unit's behalf
    clock.at("2024-12-20", 10)
    with unrecorded(s):
        refused(s.inspector.post(f"/accountability/{jyj}/dismissal",
                                 json={"on": "2024-12-20", "reason": "已整改"}),
                403, "Authorization")
    case = created(s.committee.post(f"/accountability/{jyj}/dismissal",
                                    json={"on": "2024-12-20", "reason": "经核实已于告知前补训到位"}))
    assert (case["status"], case["dismissal"], case["decision"]) == (
        "dismissed", {"on": "2024-12-20", "reason": "经核实已于告知前补训到位"}, None)
    r = s.jyj.get(f"/accountability/{jyj}/document", params={"format": "html"})
    assert r.status_code == 200 and "不予问责" in r.text and "经核实已于告知前补训到位" in r.text
    name = unquote(r.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    assert name == f"不予问责决定书-市教育局-{jyj[:8]}.html"
    # a closed case takes no further step
    refused(s.committee.post(f"/accountability/{jyj}/decision",
                             json=DECISION | {"persons": []}), 409, "case")


def test_a_repeated_step_under_one_idempotency_key_is_recorded_once(site: Site) -> None:
    s, clock = site, site.server.clock
    cid = s.cases["CZJ"]
    clock.at("2024-12-18", 10)
    url, body = f"/accountability/{cid}/notices", {"on": "2024-12-18", "persons": ["王局长"]}
    before = s.events()
    first = s.inspector.post(url, json=body, headers={"Idempotency-Key": "notice-1"})
    assert first.status_code == 201, first.text
    again = s.inspector.post(url, json=body, headers={"Idempotency-Key": "notice-1"})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert s.events() == before + 1
    # the same key with another body is refused; without a key the repeat is a refusal
    refused(s.inspector.post(url, json=body | {"persons": []},
                             headers={"Idempotency-Key": "notice-1"}), 422, "Idempotency-Key")
    refused(s.inspector.post(url, json=body), 409, "case")  # already notified
    assert s.events() == before + 1
    # and a decision, repeated, is one decision
    clock.at("2024-12-20", 10)
    created(s.czj.post(f"/accountability/{cid}/statements",
                       json={"on": "2024-12-20", "text": "已说明"}))
    clock.at("2024-12-23", 10)
    before = s.events()
    answers = [s.committee.post(f"/accountability/{cid}/decision", json=DECISION,
                                headers={"Idempotency-Key": "decide-1"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[1].json() == answers[0].json() == answers[2].json()
    assert s.events() == before + 1


BAD = [
    ("decision", DECISION | {"unit_modes": ["dismissal"]}, 422, "unit_modes[0]"),
    ("decision", DECISION | {"unit_modes": []}, 422, "unit_modes"),
    ("decision", DECISION | {"persons": [{"name": "王局长", "modes": ["fine"]}]}, 422,
     "persons[0].modes[0]"),
    ("decision", DECISION | {"persons": [{"name": "王局长", "modes": []}]}, 422,
     "persons[0].modes"),
    ("decision", DECISION | {"persons": [{"name": "李副局长", "modes": ["criticism"]}]}, 409,
     "persons"),  # not named in the notice
    ("decision", DECISION | {"basis": ""}, 422, "basis"),
    ("decision", DECISION | {"effective_on": "2024-12-20"}, 422, "effective_on"),
    ("decision", DECISION | {"on": "2024-12-32"}, 422, "on"),
    ("decision", DECISION | {"on": "2024-12-24"}, 422, "on"),  # after today
    ("decision", DECISION | {"mode": "x"}, 422, "mode"),
    ("statements", {"on": "2024-12-23", "text": "x\x00"}, 422, "text"),
    ("statements", {"on": "2024-12-17", "text": "早于告知"}, 422, "on"),
    ("investigations", {"on": "2024-12-23"}, 422, "note"),
    ("notices", {"on": "2024-12-23", "persons": [""]}, 422, "persons[0]"),
    ("notices", {"on": "2024-12-23"}, 409, "case"),  # already notified
    ("dismissal", {"on": "2024-12-23", "reason": " "}, 422, "reason"),
]


def test_a_bad_field_is_named_and_nothing_is_recorded(site: Site) -> None:
    s = site
    cid = s.cases["CZJ"]
    notify_and_state(s, cid)
    s.server.clock.at("2024-12-23", 10)
    with unrecorded(s):
        for path, body, status, field in BAD:
            client = s.czj if path == "statements" else s.committee
            answer = refused(client.post(f"/accountability/{cid}/{path}", json=body),
                             status, field)
            assert answer["message"] and answer["message_en"], (path, body)
    assert s.committee.get(f"/accountability/{cid}").json()["status"] == "stated"
