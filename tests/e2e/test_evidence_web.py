"""The finding page in headless Chromium (no JavaScript): a unit submits a 整改报告 with two
files and asks for an extension, the inspector grants it, the unit sees the new deadline;
another unit gets 404 for the files. Screenshots are kept beside the store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, token_sign_in

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
    shots = os.path.dirname(sqlite_db)
    (tmp_path / "现场照片.png").write_bytes(PNG)
    (tmp_path / "整改报告.pdf").write_bytes(PDF)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(java_script_enabled=False, accept_downloads=True)

            def sign_in(token: str) -> None:
                page.goto(base + "/login")
                token_sign_in(page, token)

            sign_in(tokens["unit"])
            page.goto(f"{base}/findings/{fid}")
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
            page.screenshot(path=os.path.join(shots, "finding-unit.png"), full_page=True)
            page.click("nav button[type=submit]")  # sign out

            # another unit: the finding and its files do not exist for it
            sign_in(tokens["other"])
            response = page.goto(base + href)
            assert response is not None and response.status == 404
            response = page.goto(f"{base}/findings/{fid}")
            assert response is not None and response.status == 404
            page.goto(base + "/")
            page.click("nav button[type=submit]")

            # the inspector grants it
            server.clock.at("2024-10-11")
            sign_in(tokens["inspector"])
            page.goto(f"{base}/findings/{fid}")
            assert page.locator("#report-form").count() == 0
            page.screenshot(path=os.path.join(shots, "finding-inspector.png"), full_page=True)
            page.fill(".decide-form input[name=note]", "同意")
            page.click(".decide-form button[value='1']")
            assert page.inner_text("#notice") == "已批准延期。"
            assert page.inner_text("#deadline").startswith("2024-11-15")
            page.click("nav button[type=submit]")

            # the unit sees the new deadline
            sign_in(tokens["unit"])
            page.goto(f"{base}/findings/{fid}")
            assert page.inner_text("#deadline").startswith("2024-11-15")
            assert "已批准" in page.inner_text("#extension-requests")
            assert "同意" in page.inner_text("#extension-requests")
        finally:
            browser.close()
