"""An inspector's forms on the finding page, served by the real service: 复查 (通过 /
未通过 with a new deadline / 弄虚作假 with a note) in headless Chromium without JavaScript;
bad input gets a 422 page whose Chinese message names the field, the form filled in again,
and records nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, login, token_sign_in

D = date.fromisoformat


@pytest.fixture
def reviewed(db: str, clock: Clock) -> Iterator[tuple[ApiServer, str, str]]:
    """A finding of 汉台区 ordered on 2024-09-25 (10 working days), a report in on 10-10."""
    server = ApiServer(db, clock).start()
    app = server.app
    clock.at("2024-09-25")
    app.add_unit("HTQ", "汉台区人民政府", actor="t")
    fid = str(app.record_finding(unit="HTQ", on=D("2024-09-25"), inspector="张督学",
                                 text="校舍消防通道堵塞", actor="t"))
    app.order_rectification(fid, on=D("2024-09-25"), within=10, actor="t")
    clock.at("2024-10-10")
    app.submit_report(fid, on=None, text="通道已清理", actor="unit:HTQ", role="unit")
    yield server, fid, server.token("inspector", None, "张督学")
    server.stop()


def csrf_of(html: str) -> str:
    got = re.search(r'name="csrf" value="(\w+)"', html)
    assert got is not None
    return got.group(1)


def test_bad_review_input_is_named_in_chinese_and_records_nothing(
        reviewed: tuple[ApiServer, str, str]) -> None:
    server, fid, token = reviewed
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, token)
    page = client.get(f"/findings/{fid}").text
    assert 'id="review-form"' in page
    for field in ("review-on", "review-within", "review-note"):  # every field labelled
        assert f'<label for="{field}">' in page, field
    csrf = csrf_of(page)
    before = server.events()
    cases = [
        ({"on": "2024-10-10"}, "复查结论"),
        ({"on": "2024-10-10", "outcome": "maybe"}, "复查结论"),
        ({"on": "", "outcome": "pass"}, "“复查日期”格式不对"),
        ({"on": "2024-10-11", "outcome": "pass"}, "晚于今天"),
        ({"on": "2024-10-09", "outcome": "pass"}, "整改报告日期"),
        ({"on": "2024-10-10", "outcome": "fail", "within": ""}, "“新的整改期限（天）”"),
        ({"on": "2024-10-10", "outcome": "fail", "within": "0"}, "整改期限"),
        ({"on": "2024-10-10", "outcome": "falsified", "note": "  "}, "弄虚作假的认定意见不能为空"),
    ]
    for data, words in cases:
        r = client.post(f"/findings/{fid}/reviews", data={"csrf": csrf, **data})
        assert r.status_code == 422, (data, r.status_code)
        error = re.search(r'<p class="error" id="error">(.*?)</p>', r.text)
        assert error is not None and words in error.group(1), (data, error)
        assert 'id="review-form"' in r.text  # the form again
    r = client.post(f"/findings/{fid}/reviews", data={"csrf": csrf, "on": "2024-10-10",
                                                      "outcome": "fail", "within": "x",
                                                      "note": "照片不清"})
    assert "照片不清" in r.text and 'value="fail" id="outcome-fail" style="width:auto" checked' \
        in r.text  # what was typed stays
    assert server.events() == before
    # a unit may not review; a forged form (no CSRF value) neither
    assert client.post(f"/findings/{fid}/reviews", data={"on": "2024-10-10",
                                                         "outcome": "pass"}).status_code == 422
    login(client, server.token("unit", "HTQ", None))
    unit_page = client.get(f"/findings/{fid}").text
    assert 'id="review-form"' not in unit_page
    r = client.post(f"/findings/{fid}/reviews", data={"csrf": csrf_of(unit_page),
                                                      "on": "2024-10-10", "outcome": "pass"})
    assert r.status_code == 403
    assert server.events() == before


def test_fail_falsified_and_pass_in_chromium(reviewed: tuple[ApiServer, str, str]) -> None:
    from playwright.sync_api import sync_playwright

    server, fid, token = reviewed
    app = server.app
    base = f"http://127.0.0.1:{server.port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/login")
            token_sign_in(page, token)
            page.goto(f"{base}/findings/{fid}")
            # 未通过: 5 working days from Thu 10-10: 10-11, 10-12 (make-up Saturday), 10-14,
            # 10-15, 10-16
            page.check("#outcome-fail")
            page.fill("#review-within", "5")
            page.fill("#review-note", "仍有杂物")
            before = server.events()
            page.click("#review-form button[type=submit]")
            assert page.inner_text("#notice") == "复查未通过，已给出新的整改期限。"
            assert server.events() == before + 1
            assert page.get_attribute("#status", "data-status") == "rectifying"
            assert page.inner_text("#deadline").startswith("2024-10-16")
            assert app.get_finding(fid).strikes == 1
            assert page.locator("#review-form").count() == 0  # nothing awaits review now
            # 弄虚作假: the deadline unchanged
            app.submit_report(fid, on=None, text="已清理", actor="unit:HTQ", role="unit")
            page.goto(f"{base}/findings/{fid}")
            page.check("#outcome-falsified")
            page.fill("#review-note", "照片为旧照片")
            page.click("#review-form button[type=submit]")
            assert page.inner_text("#notice") == "已认定整改报告弄虚作假，问题退回整改。"
            assert page.inner_text("#deadline").startswith("2024-10-16")
            assert app.get_finding(fid).falsified == 1
            assert "照片为旧照片" in page.inner_text("#timeline")
            # 通过: 销号
            app.submit_report(fid, on=None, text="确已清理", actor="unit:HTQ", role="unit")
            page.goto(f"{base}/findings/{fid}")
            page.check("#outcome-pass")
            page.click("#review-form button[type=submit]")
            assert page.inner_text("#notice") == "复查通过，问题已销号。"
            assert page.get_attribute("#status", "data-status") == "closed"
        finally:
            browser.close()


@pytest.fixture
def planned(sqlite_db: str, clock: Clock) -> Iterator[tuple[ApiServer, list[str]]]:
    from tests.conftest import SAMPLE_PLANS

    server = ApiServer(sqlite_db, clock).start()
    clock.at("2024-11-01")
    path = SAMPLE_PLANS / "county-high-schools-2023-2025.txt"
    server.app.import_plan(path.read_bytes(), source=path.name, code="XZ", actor="导入员")
    server.app.add_unit("U1", "一中", actor="t")
    tasks = [r["task"] for r in server.app.plan_ledger("XZ")["unassigned"]] + [
        r["task"] for u in server.app.plan_ledger("XZ")["units"] for r in u["tasks"]]
    yield server, list(dict.fromkeys(tasks))
    server.stop()


def test_task_sign_off_on_the_plan_page(planned: tuple[ApiServer, list[str]]) -> None:
    from playwright.sync_api import sync_playwright

    server, tasks = planned
    base = f"http://127.0.0.1:{server.port}"
    token = server.token("inspector", None, "张督学")
    client = httpx.Client(base_url=base, timeout=30)
    login(client, token)
    page_html = client.get("/plans/XZ").text
    assert page_html.count('class="close-form"') == len(tasks) == 13
    first = re.search(r'id="close-([^"]+)"', page_html)
    assert first is not None
    task = first.group(1)
    before = server.events()
    # bad input: a 422 naming the field, nothing recorded
    for data, words in (({"on": "2024-11-02"}, "晚于今天"), ({"on": "11/01"}, "“销号日期”格式不对"),
                        ({"on": "2024-11-01", "note": "\x07"}, "备注含有不可见的控制字符")):
        r = client.post(f"/plans/XZ/tasks/{task}/close", data={"csrf": csrf_of(page_html), **data})
        assert r.status_code == 422 and words in r.text, (data, r.text[-600:])
    assert client.post("/plans/XZ/tasks/NOPE/close",
                       data={"csrf": csrf_of(page_html), "on": "2024-11-01"}).status_code == 404
    assert server.events() == before
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/login")
            token_sign_in(page, token)
            page.goto(base + "/")
            page.click("#downloads a[href='/plans/XZ']")  # the overview links the page
            form = f"#close-{task}"
            assert page.locator(f"{form} label").count() == 2
            page.fill(f"{form} input[name=note]", "材料齐全，同意销号")
            page.click(f"{form} button[type=submit]")
            assert page.inner_text("#notice") == "任务已销号。"
            item = page.inner_text(f"#task-{task}")
            assert "已销号" in item and "2024-11-01 由张督学签字销号" in item
            assert page.locator(form).count() == 0
            assert server.events() == before + 1
        finally:
            browser.close()
    # a unit: no form; one not named in the plan: 404
    login(client, server.token("unit", "U1", None))
    assert client.get("/plans/XZ").status_code == 404
    assert client.post(f"/plans/XZ/tasks/{tasks[1]}/close",
                       data={"csrf": "x", "on": "2024-11-01"}).status_code in (403, 404)
    assert server.events() == before + 1
