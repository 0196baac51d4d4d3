"""The desks (/desk) served by the real service: an inspector's queues on a small store with
known dates (SQLite and PostgreSQL), a unit's to-do list, and a phone-sized Chromium with
no horizontal scroll on the desk and the finding page."""

from __future__ import annotations

import os
import re
import time as time_module
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, login, token_sign_in

D = date.fromisoformat
TODAY = "2024-10-14"  # a Monday; 3 working days on: Thursday 2024-10-17


def desk_store(app: Dudao, clock: Clock) -> dict[str, Any]:
    """Findings in every state, on dates the queues sort out (today: ``TODAY``)."""
    f: dict[str, Any] = {}
    clock.at("2024-09-02")
    app.add_unit("A", "甲区教育局", principal="甲负责人", actor="t")
    app.add_unit("B", "乙区教育局", principal="乙负责人", actor="t")

    def rec(name: str, unit: str, text: str, severity: str = "general") -> None:
        f[name] = app.record_finding(unit=unit, on=clock.moment.date(), inspector="王督学",
                                     text=text, severity=severity, actor="t")

    rec("late", "A", "校舍安全隐患未排查", "serious")
    rec("review", "A", "食堂台账不全")
    rec("closed", "A", "图书室未开放")
    rec("b_late", "B", "体育课开课率不足", "major")
    for name in ("late", "review", "closed", "b_late"):
        f[name + "_deadline"] = app.order_rectification(f[name], on=D("2024-09-02"), within=5,
                                                        actor="t")
    clock.at("2024-09-05")
    app.submit_report(f["review"], on=D("2024-09-05"), text="已补齐", actor="t")
    app.submit_report(f["closed"], on=D("2024-09-05"), text="已开放", actor="t")
    app.review(f["closed"], on=D("2024-09-05"), passed=True, actor="t")
    clock.at("2024-10-08")
    rec("soon", "A", "课后服务收费不规范")
    f["soon_deadline"] = app.order_rectification(f["soon"], on=D("2024-10-08"), within=6,
                                                 actor="t")
    clock.at(TODAY)
    rec("later", "A", "体育器材不足")
    f["later_deadline"] = app.order_rectification(f["later"], on=D(TODAY), within=20, actor="t")
    rec("recorded", "B", "作业公示不及时")
    # 延期申请: two pending (soon, later); one decided already (late: refused)
    f["soon_request"] = app.request_extension(f["soon"], to=D("2024-11-29"), reason="施工期长",
                                              actor="unit:A")
    f["later_request"] = app.request_extension(f["later"], to=D("2024-12-20"),
                                               reason="资金未到位", actor="unit:A")
    late_request = app.request_extension(f["late"], to=D("2024-11-01"), reason="人手不足",
                                         actor="unit:A")
    app.decide_extension(late_request, grant=False, actor="t")
    return f


@pytest.fixture
def desk_site(db: str, clock: Clock) -> Iterator[tuple[ApiServer, dict[str, Any]]]:
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    f = desk_store(seed, clock)
    seed.close()
    server = ApiServer(db, clock).start()
    yield server, f
    server.stop()


def rows(html: str) -> list[str]:
    return re.findall(r'data-finding="([0-9a-f-]+)"', html)


