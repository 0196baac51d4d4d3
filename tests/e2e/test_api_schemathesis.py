"""Schemathesis against the OpenAPI document, through real HTTP: no input gives a server error.

A bounded number of examples per operation, with a fixed seed; path parameters
are mapped onto real findings, units and pending extension requests (延期申请) so that
the commands reach the service, each called with the role that may make it (a unit
reports and asks for extensions, an inspector decides them). The 整改报告 route is
fuzzed as multipart/form-data (佐证材料 under ``files``) as its OpenAPI document states;
the test asserts that it was, and that valid input to it and to both extension-request
routes was accepted at least once (a requested extension's date, valid input, is moved
into the calendar's years: see ``into_calendar``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from psycopg import sql
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.infrastructure.event_store import prepare
from tests.apiserver import ApiServer
from tests.conftest import PG_URL, Clock, need, pg_unavailable

EXAMPLES = 20  # per operation and mode: bounded, with a fixed seed


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzzed(request, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    schema_name = None
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("fuzz") / "dudao.db")
    else:
        error = pg_unavailable()
        if error:
            need("PostgreSQL", error)
        schema_name = f"t_{uuid.uuid4().hex[:12]}"
        db = f"{PG_URL}?schema={schema_name}"
        prepare(db)
    server = ApiServer(db, Clock()).start()
    app = server.app
    app.add_unit("HTQ", "汉台区人民政府", principal="陈明", actor="t")
    app.add_unit("NZQ", "南郑区人民政府", actor="t")
    ids = []
    for i, unit in enumerate(("HTQ", "HTQ", "NZQ", "HTQ")):
        fid = app.record_finding(unit=unit, on=date(2024, 9, 2), inspector="张督学",
                                 text=f"问题{i}", actor="t")
        if i:
            app.order_rectification(fid, on=date(2024, 9, 2), within=10, actor="t")
        if i == 3:
            app.submit_report(fid, on=date(2024, 9, 10), text="已整改", actor="t")
        ids.append(str(fid))
    requests = []  # pending 延期申请, for the decision route
    for i in range(3):
        fid = app.record_finding(unit="HTQ", on=date(2024, 9, 2), inspector="张督学",
                                 text=f"待审批延期{i}", actor="t")
        app.order_rectification(fid, on=date(2024, 9, 2), within=10, actor="t")
        requests.append(app.request_extension(fid, to=date(2025, 1, 20), reason="施工未完",
                                              actor="t"))
    yield {
        "server": server,
        "ids": ids,
        "requests": requests,
        "inspector": server.token("inspector", name="张督学"),
        "unit": server.token("unit", unit="HTQ"),
    }
    server.stop()
    if schema_name:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema_name)))


REPORTS = "POST /api/v1/findings/{finding_id}/reports"
RECORD = "POST /api/v1/findings"
REQUEST = "POST /api/v1/findings/{finding_id}/extension-requests"
DECIDE = "POST /api/v1/extension-requests/{request_id}/decision"
UNIT_ROUTES = ("/reports", "/extension-requests")  # what a unit does; the rest an inspector

def into_calendar(text: str) -> str:
    """A generated date moved into the years after the findings' deadlines that the
    calendar knows (2025–2099), as path parameters are mapped onto real findings: a date
    of any year is valid to the schema, and 2000-01-01 is what it mostly generates."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return day.replace(year=2025 + day.year % 75, day=min(day.day, 28)).isoformat()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_no_input_gives_a_server_error(fuzzed: dict[str, Any], mode: GenerationMode) -> None:
    server: ApiServer = fuzzed["server"]
    api_schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14
    statuses: dict[str, list[int]] = {}
    media: dict[str, set[str | None]] = {}
    labels = {op.label for op in operations}
    assert {REPORTS, REQUEST, DECIDE} <= labels
    reports = next(op for op in operations if op.label == REPORTS)
    assert {b.media_type for b in reports.body} >= {"multipart/form-data", "application/json"}

    def call(case: Any) -> None:
        params = case.path_parameters or {}
        if "finding_id" in params:
            generated = str(params["finding_id"])
            params["finding_id"] = fuzzed["ids"][len(generated) % len(fuzzed["ids"])]
        if "code" in params:
            params["code"] = ("HTQ", "NZQ", str(params["code"]))[len(str(params["code"])) % 3]
        if "request_id" in params:
            generated = str(params["request_id"])
            params["request_id"] = fuzzed["requests"][len(generated) % len(fuzzed["requests"])]
        body = case.body
        if mode is GenerationMode.POSITIVE and case.operation.label == REQUEST and \
                isinstance(body, dict) and isinstance(body.get("to"), str):
            body["to"] = into_calendar(body["to"])
        role = "unit" if case.path.endswith(UNIT_ROUTES) else "inspector"
        headers = {"Authorization": f"Bearer {fuzzed[role]}"}
        checks = [not_a_server_error] if mode is GenerationMode.NEGATIVE else CHECKS
        response = case.call_and_validate(headers=headers, checks=checks)
        statuses.setdefault(case.operation.label, []).append(response.status_code)
        media.setdefault(case.operation.label, set()).add(case.media_type)

    for operation in operations:
        run = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                       suppress_health_check=list(HealthCheck))(
            seed(20241015)(given(case=operation.as_strategy(generation_mode=mode))(call)))
        try:
            run()
        except Unsatisfiable:
            # nothing of this operation can be made invalid (health, readiness: no input)
            assert mode is GenerationMode.NEGATIVE and not operation.body and \
                not operation.query and not operation.path_parameters, operation.label
    # every operation was called, and valid input did reach the service
    # (the health and readiness checks have no input: nothing of them can be made invalid)
    no_input = {"GET /api/v1/health", "GET /api/v1/ready"}
    assert set(statuses) >= {op.label for op in operations if op.label not in no_input
                             or mode is GenerationMode.POSITIVE}
    if mode is GenerationMode.POSITIVE:
        assert any(200 <= code < 300 for codes in statuses.values() for code in codes)
        # valid input to the evidence routes reached the service and was recorded
        for label in (REPORTS, REQUEST, DECIDE):
            assert any(200 <= code < 300 for code in statuses[label]), (label, statuses[label])
    # the 佐证材料 forms themselves were fuzzed: a report's, and a finding's 现场材料
    assert "multipart/form-data" in media[REPORTS]
    assert "multipart/form-data" in media[RECORD]
    # whatever was accepted can be read back: the read models took every event
    with server.client(fuzzed["inspector"]) as client:
        assert client.get("/findings").status_code == 200
        assert client.get("/units/HTQ/report").status_code == 200
