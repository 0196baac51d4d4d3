"""Issue 16: which background roles a process runs (no I/O)."""

from __future__ import annotations

from adapters.entrypoints.background import default_roles
from adapters.entrypoints.worker import parse_roles


def test_a_worker_runs_the_roles_named_each_once_or_all() -> None:
    assert parse_roles([]) == ("publish", "sweep", "project")
    assert parse_roles(["project", "sweep", "sweep"]) == ("sweep", "project")


def test_serve_runs_the_projector_only_on_postgresql() -> None:
    assert default_roles("dudao.db") == ("publish", "sweep")
    assert default_roles("postgresql://u@h/db?schema=s") == ("publish", "sweep", "project")
    assert default_roles("dudao.db", sweep=False) == ("publish",)
