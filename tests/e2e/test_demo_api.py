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


def test_the_demo_leaves_a_report_with_files_and_an_extension_request(tmp_path: Path) -> None:
    """A newcomer finds each step: a 整改报告 with 佐证材料 (a photo and a PDF that open)
    awaiting review, and an extension request awaiting the inspector's decision."""
    import io

    from adapters.service_layer import evidence

    lines: list[str] = []
    db = run_demo(tmp_path, lines.append)
    text = "\n".join(lines)
    assert "佐证材料 课后服务现场照片.png、课后服务实施方案.pdf）→ 201" in text
    assert "extension-requests → 201，申请延期至 2025-01-24（待督学审批）" in text
    assert "待复查" in text and "延期申请" in text.split("网页登录")[-1]
    app = Dudao(clock=system_clock, calendar=load_calendar(None), env=store_env(str(db)))
    try:
        ids = {e.originator_id for e in map(app.decode, app.all_notifications())
               if type(e).__name__ == "Recorded" and getattr(e, "unit", None) == "HTQ"}
        found = (app.find_finding(i) for i in sorted(ids, key=str))  # findings, not inspections
        findings = [f for f in found if f is not None]
        assert len(findings) >= 3
        reported = [f for f in findings if f.files]
        assert len(reported) == 1 and reported[0].status == "under_review"
        files = reported[0].files
        assert [(f["name"], f["type"]) for f in files] == [
            ("课后服务现场照片.png", "image/png"), ("课后服务实施方案.pdf", "application/pdf")]
        for f in files:
            meta, chunks = evidence.finding_file(app, reported[0], f["sha256"])
            blob = b"".join(chunks)
            assert len(blob) == meta["size"] > 200
        png, pdf = (b"".join(evidence.finding_file(app, reported[0], f["sha256"])[1])
                    for f in files)
        assert png.startswith(b"\x89PNG") and pdf.startswith(b"%PDF-") and b"%%EOF" in pdf
        assert io.BytesIO(png).read(8) == b"\x89PNG\r\n\x1a\n"
        pending = [r for f in findings for r in f.extension_requests if r["status"] == "pending"]
        assert len(pending) == 1 and pending[0]["to"].isoformat() == "2025-01-24"
    finally:
        app.close()


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
