"""Property: whatever string or number reaches an entry point, dudao answers with success or
a 4xx / one-line error, never a 5xx or a traceback, and a refusal records nothing.

Hypothesis throws text (control characters, NUL, very long), numbers (huge, tiny, NaN,
``1e1000000``), dates (any string, year 1 to 9999) and raw bytes (invalid UTF-8) at the
HTTP API, the web forms and the command line, each on a real store. Bounded and
derandomised (the same examples every run); ``DUDAO_PROPERTY_EXAMPLES=500`` explores
with fresh random examples instead.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from domain.values import FIRST_DAY, LAST_DAY
from tests.apiserver import ApiServer
from tests.conftest import PG_URL, SAMPLE_PLANS, Cli, Clock, need, pg_unavailable
from tests.e2e.test_web import login

PLAN = SAMPLE_PLANS / \
    "county-high-schools-2023-2025.txt"

_EXPLORE = int(os.environ.get("DUDAO_PROPERTY_EXAMPLES", "0"))


def bounded(examples: int) -> Any:
    return settings(max_examples=_EXPLORE or examples, deadline=None, database=None,
                    derandomize=not _EXPLORE,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


# --------------------------------------------------------------- strategies

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
CONTROL = st.sampled_from(["\x00", "\x01", "\x07", "\x0b", "\x1b", "\x1f", "\x7f"])
TEXTS = st.one_of(
    ANY_TEXT,
    st.sampled_from(["", " ", "\t", "\n", "问题描述", "张督学", "web\x00nul", "a\r\nb",
                     "\u2028", "\ufeff", "\u200b", "\U0001f600", "' OR 1=1 --", "<script>"]),
    st.tuples(ANY_TEXT, CONTROL, ANY_TEXT).map("".join),
    st.sampled_from([99, 100, 101, 2000, 2001, 4000, 4001, 8001, 20_000]).map(lambda n: "字" * n),
)
DAY_TEXTS = st.one_of(
    st.dates().map(date.isoformat),  # year 1 to 9999
    st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 1, 31)).map(date.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01", "2024-02-30",
                     "2024-9-1", "20240901", "2024-W01-1", "2024-09-01T00:00",
                     "２０２４-０９-０１", "2024-09-01\x00", "", " 2024-09-01"]),
    ANY_TEXT,
)
NUMBER_TOKENS = ["1e1000000", "-1e1000000", "1E+999999", "1e-999999", "NaN", "-Infinity",
                 "Infinity", "-0", "0.1e-400", "9" * 400, "1" * 5000, "0x10", "1_000", "１２",
                 "10000000000000000000000000000000000000000"]
NUMBER_TEXTS = st.one_of(
    st.sampled_from(NUMBER_TOKENS), st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str), ANY_TEXT,
)


class Raw(str):
    """A JSON token written as is (a number JSON cannot spell otherwise)."""


JSON_VALUES = st.one_of(
    TEXTS, st.none(), st.booleans(), st.integers(min_value=-10**60, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(NUMBER_TOKENS).map(Raw),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=1),
)
JSON_DAYS = st.one_of(DAY_TEXTS, DAY_TEXTS, JSON_VALUES)
JSON_COUNTS = st.one_of(
    st.integers(min_value=-5, max_value=4000), st.integers(), st.sampled_from(NUMBER_TOKENS).map(Raw),
    NUMBER_TEXTS, JSON_VALUES,
)


def encode(body: Any) -> bytes:
    """JSON with ``Raw`` tokens spliced in (``1e1000000``, ``NaN``, a 5000-digit integer)."""
    raws: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body), ensure_ascii=False)
    for key, token in raws.items():
        text = text.replace(f'"{key}"', token)
    return text.encode("utf-8")


def bodies(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with these fields, each sometimes left out; sometimes one extra field."""
    drop = st.sets(st.sampled_from(sorted(fields)), max_size=1)
    extra = st.one_of(st.just({}), st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=1))
    return st.tuples(st.fixed_dictionaries(fields), drop, extra).map(
        lambda t: {**{k: v for k, v in t[0].items() if k not in t[1]}, **t[2]})


# ------------------------------------------------------------- what is stored

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any) -> bool:
    return isinstance(value, str) and not _CONTROL.search(value) and len(value) <= 8000


def in_range(value: Any) -> bool:
    return value is None or FIRST_DAY <= value <= LAST_DAY


