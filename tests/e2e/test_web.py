"""Web pages served by ``dudao serve``: roles over HTTP with real API tokens, and a real
headless Chromium reading and submitting them.

The browser checks drive Debian's chromium (installed here when absent, as
root, with apt-get) through playwright: the pages render, their numbers match
the JSON report, and a form submission records an event.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.rendering.reports import live
from adapters.rendering.reports.render import percent
from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.conftest import Clock, need
from tests.integration.test_reports import scenario

ROLES = {"tok-inspector": ("inspector", None, "李督学"), "tok-u1": ("unit", "U1", None),
         "tok-auditor": ("auditor", None, "审计")}


@pytest.fixture
def served(db: str, clock: Clock) -> Iterator[tuple[ApiServer, dict[str, Any], dict[str, str]]]:
    """The scenario, then the real service (API and pages) on it, with a token per role."""
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    f = scenario(seed, clock)
    seed.close()
    server = ApiServer(db, clock).start()
    tokens = {name: server.token(role, unit, who) for name, (role, unit, who) in ROLES.items()}
    yield server, f, tokens
    server.stop()


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]



@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    """Engines made by runners in a test hold pooled connections: let them go afterwards
    (PostgreSQL is shared and has a connection limit)."""
    yield
    gc.collect()

def login_csrf(client: Any) -> str:
    """The login form's CSRF value (its cookie is kept by the client)."""
    page = client.get("/login").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def login(client: Any, token: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"token": token, "next": "/", "csrf": login_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303


def token_sign_in(page: Any, token: str) -> None:
    """Sign in with an API token in the browser: the login page's second form."""
    page.click("#token-login summary")
    page.fill("#token", token)
    page.click("#token-form button[type=submit]")


def test_roles_and_forms_over_http(served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    server, f, tokens = served
    app = server.app
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    assert client.post("/login", data={"token": "nope", "csrf": login_csrf(client)}
                       ).status_code == 401
    login(client, tokens["tok-u1"])
    assert client.get("/", follow_redirects=False).headers["location"] == "/desk"  # 待办
    assert client.get("/units/U1").status_code == 200  # on PostgreSQL too: same events table
    assert client.get("/units/U2").status_code == 404
    assert client.get(f"/findings/{f['g1']}").status_code == 404  # another unit's finding
    assert client.get(f"/findings/{f['f6']}").status_code == 200
    assert client.get("/findings/new").status_code == 403
    before = app.event_count()
    assert client.post(f"/findings/{f['f8']}/orders",
                       data={"on": "2024-11-01", "within": "10"}).status_code == 403
    login(client, tokens["tok-auditor"])
    assert client.get("/units/U2").status_code == 200
    assert client.post(f"/findings/{f['f8']}/orders",
                       data={"on": "2024-11-01", "within": "10"}).status_code == 403
    login(client, tokens["tok-inspector"])
    page = client.get(f"/findings/{f['f8']}").text
    csrf = re.search(r'name="csrf" value="(\w+)"', page)
    assert csrf is not None
    # a forged form (no CSRF value) records nothing
    r = client.post(f"/findings/{f['f8']}/orders", data={"on": "2024-11-01", "within": "10"})
    assert r.status_code == 422 and "表单已过期" in r.text
    r = client.post(f"/findings/{f['f8']}/orders",
                    data={"csrf": csrf.group(1), "on": "2024-11-02", "within": "10"})
    assert r.status_code == 422 and "晚于今天" in r.text  # the domain's refusal, shown
    assert app.event_count() == before
    r = client.post(f"/findings/{f['f8']}/orders",
                    data={"csrf": csrf.group(1), "on": "2024-11-01", "within": "10"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert app.event_count() == before + 1
    assert app.get_finding(f["f8"]).deadline is not None
    # the timeline names who did each step as a person reads it, never the actor string
    page = client.get(f"/findings/{f['f8']}").text
    metas = re.findall(r'<span class="meta">（([^，]*)，', page)
    assert metas and all("#" not in m and not m.startswith("inspector:") for m in metas), metas
    assert any(m.endswith("（督学）") for m in metas), metas


# ----------------------------------------------------------------- browser


def apt_install(*packages: str) -> None:
    """Install Debian packages (as root, with apt-get; nothing when either is missing)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env,
                   capture_output=True, timeout=900)


CJK_FONTS = ("fonts-noto-cjk", "fonts-wqy-zenhei")  # the first that installs; either renders 汉字


def has_cjk_font() -> bool:
    """A font for Chinese is installed (fontconfig knows one for ``zh``)."""
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                         timeout=60).stdout
    return bool(out.strip())


def cjk_font() -> None:
    """Chinese renders as characters, not boxes, in the screenshots: install a CJK font
    when none is (idempotent: nothing to do once one is)."""
    for package in CJK_FONTS:
        if has_cjk_font():
            return
        apt_install(package, "fontconfig")  # fontconfig: fc-list, which says it is there
    if not has_cjk_font():
        need("a CJK font", f"none of {', '.join(CJK_FONTS)} is installed or could be installed")


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        apt_install("chromium")
    if not os.path.exists(path):
        need("chromium", "Debian's chromium package is not installed and could not be installed")
    cjk_font()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(sqlite_db: str, clock: Clock) -> Iterator[tuple[str, Dudao, dict[str, Any], dict[str, str]]]:
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    f = scenario(seed, clock)
    seed.close()
    server = ApiServer(sqlite_db, clock).start()
    tokens = {name: server.token(role, unit, who) for name, (role, unit, who) in ROLES.items()}
    yield f"http://127.0.0.1:{server.port}", server.app, f, tokens
    server.stop()


def test_pages_in_headless_chromium(site: tuple[str, Dudao, dict[str, Any], dict[str, str]],
                                    sqlite_db: str) -> None:
    from playwright.sync_api import sync_playwright

    base, app, f, tokens = site
    executable = chromium_path()
    with live(app, sqlite_db) as v:
        report = v.unit("U1")
        bulletin = v.bulletin()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto(base + "/")
            assert page.url.startswith(base + "/login")
            token_sign_in(page, tokens["tok-inspector"])
            # the overview: the bulletin's figures and ranking
            assert page.url == base + "/"
            for key in ("findings", "open", "overdue", "closed", "closed_on_time"):
                assert page.inner_text(f"[data-field={key}]") == str(bulletin["overall"][key])
            assert page.inner_text("[data-field=on_time_rate]") == percent(
                bulletin["overall"]["on_time_rate"])
            rows = page.query_selector_all("#ranking tr[data-unit]")
            assert [r.get_attribute("data-unit") for r in rows] == [
                u["unit"] for u in bulletin["ranking"]]
            assert page.locator("svg").count() >= 2
            # the unit page: the JSON report's numbers
            page.click("#ranking tr[data-unit=U1] a")
            assert page.url == base + "/units/U1"
            for key in ("findings", "open", "overdue", "closed", "closed_on_time", "interviews",
                        "public_notices", "accountability"):
                assert page.inner_text(f"#figures [data-field={key}]") == str(report[key]), key
            assert page.inner_text("#figures [data-field=on_time_rate]") == percent(
                report["on_time_rate"])
            for code, count in report["escalations"].items():
                assert page.inner_text(f"[data-escalation={code}]") == str(count)
            for sev, count in report["by_severity"].items():
                assert page.inner_text(f"[data-severity={sev}]") == str(count)
            assert page.inner_text("[data-field=peer_rank]") == str(report["peers"]["rank"])
            page.screenshot(path=os.path.join(os.path.dirname(sqlite_db), "unit.png"),
                            full_page=True)
            # a finding's timeline
            page.click(f"a[href='/findings/{f['f6']}']")
            kinds = [li.get_attribute("data-kind")
                     for li in page.query_selector_all("#timeline li")]
            assert kinds == [t["kind"] for o in report["open_findings"]
                             if o["finding_id"] == str(f["f6"]) for t in o["timeline"]]
            # the form records an event, and ordering from the finding page another
            before = app.event_count()
            page.goto(base + "/findings/new")
            page.select_option("#unit", "U2")
            page.fill("#on", "2024-11-01")
            page.fill("#inspector", "李督学")
            page.select_option("#severity", "serious")
            page.fill("#text", "浏览器登记的问题")
            page.click("#finding-form button[type=submit]")
            assert page.inner_text("#notice") == "问题已登记。"
            assert page.inner_text("#text") == "浏览器登记的问题"
            assert app.event_count() == before + 1
            fid = page.url.split("/findings/")[1].split("?")[0]
            recorded = app.get_finding(fid)
            assert (recorded.unit, recorded.severity, recorded.text) == (
                "U2", "serious", "浏览器登记的问题")
            page.fill("#within", "10")
            page.click("#order-form button[type=submit]")
            assert page.inner_text("#notice") == "整改通知已下达。"
            assert page.get_attribute("#status", "data-status") == "rectifying"
            assert app.event_count() == before + 2
            assert page.inner_text("#deadline").startswith(str(app.get_finding(fid).deadline))
            # a unit's token: its own pages only
            page.click("nav button[type=submit]")  # sign out
            token_sign_in(page, tokens["tok-u1"])
            assert page.url == base + "/desk"  # a unit lands on its to-do list
            assert page.get_attribute("#unit-report", "href") == "/units/U1"
            response = page.goto(base + "/units/U2")
            assert response is not None and response.status == 404
        finally:
            browser.close()


def test_pages_as_of_a_past_moment(served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    server, _, tokens = served
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, tokens["tok-auditor"])
    now = client.get("/units/U1").text
    then = client.get("/units/U1", params={"as_of": "2024-10-16T20:00"}).text
    assert 'data-field="findings">9<' in now
    assert 'data-field="findings">7<' in then and "2024-10-16 20:00" in then
    assert client.get("/", params={"as_of": "2024-09-21"}).status_code == 200
    r = client.get("/units/U1", params={"as_of": "yesterday"})
    assert r.status_code == 422 and "as_of" in r.text


def test_web_form_refuses_nul_bad_utf8_and_year_one(
        served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    """Issue 11: a NUL or invalid UTF-8 from the web form is refused like the API (422,
    naming the field), nothing is recorded, and every read path still works afterwards."""
    server, _f, tokens = served
    app = server.app
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    login(client, tokens["tok-inspector"])
    csrf = re.search(r'name="csrf" value="(\w+)"', client.get("/findings/new").text)
    assert csrf is not None
    before = app.event_count()
    good = f"csrf={csrf.group(1)}&unit=U1&on=2024-11-01&inspector=x&severity=general"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    for body, field in ((good + "&text=web%00nul", "text"), (good + "&text=bad%FFbyte", "text"),
                        (good.replace("2024-11-01", "0001-01-01") + "&text=ok", "on")):
        r = client.post("/findings", content=body, headers=headers)
        assert r.status_code == 422, (body, r.status_code)
        assert field in r.text
    assert app.event_count() == before
    api = {"authorization": f"Bearer {tokens['tok-auditor']}"}
    assert client.get("/api/v1/findings", headers=api).status_code == 200
    assert client.get("/api/v1/units/U1/report", headers=api).status_code == 200
    login(client, tokens["tok-auditor"])
    assert client.get("/").status_code == 200


def test_store_already_holding_a_nul_still_reads(
        served: tuple[ApiServer, dict[str, Any], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11: an event with a NUL written before the check existed must not break reads."""
    import domain.values
    server, _f, tokens = served
    monkeypatch.setattr(domain.values, "_CONTROL", re.compile("(?!)"))
    server.app.record_finding(unit="U1", on=server.app.now().date(), inspector="x",
                              text="web\x00nul", actor="test")
    monkeypatch.undo()
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    api = {"authorization": f"Bearer {tokens['tok-auditor']}"}
    assert client.get("/api/v1/findings", headers=api).status_code == 200
    assert client.get("/api/v1/units/U1/report", headers=api).status_code == 200
    login(client, tokens["tok-auditor"])
    assert client.get("/").status_code == 200


def test_non_ascii_csrf_is_a_refusal_not_a_server_error(
        served: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    """Found by tests/e2e/test_entry_properties.py: a CSRF value (or cookie) with a non-ASCII
    character made ``hmac.compare_digest`` raise TypeError, answered 500."""
    server, _f, tokens = served
    app = server.app
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    client.get("/login")
    r = client.post("/login", content="token=x&csrf=%C3%A9", headers=headers)
    assert r.status_code == 403, r.status_code
    login(client, tokens["tok-inspector"])
    before = app.event_count()
    r = client.post("/findings", headers=headers,
                    content="csrf=%E9%98%BF&unit=U1&on=2024-11-01&inspector=x&text=ok")
    assert r.status_code == 422 and "表单已过期" in r.text, r.status_code
    assert app.event_count() == before
