"""The house: layers that the folder names show, imports that follow them, no cycles.

Every import counts, also one inside a function (it is a dependency all the same);
only imports under ``TYPE_CHECKING`` are left out (they are never executed).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = ("domain", "rules", "projections", "adapters")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for top in TOP for p in (ROOT / top).rglob("*.py")}


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def top_level_imports(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit([n for n in inner if isinstance(n, ast.stmt | ast.excepthandler)])
                for item in getattr(node, "cases", []):
                    visit(item.body)

    visit(tree.body)
    # an import of a.b.c loads a and a.b too: count the deepest known module it names
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: top_level_imports(path, name, known) for name, path in mods.items()}


def test_no_import_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            walk(node)
    # a package's __init__ importing its own submodules is not a cycle of modules
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c[1:-1])]
    assert real == [], "\n".join(" → ".join(c) for c in real)


def test_imports_follow_the_layers() -> None:
    """domain imports nothing of ours; rules only domain; projections domain and rules; the
    service layer, infrastructure and rendering never import an entry point; the plan reader
    only itself and the domain's errors."""
    allowed = {
        "domain": ("domain",),
        "rules": ("domain", "rules"),
        "projections": ("domain", "rules", "projections"),
        "adapters.infrastructure": ("domain", "rules", "projections", "adapters.infrastructure",
                                    "adapters.settings", "adapters.service_layer"),
        "adapters.service_layer": ("domain", "rules", "projections", "adapters.infrastructure",
                                   "adapters.settings", "adapters.service_layer",
                                   "adapters.rendering", "adapters.plan_reader"),
        "adapters.rendering": ("domain", "projections", "adapters.rendering",
                               "adapters.service_layer", "adapters.bootstrap"),
        # the plan reader translates a plan's text: itself, and the domain's errors only
        "adapters.plan_reader": ("adapters.plan_reader", "domain.errors"),
    }
    wrong = []
    for name, imports in graph().items():
        layer = next((k for k in sorted(allowed, key=len, reverse=True)
                      if name == k or name.startswith(k + ".")), None)
        if layer is None:
            continue
        for target in imports:
            if not any(target == a or target.startswith(a + ".") for a in allowed[layer]):
                wrong.append(f"{name} imports {target}")
    assert wrong == [], "\n".join(sorted(wrong))


def test_adapters_shows_its_parts() -> None:
    entries = {p.name for p in (ROOT / "adapters").iterdir() if not p.name.startswith("__")}
    assert entries == {"bootstrap.py", "settings.py", "service_layer", "entrypoints",
                       "infrastructure", "rendering", "demo", "plan_reader"}


# What the plan reader may import besides itself and domain.errors: text, dates and numbers.
PURE_STDLIB = {"__future__", "calendar", "dataclasses", "datetime", "decimal", "hashlib", "re",
               "unicodedata", "typing", "collections.abc"}
# Built-ins that reach outside the process (or run code from a string).
IO_BUILTINS = {"open", "input", "print", "exec", "eval", "compile", "__import__", "breakpoint"}


def test_plan_reader_is_pure() -> None:
    """adapters.plan_reader reads text only: its imports, every one of them counted (stdlib
    too), are a short list of pure stdlib modules, itself and domain.errors; it calls no
    built-in that does I/O."""
    package = ROOT / "adapters" / "plan_reader"
    files = sorted(package.rglob("*.py"))
    assert len(files) >= 10, files
    wrong = []
    for path in files:
        name = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import"
                targets = [node.module or ""]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in IO_BUILTINS:
                wrong.append(f"{name}:{node.lineno} calls {node.func.id}()")
            for t in targets:
                if not (t in PURE_STDLIB or t == "domain.errors" or t == "adapters.plan_reader"
                        or t.startswith("adapters.plan_reader.")):
                    wrong.append(f"{name}:{node.lineno} imports {t}")
    assert wrong == [], "\n".join(wrong)