def assert_stored_cleanly(app: Dudao, fid: Any) -> None:
    """What an accepted command recorded holds only storable text and in-range dates."""
    f = app.get_finding(fid)
    for text in (f.text, f.inspector, f.unit, *(() if f.task is None else (f.task,))):
        assert clean_text(text), text
    for day in (f.on, f.ordered_on, f.deadline, f.closed_on, f.interview_held_on):
        assert in_range(day), day
    for e in app.history(fid):
        for key in ("text", "reason", "note", "minutes", "interviewee"):
            if e.get(key) is not None:
                assert clean_text(e[key]), (key, e[key])
        for key in ("on", "to", "deadline"):
            assert in_range(e.get(key)), (key, e.get(key))


def assert_task_stored_cleanly(app: Dudao, code: str) -> None:
    t = app.get_task(code)
    for r in t.reports:
        assert len(r["value"]) <= 100 and re.fullmatch(r"-?\d+(\.\d+)?", r["value"]), r["value"]
        assert in_range(r["on"]) and (r["note"] is None or clean_text(r["note"]))
    assert in_range(t.closed_on)


# ======================================================================= API


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = str(tmp_path_factory.mktemp("props") / "dudao.db")
    clock = Clock()  # 2024-12-31 18:00, Asia/Shanghai
    server = ApiServer(db, clock).start()
    app = server.app
    app.add_unit("HTQ", "汉台区人民政府", principal="陈明", actor="t")
    app.import_plan(PLAN.read_bytes(), source=PLAN.name, code="XZ", actor="t")
    clients = {role: server.client(server.token(role, unit=unit, name=name))
               for role, unit, name in (("admin", None, "管理员"), ("inspector", None, "张督学"),
                                        ("unit", "HTQ", None), ("policy", None, "督导室"))}
    clients["sjyj"] = server.client(server.token("unit", unit="SJYJ"))
    yield {"server": server, "app": app, **clients}
    for client in clients.values():
        client.close()
    server.stop()


def new_finding(app: Dudao, stage: str = "recorded") -> str:
    """A finding of HTQ brought to ``stage``: recorded, rectifying, under_review, interview."""
    fid = app.record_finding(unit="HTQ", on=date(2024, 9, 2), inspector="张督学", text="问题",
                             actor="t")
    if stage != "recorded":
        app.order_rectification(fid, on=date(2024, 9, 2), within=10, actor="t")
    if stage == "under_review":
        app.submit_report(fid, on=date(2024, 9, 10), text="已整改", actor="t")
    if stage == "interview":
        app.record_escalation(fid, code="interview", rule="test", policy="default",
                              policy_version=1, threshold=date(2024, 10, 1),
                              due=date(2024, 10, 20), facts={}, actor="t")
    return str(fid)


def throw(s: dict[str, Any], who: str, path: str, body: Any) -> tuple[httpx.Response, bool]:
    """POST ``body`` to ``path``; the answer is checked; returns it and whether it was accepted."""
    app: Dudao = s["app"]
    before = app.event_count()
    r = s[who].post(path, content=encode(body), headers={"Content-Type": "application/json"})
    assert r.status_code < 500, (path, body, r.status_code, r.text)
    after = app.event_count()
    if r.status_code >= 400:
        error = r.json()
        assert set(error) >= {"code", "field", "message", "message_en"}, error
        assert error["message"] and error["message_en"], error
        if r.status_code == 422:
            assert error["field"], error
        assert after == before, (path, body, r.text)  # a refusal records nothing
        return r, False
    assert r.status_code == 201, (path, body, r.text)
    assert after >= before  # a repeat (the same unit, the same plan) records nothing new
    return r, True


def assert_reads_back(s: dict[str, Any]) -> None:
    """Whatever was accepted can be read back (the read models took every event)."""
    for path in ("/findings", "/units/HTQ/report", "/plans/XZ", "/tasks/XZ-4"):
        assert s["inspector"].get(path).status_code == 200, path


@bounded(60)
@given(body=bodies(unit=st.one_of(st.just("HTQ"), TEXTS, JSON_VALUES), on=JSON_DAYS,
                   inspector=st.one_of(st.just("张督学"), TEXTS, JSON_VALUES),
                   text=st.one_of(TEXTS, JSON_VALUES),
                   severity=st.one_of(st.just("general"), TEXTS, JSON_VALUES),
                   task=st.one_of(st.none(), TEXTS)))