def test_queues_sort_the_findings_by_their_dates(desk_site: tuple[ApiServer, dict[str, Any]]
                                                 ) -> None:
    server, f = desk_site
    assert f["soon_deadline"] == D("2024-10-15") and f["late_deadline"] == D("2024-09-09")
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, server.token("inspector", None, "王督学"))

    def queue(**params: str) -> list[str]:
        r = client.get("/desk", params=params)
        assert r.status_code == 200, r.text
        return rows(r.text)

    ids = {k: str(v) for k, v in f.items() if not k.endswith(("_deadline", "_request"))}
    # 已逾期: longest overdue first (same deadline: by id); not the one awaiting review
    assert sorted(queue(queue="overdue")) == sorted([ids["late"], ids["b_late"]])
    assert queue(queue="due_soon") == [ids["soon"]]
    assert queue(queue="under_review") == [ids["review"]]
    everything = queue(queue="all")
    assert sorted(everything) == sorted(ids.values())
    # filters: unit by name or code, severity, text (a substring of Chinese text), period
    assert queue(queue="overdue", unit="乙区") == [ids["b_late"]]
    assert queue(queue="overdue", unit="A") == [ids["late"]]
    assert queue(queue="overdue", severity="serious") == [ids["late"]]
    assert queue(queue="all", q="体育") == sorted([ids["b_late"], ids["later"]],
                                                  key=everything.index)
    assert queue(queue="all", q="100%_") == []  # wildcards are the words, not patterns
    since = queue(queue="all", since="2024-10-01")
    assert sorted(since) == sorted([ids["later"], ids["soon"], ids["recorded"]])
    assert since[-1] == ids["soon"]  # newest first
    assert queue(queue="all", until="2024-09-30", q="课") == [ids["b_late"]]
    # each row: the unit's name (not its code), the days in words with the colour named
    page = client.get("/desk", params={"queue": "overdue", "unit": "A"}).text
    assert "甲区教育局" in page and "红　已逾期 35 天" in page  # 2024-09-09 → 10-14
    assert "当前升级：未升级；下一级：预警，自2024年9月4日起已达升级条件，待升级巡检记录" in page
    page = client.get("/desk", params={"queue": "due_soon"}).text
    assert "黄　还剩 1 天，即将到期" in page and "2024-10-17" in page
    page = client.get("/desk", params={"queue": "under_review"}).text
    assert "已报送整改报告，待复查" in page and not re.search(r"已逾期 \d+ 天", page)
    # 延期申请: the pending requests, soonest deadline first; a decided one is not listed
    assert queue(queue="extension_requests") == [ids["soon"], ids["later"]]
    page = client.get("/desk", params={"queue": "extension_requests"}).text
    assert "2024-10-14 申请延期，待批复" in page
    assert queue(queue="extension_requests", unit="乙区") == []
    # a decision takes the finding off the queue: a grant, and a refusal
    server.app.decide_extension(f["soon_request"], grant=True, actor="t")
    assert queue(queue="extension_requests") == [ids["later"]]
    server.app.decide_extension(f["later_request"], grant=False, actor="t")
    assert queue(queue="extension_requests") == []
    # bad input: a 422 page naming the field
    r = client.get("/desk", params={"queue": "all", "since": "yesterday"})
    assert r.status_code == 422 and "since" in r.text
    r = client.get("/desk", params={"queue": "nope"})
    assert r.status_code == 422 and "queue" in r.text
    r = client.get("/desk", params={"queue": "all", "cursor": "forged"})
    assert r.status_code == 422 and "cursor" in r.text


def test_a_unit_lands_on_its_to_do_list(desk_site: tuple[ApiServer, dict[str, Any]]) -> None:
    server, f = desk_site
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, server.token("unit", "A", None))
    r = client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/desk"
    page = client.get("/desk").text
    # to rectify or awaiting review, soonest deadline first; not closed, not another unit's
    got = rows(page)
    assert sorted(got[:2]) == sorted([str(f["late"]), str(f["review"])])  # same deadline
    assert got[2:] == [str(f["soon"]), str(f["later"])]
    assert "甲区教育局" in page and 'href="/units/A"' in page
    assert "绿　还剩" in page and "红　已逾期 35 天" in page
    # the queue parameters do not widen a unit's view
    assert str(f["b_late"]) not in client.get("/desk", params={"queue": "all"}).text


def rung_line(html: str, fid: Any) -> str:
    got = re.search(rf'data-finding="{fid}".*?<div class="meta rung">(.*?)</div>', html, re.S)
    assert got is not None, fid
    return got.group(1)


def cn_day(words: str) -> date:
    got = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", words)
    assert got is not None, words
    return date(*map(int, got.groups()))


