"""Issue 11: a provisional deadline is shown as 暂定 by a running server, in the API and on
the web pages, and in the unit report (the rest is in
tests/integration/test_calendar_check.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.apiserver import ApiServer
from tests.conftest import Cli, Clock
from tests.integration.test_calendar_check import two_findings


def test_api_web_page_and_unit_report_show_it(sqlite_db: str, clock: Clock,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    new, old = two_findings(dudao)
    clock.at("2026-12-20")
    server = ApiServer(sqlite_db, clock).start()
    try:
        token = server.token("inspector", name="张督学")
        with server.client(token) as api:
            assert api.get(f"/findings/{new}").json()["deadline_provisional"] is True
            assert api.get(f"/findings/{old}").json()["deadline_provisional"] is False
            listed = {f["finding_id"]: f["deadline_provisional"]
                      for f in api.get("/findings").json()["findings"]}
            assert listed == {new: True, old: False}
        web = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
        form = web.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        assert web.post("/login", data={"token": token, "next": "/", "csrf": csrf},
                        follow_redirects=False).status_code == 303
        page = web.get(f"/findings/{new}").text
        cell = re.search(r'<td id="deadline">(.*?)</td>', page).group(1)  # type: ignore[union-attr]
        assert "2027-01-04" in cell and "暂定" in cell
        page = web.get(f"/findings/{old}").text
        cell = re.search(r'<td id="deadline">(.*?)</td>', page).group(1)  # type: ignore[union-attr]
        assert "2024-10-14" in cell and "暂定" not in cell
        unit_page = web.get("/units/CGX").text
        assert "2027-01-04（暂定）" in unit_page
        web.close()
    finally:
        server.stop()
    code, out, err = dudao("report", "unit", "CGX", now="2026-12-20T09:00")
    assert code == 0, err
    assert "整改期限 2027-01-04（暂定）" in out
    assert "整改期限 2024-10-14（暂定）" not in out and "整改期限 2024-10-14" in out
    report = dudao.json("report", "unit", "CGX", "--format", "json", now="2026-12-20T09:00")
    flags = {f["finding_id"]: f["deadline_provisional"] for f in report["open_findings"]}
    assert flags == {new: True, old: False}
