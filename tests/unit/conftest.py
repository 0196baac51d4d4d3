"""The unit tests' fence: no database, no network, no process, no file written.

A unit test may read the repository's files (policies, sample plans, sources) and nothing
else. One that asks for a store, a server or a temporary folder fails at once, naming the
fixture; one that connects a socket, starts a process or opens SQLite or PostgreSQL fails
where it does. tests/unit/test_kinds.py checks the imports too. Such a test belongs in
tests/integration or tests/e2e.
"""

from __future__ import annotations

import multiprocessing.process
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

MOVE = "a unit test does no I/O; put it in tests/integration or tests/e2e"

IO_FIXTURES = ("db", "sqlite_db", "pg_db", "app", "api", "nats_server",
               "tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory")
"""Fixtures that touch a store, a server or the disk."""


def _refused_fixture(name: str) -> Any:
    @pytest.fixture(name=name)
    def refused() -> None:
        pytest.fail(f"{MOVE} (it asks for the fixture {name!r})", pytrace=False)

    return refused


for _name in IO_FIXTURES:
    globals()[f"_no_{_name}"] = _refused_fixture(_name)


def _refuse(what: str) -> Callable[..., Any]:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        pytest.fail(f"{MOVE} (it {what})")

    return refused


@pytest.fixture(autouse=True)
def _no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse("connects a socket"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse("connects a socket"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("binds a port"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("starts a process"))
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start",
                        _refuse("starts a process"))
    monkeypatch.setattr(sqlite3, "connect", _refuse("opens a SQLite database"))
    psycopg = sys.modules.get("psycopg")  # loaded by tests/conftest.py; not imported here
    if psycopg is not None:
        monkeypatch.setattr(psycopg, "connect", _refuse("connects to PostgreSQL"))
        monkeypatch.setattr(psycopg.Connection, "connect", _refuse("connects to PostgreSQL"))
