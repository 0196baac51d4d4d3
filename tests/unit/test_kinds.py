"""Tests by kind: every test module sits in the folder of its kind, and the unit tests do no
I/O (no database, network, process or file written; reading the repository's files is fine).

The checks read the sources (an import inside a function counts too); tests/unit/conftest.py
fences the same at run time, and the last test here makes sure the fence holds.
"""

from __future__ import annotations

import ast
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
UNIT = TESTS / "unit"
KINDS = {"unit", "integration", "e2e", "bdd"}

NO_IO = {"conftest.py", "test_kinds.py"}
"""The fence and its own test import the I/O modules they block; nothing else in unit does."""

IO_MODULES = {
    # databases, network, processes, scratch files
    "psycopg", "psycopg_pool", "sqlalchemy", "sqlite3", "nats", "socket", "ssl", "select",
    "selectors", "http", "urllib.request", "httpx", "requests", "uvicorn", "schemathesis",
    "playwright", "selenium", "subprocess", "multiprocessing", "signal", "tempfile", "shutil",
    # this repository's own: a store, a server, the demo, the CLI runner over a store
    "tests.apiserver", "tests.nats_server", "tests.integration", "tests.e2e", "tests.bdd",
    "adapters.bootstrap", "adapters.service_layer.application", "adapters.entrypoints.server",
    "adapters.entrypoints.api.app", "adapters.demo", "bench",
}
IO_NAMES = {("tests.conftest", n) for n in ("Cli", "PG_URL", "need", "pg_unavailable")} | {
    ("adapters.entrypoints.cli.base", "run"), ("adapters.entrypoints.cli", "main")}
IO_FIXTURES = {"db", "sqlite_db", "pg_db", "app", "api", "nats_server", "tmp_path",
               "tmp_path_factory", "tmpdir", "tmpdir_factory"}
WRITES = {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rmdir", "rename",
          "symlink_to", "hardlink_to"}


def unit_modules() -> list[Path]:
    return sorted(p for p in UNIT.rglob("*.py") if p.name not in NO_IO)


def named(module: str, names: set[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(TESTS.parent).as_posix()
    found = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where}: imports {a.name}" for a in node.names
                      if named(a.name, IO_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if named(node.module, IO_MODULES):
                found.append(f"{where}: imports {node.module}")
            found += [f"{where}: imports {a.name} from {node.module}" for a in node.names
                      if (node.module, a.name) in IO_NAMES
                      or named(f"{node.module}.{a.name}", IO_MODULES)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            found += [f"{where}: {node.name} asks for the fixture {a.arg}" for a in args
                      if a.arg in IO_FIXTURES]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in WRITES:
                found.append(f"{where}: calls .{func.attr}()")
            elif isinstance(func, ast.Name | ast.Attribute) and writes(node):
                found.append(f"{where}: opens a file to write")
    return found


def writes(call: ast.Call) -> bool:
    """``open(path, "w")``, ``path.open("a")`` and the like (``open`` with a mode that is not
    a literal counts as writing)."""
    builtin = isinstance(call.func, ast.Name)
    if (call.func.id if builtin else call.func.attr) != "open":  # type: ignore[attr-defined]
        return False
    mode = next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        positional = call.args[1:] if builtin else call.args[:1]
        mode = positional[0] if positional else None
    if mode is None:
        return False
    if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
        return builtin
    return bool(set(mode.value) & set("wax+"))


def test_every_test_module_is_in_the_folder_of_its_kind() -> None:
    modules = sorted(p.relative_to(TESTS) for p in TESTS.rglob("test_*.py"))
    assert modules, "no test modules found"
    astray = [p.as_posix() for p in modules if len(p.parts) < 2 or p.parts[0] not in KINDS]
    assert astray == [], f"not in tests/unit, integration, e2e or bdd: {astray}"
    packages = [d for d in TESTS.rglob("*") if d.is_dir() and d.name != "__pycache__"]
    without = [d.relative_to(TESTS).as_posix() for d in packages
               if not (d / "__init__.py").exists()]
    assert without == [], f"test folders without __init__.py: {without}"


def test_the_unit_tests_do_no_io() -> None:
    checked = unit_modules()
    assert len(checked) >= 10, [p.name for p in checked]  # the scan found the unit tests
    found = [problem for path in checked for problem in problems(path)]
    assert found == [], "\n".join(found)


def test_the_check_finds_io_where_there_is_some() -> None:
    """The check itself, on modules that do I/O: the integration and e2e tests."""
    others = sorted((TESTS / "integration").glob("test_*.py")) + \
        sorted((TESTS / "e2e").glob("test_*.py"))
    clean = [p.relative_to(TESTS).as_posix() for p in others if not problems(p)]
    # an integration or e2e test module without a store, a server or a process: move it to unit
    assert clean == [], clean


@pytest.mark.parametrize("act", ["socket", "process", "sqlite"])
def test_the_fence_refuses_io_at_run_time(act: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="put it in tests/integration or tests/e2e"):
        if act == "socket":
            with socket.socket() as s:
                s.connect(("127.0.0.1", 9))
        elif act == "process":
            subprocess.run(["true"], check=False)
        else:
            sqlite3.connect(":memory:")
