"""The accountability pages served by ``dudao serve``: over HTTP with real tokens (who sees
which form, another unit's case 404, forged forms refused), and in a real headless
Chromium: an inspector notifies, the unit submits its statement through the form, the
committee decides through the form, and the 问责决定书 shows the modes in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_accountability_api import seed_cases
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, login, token_sign_in

ROLES = {"inspector": ("inspector", None, "张督学"), "committee": ("committee", None, "委员会"),
         "czj": ("unit", "CZJ", None), "jyj": ("unit", "JYJ", None)}
# what no page may show: the codes behind the Chinese names, and actor strings
CODES = re.compile(r"public_criticism|public_notice|self_examination|organisational|"
                   r"penalty_referral|>proposed<|>notified<|>stated<|>decided<|"
                   r"(inspector|committee|unit):[^<\s]*#[0-9a-f]{8}")


@pytest.fixture
def site(sqlite_db: str, clock: Clock) -> Iterator[tuple[ApiServer, dict[str, str],
                                                       dict[str, str]]]:
    cases = seed_cases(sqlite_db, clock)
    server = ApiServer(sqlite_db, clock).start()
    tokens = {name: server.token(role, unit, who) for name, (role, unit, who) in ROLES.items()}
    yield server, cases, tokens
    server.stop()


def visible_text(html: str) -> str:
    """The page without its form fields' names (``name="unit_mode.public_criticism"`` is
    not shown to anyone)."""
    return re.sub(r'<(input|select|option|form)\b[^>]*>', "", html)


def forms(html: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="/accountability/[^"]+" id="([\w-]+)"',
                          html))


def test_pages_show_each_role_its_forms(site: tuple[ApiServer, dict[str, str],
                                                    dict[str, str]]) -> None:
    server, cases, tokens = site
    czj, jyj = cases["CZJ"], cases["JYJ"]
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    server.clock.at("2024-12-18", 10)
    login(client, tokens["inspector"])
    listing = client.get("/accountability").text
    assert "市财政局" in listing and "市教育局" in listing and "问责建议（待告知）" in listing
    assert not CODES.search(visible_text(listing))
    page = client.get(f"/accountability/{czj}").text
    assert forms(page) == {"investigate-form", "notify-form"}
    assert "生均公用经费未足额拨付" in page and "提请问责" in page
    assert not CODES.search(visible_text(page)), CODES.search(visible_text(page))
    csrf = re.search(r'name="csrf" value="(\w+)"', page)
    assert csrf is not None
    before = server.events()
    r = client.post(f"/accountability/{czj}/notices", data={"on": "2024-12-18"})
    assert r.status_code == 422 and "表单已过期" in r.text  # no CSRF value: nothing recorded
    r = client.post(f"/accountability/{czj}/decision",
                    data={"csrf": csrf.group(1), "on": "2024-12-18", "basis": "x"})
    assert r.status_code == 403  # an inspector does not decide
    assert server.events() == before
    r = client.post(f"/accountability/{czj}/notices",
                    data={"csrf": csrf.group(1), "on": "2024-12-18", "persons": "王局长、李副局长"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/accountability/{czj}?notice=notified"
    assert server.app.get_case(czj).notified_persons == ["王局长", "李副局长"]
    # the finding page links to its case
    finding = str(server.app.get_case(czj).finding_id)
    assert f'href="/accountability/{czj}"' in client.get(f"/findings/{finding}").text
    # the unit: its own case only, the statement form while the window is open
    login(client, tokens["czj"])
    listing = client.get("/accountability").text
    assert czj in listing and jyj not in listing
    assert client.get(f"/accountability/{jyj}").status_code == 404
    assert client.get(f"/accountability/{jyj}/document").status_code == 404
    page = client.get(f"/accountability/{czj}").text
    assert forms(page) == {"statement-form"}
    assert "2024年12月25日（星期三）" in page and "还有 6 个工作日" in page
    server.clock.at("2024-12-26", 10)  # the window is over: no form
    assert forms(client.get(f"/accountability/{czj}").text) == set()
    # the committee: 决定 with each person named in the notice, and 不予问责
    login(client, tokens["committee"])
    page = client.get(f"/accountability/{czj}").text
    assert forms(page) == {"investigate-form", "decide-form", "dismiss-form"}
    for name in ("公开批评", "约谈", "督导通报", "资源调整", "提请行政处罚", "对王局长的问责方式",
                 "对李副局长的问责方式", "移交纪检监察机关或司法机关"):
        assert name in page, name
    assert client.get("/accountability", params={"status": "closed"}).status_code == 422
    assert jyj in client.get("/accountability", params={"status": "proposed"}).text
    assert czj not in client.get("/accountability", params={"status": "proposed"}).text


def test_a_statement_and_a_decision_through_the_forms_in_chromium(
        site: tuple[ApiServer, dict[str, str], dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    server, cases, tokens = site
    base, clock, app = f"http://127.0.0.1:{server.port}", server.clock, server.app
    czj = cases["CZJ"]
    executable = chromium_path()

    def sign_in(browser: Any, token: str) -> Any:
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(base + "/login")
        token_sign_in(page, token)
        return page

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            # an inspector tells the unit and its principal
            clock.at("2024-12-18", 10)
            page = sign_in(browser, tokens["inspector"])
            page.click("nav a[href='/accountability']")
            page.click(f"#cases tr[data-case='{czj}'] a[href='/accountability/{czj}']")
            page.fill("#notify-persons", "王局长")
            page.click("#notify-form button[type=submit]")
            assert page.inner_text("#notice") == "已告知单位，陈述申辩期限已起算。"
            assert page.get_attribute("#case-status", "data-status") == "notified"
            # the unit states its case through the form, before the deadline shown in words
            clock.at("2024-12-20", 10)
            page = sign_in(browser, tokens["czj"])
            page.goto(base + "/accountability")
            assert page.locator("#cases tr[data-case]").count() == 1
            page.click(f"a[href='/accountability/{czj}']")
            assert "2024年12月25日（星期三）" in page.inner_text("#statement-deadline")
            before = server.events()
            page.fill("#statement-text", "因财政收支紧张延迟拨付，已于12月补足")
            page.click("#statement-form button[type=submit]")
            assert page.inner_text("#notice") == "陈述申辩已提交。"
            assert page.get_attribute("#case-status", "data-status") == "stated"
            assert server.events() == before + 1
            statement = app.get_case(czj).statements[0]
            assert (statement["text"], statement["by_unit"]) == (
                "因财政收支紧张延迟拨付，已于12月补足", True)
            assert page.locator("#decide-form").count() == 0
            # the committee decides through the form
            clock.at("2024-12-23", 10)
            page = sign_in(browser, tokens["committee"])
            page.goto(base + f"/accountability/{czj}")
            page.check("input[name='unit_mode.public_criticism']")
            page.check("input[name='unit_mode.public_notice']")
            page.check("fieldset[data-person='王局长'] input[name='person.0.criticism']")
            page.check("fieldset[data-person='王局长'] input[name='person.0.disciplinary']")
            page.fill("#decide-basis", "《教育督导问责办法》第七条")
            page.fill("#decide-effective", "2024-12-24")
            page.click("#decide-form button[type=submit]")
            assert page.inner_text("#notice") == "问责决定已作出。"
            assert page.get_attribute("#case-status", "data-status") == "decided"
            assert page.inner_text("#decided-modes") == "公开批评、督导通报"
            decision = app.get_case(czj).decision
            assert (decision["unit_modes"], decision["persons"], decision["effective_on"]
                    .isoformat()) == (["public_criticism", "public_notice"],
                                      [{"name": "王局长", "modes": ["criticism", "disciplinary"]}],
                                      "2024-12-24")
            assert page.locator("#dismiss-form").count() == 0
            # the 问责决定书, in the browser
            page.click("#document-link")
            modes = page.inner_text("#modes")
            assert "对市财政局：公开批评、督导通报" in modes
            assert "对王局长：通报批评、处分" in modes
            assert "public_criticism" not in page.content()
            assert "本决定自2024-12-24起生效" in page.inner_text("main")
        finally:
            browser.close()