@example(body={"unit": "HTQ", "on": "2024-09-02", "inspector": "张督学", "text": "web\x00nul"})
@example(body={"unit": "HTQ", "on": "0001-01-01", "inspector": "张督学", "text": "问题"})
def test_api_record_finding(served: dict[str, Any], body: Any) -> None:
    r, accepted = throw(served, "inspector", "/findings", body)
    if accepted:
        assert_stored_cleanly(served["app"], r.json()["finding_id"])


@bounded(30)
@given(body=bodies(unit=st.one_of(st.just("HTQ"), TEXTS), on=JSON_DAYS,
                   inspectors=st.one_of(st.lists(TEXTS, max_size=3), JSON_VALUES),
                   findings=st.one_of(st.lists(bodies(text=TEXTS, severity=JSON_VALUES,
                                                      task=st.one_of(st.none(), TEXTS)),
                                               max_size=2), JSON_VALUES)))
def test_api_record_inspection(served: dict[str, Any], body: Any) -> None:
    r, accepted = throw(served, "inspector", "/inspections", body)
    if accepted:
        for fid in r.json()["finding_ids"]:
            assert_stored_cleanly(served["app"], fid)


@bounded(50)
@given(body=bodies(on=JSON_DAYS, within=JSON_COUNTS,
                   calendar_days=st.one_of(st.booleans(), JSON_VALUES)),
       finding=st.one_of(st.just(None), st.just(None), st.just(None), ANY_TEXT))
@example(body={"on": "2024-12-18", "within": 3650, "calendar_days": True}, finding=None)
@example(body={"on": "9999-12-31", "within": 10}, finding=None)
@example(body={"on": "2024-12-18", "within": Raw("1e1000000")}, finding=None)
def test_api_order(served: dict[str, Any], body: Any, finding: str | None) -> None:
    fid = new_finding(served["app"]) if finding is None else quote(finding, safe="")
    _, accepted = throw(served, "inspector", f"/findings/{fid}/orders", body)
    if accepted:
        assert_stored_cleanly(served["app"], fid)


@bounded(30)
@given(body=bodies(on=JSON_DAYS, text=st.one_of(TEXTS, JSON_VALUES)))
def test_api_report(served: dict[str, Any], body: Any) -> None:
    fid = new_finding(served["app"], "rectifying")
    _, accepted = throw(served, "unit", f"/findings/{fid}/reports", body)
    if accepted:
        assert_stored_cleanly(served["app"], fid)


@bounded(40)
@given(body=bodies(on=JSON_DAYS, passed=st.one_of(st.booleans(), JSON_VALUES),
                   within=st.one_of(st.none(), JSON_COUNTS),
                   calendar_days=st.one_of(st.booleans(), JSON_VALUES),
                   note=st.one_of(st.none(), TEXTS, JSON_VALUES)))
@example(body={"on": "2024-12-01", "passed": False, "within": 10, "note": "a\x00b"})
@example(body={"on": "2024-12-01", "passed": True, "note": "a\x07b"})
def test_api_review(served: dict[str, Any], body: Any) -> None:
    fid = new_finding(served["app"], "under_review")
    _, accepted = throw(served, "inspector", f"/findings/{fid}/reviews", body)
    if accepted:
        assert_stored_cleanly(served["app"], fid)


@bounded(40)
@given(body=bodies(on=JSON_DAYS, to=JSON_DAYS, reason=st.one_of(TEXTS, JSON_VALUES)))
@example(body={"on": "2024-12-01", "to": "9999-12-31", "reason": "汛期"})
def test_api_extension(served: dict[str, Any], body: Any) -> None:
    fid = new_finding(served["app"], "rectifying")
    _, accepted = throw(served, "inspector", f"/findings/{fid}/extensions", body)
    if accepted:
        assert_stored_cleanly(served["app"], fid)


@bounded(30)
@given(body=bodies(on=JSON_DAYS, interviewee=st.one_of(TEXTS, JSON_VALUES),
                   minutes=st.one_of(TEXTS, JSON_VALUES)))
def test_api_interview(served: dict[str, Any], body: Any) -> None:
    fid = new_finding(served["app"], "interview")
    _, accepted = throw(served, "inspector", f"/findings/{fid}/interviews", body)
    if accepted:
        assert_stored_cleanly(served["app"], fid)


@bounded(50)
@given(body=bodies(indicator=JSON_COUNTS, value=st.one_of(NUMBER_TEXTS, JSON_VALUES),
                   on=JSON_DAYS, note=st.one_of(st.none(), TEXTS, JSON_VALUES),
                   unit=st.one_of(st.none(), st.just("SJYJ"), TEXTS)),
       who=st.sampled_from(["sjyj", "inspector"]))
