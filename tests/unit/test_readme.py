"""The README against the real tree: its layout table names every project folder and
every part of ``adapters/`` (and nothing that is not there), its links into ``docs/``
resolve, its configuration table lists exactly the ``DUDAO_*`` settings that
``adapters/settings.py`` reads, and every ``make`` target it names exists.

These read files only; they fail with the name that is missing, so a folder added,
moved or removed without the README following it is caught here.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`]+)`")


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section (up to the next heading of level 2)."""
    match = re.search(rf"^## {re.escape(title)}[ \t]*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no section “## {title}”"
    return match.group(1)


def first_column(body: str) -> list[str]:
    """The first cell of each row of the first table in ``body`` (header and rule left out)."""
    rows = [line for line in body.splitlines() if line.lstrip().startswith("|")]
    assert len(rows) > 2, "the section has no table"
    return [row.strip().strip("|").split("|")[0].strip() for row in rows[2:]]


def layout_paths() -> list[str]:
    cells = first_column(section(README.read_text(encoding="utf-8"), "目录结构"))
    paths = [p.strip() for cell in cells for p in CODE.findall(cell)]
    assert paths, "the layout table names no paths"
    return paths


def ignored_patterns() -> list[str]:
    """The names .gitignore leaves out (``out/``, ``__pycache__/``, ``*.egg-info/``…)."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().strip("/") for line in lines
            if line.strip() and not line.startswith("#")]


def is_ignored(name: str, patterns: list[str]) -> bool:
    return name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in patterns)


def project_folders(parent: Path) -> list[str]:
    """The folders in ``parent`` that hold a file of the project (not only caches or
    build output: a folder left with nothing but ``__pycache__`` is not one)."""
    patterns = ignored_patterns()
    found = []
    for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
        if is_ignored(folder.name, patterns):
            continue
        if any(f.is_file() and not any(is_ignored(part, patterns)
                                       for part in f.relative_to(folder).parts)
               for f in folder.rglob("*")):
            found.append(folder.name)
    return found


def named(folder: str, paths: list[str]) -> bool:
    """``folder`` (``adapters/demo``) is named by the table, itself or a path inside it."""
    return any(p.rstrip("/") == folder or p.startswith(folder + "/") for p in paths)


# ---------------------------------------------------------------- the layout table


def test_every_path_in_the_layout_table_exists() -> None:
    missing = [p for p in layout_paths() if not (ROOT / p.rstrip("/")).exists()]
    assert missing == [], f"the README's layout table names paths that do not exist: {missing}"


def test_every_folder_named_in_the_layout_table_is_a_folder() -> None:
    not_folders = [p for p in layout_paths()
                   if p.endswith("/") and (ROOT / p).exists() and not (ROOT / p).is_dir()]
    assert not_folders == []


def test_every_top_level_folder_is_in_the_layout_table() -> None:
    paths = layout_paths()
    folders = project_folders(ROOT)
    assert {"domain", "adapters", "tests"} <= set(folders)  # the tree is read, not assumed
    missing = [f for f in folders if not named(f, paths)]
    assert missing == [], f"top-level folders missing from the README's layout table: {missing}"


def test_every_part_of_adapters_is_in_the_layout_table() -> None:
    paths = layout_paths()
    parts = project_folders(ROOT / "adapters")
    assert parts, "adapters/ has no subfolders"
    missing = [f"adapters/{p}/" for p in parts if not named(f"adapters/{p}", paths)]
    assert missing == [], f"adapters/ folders missing from the README's layout table: {missing}"


# ---------------------------------------------------------------- links


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (CJK kept),
    spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else re.match(r"^#{1,6} (.+?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(source: Path) -> list[str]:
    broken = []
    for target in LINK.findall(source.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        path = (source.parent / file_part).resolve() if file_part else source
        if not path.is_file():
            broken.append(f"{target} (no file {path})")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target} (no heading #{anchor} in {path.relative_to(ROOT)})")
    return broken


def test_every_link_from_the_readme_into_docs_resolves() -> None:
    links = [t for t in LINK.findall(README.read_text(encoding="utf-8")) if t.startswith("docs/")]
    assert {t.partition("#")[0] for t in links} >= {"docs/operations.md", "docs/performance.md",
                                                     "docs/design.md"}
    assert broken_links(README) == []


def test_every_link_between_the_docs_resolves() -> None:
    pages = sorted(DOCS.glob("*.md"))
    assert pages
    assert [f"{p.name}: {b}" for p in pages for b in broken_links(p)] == []


def test_the_slug_follows_github() -> None:
    assert slug("HTTP API（`dudao serve`）") == "http-apidudao-serve"
    assert slug("链表比事件短：停写与补封") == "链表比事件短停写与补封"
    assert slug("Read models & runner") == "read-models--runner"


# ---------------------------------------------------------------- configuration, make


def test_the_configuration_table_lists_exactly_the_settings_read() -> None:
    read = set(re.findall(r"""["'](DUDAO_[A-Z_]+)["']""",
                          (ROOT / "adapters" / "settings.py").read_text(encoding="utf-8")))
    assert "DUDAO_DB" in read
    cells = first_column(section(README.read_text(encoding="utf-8"), "配置"))
    listed = {name for cell in cells for name in re.findall(r"`(DUDAO_[A-Z_]+)`", cell)}
    assert sorted(read - listed) == [], "settings read but not in the README's table"
    assert sorted(listed - read) == [], "in the README's table but not read by adapters/settings.py"


def test_every_make_target_the_readme_names_exists() -> None:
    text = README.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"\bmake ([a-z][\w-]*)", text))
    assert {"demo", "test"} <= mentioned  # the README's two commands (the public contract)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile, re.M))
    assert sorted(mentioned - targets) == []
