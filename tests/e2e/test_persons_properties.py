"""Property: whatever reaches the persons' entry points (the API's /persons routes, the
unit page's forms, the finding page's 登记约谈 form, their readers), dudao answers with
success or a 4xx, never a 5xx, a refusal records nothing, and what is accepted is stored
cleanly (storable text within the domain's bounds, dates in range). The strategies, the
service and the checks are tests/e2e/test_entry_properties.py's."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from hypothesis import event, example, given
from hypothesis import strategies as st

from domain.persons import MAX_NAME, MAX_POST
from tests.e2e.test_entry_properties import (
    ANY_TEXT,
    DAY_TEXTS,
    FORM_VALUES,
    JSON_DAYS,
    JSON_VALUES,
    TEXTS,
    bodies,
    bounded,
    clean_text,
    decodes,
    form,
    in_range,
    new_finding,
    post_form,
    served,
    throw,
    web,
    web_fields,
)
from tests.e2e.test_entry_properties import assert_stored_cleanly as finding_stored_cleanly

__all__ = ["served", "web"]  # the module's fixtures, used here


def assert_person_stored_cleanly(s: dict[str, Any], person_id: str) -> None:
    p = s["app"].get_person(person_id)
    assert clean_text(p.name) and len(p.name) <= MAX_NAME, p.name
    assert p.post is None or (clean_text(p.post) and len(p.post) <= MAX_POST), p.post
    assert isinstance(p.principal, bool)
    assert in_range(p.from_date) and in_range(p.to_date)
    assert p.to_date is None or p.from_date <= p.to_date


def post_repeatable(w: dict[str, Any], path: str, body: bytes) -> tuple[Any, bool]:
    """``post_form`` for a form whose repeat is accepted and records nothing (the same
    person added again: the first record stands)."""
    app = w["app"]
    before = app.event_count()
    r = w["web"].post(path, content=body, follow_redirects=False,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code < 500, (path, body, r.status_code, r.text[:500])
    if r.status_code != 303:
        assert 400 <= r.status_code < 500 and "Traceback" not in r.text, (path, body)
        assert app.event_count() == before, (path, body, r.status_code)
        return r, False
    assert app.event_count() >= before
    return r, True


def staff(s: dict[str, Any]) -> str:
    """A person of HTQ (not the principal) in post since 2024-01-01."""
    return str(s["app"].add_person(unit="HTQ", name=f"人员{s['app'].event_count()}",
                                   from_date=date(2024, 1, 1), actor="t"))


# ======================================================================= API


@bounded(60)
@given(body=bodies(unit=st.one_of(st.just("HTQ"), TEXTS, JSON_VALUES),
                   name=st.one_of(st.just("李明"), TEXTS, JSON_VALUES),
                   post=st.one_of(st.none(), TEXTS, JSON_VALUES),
                   principal=st.one_of(st.booleans(), JSON_VALUES),
                   **{"from": JSON_DAYS, "to": st.one_of(st.none(), JSON_DAYS)}))
@example(body={"unit": "HTQ", "name": "李\x00明", "from": "2024-01-01"})
@example(body={"unit": "HTQ", "name": "李明", "from": "0001-01-01"})
@example(body={"unit": "HTQ", "name": "李明", "from": "2024-01-01", "to": "9999-12-31"})
@example(body={"unit": "HTQ", "name": "赵六", "post": "校长", "from": "2024-03-01"})
def test_api_add_person(served: dict[str, Any], body: Any) -> None:
    r, accepted = throw(served, "inspector", "/persons", body)
    event("accepted" if accepted else "refused")
    if accepted:
        assert_person_stored_cleanly(served, r.json()["person_id"])


@bounded(40)
@given(body=bodies(on=JSON_DAYS))
@example(body={"on": "0001-01-01"})
@example(body={"on": "2023-12-31"})
@example(body={"on": "2024-10-25"})
def test_api_end_person(served: dict[str, Any], body: Any) -> None:
    pid = staff(served)
    _, accepted = throw(served, "admin", f"/persons/{pid}/end", body)
    event("accepted" if accepted else "refused")
    if accepted:
        assert_person_stored_cleanly(served, pid)


@bounded(40)
@given(person=st.one_of(st.none(), TEXTS, JSON_VALUES, st.just("staff")),
       interviewee=st.one_of(st.none(), TEXTS, JSON_VALUES),
       commitments=st.one_of(st.just([]), JSON_VALUES, st.lists(
           st.fixed_dictionaries({"on": JSON_DAYS, "text": st.one_of(TEXTS, JSON_VALUES)}),
           max_size=3)))
@example(person="staff", interviewee=None,
         commitments=[{"on": "2024-11-30", "text": "11月底前完成培训补课"}])
def test_api_interview_naming_a_person(served: dict[str, Any], person: Any, interviewee: Any,
                                       commitments: Any) -> None:
    fid = new_finding(served["app"], "interview")
    body = {"on": "2024-11-01", "minutes": "纪要", "interviewee": interviewee,
            "person": staff(served) if person == "staff" else person,
            "commitments": commitments}
    _, accepted = throw(served, "inspector", f"/findings/{fid}/interviews", body)
    event("accepted" if accepted else "refused")
    if accepted:
        finding_stored_cleanly(served["app"], fid)
        f = served["app"].get_finding(fid)
        assert all(in_range(c["on"]) and clean_text(c["text"]) for c in f.commitments)


@bounded(30)
@given(part=ANY_TEXT, query=st.dictionaries(
    st.sampled_from(["unit", "as_of", "on"]), st.one_of(ANY_TEXT, DAY_TEXTS), max_size=2))
def test_readers(web: dict[str, Any], part: str, query: dict[str, str]) -> None:
    """GET with any id in the path and any query: an answer, never a server error."""
    part = quote(part, safe="")
    for client, url in ((web["inspector"], f"/persons/{part}"),
                        (web["inspector"], "/persons"), (web["unit"], "/persons"),
                        (web["unit"], f"/persons/{part}"),
                        (web["inspector"], f"/units/{part}/principal"),
                        (web["inspector"], "/units/HTQ/principal"),
                        (web["web"], f"/persons/{part}"), (web["web"], "/units/HTQ")):
        r = client.get(url, params=query, follow_redirects=False)
        assert r.status_code < 500, (url, query, r.status_code, r.text[:300])


# ================================================================= web forms


@bounded(40)
@given(fields=web_fields(name=st.one_of(st.just("李明".encode()), FORM_VALUES),
                         post=st.one_of(st.just(b""), FORM_VALUES),
                         principal=st.sampled_from([b"", b"1", b"0", b"\xff"]),
                         **{"from": st.one_of(DAY_TEXTS.map(str.encode), FORM_VALUES)}))
@example(fields={"name": b"web\x00nul", "post": b"", "principal": b"", "from": b"2024-01-01"})
@example(fields={"name": "李明".encode(), "post": b"\xff", "principal": b"",
                 "from": b"2024-01-01"})
@example(fields={"name": "赵六".encode(), "post": "校长".encode(), "principal": b"",
                 "from": b"2024-03-01"})
def test_web_add_person(web: dict[str, Any], fields: dict[str, bytes]) -> None:
    before = {p["person_id"] for p in web["inspector"].get("/persons").json()["persons"]}
    r, accepted = post_repeatable(web, "/units/HTQ/persons",
                                  form({**fields, "csrf": web["csrf"]}))
    event("accepted" if accepted else "refused")
    if accepted:
        assert all(decodes(v) for v in fields.values()), fields
        assert web["web"].get(r.headers["location"]).status_code == 200
        after = {p["person_id"] for p in web["inspector"].get("/persons").json()["persons"]}
        for pid in after - before:
            assert_person_stored_cleanly(web, pid)


@bounded(30)
@given(on=st.one_of(DAY_TEXTS.map(str.encode), FORM_VALUES))
@example(on=b"9999-12-31")
@example(on=b"2024-10-25")
def test_web_end_person(web: dict[str, Any], on: bytes) -> None:
    pid = staff(web)
    _, accepted = post_form(web, f"/persons/{pid}/end", form({"on": on, "csrf": web["csrf"]}))
    event("accepted" if accepted else "refused")
    if accepted:
        assert_person_stored_cleanly(web, pid)


@bounded(40)
@given(fields=web_fields(on=st.one_of(st.just(b"2024-11-01"), DAY_TEXTS.map(str.encode)),
                         person=st.one_of(st.just(b""), st.just(b"staff"), FORM_VALUES),
                         interviewee=st.one_of(st.just(b""), FORM_VALUES),
                         minutes=st.one_of(st.just("纪要".encode()), FORM_VALUES),
                         commitment_on_1=st.one_of(st.just(b""), DAY_TEXTS.map(str.encode)),
                         commitment_text_1=st.one_of(st.just(b""), FORM_VALUES),
                         commitment_on_3=st.one_of(st.just(b""), FORM_VALUES),
                         commitment_text_3=st.one_of(st.just(b""), FORM_VALUES)))
@example(fields={"on": b"2024-11-01", "person": b"staff", "interviewee": b"",
                 "minutes": "纪要".encode(), "commitment_on_1": b"2024-11-30",
                 "commitment_text_1": "补课".encode(), "commitment_on_3": b"",
                 "commitment_text_3": b""})
def test_web_interview(web: dict[str, Any], fields: dict[str, bytes]) -> None:
    fid = new_finding(web["app"], "interview")
    if fields["person"] == b"staff":
        fields = {**fields, "person": staff(web).encode()}
    _, accepted = post_form(web, f"/findings/{fid}/interviews",
                            form({**fields, "csrf": web["csrf"]}))
    event("accepted" if accepted else "refused")
    if accepted:
        finding_stored_cleanly(web["app"], fid)
        f = web["app"].get_finding(fid)
        assert all(in_range(c["on"]) and clean_text(c["text"]) for c in f.commitments)
        assert web["web"].get(f"/findings/{fid}").status_code == 200


def test_reads_back_after_the_fuzzing(web: dict[str, Any]) -> None:
    """Runs last in this module: everything accepted above reads back, on every page."""
    for client, path in ((web["inspector"], "/persons"), (web["unit"], "/persons"),
                         (web["inspector"], "/units/HTQ/principal"), (web["web"], "/units/HTQ")):
        assert client.get(path).status_code == 200, path
    for p in web["inspector"].get("/persons").json()["persons"]:
        assert web["inspector"].get(f"/persons/{p['person_id']}").status_code == 200
        assert web["web"].get(f"/persons/{p['person_id']}").status_code == 200
