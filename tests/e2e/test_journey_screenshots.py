"""The journey of the README's "使用流程（截图）", walked in real headless Chromium on the
store `dudao demo` leaves, signing in with the two accounts the demo prints; each step
is checked, then photographed.

A test rather than a script of its own: it runs with the others (CI=true), so the journey
the README shows cannot rot unseen — a changed page or a broken step fails here, and the
same run leaves fresh pictures. The PNGs go to ``out/screenshots/`` (kept as the run's
artefacts, not committed); the README's copies in ``docs/screenshots/`` are refreshed by

    CI=true PYTHONPATH=$PWD .venv/bin/python -m pytest -q tests/e2e/test_journey_screenshots.py
    cp out/screenshots/[0-9][0-9]-*.png docs/screenshots/

Chinese renders only with a CJK font: ``chromium_path()`` installs one when none is
(tests/e2e/test_web.py ``cjk_font``), and the test asserts Chromium found it.

Unit (汉台区人民政府): 登录 → 待办 → 问题页（整改报告与申请延期的表单）→ 提交整改报告（附
两份佐证材料）→ 申请延期（待审批）；inspector (张督学): 工作台 → 待复查 → 复查（问题页，
附佐证材料）→ 复查表单（未通过，限期重新整改）→ 延期申请队列 → 延期审批（批准）→ 督导通报 → 单位问责报告；and the unit's desk at 360 px.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.demo.api_tour import pdf, png
from adapters.demo.year import run_demo
from domain.time import SHANGHAI
from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, has_cjk_font

SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
MAX_BYTES = 200 * 1024
DESK_HEIGHT = 800
"""A queue is shown by its first screen (the viewport's height): its filters and first
rows, each with its dates and rungs (a full page of rows is more than 200 KB)."""


def shot(page: Any, name: str, height: int = 1300) -> Path:
    """The page as the reader sees it, from its top (at most ``height`` px: a long report
    is shown by its first screens), under ``SHOTS``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = page.evaluate("[document.documentElement.scrollWidth,"
                         " document.documentElement.scrollHeight]")
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], height)})
    assert 5_000 < path.stat().st_size < MAX_BYTES, (name, path.stat().st_size)
    return path