def test_the_desks_name_the_next_rung_on_the_day_the_sweep_takes_it(
        desk_site: tuple[ApiServer, dict[str, Any]], db: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Current rung and next rung with its day, in words, on both desks; the sweep, run the
    day before that day, does not escalate it; run on that day, it does. A model far behind
    is caught up in the background: the page does not wait, and names no day until then."""
    from adapters.bootstrap import sweeper
    from adapters.entrypoints.web import desk
    from domain.time import SHANGHAI

    server, f = desk_site
    inspector = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(inspector, server.token("inspector", None, "王督学"))
    monkeypatch.setattr(desk, "CATCH_UP_MAX", 0)  # any lag is too far behind
    line = rung_line(inspector.get("/desk", params={"queue": "all"}).text, f["later"])
    assert line == "当前升级：未升级；下一级：预警（升级日期正在计算，稍后刷新可见）"
    for _ in range(100):  # the background catch-up
        line = rung_line(inspector.get("/desk", params={"queue": "all"}).text, f["later"])
        if "正在计算" not in line:
            break
        time_module.sleep(0.1)
    assert "起仍未整改即升级" in line
    monkeypatch.setattr(desk, "CATCH_UP_MAX", 3000)
    unit = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(unit, server.token("unit", "A", None))
    sweep = sweeper(server.app, db)

    def at(day: date) -> Any:
        return datetime.combine(day, time(9), SHANGHAI)

    def rungs() -> list[str]:
        return [e["code"] for e in server.app.history(f["later"])
                if e["type"] == "EscalationRaised"]

    line = rung_line(inspector.get("/desk", params={"queue": "all"}).text, f["later"])
    assert line.startswith("当前升级：未升级；下一级：预警，") and line.endswith("起仍未整改即升级")
    assert rung_line(unit.get("/desk").text, f["later"]) == line  # the unit reads the same
    first = cn_day(line)
    assert first < f["later_deadline"]  # 预警 comes before the deadline
    sweep.run(now=at(first - timedelta(days=1)))
    assert rungs() == []
    sweep.run(now=at(first))
    assert rungs() == ["reminder"]
    # now the next one: after the deadline, named with its day
    line = rung_line(inspector.get("/desk", params={"queue": "all"}).text, f["later"])
    assert line.startswith("当前升级：预警；下一级：督办，"), line
    second = cn_day(line)
    assert second > f["later_deadline"]
    sweep.run(now=at(second - timedelta(days=1)))
    assert rungs() == ["reminder"]
    sweep.run(now=at(second))
    assert rungs() == ["reminder", "supervise"]
    # a report under review pauses the rest; a closed finding has no next rung
    page = inspector.get("/desk", params={"queue": "under_review"}).text
    assert rung_line(page, f["review"]).endswith("整改报告待复查，复查前暂停升级")
    page = inspector.get("/desk", params={"queue": "all"}).text
    assert rung_line(page, f["closed"]) == "当前升级：未升级"
    assert rung_line(page, f["recorded"]) == "当前升级：未升级"


def test_desk_and_finding_page_fit_a_phone(desk_site: tuple[ApiServer, dict[str, Any]],
                                           tmp_path: Any) -> None:
    from playwright.sync_api import sync_playwright

    server, f = desk_site
    base = f"http://127.0.0.1:{server.port}"
    token = server.token("inspector", None, "王督学")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            # the pages need no script; the script here only measures the layout
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.goto(base + "/login")
            page.click("#token-login summary")  # the token sign-in is the page's second form
            page.fill("#token", token)
            page.keyboard.press("Enter")  # the form works from the keyboard
            page.wait_for_url(base + "/")
            for path, name in (("/desk?queue=overdue", "desk"),
                               (f"/findings/{f['late']}", "finding"),
                               (f"/findings/{f['review']}", "finding-review-form"),
                               ("/desk?queue=to_order", "desk-bulk-order"),
                               ("/desk?queue=all", "desk-all")):
                page.goto(base + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path}: {width} px wide at a 360 px viewport"
                page.screenshot(path=os.path.join(tmp_path, f"phone-{name}.png"),
                                full_page=True)
                for field in page.query_selector_all(  # every form field has its label
                        "main form input:not([type=hidden]):not([type=checkbox]):not("
                        "[type=radio]), main form select, main form textarea"):
                    fid = field.get_attribute("id")
                    assert fid and page.locator(f"label[for='{fid}']").count() == 1, (path, fid)
            # every filter field has its label
            page.goto(base + "/desk?queue=all")
            for field in page.query_selector_all("#filters input:not([type=hidden]), "
                                                 "#filters select"):
                fid = field.get_attribute("id")
                assert fid and page.locator(f"label[for={fid}]").count() == 1, fid
            # keyboard: the search field, typed into, submits with Enter
            page.focus("#f-q")
            page.keyboard.type("体育")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r".*q=.*"))
            assert sorted(rows(page.content())) == sorted([str(f["b_late"]),
                                                           str(f["later"])])
        finally:
            browser.close()


def test_bulk_order_from_the_desk_is_all_or_nothing(
        desk_site: tuple[ApiServer, dict[str, Any]]) -> None:
    """An inspector ticks several recorded findings on 待下达整改 and orders them with one
    deadline in one POST (Chromium, no script); one that cannot be ordered stops them all."""
    from playwright.sync_api import sync_playwright

    server, f = desk_site
    app = server.app
    base = f"http://127.0.0.1:{server.port}"
    extra = [app.record_finding(unit=u, on=D(TODAY), inspector="王督学", text=t, actor="t")
             for u, t in (("A", "午休管理不到位"), ("B", "课桌椅高度不合规"), ("A", "校门口交通拥堵"))]
    token = server.token("inspector", None, "王督学")
    client = httpx.Client(base_url=base, timeout=30)
    login(client, token)
    page_html = client.get("/desk", params={"queue": "to_order"}).text
    assert sorted(rows(page_html)) == sorted(map(str, [*extra, f["recorded"]]))
    csrf = re.search(r'name="csrf" value="(\w+)"', page_html).group(1)  # type: ignore[union-attr]
    before = server.events()
    for data, words in (
            ({"on": TODAY, "within": "5"}, "请至少选择一个问题"),
            ({"on": TODAY, "within": "", "finding": [str(extra[0])]}, "“整改期限（天）”"),
            ({"on": TODAY, "within": "0", "finding": [str(x) for x in extra]},
             "未下达任何整改通知：整改期限必须是正整数天数"),
            ({"on": "2024-10-15", "within": "5", "finding": [str(extra[0])]}, "晚于今天"),
            ({"on": TODAY, "within": "5", "finding": [str(extra[0]), str(f["late"])]},
             "“校舍安全隐患未排查”：")):
        r = client.post("/desk/orders", data={"csrf": csrf, "back": "to_order", **data})
        assert r.status_code == 422, data
        error = re.search(r'<p class="error" id="error">(.*?)</p>', r.text)
        assert error is not None and words in error.group(1), (data, error)
    assert error.group(1).count("：整改期限") <= 1
    assert server.events() == before
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/login")
            token_sign_in(page, token)
            page.goto(base + "/desk?queue=to_order")
            for fid in extra[:2]:
                page.check(f"#pick-{fid}")
            page.fill("#bulk-within", "5")
            page.click("#bulk-form button[type=submit]")
            assert page.inner_text("#notice") == "已为 2 个问题下达整改通知。"
            assert server.events() == before + 2
            deadlines = {app.get_finding(fid).deadline for fid in extra[:2]}
            assert deadlines == {D("2024-10-21")}  # 5 working days from Monday 10-14
            assert sorted(rows(page.content())) == sorted(map(str, [extra[2], f["recorded"]]))
            # all or nothing: one of the ticked is ordered meanwhile (by someone else)
            page.check(f"#pick-{extra[2]}")
            page.check(f"#pick-{f['recorded']}")
            app.order_rectification(f["recorded"], on=D(TODAY), within=3, actor="t")
            page.click("#bulk-form button[type=submit]")
            assert "未下达任何整改通知" in page.inner_text("#error")
            assert "作业公示不及时" in page.inner_text("#error")
            assert server.events() == before + 3  # only the other inspector's order
            assert app.get_finding(extra[2]).status == "recorded"
            assert page.is_checked(f"#pick-{extra[2]}")  # still ticked, to try again
            page.click("#bulk-form button[type=submit]")
            assert page.inner_text("#notice") == "已为 1 个问题下达整改通知。"
            assert app.get_finding(extra[2]).status == "rectifying"
        finally:
            browser.close()
    # a unit may not
    login(client, server.token("unit", "A", None))
    assert client.post("/desk/orders", data={"on": TODAY, "within": "5",
                                             "finding": [str(extra[0])]}).status_code == 403


def test_a_supervise_due_date_is_named_beside_the_ordered_deadline(
        desk_site: tuple[ApiServer, dict[str, Any]]) -> None:
    """督办 sets a later due date: the finding page shows the ordered 整改期限 and the
    督办期限 beside it (as the unit report does); the desks and the extension form say which
    date they count by; a unit's token is named by the unit's name in the timeline."""
    server, f = desk_site
    app = server.app
    app.record_escalation(f["late"], code="supervise", rule="test-supervise", policy="default",
                          policy_version=1, threshold=D("2024-09-10"), due=D("2024-10-25"),
                          facts={})
    assert app.get_finding(f["late"]).deadline == D("2024-10-25")  # the current deadline
    both = "整改期限 2024-09-09（<span class=\"supervise-deadline\">督办期限 2024-10-25，天数按督办期限计</span>）"
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, server.token("inspector", None, "王督学"))
    desk = client.get("/desk", params={"queue": "all", "unit": "A"}).text
    row = re.search(rf'data-finding="{f["late"]}".*?</li>', desk, re.S)
    assert row is not None and both in row.group(0), row
    other = re.search(rf'data-finding="{f["soon"]}".*?</li>', desk, re.S)
    assert other is not None and "整改期限 2024-10-15" in other.group(0)
    assert "督办期限" not in other.group(0)  # no 督办: one date, as before
    page = client.get(f"/findings/{f['late']}").text
    deadline = re.search(r'<td id="deadline">(.*?)</td>', page, re.S)
    assert deadline is not None
    assert re.sub(r"<[^>]+>", "", deadline.group(1)).startswith(
        "2024-09-09（督办期限 2024-10-25）"), deadline.group(1)
    page = client.get(f"/findings/{f['soon']}").text
    deadline = re.search(r'<td id="deadline">(.*?)</td>', page, re.S)
    assert deadline is not None and "督办期限" not in deadline.group(1)
    # the unit: its to-do list, and the extension form (its request was refused: it may ask again)
    login(client, server.token("unit", "A", None))
    todo = client.get("/desk").text
    row = re.search(rf'data-finding="{f["late"]}".*?</li>', todo, re.S)
    assert row is not None and both in row.group(0), row
    page = client.get(f"/findings/{f['late']}").text
    label = re.search(r'<label for="request-to">(.*?)</label>', page, re.S)
    assert label is not None
    assert label.group(1) == "申请延至（当前期限 2024-10-25，即督办期限；整改期限 2024-09-09）"
    # the unit's request (recorded by a unit actor without a person's name): its name
    timeline = re.search(r'<ul class="timeline" id="timeline">(.*?)</ul>', page, re.S)
    assert timeline is not None
    assert "甲区教育局（责任单位）" in timeline.group(1), timeline.group(1)
    assert "A（责任单位）" not in timeline.group(1)


def test_a_refused_bulk_order_keeps_the_desks_filters(
        desk_site: tuple[ApiServer, dict[str, Any]]) -> None:
    """The bulk form carries the queue's filters (hidden fields): a refused order shows the
    same filtered list, the boxes still ticked; a done one comes back to it too."""
    from playwright.sync_api import sync_playwright

    server, _f = desk_site
    app = server.app
    base = f"http://127.0.0.1:{server.port}"
    noon, gate, desks = (app.record_finding(unit=u, on=D(TODAY), inspector="王督学", text=t,
                                            actor="t")
                         for u, t in (("A", "午休管理不到位"), ("A", "校门口交通拥堵"),
                                      ("B", "校舍课桌椅高度不合规")))
    token = server.token("inspector", None, "王督学")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/login")
            token_sign_in(page, token)
            page.goto(base + "/desk?queue=to_order")
            page.fill("#f-unit", "甲区")
            page.select_option("#f-severity", "general")
            page.fill("#f-inspector", "王")
            page.fill("#f-since", TODAY)
            page.click("#filters button[type=submit]")
            filtered = sorted(map(str, (noon, gate)))
            assert sorted(rows(page.content())) == filtered  # not B's
            page.check(f"#pick-{noon}")
            page.check(f"#pick-{gate}")
            app.order_rectification(noon, on=D(TODAY), within=3, actor="t")  # meanwhile
            page.click("#bulk-form button[type=submit]")
            assert "未下达任何整改通知" in page.inner_text("#error")
            assert page.input_value("#f-unit") == "甲区"
            assert page.input_value("#f-severity") == "general"
            assert page.input_value("#f-inspector") == "王"
            assert page.input_value("#f-since") == TODAY
            assert page.inner_text("#queue-title") == "待下达整改"
            assert rows(page.content()) == [str(gate)]  # still filtered: B's is not listed
            assert str(desks) not in page.content()
            assert page.is_checked(f"#pick-{gate}")
            page.click("#bulk-form button[type=submit]")
            assert page.inner_text("#notice") == "已为 1 个问题下达整改通知。"
            assert page.input_value("#f-unit") == "甲区" and page.input_value("#f-since") == TODAY
            assert page.locator("#queue-empty").count() == 1
            assert app.get_finding(gate).status == "rectifying"
            assert app.get_finding(desks).status == "recorded"
        finally:
            browser.close()
