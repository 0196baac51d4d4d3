"""The overview page (the bulletin) in headless Chromium lists the lagging tasks of the
units outside the 督导室's jurisdiction as 滞后, for the government's attention, and the
ledger's JSON marks those units."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.conftest import Clock
from tests.e2e.test_web import CHROMIUM_FLAGS, chromium_path, token_sign_in

PLAN = """关于印发《某区义务教育提升实施方案(2024-2025)》的通知
二、主要任务
1.消除大班额。到2024年6月底,义务教育学校班额不得超过45人。(牵头单位:区教育局;责任单位:区委编办、区政府教育督导室)
2.配齐校长。2024年6月底前完成校长选配。[责任单位:区委组织部]
"""


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    gc.collect()


def test_the_overview_lists_the_units_outside_jurisdiction_as_lagging(sqlite_db: str,
                                                                     clock: Clock) -> None:
    from playwright.sync_api import sync_playwright

    clock.at("2024-01-02")
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    seed.import_plan(PLAN.encode(), source="p.txt", code="P", actor="t")
    seed.close()
    clock.at("2024-07-02")
    server = ApiServer(sqlite_db, clock).start()
    try:
        token = server.token("inspector", None, "李督学")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(java_script_enabled=False)
                page.goto(f"http://127.0.0.1:{server.port}/")
                token_sign_in(page, token)
                heading = page.locator("[data-section=lagging-outside]")
                assert "工作滞后（提请政府关注）" in heading.inner_text()
                body = page.inner_text("body")
                section = body.split("工作滞后（提请政府关注）", 1)[1].split("激励", 1)[0]
                for name in ("区委编办（党委机关）", "区委组织部（党委机关）",
                             "区政府教育督导室（督导室）", "配齐校长"):
                    assert name in section, name
                assert "区教育局" not in section  # held to account: a finding, not a list
                page.screenshot(path=os.path.join(os.path.dirname(sqlite_db),
                                                  "lagging.png"), full_page=True)
            finally:
                browser.close()
    finally:
        server.stop()
