"""Entry points are thin (issue 12): the API's and the pages' routes are module-level
routers, ``create_api`` only assembles them, and every write of the API goes through the
one write body (``deps.Command``: role, visibility, Idempotency-Key, domain errors).

These read the source and the assembled app (no server, no database).
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.routing import APIRoute

from adapters.entrypoints.api import deps
from adapters.entrypoints.api.app import ROUTERS, create_api

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "adapters" / "entrypoints"
DECORATORS = {"get", "post", "put", "patch", "delete", "api_route", "route"}
ADDERS = {"add_api_route", "add_route", "api_route"}


def route_definitions_in_functions(path: Path) -> list[str]:
    """``@router.post(...)`` on a function inside a function, or ``router.add_api_route(...)``
    called in one."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in (n for stmt in fn.body for n in ast.walk(stmt)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hits = [d.func for d in node.decorator_list if isinstance(d, ast.Call)
                        and isinstance(d.func, ast.Attribute) and d.func.attr in DECORATORS]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                hits = [node.func] if node.func.attr in ADDERS else []
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{h.lineno} in {fn.name}()" for h in hits]
    return found


def test_no_route_is_defined_inside_a_function() -> None:
    modules = sorted((ENTRY / "api").glob("*.py")) + sorted((ENTRY / "web").glob("*.py"))
    assert len(modules) > 5
    found = [hit for path in modules for hit in route_definitions_in_functions(path)]
    assert found == [], "\n".join(found)


def test_create_api_only_assembles() -> None:
    tree = ast.parse((ENTRY / "api" / "app.py").read_text(encoding="utf-8"))
    create = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                  and n.name == "create_api")
    assert create.end_lineno is not None
    assert create.end_lineno - create.lineno + 1 <= 40
    nested = [n.name for n in ast.walk(create) if n is not create
              and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert nested == []


def assembled() -> Any:
    tokens = SimpleNamespace(lookup=lambda _: None)
    return create_api(SimpleNamespace(tokens=tokens))  # type: ignore[arg-type]


def test_every_api_write_goes_through_the_one_write_body() -> None:
    api = assembled()
    writes = [r for r in api.router.routes if isinstance(r, APIRoute)
              and r.path.startswith(deps.PREFIX) and "POST" in r.methods]
    assert len(writes) == 20  # + extension requests and their decision (issue 14)
    for route in writes:
        calls = [d.call for d in route.dependant.dependencies]
        assert calls == [deps.command], route.path
    # and the API's routes are exactly the routers' (none added on the side)
    declared = {id(r) for router in ROUTERS for r in router.routes}
    on_app = {id(r) for r in api.router.routes
              if isinstance(r, APIRoute) and r.path.startswith(deps.PREFIX)
              and r.path != f"{deps.PREFIX}/openapi.json"}
    assert on_app == declared


def test_every_write_documents_the_idempotency_key_and_recording_goes_first() -> None:
    api = assembled()
    schema = api.openapi()
    posts = [(path, ops["post"]) for path, ops in schema["paths"].items() if "post" in ops]
    assert len(posts) == 20
    for path, op in posts:
        assert [p["name"] for p in op["parameters"] if p["in"] == "header"] == \
            ["Idempotency-Key"], path
        assert op["security"] == [{"HTTPBearer": []}]
    first = api.router.routes[0]
    assert (first.path, first.methods) == (f"{deps.PREFIX}/findings", {"POST"})
    # the document keeps the declared order: the audit routes first, as declared
    assert next(iter(schema["paths"])) == f"{deps.PREFIX}/audit/findings/{{finding_id}}/trail"
