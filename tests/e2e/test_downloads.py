"""The downloads on the pages over HTTP (``dudao serve``): the findings list as xlsx, CSV
and JSON, a plan's 工作台账 as xlsx; the content type, the RFC 5987 file name; a unit's
login gets its own unit only (another unit's file is a 404), like the pages."""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from tests.apiserver import ApiServer
from tests.conftest import SAMPLE_PLANS, Clock
from tests.e2e.test_web import login
from tests.integration.test_reports import scenario

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def site(sqlite_db: str, clock: Clock) -> Iterator[tuple[ApiServer, dict[str, Any], dict[str, str]]]:
    seed = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    f = scenario(seed, clock)
    path = SAMPLE_PLANS / "county-high-schools-2023-2025.txt"
    seed.import_plan(path.read_bytes(), source=path.name, code="XZ", actor="导入员")
    seed.close()
    server = ApiServer(sqlite_db, clock).start()
    tokens = {"inspector": server.token("inspector", None, "李督学"),
              "u1": server.token("unit", "U1", None),
              "sjyj": server.token("unit", "SJYJ", None)}
    yield server, f, tokens
    server.stop()


def test_downloads_by_role(site: tuple[ApiServer, dict[str, Any], dict[str, str]]) -> None:
    server, f, tokens = site
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    # not signed in: to the login page, no file
    assert client.get("/reports/findings.xlsx", follow_redirects=False).status_code == 303

    login(client, tokens["inspector"])
    overview = client.get("/").text
    assert 'href="/reports/findings.xlsx"' in overview and "/plans/XZ/ledger.xlsx" in overview
    data = client.get("/reports/findings.json").json()
    assert len(data["rows"]) == 11
    r = client.get("/reports/findings.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment; filename=\"findings-all-2024-11-01.xlsx\"")
    assert f"filename*=UTF-8''{quote('全部单位问题清单2024-11-01.xlsx')}" in cd
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    assert [row[11] for row in ws.iter_rows(min_row=2, values_only=True)] == [
        x["finding_id"] for x in data["rows"]]
    r = client.get("/reports/findings.csv", params={"unit": "U3"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[0] for row in parsed[1:]] == ["单位U3"]
    overdue = client.get("/reports/findings.json", params={"overdue": "1"}).json()
    assert {x["finding_id"] for x in overdue["rows"]} == {str(f["f6"]), str(f["h1"])}
    assert client.get("/reports/findings.json", params={"status": "done"}).status_code == 422
    assert client.get("/reports/findings.pdf").status_code == 404
    ledger = client.get("/plans/XZ/ledger.xlsx")
    assert ledger.status_code == 200 and ledger.headers["content-type"] == XLSX
    assert len(list(load_workbook(io.BytesIO(ledger.content)).active.iter_rows(min_row=2))) == 13  # type: ignore[union-attr]
    assert client.get("/plans/NOPE/ledger.xlsx").status_code == 404

    # a unit: its own findings, by default and by name; another unit's is a 404
    login(client, tokens["u1"])
    assert 'href="/reports/findings.xlsx?unit=U1"' in client.get("/units/U1").text
    own = client.get("/reports/findings.json").json()
    assert {x["unit"] for x in own["rows"]} == {"U1"} and len(own["rows"]) == 9
    assert client.get("/reports/findings.json", params={"unit": "U1"}).json() == own
    assert client.get("/reports/findings.xlsx", params={"unit": "U3"}).status_code == 404
    assert client.get("/reports/findings.csv", params={"unit": "U9"}).status_code == 404
    assert client.get("/plans/XZ/ledger.xlsx").status_code == 404  # U1 has no task in XZ

    # a unit named in the plan: the tasks naming it only
    login(client, tokens["sjyj"])
    mine = load_workbook(io.BytesIO(client.get("/plans/XZ/ledger.xlsx").content)).active
    assert mine is not None
    rows = list(mine.iter_rows(min_row=2, values_only=True))
    assert 0 < len(rows) <= 13
    assert all("市教育局" in f"{row[2]}{row[3]}" for row in rows)
