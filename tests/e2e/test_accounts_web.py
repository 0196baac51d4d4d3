"""Signing in to the pages with a user name and password, on the running service: the
session cookie, the sign-in limits, a session ended by disabling the user, changing the
password, expiry (the app's clock moved) and logout; and the same in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.accounts import FREE_FAILURES, SESSION_ABSOLUTE, SESSION_IDLE
from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, login_csrf

PASSWORD = "correct-horse-42"
UNIT_PASSWORD = "unit-password-42"
WRONG = "用户名或密码不正确。"


@pytest.fixture
def server(db: str, clock: Clock) -> Iterator[ApiServer]:
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    seed.add_unit("U1", "一号单位", actor="t")
    seed.add_unit("U2", "二号单位", actor="t")
    seed.close()
    s = ApiServer(db, clock).start()
    s.c.users.add(name="zhangsan", role="inspector", unit=None, display="张督学",
                  password=PASSWORD, created_by="test")
    s.c.users.add(name="yihao", role="unit", unit="U1", display="一号单位填报员",
                  password=UNIT_PASSWORD, created_by="test")
    yield s
    s.stop()


def web(server: ApiServer) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)


def sign_in(client: httpx.Client, name: str, password: str, next: str = "/") -> httpx.Response:
    return client.post("/login", data={"name": name, "password": password, "next": next,
                                       "csrf": login_csrf(client)}, follow_redirects=False)


def signed_in(client: httpx.Client) -> bool:
    r = client.get("/", follow_redirects=False)
    return r.status_code == 200 or (r.status_code == 303 and "/login" not in r.headers["location"])


def test_password_sign_in_cookie_and_actor(server: ApiServer) -> None:
    client = web(server)
    r = sign_in(client, "zhangsan", PASSWORD, next="/findings/new")
    assert r.status_code == 303 and r.headers["location"] == "/findings/new"
    cookie = r.headers["set-cookie"]
    assert "dudao_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http here; https (or X-Forwarded-Proto) adds it
    behind_https = web(server)
    secure = behind_https.post("/login", headers={"x-forwarded-proto": "https"}, data={
        "name": "zhangsan", "password": PASSWORD, "csrf": login_csrf(behind_https)},
        follow_redirects=False)
    assert "Secure" in secure.headers["set-cookie"]
    page = client.get("/findings/new")
    assert page.status_code == 200 and "张督学（督学）" in page.text  # the nav names them
    csrf = re.search(r'name="csrf" value="(\w+)"', page.text)
    assert csrf is not None
    r = client.post("/findings", data={"csrf": csrf.group(1), "unit": "U1", "on": "2024-12-30",
                                       "inspector": "张督学", "severity": "general",
                                       "text": "账号登录后登记的问题"}, follow_redirects=False)
    assert r.status_code == 303
    fid = r.headers["location"].split("/findings/")[1].split("?")[0]
    actors = {getattr(server.app.decode(n), "actor", None)
              for n in server.app.all_notifications()}
    assert "user:zhangsan" in actors
    timeline = client.get(f"/findings/{fid}").text
    assert "张督学（督学）" in timeline and "user:zhangsan" not in timeline
    # a unit user sees its own unit only
    unit = web(server)
    assert sign_in(unit, "yihao", UNIT_PASSWORD).status_code == 303
    assert unit.get("/", follow_redirects=False).headers["location"] == "/desk"  # its to-do list
    assert unit.get("/units/U2").status_code == 404
    assert unit.get(f"/findings/{fid}").status_code == 200


def test_wrong_password_and_unknown_name_say_the_same(server: ApiServer) -> None:
    client = web(server)
    for name, password in (("zhangsan", "wrong-password"), ("nobody", PASSWORD),
                           ("", ""), ("zhangsan", PASSWORD + "x")):
        r = sign_in(client, name, password)
        assert r.status_code == 401 and WRONG in r.text, (name, r.status_code)
        assert "dudao_session" not in r.headers.get("set-cookie", "")
        assert "token create" not in r.text
    assert not signed_in(client)


def test_failures_wait_growing_then_the_right_password_again(
        server: ApiServer, clock: Clock) -> None:
    client = web(server)
    for _ in range(FREE_FAILURES["user"]):
        assert sign_in(client, "zhangsan", "wrong-password").status_code == 401
    # the limit now holds, even for the right password, and says how long
    r = sign_in(client, "zhangsan", PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多，请 30 秒后再试。" in r.text, r.text
    assert r.headers["retry-after"] == "30"
    # the other user is not held back by zhangsan's failures
    assert sign_in(web(server), "yihao", UNIT_PASSWORD).status_code == 303
    clock.moment += timedelta(seconds=31)
    assert sign_in(client, "zhangsan", "wrong-password").status_code == 401  # the 6th
    r = sign_in(client, "zhangsan", PASSWORD)
    assert r.status_code == 429 and "请 1 分钟后再试" in r.text  # 60 s: doubled
    clock.moment += timedelta(seconds=61)
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303
    # a success forgets the user name's failures
    assert sign_in(client, "zhangsan", "wrong-password").status_code == 401
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303


def test_disabling_or_a_new_password_ends_a_live_session(server: ApiServer) -> None:
    client, other = web(server), web(server)
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303
    assert sign_in(other, "yihao", UNIT_PASSWORD).status_code == 303
    assert signed_in(client) and signed_in(other)
    server.c.users.set_password("yihao", "a-new-password-1")
    assert not signed_in(other)
    assert signed_in(client)  # another user's change ends no one else's session
    assert sign_in(other, "yihao", UNIT_PASSWORD).status_code == 401
    assert sign_in(other, "yihao", "a-new-password-1").status_code == 303
    server.c.users.disable("zhangsan")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    r = sign_in(client, "zhangsan", PASSWORD)
    assert r.status_code == 401 and WRONG in r.text  # a disabled user: the same answer


def test_sessions_expire_idle_and_absolute_and_logout_ends_one(
        server: ApiServer, clock: Clock) -> None:
    client = web(server)
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303
    clock.moment += SESSION_IDLE - timedelta(minutes=1)
    assert signed_in(client)  # used just in time: the idle time starts again
    clock.moment += SESSION_IDLE - timedelta(minutes=1)
    assert signed_in(client)
    clock.moment += SESSION_IDLE
    assert not signed_in(client)  # idle too long
    # absolute: used every hour, it still ends 12 hours after sign-in
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303
    start = clock.moment
    while clock.moment + timedelta(hours=1) < start + SESSION_ABSOLUTE:
        clock.moment += timedelta(hours=1)
        assert signed_in(client), clock.moment
    clock.moment = start + SESSION_ABSOLUTE
    assert not signed_in(client)
    # logout ends the session on the server, not only in this browser
    assert sign_in(client, "zhangsan", PASSWORD).status_code == 303
    sid = client.cookies["dudao_session"]
    assert client.post("/logout", follow_redirects=False).status_code == 303
    replay = web(server)
    replay.cookies.set("dudao_session", sid)
    assert not signed_in(replay)


def test_the_api_token_login_still_works(server: ApiServer) -> None:
    client = web(server)
    token = server.token("auditor", name="审计")
    r = client.post("/login", data={"token": token, "csrf": login_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303 and signed_in(client)
    r = client.post("/login", data={"token": "dd_nope", "csrf": login_csrf(client)})
    assert r.status_code == 401 and "令牌无效" in r.text and "token create" not in r.text


def test_password_sign_in_in_headless_chromium(sqlite_db: str, clock: Clock) -> None:
    from playwright.sync_api import sync_playwright

    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    seed.add_unit("U1", "一号单位", actor="t")
    seed.close()
    server = ApiServer(sqlite_db, clock).start()
    try:
        server.c.users.add(name="zhangsan", role="inspector", unit=None, display="张督学",
                           password=PASSWORD, created_by="test")
        base = f"http://127.0.0.1:{server.port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            try:
                page: Any = browser.new_page(java_script_enabled=False)
                page.goto(base + "/units/U1")
                assert page.url.startswith(base + "/login")
                page.fill("#name", "zhangsan")
                page.fill("#password", "not-the-password")
                page.click("#login-form button[type=submit]")
                assert page.inner_text("#error") == WRONG
                assert page.input_value("#name") == "zhangsan"  # kept; the password is not
                assert page.input_value("#password") == ""
                page.fill("#password", PASSWORD)
                page.click("#login-form button[type=submit]")
                assert page.url == base + "/units/U1"
                assert page.inner_text("#who") == "张督学（督学）"
                page.click("nav button[type=submit]")  # sign out
                assert page.url.startswith(base + "/login")
                page.goto(base + "/units/U1")
                assert page.url.startswith(base + "/login")
            finally:
                browser.close()
    finally:
        server.stop()


def test_a_unit_user_reports_on_the_web_dated_today(server: ApiServer) -> None:
    """A signed-in unit user (actor ``user:…``) reports for the unit itself: the report is
    dated the day it is recorded, as with a unit's token — the role decides, not the actor."""
    app = server.app
    fid = app.record_finding(unit="U1", on=date(2024, 12, 2), inspector="张督学",
                             text="食堂未留样", actor="t")
    app.order_rectification(fid, on=date(2024, 12, 2), within=20, actor="t")
    unit = web(server)
    assert sign_in(unit, "yihao", UNIT_PASSWORD).status_code == 303
    page = unit.get(f"/findings/{fid}").text
    csrf = re.search(r'name="csrf" value="(\w+)"', page)
    assert csrf is not None
    r = unit.post(f"/findings/{fid}/report", data={"csrf": csrf.group(1), "text": "已整改并留样"},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    finding = app.get_finding(fid)
    assert finding.status == "under_review" and finding.last_report_on == date(2024, 12, 31)
