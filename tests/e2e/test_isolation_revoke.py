"""Issue 11, cases 5 and 9: a unit token sees only its own; a revoked token is refused."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.apiserver import ApiServer
from tests.conftest import SAMPLE_PLANS, Cli, Clock

PLAN = SAMPLE_PLANS / \
    "county-high-schools-2023-2025.txt"


def _import(api: ApiServer) -> None:
    with api.client(api.token("policy", name="督导室")) as office:
        r = office.post("/plans", json={"text": PLAN.read_text(encoding="utf-8"), "code": "XZ"})
        assert r.status_code == 201, r.text


def test_unit_token_sees_only_its_own(api: ApiServer, clock: Clock) -> None:
    clock.at("2024-06-01")
    _import(api)
    with api.client(api.token("unit", unit="SCZJ", name="财政局")) as other:
        r = other.post("/tasks/XZ-4/progress",
                       json={"indicator": 1, "value": "40", "on": "2024-05-31", "note": "财政秘密"})
        assert r.status_code == 201, r.text
    with api.client(api.token("unit", unit="SJYJ", name="市教育局")) as unit:
        r = unit.post("/tasks/XZ-4/progress",
                      json={"indicator": 1, "value": "50", "on": "2024-05-31"})
        assert r.status_code == 201, r.text
        reports = unit.get("/tasks/XZ-4").json()["reports"]
        assert reports and all(x["unit"] == "SJYJ" for x in reports)
        assert "财政秘密" not in unit.get("/tasks/XZ-4").text
        theirs, missing = unit.get("/tasks/XZ-11"), unit.get("/tasks/XZ-11")
        missing = unit.get("/tasks/XZ-999")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["field"] == missing.json()["field"] == "task"
        # byte-identical apart from the code echoed back: compare with the same code
        ghost = unit.get("/tasks/XZ-11")
        assert ghost.content == theirs.content
    # same code, one store where it exists (not the unit's), one where it does not
    with api.client(api.token("unit", unit="SJYJ")) as unit:
        assert unit.get("/tasks/NOPE-1").content.replace(b"NOPE-1", b"XZ-11") == \
            unit.get("/tasks/XZ-11").content
    with api.client(api.token("inspector")) as inspector:
        full = inspector.get("/plans/XZ").json()
    with api.client(api.token("unit", unit="SJYJ")) as unit:
        mine = unit.get("/plans/XZ").json()
        own = mine["units"][0]["tasks"]
        assert mine["tasks"] == len(own) < full["tasks"]
        assert sum(mine["counts"].values()) == len(own)


def test_revoked_token_is_refused_by_a_running_server(api: ApiServer, clock: Clock,
                                                      db: str, capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    cli = Cli(db, capsys)
    secret = api.token("auditor", name="审计")
    with api.client(secret) as c:
        assert c.get("/findings").status_code == 200
        code, out, err = cli("token", "list")
        assert code == 0, err
        assert secret not in out and "审计" in out
        listed = cli.json("token", "list")
        assert secret not in str(listed)
        mine = next(r for r in listed if r["name"] == "审计")
        assert mine["last_used_at"] and len(mine["id"]) == 8
        code, out, err = cli("token", "revoke", mine["id"][:6])
        assert code == 0, err
        deadline = time.monotonic() + 10
        while c.get("/findings").status_code != 401:
            assert time.monotonic() < deadline, "still accepted after revocation"
            time.sleep(0.05)
        assert next(r for r in cli.json("token", "list") if r["name"] == "审计")["revoked_at"]
        code, out, err = cli("token", "revoke", "zzzzzz")
        assert code != 0 and "不存在" in (out + err)


def _csrf(client: httpx.Client) -> str:
    page = client.get("/login").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_web_session_logout_origin_and_cookie_flags(api: ApiServer, clock: Clock) -> None:
    secret = api.token("auditor", name="审计")
    base = f"http://127.0.0.1:{api.port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/login", data={"token": secret, "next": "/", "csrf": _csrf(client)},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"]
        assert secret not in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie
        sid = client.cookies["dudao_session"]
        assert client.get("/", follow_redirects=False).status_code == 200
        assert client.post("/logout", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=base, timeout=30, cookies={"dudao_session": sid}) as old:
        r = old.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with httpx.Client(base_url=base, timeout=30) as client:
        value = _csrf(client)
        r = client.post("/login", data={"token": secret, "next": "/", "csrf": value},
                        headers={"Origin": "https://evil.example"}, follow_redirects=False)
        assert r.status_code == 403 and "dudao_session" not in r.headers.get("set-cookie", "")
        r = client.post("/login", data={"token": secret, "next": "/", "csrf": "forged"},
                        follow_redirects=False)
        assert r.status_code == 403
        r = client.post("/login", data={"token": secret, "next": "/", "csrf": _csrf(client)},
                        headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