@example(body={"indicator": 1, "value": "1E+999999", "on": "2024-12-01"}, who="sjyj")
@example(body={"indicator": 1, "value": Raw("1e1000000"), "on": "2024-12-01"}, who="sjyj")
def test_api_task_progress(served: dict[str, Any], body: Any, who: str) -> None:
    _, accepted = throw(served, who, "/tasks/XZ-4/progress", body)
    if accepted:
        assert_task_stored_cleanly(served["app"], "XZ-4")


@bounded(30)
@given(body=bodies(on=st.one_of(st.none(), JSON_DAYS), note=st.one_of(st.none(), TEXTS)),
       task=st.sampled_from([f"XZ-{n}" for n in range(1, 14)] + ["XZ-99", "", "%00"]))
@example(body={"on": None, "note": None, "": None}, task="XZ-1")  # was field "" in the error
def test_api_task_close(served: dict[str, Any], body: Any, task: str) -> None:
    _, accepted = throw(served, "inspector", f"/tasks/{task}/close", body)
    if accepted:
        assert_task_stored_cleanly(served["app"], task)


@bounded(30)
@given(body=bodies(code=st.one_of(st.from_regex(r"\A[A-Z][A-Z0-9_-]{0,8}\Z"), TEXTS),
                   name=st.one_of(TEXTS, JSON_VALUES),
                   parent=st.one_of(st.none(), st.just("HTQ"), TEXTS),
                   principal=st.one_of(st.none(), TEXTS, JSON_VALUES)))
def test_api_add_unit(served: dict[str, Any], body: Any) -> None:
    r, accepted = throw(served, "admin", "/units", body)
    if accepted:
        unit = served["app"].get_unit(r.json()["code"])
        assert all(v is None or clean_text(v) for v in (unit.name, unit.principal))


@bounded(20)
@given(body=bodies(text=st.one_of(TEXTS, st.sampled_from([
    "一、总体目标\n到2025年，全市高中阶段毛入学率达到95%以上。\n二、主要任务\n"
    "1．加强师资队伍建设。（牵头单位：市教育局；责任单位：各县区人民政府；完成时限：2025年12月）",
    "1．任务。（责任单位：\x00；完成时限：9999年12月）"])), source=TEXTS,
                   code=st.one_of(st.none(), TEXTS)))
def test_api_import_plan(served: dict[str, Any], body: Any) -> None:
    throw(served, "policy", "/plans", body)


@bounded(30)
@given(path=st.one_of(ANY_TEXT, DAY_TEXTS), query=st.dictionaries(
    st.sampled_from(["unit", "status", "as_of", "limit", "cursor"]),
    st.one_of(ANY_TEXT, DAY_TEXTS, NUMBER_TEXTS), max_size=3))
def test_api_and_web_readers(web: dict[str, Any], path: str, query: dict[str, str]) -> None:
    """GET with any id in the path and any query: an answer, never a server error."""
    part = quote(path, safe="")
    for client, url in ((web["inspector"], f"/findings/{part}"),
                        (web["inspector"], f"/findings/{part}/history"),
                        (web["inspector"], f"/units/{part}/report"),
                        (web["inspector"], f"/tasks/{part}"), (web["inspector"], f"/plans/{part}"),
                        (web["inspector"], "/findings"), (web["unit"], "/findings"),
                        (web["web"], "/"), (web["web"], f"/units/{part}"),
                        (web["web"], f"/findings/{part}")):
        r = client.get(url, params=query, follow_redirects=False)
        assert r.status_code < 500, (url, query, r.status_code, r.text[:300])


def test_api_reads_back_after_the_fuzzing(served: dict[str, Any]) -> None:
    """Runs last in this module: everything the properties above got accepted reads back."""
    assert_reads_back(served)


# ================================================================= web forms


@pytest.fixture(scope="module")
def web(served: dict[str, Any]) -> Iterator[dict[str, Any]]:
    server: ApiServer = served["server"]
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, server.token("inspector", name="李督学"))
    page = client.get("/findings/new")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="(\w+)"', page.text)
    assert csrf is not None
    yield {**served, "web": client, "csrf": csrf.group(1).encode()}
    client.close()


FORM_VALUES = st.one_of(
    st.binary(max_size=30),  # invalid UTF-8, NUL, anything
    TEXTS.map(lambda s: s.encode("utf-8")),
    st.sampled_from([b"web\x00nul", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"%00", b"+", b"&"]),
)


