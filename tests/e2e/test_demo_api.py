"""The demo records part of its data through the HTTP API and shows a unit refused."""

from __future__ import annotations

from pathlib import Path

from adapters.bootstrap import load_calendar, system_clock
from adapters.demo.year import run_demo
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao


def test_demo_uses_the_api_with_an_inspector_and_a_unit_token(tmp_path: Path) -> None:
    lines: list[str] = []
    db = run_demo(tmp_path, lines.append)
    text = "\n".join(lines)
    assert "HTTP API 已在 http://127.0.0.1:" in text
    assert "返回同一结果：True" in text
    assert "→ 404" in text and "他单位的问题" in text
    app = Dudao(clock=system_clock, calendar=load_calendar(None), env=store_env(str(db)))
    try:
        actors = {e["actor"] for n in app.all_notifications()
                  for e in [app.decode(n).__dict__] if "actor" in e}
    finally:
        app.close()
    assert any(a.startswith("inspector:李督学#") for a in actors)
    assert any(a.startswith("unit:HTQ#") for a in actors)


def test_the_demo_prints_two_sign_ins_that_work(tmp_path: Path) -> None:
    import re

    import httpx

    from tests.apiserver import ApiServer
    from tests.e2e.test_web import login_csrf

    lines: list[str] = []
    db = run_demo(tmp_path, lines.append)
    text = "\n".join(lines)
    signins = re.findall(r"（(.+?)）：用户名 (\w+)，密码 (\S+)", text)
    assert [s[0] for s in signins] == ["张督学", "汉台区人民政府"], text[-400:]
    server = ApiServer(str(db), system_clock).start()
    try:
        for (_, name, password), home in zip(signins, ("/", "/units/HTQ"), strict=True):
            client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
            r = client.post("/login", data={"name": name, "password": password,
                                            "csrf": login_csrf(client)}, follow_redirects=False)
            assert r.status_code == 303, r.text
            page = client.get(home)
            assert page.status_code == 200 and "/login" not in str(page.url)
    finally:
        server.stop()