def shot_of(page: Any, selector: str, name: str) -> Path:
    """The part of the page ``selector`` is, with the heading just above it, at the page's
    width, under ``SHOTS``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # in the page's coordinates (a full-page clip's), not the viewport's
    top, y, height = page.locator(selector).evaluate(
        "e => { const h = e.previousElementSibling, at = x => x.getBoundingClientRect().top"
        " + window.scrollY; return [at(h && /^H[1-6]$/.test(h.tagName) ? h : e) - 12,"
        " at(e), e.offsetHeight]; }")
    width = page.evaluate("document.documentElement.scrollWidth")
    top = max(0, top)
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": top, "width": width, "height": y + height + 20 - top})
    assert 5_000 < path.stat().st_size < MAX_BYTES, (name, path.stat().st_size)
    return path


def sign_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_the_readme_journey(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    lines: list[str] = []
    db = run_demo(tmp_path / "demo", lines.append)
    signins = dict(re.findall(r"（.+?）：用户名 (\w+)，密码 (\S+)", "\n".join(lines)))
    assert set(signins) == {"zhangduxue", "hantai"}
    executable = chromium_path()
    assert has_cjk_font()  # else every 汉字 is a box in the pictures
    server = ApiServer(str(db), Clock(datetime(2024, 12, 31, 22, tzinfo=SHANGHAI))).start()
    base = f"http://127.0.0.1:{server.port}"
    evidence = tmp_path / "files"
    evidence.mkdir()
    (evidence / "体育课课表.png").write_bytes(png())
    (evidence / "体育课开课情况说明.pdf").write_bytes(pdf("PE timetable"))
    try:
        with sync_playwright() as p:
            # --lang: the browser's own words (file and date inputs) in Chinese too
            browser = p.chromium.launch(executable_path=executable,
                                        args=[*CHROMIUM_FLAGS, "--lang=zh-CN"])
            try:
                desk_width = {"width": 1000, "height": 800}
                unit = browser.new_page(viewport=desk_width, locale="zh-CN")
                # --- the unit: 登录 → 待办
                unit.goto(base + "/")
                assert "/login" in unit.url
                shot(unit, "01-login")
                sign_in(unit, base, "hantai", signins["hantai"])
                assert unit.url == base + "/desk"
                assert unit.inner_text("h1") == "待办事项"
                assert "体育课开课率不足" in unit.inner_text("#todo")
                shot(unit, "02-unit-desk")
                # → the finding: the 整改报告 form (with 佐证材料) and the extension form
                unit.click("#todo a:has-text('体育课开课率不足')")
                assert unit.locator("#report-form").count() == 1
                assert unit.locator("#extension-request-form").count() == 1
                unit.fill("#report-text", "已调整课表，全区中小学体育课按课程方案开足开齐，附课表和说明")
                unit.set_input_files("#report-files", [str(evidence / "体育课课表.png"),
                                                       str(evidence / "体育课开课情况说明.pdf")])
                shot(unit, "03-report-form")
                # → 提交整改报告（附佐证材料）
                unit.click("#report-form button[type=submit]")
                assert unit.get_attribute("#status", "data-status") == "under_review"
                assert [a.inner_text() for a in unit.query_selector_all("#files a")] == [
                    "体育课课表.png", "体育课开课情况说明.pdf"]
                shot(unit, "04-report-submitted")
                # → 申请延期: the demo's request, awaiting the inspector
                unit.goto(base + "/desk")
                unit.click("#todo a:has-text('校园食堂未落实食品留样制度')")
                request = unit.locator("#extension-requests li[data-status=pending]")
                assert request.count() == 1 and "2025-01-24" in request.inner_text()
                shot(unit, "05-extension-requested")

                # --- the inspector: 工作台 → 待复查 → 复查
                inspector = browser.new_page(viewport=desk_width, locale="zh-CN")
                sign_in(inspector, base, "zhangduxue", signins["zhangduxue"])
                inspector.goto(base + "/desk")
                assert inspector.inner_text("h1") == "督学工作台"
                shot(inspector, "06-inspector-desk", height=DESK_HEIGHT)
                inspector.goto(base + "/desk?queue=under_review")
                queue = inspector.inner_text("#queue")
                assert "课后服务未覆盖全部有需求的学生" in queue and "体育课开课率不足" in queue
                shot(inspector, "07-review-queue", height=DESK_HEIGHT)
                inspector.click("#queue a:has-text('课后服务未覆盖全部有需求的学生')")
                assert [a.inner_text() for a in inspector.query_selector_all("#files a")] == [
                    "课后服务现场照片.png", "课后服务实施方案.pdf"]
                shot(inspector, "08-review-finding")
                # → 复查: the form on the finding page; not passed, a new deadline
                inspector.check("#outcome-fail")
                inspector.fill("#review-within", "10")
                inspector.fill("#review-note", "覆盖面仍不足，请补充有需求学生名单后重新报送")
                shot_of(inspector, "#review-form", "09-review-form")
                inspector.click("#review-form button[type=submit]")
                assert inspector.get_attribute("#status", "data-status") == "rectifying"
                assert "复查未通过" in inspector.inner_text("#timeline")
                # → 延期申请: the queue of requests awaiting a decision
                inspector.goto(base + "/desk?queue=extension_requests")
                assert inspector.inner_text("#queue-title") == "延期申请"
                assert "校园食堂未落实食品留样制度" in inspector.inner_text("#queue")
                assert "申请延期，待批复" in inspector.inner_text("#queue")
                shot(inspector, "10-extension-queue", height=DESK_HEIGHT)
                # → 延期审批
                inspector.click("#queue a:has-text('校园食堂未落实食品留样制度')")
                inspector.fill("#decide-note-1", "同意，请按期完成采购")
                inspector.click(".decide-form button[value='1']")
                decided = inspector.locator("#extension-requests li").first
                assert decided.get_attribute("data-status") == "granted"
                assert "2025-01-24" in inspector.inner_text("#deadline")
                shot(inspector, "11-extension-granted")
                # → 通报: the overview is the bulletin
                inspector.goto(base + "/")
                assert "督 导 通 报" in inspector.inner_text("h1")
                assert "实际举行约谈" in inspector.inner_text("#interview-figures")
                shot(inspector, "12-bulletin")
                inspector.goto(base + "/units/HTQ")
                assert inspector.inner_text("#figures [data-field=findings]").isdigit()
                shot(inspector, "13-unit-report")
                # --- a phone: the unit's desk at 360 px
                phone = browser.new_page(viewport={"width": 360, "height": 740},
                                         locale="zh-CN", device_scale_factor=1)
                sign_in(phone, base, "hantai", signins["hantai"])
                assert phone.url == base + "/desk"
                # nothing wider than the screen: no sideways scrolling
                assert phone.evaluate("document.documentElement.scrollWidth") <= 360
                shot(phone, "14-phone-desk")
            finally:
                browser.close()
    finally:
        server.stop()