def form(fields: dict[str, bytes]) -> bytes:
    return b"&".join(quote_from_bytes(k.encode()).encode() + b"=" + quote_from_bytes(v).encode()
                     for k, v in fields.items())


def post_form(w: dict[str, Any], path: str, body: bytes) -> tuple[httpx.Response, bool]:
    app: Dudao = w["app"]
    before = app.event_count()
    r = w["web"].post(path, content=body, follow_redirects=False,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code < 500, (path, body, r.status_code, r.text[:500])
    after = app.event_count()
    if r.status_code != 303:
        assert 400 <= r.status_code < 500, (path, body, r.status_code)
        assert "Traceback" not in r.text
        assert after == before, (path, body, r.status_code)  # a refusal records nothing
        return r, False
    assert after > before
    return r, True


def decodes(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def web_fields(**fields: st.SearchStrategy[bytes]) -> st.SearchStrategy[dict[str, bytes]]:
    return st.fixed_dictionaries(fields)


@bounded(50)
@given(fields=web_fields(unit=st.one_of(st.just(b"HTQ"), FORM_VALUES),
                         on=st.one_of(DAY_TEXTS.map(str.encode), FORM_VALUES),
                         inspector=st.one_of(st.just("张督学".encode()), FORM_VALUES),
                         text=FORM_VALUES, severity=st.one_of(st.just(b"general"), FORM_VALUES),
                         task=st.one_of(st.just(b""), FORM_VALUES)),
       raw=st.one_of(st.none(), st.none(), st.none(), st.binary(max_size=60)),
       csrf=st.one_of(st.none(), st.none(), st.none(), FORM_VALUES))
@example(fields={"unit": b"HTQ", "on": b"2024-09-02", "inspector": "张督学".encode(),
                 "text": b"web\x00nul", "severity": b"general", "task": b""}, raw=None, csrf=None)
@example(fields={"unit": b"HTQ", "on": b"2024-09-02", "inspector": "张督学".encode(),
                 "text": b"caf\xe9", "severity": b"general", "task": b""}, raw=None, csrf=None)
@example(fields={"unit": b"HTQ", "on": b"0001-01-01", "inspector": "张督学".encode(),
                 "text": "问题".encode(), "severity": b"general", "task": b""}, raw=None,
         csrf=None)
@example(fields={"unit": b"HTQ", "on": b"2024-09-02", "inspector": "张督学".encode(),
                 "text": "问题".encode(), "severity": b"general", "task": b""}, raw=None,
         csrf="阿".encode())  # was a 500: compare_digest on non-ASCII text
def test_web_record_finding(web: dict[str, Any], fields: dict[str, bytes],
                            raw: bytes | None, csrf: bytes | None) -> None:
    body = form({**fields, "csrf": web["csrf"] if csrf is None else csrf}) if raw is None else raw
    r, accepted = post_form(web, "/findings", body)
    if accepted:
        assert raw is None and csrf in (None, web["csrf"]), (raw, csrf)
        assert all(decodes(v) for v in fields.values()), fields
        fid = r.headers["location"].split("/")[2].split("?")[0]
        assert_stored_cleanly(web["app"], fid)
        assert web["web"].get(r.headers["location"]).status_code == 200


@bounded(40)
@given(fields=web_fields(on=st.one_of(DAY_TEXTS.map(str.encode), FORM_VALUES),
                         within=st.one_of(NUMBER_TEXTS.map(str.encode), FORM_VALUES,
                                          st.integers(-5, 4000).map(lambda n: str(n).encode())),
                         calendar_days=st.sampled_from([b"", b"1", b"0", b"\xff"])))
@example(fields={"on": b"9999-12-31", "within": b"10", "calendar_days": b""})
@example(fields={"on": b"2024-12-18", "within": b"3650", "calendar_days": b"1"})
@example(fields={"on": b"2024-12-18", "within": b"1" * 5000, "calendar_days": b""})
def test_web_order(web: dict[str, Any], fields: dict[str, bytes]) -> None:
    fid = new_finding(web["app"])
    _, accepted = post_form(web, f"/findings/{fid}/orders", form({**fields, "csrf": web["csrf"]}))
    if accepted:
        assert_stored_cleanly(web["app"], fid)
        assert web["web"].get(f"/findings/{fid}").status_code == 200


@bounded(30)
@given(token=FORM_VALUES, nxt=FORM_VALUES, csrf=FORM_VALUES)
@example(token=b"", nxt=b"", csrf=b"")
@example(token=b"x", nxt=b"/", csrf="é".encode())  # was a 500: compare_digest on non-ASCII
def test_web_login(web: dict[str, Any], token: bytes, nxt: bytes, csrf: bytes) -> None:
    with httpx.Client(base_url=str(web["web"].base_url), timeout=30) as client:
        client.get("/login")
        r = client.post("/login", content=form({"token": token, "next": nxt, "csrf": csrf}),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        follow_redirects=False)
        assert r.status_code in (401, 403, 413, 422), r.status_code  # 413: over the form body limit


def test_web_reads_back_after_the_fuzzing(web: dict[str, Any]) -> None:
    for path in ("/", "/units/HTQ"):
        assert web["web"].get(path).status_code == 200, path
    assert_reads_back(web)


# =================================================== the same on PostgreSQL
# A NUL that reaches PostgreSQL's text columns breaks every later read (issue 11, case 2):
# the API and the web form once more, on PostgreSQL, then every read path.


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    error = pg_unavailable()
    if error:
        need("PostgreSQL", error)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = f"{PG_URL}?schema={schema}"
    prepare(db)
    server = ApiServer(db, Clock()).start()
    server.app.add_unit("HTQ", "汉台区人民政府", principal="陈明", actor="t")
    server.app.import_plan(PLAN.read_bytes(), source=PLAN.name, code="XZ", actor="t")
    web_client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(web_client, server.token("inspector", name="李督学"))
    csrf = re.search(r'name="csrf" value="(\w+)"', web_client.get("/findings/new").text)
    assert csrf is not None
    s = {"server": server, "app": server.app, "web": web_client, "csrf": csrf.group(1).encode(),
         "inspector": server.client(server.token("inspector", name="张督学"))}
    yield s
    web_client.close()
    s["inspector"].close()
    server.stop()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@bounded(25)
@given(body=bodies(unit=st.just("HTQ"), on=st.one_of(st.just("2024-09-02"), JSON_DAYS),
                   inspector=st.one_of(st.just("张督学"), TEXTS), text=TEXTS,
                   task=st.one_of(st.none(), TEXTS)),
       fields=web_fields(unit=st.just(b"HTQ"), on=st.just(b"2024-09-02"),
                         inspector=st.one_of(st.just("张督学".encode()), FORM_VALUES),
                         text=FORM_VALUES, task=st.one_of(st.just(b""), FORM_VALUES)))
@example(body={"unit": "HTQ", "on": "2024-09-02", "inspector": "张督学", "text": "web\x00nul"},
         fields={"unit": b"HTQ", "on": b"2024-09-02", "inspector": "张督学".encode(),
                 "text": b"web\x00nul", "task": b"\x00"})
def test_postgres_api_and_web_record_finding(on_postgres: dict[str, Any], body: Any,
                                             fields: dict[str, bytes]) -> None:
    r, accepted = throw(on_postgres, "inspector", "/findings", body)
    if accepted:
        assert_stored_cleanly(on_postgres["app"], r.json()["finding_id"])
    r, accepted = post_form(on_postgres, "/findings", form({**fields, "csrf": on_postgres["csrf"]}))
    if accepted:
        assert all(decodes(v) for v in fields.values()), fields
        assert_stored_cleanly(on_postgres["app"], r.headers["location"].split("/")[2][:36])


def test_postgres_reads_back_after_the_fuzzing(on_postgres: dict[str, Any]) -> None:
    assert_reads_back(on_postgres)
    for path in ("/", "/units/HTQ"):
        assert on_postgres["web"].get(path).status_code == 200, path


# ============================================================ command line


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Cli, Dudao]]:
    db = str(tmp_path / "dudao.db")
    c = Cli(db, capsys)
    assert c("unit", "add", "HTQ", "--name", "汉台区人民政府", "--principal", "陈明")[0] == 0
    assert c("plan", "import", str(PLAN), "--code", "XZ")[0] == 0
    app = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(db))
    yield c, app
    app.close()


