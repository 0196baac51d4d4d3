"""The journey in headless Chromium (no JavaScript): a unit signs in to its to-do list,
submits a 整改报告 with two files and asks for an extension; the inspector finds it on the
desk in 待复查 and in 延期申请, fails the review with a new deadline and grants the
extension (the finding leaves both queues); the unit sees the new deadline; another unit's
login sees none of it and gets 404 for the finding and its files. A screenshot of each page
is kept in out/screenshots/ (test artefacts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, token_sign_in

SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n" + b"x" * 2000


@pytest.fixture
def site(sqlite_db: str, clock: Clock) -> Iterator[tuple[ApiServer, str, dict[str, str]]]:
    server = ApiServer(sqlite_db, clock).start()
    tokens = {"inspector": server.token("inspector", name="张督学"),
              "unit": server.token("unit", unit="HTQ"), "other": server.token("unit", unit="NZQ")}
    with server.client(server.token("admin", name="管理员")) as admin:
        for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
            assert admin.post("/units", json={"code": code, "name": name}).status_code == 201
    clock.at("2024-09-25")
    with server.client(tokens["inspector"]) as inspector:
        fid = inspector.post("/findings", json={"unit": "HTQ", "on": "2024-09-25",
                                                "inspector": "张督学",
                                                "text": "校舍消防通道堵塞"}).json()["finding_id"]
        assert inspector.post(f"/findings/{fid}/orders",
                              json={"on": "2024-09-25", "within": 10}).status_code == 201
    clock.at("2024-10-10")
    yield server, fid, tokens
    server.stop()


def test_report_with_files_extension_request_and_grant_in_chromium(
        site: tuple[ApiServer, str, dict[str, str]], sqlite_db: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server, fid, tokens = site
    base = f"http://127.0.0.1:{server.port}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (tmp_path / "现场照片.png").write_bytes(PNG)
    (tmp_path / "整改报告.pdf").write_bytes(PDF)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False, accept_downloads=True)

            def shot(name: str) -> None:
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

            def queue(name: str) -> list[str]:
                page.goto(f"{base}/desk?queue={name}")
                return [x.get_attribute("data-finding") or "" for x in
                        page.query_selector_all("#queue li[data-finding]")]

            def sign_in(token: str) -> None:
                page.goto(base + "/login")
                token_sign_in(page, token)

            sign_in(tokens["unit"])
            page.wait_for_url(base + "/desk")  # a unit lands on its to-do list
            assert page.get_attribute("#todo li", "data-finding") == fid
            shot("journey-1-unit-desk")
            page.click(f"#todo a[href='/findings/{fid}']")
            assert "每个文件不超过 20 MB" in page.inner_text("#report-form")
            page.fill("#report-text", "通道已清理，附照片和报告")
            page.set_input_files("#report-files", [str(tmp_path / "现场照片.png"),
                                                   str(tmp_path / "整改报告.pdf")])
            before = server.events()
            page.click("#report-form button[type=submit]")
            assert page.inner_text("#notice") == "整改报告已提交，待复查。"
            assert server.events() == before + 1
            assert page.get_attribute("#status", "data-status") == "under_review"
            links = page.query_selector_all("#files a")
            assert [a.inner_text() for a in links] == ["现场照片.png", "整改报告.pdf"]
            finding = server.app.get_finding(fid)
            assert finding.last_report_on.isoformat() == "2024-10-10"  # type: ignore[union-attr]
            # the unit's token has no person's name: the timeline names the unit, not its code
            timeline = page.inner_text("#timeline")
            assert "汉台区人民政府（责任单位）" in timeline and "HTQ" not in timeline, timeline
            href = links[1].get_attribute("href")
            assert href is not None
            with page.expect_download() as download:
                links[1].click()
            assert Path(download.value.path()).read_bytes() == PDF
            assert download.value.suggested_filename == "整改报告.pdf"
            # ask for an extension
            page.fill("#request-to", "2024-11-15")
            page.fill("#request-reason", "汛期施工受阻")
            page.click("#extension-request-form button[type=submit]")
            assert page.inner_text("#notice") == "延期申请已提交，待审批。"
            assert "待审批" in page.inner_text("#extension-requests")
            assert page.locator("#extension-request-form").count() == 0  # one at a time
            assert page.locator(".decide-form").count() == 0  # a unit does not decide
            shot("journey-2-unit-finding")
            page.click("nav button[type=submit]")  # sign out

            # another unit: the finding and its files do not exist for it
            sign_in(tokens["other"])
            page.wait_for_url(base + "/desk")
            assert page.locator("#todo-empty").count() == 1
            assert fid not in page.content() and "消防" not in page.content()
            shot("journey-3-other-unit-desk")
            response = page.goto(base + href)
            assert response is not None and response.status == 404
            response = page.goto(f"{base}/findings/{fid}")
            assert response is not None and response.status == 404
            page.goto(base + "/")
            page.click("nav button[type=submit]")

            # the inspector: the desk's 待复查 and 延期申请 list it
            server.clock.at("2024-10-11")
            sign_in(tokens["inspector"])
            assert queue("under_review") == [fid]
            shot("journey-4-inspector-under-review")
            assert queue("extension_requests") == [fid]
            assert "2024-10-10 申请延期，待批复" in page.inner_text("#queue")
            shot("journey-5-inspector-extension-requests")
            page.click(f"#queue a[href='/findings/{fid}']")
            assert page.locator("#report-form").count() == 0
            shot("journey-6-inspector-finding")
            # fails the review: 5 working days from Fri 10-11 (10-12 a make-up Saturday)
            page.check("#outcome-fail")
            page.fill("#review-within", "5")
            page.fill("#review-note", "照片未显示通道全貌")
            page.click("#review-form button[type=submit]")
            assert page.inner_text("#notice") == "复查未通过，已给出新的整改期限。"
            assert page.inner_text("#deadline").startswith("2024-10-17")
            # grants the extension
            page.fill(".decide-form input[name=note]", "同意")
            page.click(".decide-form button[value='1']")
            assert page.inner_text("#notice") == "已批准延期。"
            assert page.inner_text("#deadline").startswith("2024-11-15")
            shot("journey-7-inspector-decided")
            assert queue("under_review") == [] and queue("extension_requests") == []
            page.click("nav button[type=submit]")

            # the unit sees the new deadline, on its desk and on the finding
            sign_in(tokens["unit"])
            page.wait_for_url(base + "/desk")
            assert "2024-11-15" in page.inner_text("#todo")
            shot("journey-8-unit-desk-after")
            page.goto(f"{base}/findings/{fid}")
            assert page.inner_text("#deadline").startswith("2024-11-15")
            assert "已批准" in page.inner_text("#extension-requests")
            assert "同意" in page.inner_text("#extension-requests")
            assert "复查未通过" in page.inner_text("#timeline")
            shot("journey-9-unit-finding-after")
            page.click("nav button[type=submit]")
            # and the other unit still sees none of it
            sign_in(tokens["other"])
            page.wait_for_url(base + "/desk")
            assert page.locator("#todo-empty").count() == 1
            response = page.goto(base + href)
            assert response is not None and response.status == 404
        finally:
            browser.close()
