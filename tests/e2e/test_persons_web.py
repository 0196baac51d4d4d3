"""The persons on the web pages, served by the real service: the unit page's 人员 section
and its forms (add, end), a person's page, and the finding page's 登记约谈 form picking the
person from the unit's and recording commitments. Roles and CSRF as the other forms; a
refusal shows the domain's reason in Chinese and records nothing. The last test drives a
real headless Chromium (as tests/e2e/test_web.py does)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.e2e.test_web import (
    CHROMIUM_FLAGS,
    _close_pools,
    chromium_path,
    login,
    served,
    site,
    token_sign_in,
)

# test_web's fixtures: the reports' scenario (it ends 2024-11-01; h1 of U3 has
# escalated to 约谈, with no interview yet) on the real service, with a token per role
# (``served`` on both stores, ``site`` on SQLite for the browser)
__all__ = ["_close_pools", "served", "site"]

ENGLISH = re.compile(r"\((?:[a-z][\w '=.:-]*)\)")  # an English half of a message, "(… …)"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="(\w+)"', page)
    assert found is not None
    return found.group(1)


def client_of(server: ApiServer, token: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, token)
    return client


def test_the_unit_pages_persons_forms_and_roles(
        served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    server, _, tokens = served
    app = server.app
    inspector = client_of(server, tokens["tok-inspector"])
    page = inspector.get("/units/U1").text
    assert 'id="persons"' in page and 'id="person-form"' in page
    assert '<b id="principal">负责人U1</b>' in page and "尚未登记人员" in page
    csrf = csrf_of(page)
    before = app.event_count()
    # a forged form and a refused one record nothing; the refusal is shown in Chinese
    r = inspector.post("/units/U1/persons", data={"name": "王强", "from": "2024-10-08"})
    assert r.status_code == 422 and "表单已过期" in r.text
    for data, says in (({"name": "  ", "from": "2024-10-08"}, "人员姓名不能为空"),
                       ({"name": "王强", "from": "2024-11-02"}, "晚于今天"),
                       ({"name": "王强", "from": "2024/10/08"}, "日期格式不对"),
                       ({"name": "王" * 51, "from": "2024-10-08"}, "人员姓名过长")):
        r = inspector.post("/units/U1/persons", data={"csrf": csrf, **data})
        assert r.status_code == 422 and says in r.text, (data, r.text[-2000:])
        error = re.search(r'<p class="error" id="error">([^<]*)</p>', r.text)
        assert error is not None and not ENGLISH.search(error.group(1)), error
        assert f'value="{data["name"].strip()}"' in r.text  # the form keeps what was typed
    assert inspector.post("/units/U9/persons", data={"csrf": csrf, "name": "王强",
                                                     "from": "2024-10-08"}).status_code == 404
    assert app.event_count() == before
    # added: the list, the principal of today
    r = inspector.post("/units/U1/persons", follow_redirects=False, data={
        "csrf": csrf, "name": "王强", "post": "校长", "principal": "1", "from": "2024-10-08"})
    assert r.status_code == 303 and r.headers["location"] == \
        "/units/U1?notice=person_added#persons"
    assert app.event_count() > before
    page = inspector.get(r.headers["location"]).text
    assert '<p class="notice" id="notice">人员已登记。</p>' in page
    assert '<b id="principal">王强</b>' in page and "主要负责人：王强" in page
    row = re.search(r'<tr data-person="([0-9a-f-]+)">(.*?)</tr>', page, re.S)
    assert row is not None
    pid, cells = row.groups()
    assert "校长" in cells and "<td>是</td>" in cells and "2024-10-08 至 今" in cells
    assert "principal" not in cells and "True" not in cells  # no enum values shown
    # a second principal while the first is in post: refused with the reason
    before = app.event_count()
    r = inspector.post("/units/U1/persons", data={"csrf": csrf, "name": "赵六",
                                                  "principal": "1", "from": "2024-10-20"})
    assert r.status_code == 422 and "已有主要负责人王强" in r.text
    assert app.event_count() == before
    # ended: the row says so, and the principal is the registered one again after that day
    r = inspector.post(f"/persons/{pid}/end", data={"csrf": csrf, "on": "2024-10-07"})
    assert r.status_code == 422 and "王强：" in r.text and "早于任职日期" in r.text
    assert app.event_count() == before
    r = inspector.post(f"/persons/{pid}/end", data={"csrf": csrf, "on": "2024-10-31"},
                       follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == \
        "/units/U1?notice=person_ended#persons"
    page = inspector.get(r.headers["location"]).text
    assert "人员已办理离任。" in page and "2024-10-08 至 2024-10-31" in page and "已离任" in page
    assert '<b id="principal">负责人U1</b>' in page
    assert app.principal_at("U1", app.now().date()) == "负责人U1"
    # the person's page: their record
    page = inspector.get(f"/persons/{pid}").text
    assert "人员档案" in page and "王强" in page and "单位U1" in page and "（已离任）" in page
    assert 'href="/units/U1#persons"' in page
    assert inspector.get("/persons/not-a-uuid").status_code == 404
    # other roles: readers without the forms; a unit its own unit's persons only
    for name, may_read_u1 in (("tok-u1", True), ("tok-auditor", True)):
        reader = client_of(server, tokens[name])
        page = reader.get("/units/U1").text
        assert may_read_u1 and 'id="person-list"' in page
        assert 'id="person-form"' not in page and "end-form" not in page
        before = app.event_count()  # (the role is refused before the form's CSRF value)
        r = reader.post("/units/U1/persons", data={"name": "甲", "from": "2024-10-08"})
        assert r.status_code == 403 and "只有管理员、督学可以登记人员" in r.text
        r = reader.post(f"/persons/{pid}/end", data={"on": "2024-10-31"})
        assert r.status_code == 403
        assert reader.get(f"/persons/{pid}").status_code == 200
        assert app.event_count() == before
    unit = client_of(server, tokens["tok-u1"])
    other = app.add_person(unit="U2", name="周七", from_date=app.now().date(), actor="t")
    assert unit.get(f"/persons/{other}").status_code == 404
    assert unit.post(f"/persons/{other}/end", data={"csrf": "x", "on": "2024-11-01"}
                     ).status_code == 404
    assert unit.post("/units/U2/persons", data={"name": "甲"}).status_code == 404
    # an admin adds and ends persons too
    admin = client_of(server, server.token("admin", None, "管理员"))
    page = admin.get("/units/U2").text
    assert 'id="person-form"' in page and "周七" in page
    r = admin.post(f"/persons/{other}/end", data={"csrf": csrf_of(page), "on": "2024-11-01"},
                   follow_redirects=False)
    assert r.status_code == 303


def test_the_interview_form_picks_the_person_and_records_commitments(
        served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    server, f, tokens = served
    app = server.app
    head = app.add_person(unit="U3", name="孙局长", post="教育局局长", principal=True,
                          from_date=app.now().date().replace(month=1, day=1), actor="t")
    gone = app.add_person(unit="U3", name="钱副局长", from_date=app.now().date().replace(
        month=1, day=1), to_date=app.now().date().replace(month=6, day=30), actor="t")
    app.add_person(unit="U1", name="王强", from_date=app.now().date(), actor="t")
    inspector = client_of(server, tokens["tok-inspector"])
    # no form where the finding has not escalated to 约谈, or where it was held already
    assert 'id="interview-form"' not in inspector.get(f"/findings/{f['f9']}").text
    assert 'id="interview-form"' not in inspector.get(f"/findings/{f['f6']}").text
    page = inspector.get(f"/findings/{f['h1']}").text
    assert 'id="interview-form"' in page
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                         page.split('id="interview-person"')[1].split("</select>")[0])
    # the unit's persons in post today (not the one who left, not another unit's)
    assert options == [("", "不点名人员，填写下面的被约谈人"),
                       (str(head), "孙局长（教育局局长，主要负责人）")]
    assert str(gone) not in page and "王强" not in page
    csrf = csrf_of(page)
    fid = f["h1"]
    before = app.event_count()
    base = {"csrf": csrf, "on": "2024-11-01", "person": str(head), "minutes": "限期整改"}
    for data, says in (({"commitment_on_2": "2024-11-30"}, "第2条整改承诺缺少内容"),
                       ({"commitment_text_1": "补课"}, "第1条整改承诺缺少日期"),
                       ({"commitment_on_1": "2024-10-31", "commitment_text_1": "补课"},
                        "早于约谈日期"),
                       ({"person": str(gone)}, "不在任"),
                       ({"person": "", "interviewee": ""}, "被约谈人不能为空"),
                       ({"interviewee": "李四"}, "与所选人员“孙局长”不一致"),
                       ({"on": "2024-11-02"}, "晚于今天")):
        r = inspector.post(f"/findings/{fid}/interviews", data={**base, **data})
        assert r.status_code == 422 and says in r.text, (data, r.text[-3000:])
        assert 'id="interview-form"' in r.text  # shown again, with what was typed
        assert 'value="限期整改"' in r.text or ">限期整改</textarea>" in r.text
    assert app.event_count() == before
    r = inspector.post(f"/findings/{fid}/interviews", follow_redirects=False, data={
        **base, "commitment_on_1": "2024-11-30", "commitment_text_1": "11月底前完成培训补课",
        "commitment_on_3": "2024-12-15", "commitment_text_3": "12月中旬前补齐台账"})
    assert r.status_code == 303 and r.headers["location"] == \
        f"/findings/{fid}?notice=interviewed"
    assert app.event_count() == before + 1
    held = app.get_finding(fid)
    assert (held.interview_held_on.isoformat(), held.interviewee,
            held.interview_person_id) == ("2024-11-01", "孙局长", str(head))
    assert [(c["on"].isoformat(), c["text"]) for c in held.commitments] == [
        ("2024-11-30", "11月底前完成培训补课"), ("2024-12-15", "12月中旬前补齐台账")]
    page = inspector.get(r.headers["location"]).text
    assert "约谈已登记。" in page and 'id="interview-form"' not in page
    assert "约谈孙局长：限期整改" in page and "2024-11-30前11月底前完成培训补课" in page
    # the person's page shows the interview and the commitments
    page = inspector.get(f"/persons/{head}").text
    interviews = page.split('id="interviews"')[1].split("</table>")[0]
    assert "问题h1" in interviews and "2024-11-01" in interviews
    assert "12月中旬前补齐台账" in page.split('id="commitments"')[1]
    # a unit cannot hold an interview; another unit's finding answers 404
    unit = client_of(server, tokens["tok-u1"])
    assert unit.post(f"/findings/{fid}/interviews", data=base).status_code == 404
    r = unit.post(f"/findings/{f['f6']}/interviews", data=base)
    assert r.status_code == 403 and "只有督学可以登记约谈" in r.text


# ----------------------------------------------------------------- browser


def test_adding_a_principal_in_headless_chromium_changes_the_unit_page(
        site: tuple[str, Dudao, dict[str, Any], dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    base, app, _, tokens = site
    token = tokens["tok-inspector"]
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/units/U1")
            assert page.url.startswith(base + "/login")
            token_sign_in(page, token)
            assert page.url == base + "/units/U1"
            assert page.inner_text("#principal") == "负责人U1"
            before = app.event_count()
            page.fill("#person-name", "王强")
            page.fill("#person-post", "校长")
            page.check("#person-principal")
            page.fill("#person-from", "2024-10-08")
            page.click("#person-form button[type=submit]")
            assert page.url == base + "/units/U1?notice=person_added#persons"
            assert page.inner_text("#notice") == "人员已登记。"
            assert page.inner_text("#principal") == "王强"
            assert "主要负责人：王强" in page.inner_text(".doc-no >> nth=0")
            assert app.event_count() > before
            assert app.principal_at("U1", app.now().date()) == "王强"
            cells = [c.inner_text() for c in
                     page.query_selector_all("#person-list tr[data-person] td")]
            assert cells[:4] == ["王强", "校长", "是", "2024-10-08 至 今"]
            # the person's page, then back; ending them brings the registered one back
            page.click("#person-list a")
            assert page.url.startswith(base + "/persons/")
            assert "王强" in page.inner_text(".doc-no >> nth=0")
            page.click("#unit-link")
            page.fill(".end-form input[name=on]", "2024-10-31")
            page.click(".end-form button[type=submit]")
            assert page.inner_text("#notice") == "人员已办理离任。"
            assert page.inner_text("#principal") == "负责人U1"
            assert "2024-10-08 至 2024-10-31" in page.inner_text("#person-list")
        finally:
            browser.close()