def typed(c: Cli, app: Dudao, *args: str) -> bool:
    """Run one command line; the answer is checked; returns whether it was accepted."""
    before = app.event_count()
    code, out, err = c(*args)  # an uncaught exception would fail the test here
    after = app.event_count()
    assert "Traceback" not in out + err
    if code == 0:
        return True
    lines = err.strip().splitlines()
    assert code in (1, 2) and len(lines) == 1 and lines[0].startswith("错误："), (args, code, err)
    assert after == before, (args, err)  # a refusal records nothing
    return False


ARG_TEXTS = TEXTS
ARG_DAYS = st.one_of(DAY_TEXTS, DAY_TEXTS, ANY_TEXT)
ARG_COUNTS = st.one_of(st.integers(-5, 4000).map(str), NUMBER_TEXTS)


@bounded(40)
@given(unit=st.one_of(st.just("HTQ"), ARG_TEXTS), on=ARG_DAYS,
       inspector=st.one_of(st.just("张督学"), ARG_TEXTS), text=ARG_TEXTS,
       severity=st.one_of(st.just("general"), ARG_TEXTS), task=st.one_of(st.none(), ARG_TEXTS))
@example(unit="HTQ", on="0001-01-01", inspector="张督学", text="问题", severity="general",
         task=None)
