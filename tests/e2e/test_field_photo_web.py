"""An inspector in the field, on a phone (360 × 740, headless Chromium, no JavaScript):
signs in, opens 登记问题, fills the form, attaches a photo (the file input offers the
camera) and records the finding; the finding page lists the photo as 登记时的现场材料 and
its download is the same bytes, with its type and as an attachment; a refused file records
nothing and says which file; another unit gets 404 for the photo. Nothing is wider than the
phone. The screenshot is kept in out/screenshots/journey-phone-record.png."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, token_sign_in

SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")  # a 1 × 1 picture


@pytest.fixture
def site(sqlite_db: str, clock: Clock) -> Iterator[tuple[ApiServer, dict[str, str]]]:
    server = ApiServer(sqlite_db, clock).start()
    tokens = {"inspector": server.token("inspector", name="张督学"),
              "other": server.token("unit", unit="NZQ")}
    with server.client(server.token("admin", name="管理员")) as admin:
        for code, name in (("HTQ", "汉台区人民政府"), ("NZQ", "南郑区人民政府")):
            assert admin.post("/units", json={"code": code, "name": name}).status_code == 201
    clock.at("2024-10-10")
    yield server, tokens
    server.stop()


def test_a_phone_records_a_finding_with_a_photo(site: tuple[ApiServer, dict[str, str]],
                                                tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server, tokens = site
    base = f"http://127.0.0.1:{server.port}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "操场围栏.png"
    photo.write_bytes(PNG)
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    sha = hashlib.sha256(PNG).hexdigest()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740},
                                    java_script_enabled=False)
            # the layout is measured by a page of the same size that may run a script
            ruler = browser.new_page(viewport={"width": 360, "height": 740})

            page.goto(base + "/login")
            token_sign_in(page, tokens["inspector"])
            page.wait_for_url(base + "/")
            page.click("a[href='/findings/new']")  # 登记问题, from the page's navigation
            page.wait_for_url(base + "/findings/new")
            files = page.locator("#files")
            assert files.get_attribute("capture") == "environment"
            assert "image/*" in (files.get_attribute("accept") or "")
            assert files.get_attribute("multiple") is not None
            assert page.locator("label[for=files]").count() == 1
            assert "每个文件不超过 20 MB" in page.inner_text("label[for=files]")
            assert page.get_attribute("#finding-form", "enctype") == "multipart/form-data"

            def fill(text: str) -> None:
                page.select_option("#unit", "HTQ")
                page.fill("#on", "2024-10-10")
                page.fill("#inspector", "张督学")
                page.fill("#text", text)

            # a file of a type not allowed: refused, named, nothing recorded
            before = server.events()
            fill("操场东侧围栏破损，存在安全隐患")
            page.set_input_files("#files", [str(photo), str(script)])
            page.click("#finding-form button[type=submit]")
            assert "run.sh" in page.inner_text("#error")
            assert server.events() == before
            assert page.input_value("#text") == "操场东侧围栏破损，存在安全隐患"  # kept

            fill("操场东侧围栏破损，存在安全隐患")
            page.set_input_files("#files", str(photo))
            page.screenshot(path=str(SHOTS / "journey-phone-record-form.png"), full_page=True)
            page.click("#finding-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/findings/[0-9a-f-]+\?notice=recorded"))
            fid = re.search(r"/findings/([0-9a-f-]+)", page.url).group(1)  # type: ignore[union-attr]
            assert page.inner_text("#notice") == "问题已登记。"
            listed = page.inner_text("#files")
            assert "操场围栏.png" in listed and "登记时的现场材料" in listed
            assert re.search(r"2024\D10\D10", listed)  # the finding's day, as the page writes days
            href = page.get_attribute("#files a", "href")
            assert href == f"/findings/{fid}/files/{sha}"
            page.screenshot(path=str(SHOTS / "journey-phone-record.png"), full_page=True)
            for path in ("/findings/new", f"/findings/{fid}"):
                ruler.context.add_cookies(page.context.cookies())
                ruler.goto(base + path)
                width = ruler.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path}: {width} px wide at a 360 px viewport"

            got = page.request.get(base + href)
            assert got.status == 200 and got.body() == PNG
            assert got.headers["content-type"] == "image/png"
            disposition = got.headers["content-disposition"]
            assert disposition.startswith("attachment") and quote("操场围栏.png") in disposition
            # the API names the same file
            with server.client(tokens["inspector"]) as api:
                shown = api.get(f"/findings/{fid}/files/{sha}")
                assert shown.status_code == 200 and shown.content == PNG
            # another unit: no such file
            with server.client(tokens["other"]) as other:
                assert other.get(f"/findings/{fid}/files/{sha}").status_code == 404
        finally:
            browser.close()


def test_the_api_records_a_finding_with_a_photo_as_multipart(
        site: tuple[ApiServer, dict[str, str]]) -> None:
    server, tokens = site
    fields = {"unit": "HTQ", "on": "2024-10-10", "inspector": "张督学", "text": "围栏破损"}
    sha = hashlib.sha256(PNG).hexdigest()
    with server.client(tokens["inspector"]) as api:
        before = server.events()
        refused = api.post("/findings", data=fields, files=[
            ("files", ("现场.png", PNG, "image/png")),
            ("files", ("run.sh", b"#!/bin/sh\n", "image/png"))])  # the type is told by content
        assert refused.status_code == 422 and "run.sh" in refused.text
        assert server.events() == before
        made = api.post("/findings", data=fields, files=[("files", ("现场.png", PNG, "image/png"))],
                        headers={"Idempotency-Key": "field-1"})
        assert made.status_code == 201, made.text
        fid = made.json()["finding_id"]
        again = api.post("/findings", data=fields, files=[("files", ("现场.png", PNG, "image/png"))],
                         headers={"Idempotency-Key": "field-1"})
        assert again.status_code == 201 and again.json()["finding_id"] == fid
        got = api.get(f"/findings/{fid}/files/{sha}")
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        # JSON without files keeps working
        plain = api.post("/findings", json=fields | {"text": "另一问题"})
        assert plain.status_code == 201
        assert api.post("/findings", json=fields | {"color": "red"}).status_code == 422
        odd = api.post("/findings", data=fields | {"color": "red"},
                       files=[("files", ("现场.png", PNG, "image/png"))])
        assert odd.status_code == 422 and "color" in odd.text
    with server.client(tokens["other"]) as other:
        assert other.get(f"/findings/{fid}/files/{sha}").status_code == 404
        assert other.post("/findings", data=fields, files=[
            ("files", ("现场.png", PNG, "image/png"))]).status_code == 403