@example(unit="HTQ", on="2024-09-02", inspector="张督学", text="web\x00nul", severity="general",
         task=None)
@example(unit="HTQ", on="2024-09-02", inspector="张督学", text="问题", severity="general",
         task="\x08")  # was recorded as given
def test_cli_finding_record(cli: tuple[Cli, Dudao], unit: str, on: str, inspector: str,
                            text: str, severity: str, task: str | None) -> None:
    c, app = cli
    args = ["--json", "finding", "record", f"--unit={unit}", f"--on={on}",
            f"--inspector={inspector}", f"--text={text}", f"--severity={severity}"]
    if task is not None:
        args.append(f"--task={task}")
    before = app.event_count()
    if typed(c, app, *args):
        last = app.read_log(before + 1, 1)[0]
        assert_stored_cleanly(app, last.originator_id)


@bounded(40)
@given(on=ARG_DAYS, within=ARG_COUNTS, calendar_days=st.booleans())
@example(on="9999-12-31", within="10", calendar_days=False)
@example(on="2024-12-18", within="3650", calendar_days=True)
def test_cli_rectify_order(cli: tuple[Cli, Dudao], on: str, within: str,
                           calendar_days: bool) -> None:
    c, app = cli
    fid = new_finding(app)
    args = ["rectify", "order", fid, f"--on={on}", f"--within={within}"]
    if typed(c, app, *args, *(["--calendar-days"] if calendar_days else [])):
        assert_stored_cleanly(app, fid)


@bounded(40)
@given(on=ARG_DAYS, passed=st.booleans(), within=st.one_of(st.none(), ARG_COUNTS),
       note=st.one_of(st.none(), ARG_TEXTS))
@example(on="2024-12-01", passed=False, within="10", note="a\x00b")  # was stored as given
@example(on="2024-12-01", passed=True, within=None, note="a\x07b")
def test_cli_rectify_review(cli: tuple[Cli, Dudao], on: str, passed: bool, within: str | None,
                            note: str | None) -> None:
    c, app = cli
    fid = new_finding(app, "under_review")
    args = ["rectify", "review", fid, f"--on={on}", "--pass" if passed else "--fail"]
    args += [f"--within={within}"] if within is not None else []
    args += [f"--note={note}"] if note is not None else []
    if typed(c, app, *args):
        assert_stored_cleanly(app, fid)


@bounded(40)
@given(on=ARG_DAYS, to=ARG_DAYS, reason=ARG_TEXTS, report=ARG_TEXTS)
@example(on="2024-12-01", to="9999-12-31", reason="汛期", report="已整改")
def test_cli_rectify_extend_and_report(cli: tuple[Cli, Dudao], on: str, to: str, reason: str,
                                       report: str) -> None:
    c, app = cli
    fid = new_finding(app, "rectifying")
    if typed(c, app, "rectify", "extend", fid, f"--on={on}", f"--to={to}", f"--reason={reason}"):
        assert_stored_cleanly(app, fid)
    if typed(c, app, "rectify", "report", fid, f"--on={on}", f"--text={report}"):
        assert_stored_cleanly(app, fid)


@bounded(30)
@given(on=ARG_DAYS, interviewee=ARG_TEXTS, minutes=ARG_TEXTS)
def test_cli_interview_hold(cli: tuple[Cli, Dudao], on: str, interviewee: str,
                            minutes: str) -> None:
    c, app = cli
    fid = new_finding(app, "interview")
    if typed(c, app, "interview", "hold", fid, f"--on={on}", f"--interviewee={interviewee}",
             f"--minutes={minutes}"):
        assert_stored_cleanly(app, fid)


@bounded(50)
@given(indicator=ARG_COUNTS, value=NUMBER_TEXTS, on=ARG_DAYS,
       unit=st.one_of(st.none(), st.just("SJYJ"), ARG_TEXTS), note=st.one_of(st.none(), ARG_TEXTS))
@example(indicator="1", value="1e1000000", on="2024-12-01", unit=None, note=None)
@example(indicator="1", value="1E+999999", on="2024-12-01", unit=None, note=None)
@example(indicator="1", value="50", on="0001-01-01", unit=None, note=None)
def test_cli_task_progress(cli: tuple[Cli, Dudao], indicator: str, value: str, on: str,
                           unit: str | None, note: str | None) -> None:
    c, app = cli
    args = ["task", "progress", "XZ-4", f"--indicator={indicator}", f"--value={value}",
            f"--on={on}"]
    args += [f"--unit={unit}"] if unit is not None else []
    args += [f"--note={note}"] if note is not None else []
    if typed(c, app, *args):
        assert_task_stored_cleanly(app, "XZ-4")


@bounded(30)
@given(task=st.sampled_from([f"XZ-{n}" for n in range(1, 14)]), on=st.one_of(st.none(), ARG_DAYS),
       inspector=st.one_of(st.none(), ARG_TEXTS), note=st.one_of(st.none(), ARG_TEXTS))
@example(task="XZ-1", on="0001-01-01", inspector=None, note=None)
def test_cli_task_close(cli: tuple[Cli, Dudao], task: str, on: str | None,
                        inspector: str | None, note: str | None) -> None:
    c, app = cli
    args = ["task", "close", task]
    args += [f"--on={on}"] if on is not None else []
    args += [f"--inspector={inspector}"] if inspector is not None else []
    args += [f"--note={note}"] if note is not None else []
    if typed(c, app, *args):
        assert_task_stored_cleanly(app, task)


@bounded(30)
@given(code=st.one_of(st.from_regex(r"\A[A-Z][A-Z0-9_-]{0,8}\Z"), ARG_TEXTS), name=ARG_TEXTS,
       parent=st.one_of(st.none(), st.just("HTQ"), ARG_TEXTS),
       principal=st.one_of(st.none(), ARG_TEXTS))
@example(code="NZQ", name="南郑区", parent=None, principal="陈\x00明")  # was recorded as given
def test_cli_unit_add(cli: tuple[Cli, Dudao], code: str, name: str, parent: str | None,
                      principal: str | None) -> None:
    c, app = cli
    args = ["unit", "add", f"--name={name}"]
    args += [f"--parent={parent}"] if parent is not None else []
    args += [f"--principal={principal}"] if principal is not None else []
    if typed(c, app, *args, "--", code):
        unit = app.get_unit(code.strip())
        assert all(v is None or clean_text(v) for v in (unit.name, unit.principal)), unit


@bounded(40)
@given(actor=st.one_of(st.none(), ARG_TEXTS), now=st.one_of(st.none(), ARG_DAYS, ARG_TEXTS),
       as_of=st.one_of(st.none(), ARG_DAYS, ARG_TEXTS), name=ARG_TEXTS, finding=ARG_TEXTS)
@example(actor="x\x00y", now=None, as_of=None, name="张督学", finding="x")  # was recorded
@example(actor=None, now=None, as_of=None, name="张\x00督学", finding="x")  # was a traceback on PG
@example(actor=None, now="9999-12-31T23:59:59", as_of="0001-01-01", name="x", finding="")
def test_cli_global_options_and_readers(cli: tuple[Cli, Dudao], actor: str | None,
                                        now: str | None, as_of: str | None, name: str,
                                        finding: str) -> None:
    """--actor and --now on a write, --as-of on a report, a token's name, a finding id."""
    c, app = cli
    head = [f"--actor={actor}"] if actor is not None else []
    head += [f"--now={now}"] if now is not None else []
    before = app.event_count()
    if typed(c, app, *head, "finding", "record", "--unit=HTQ", "--on=2024-09-02",
             "--inspector=张督学", "--text=问题"):
        recorded = app.read_log(before + 1, 1)[0]
        assert_stored_cleanly(app, recorded.originator_id)
        assert clean_text(app.history(recorded.originator_id)[0]["actor"])
    typed(c, app, *head, "report", "unit", "HTQ", *([f"--as-of={as_of}"] if as_of else []))
    typed(c, app, "token", "create", "--role=inspector", f"--name={name}")
    typed(c, app, "finding", "show", "--", finding)
    typed(c, app, "audit", "trail", "--", finding)
