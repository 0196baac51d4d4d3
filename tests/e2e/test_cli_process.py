"""The command line as a process of its own: the installed ``dudao`` script's exit status,
and the modules a fresh interpreter loads to start it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["--help"], ["unit", "--help"]])
def test_the_command_line_starts_without_the_server_the_demo_or_nats(argv: list[str]) -> None:
    code = ("import sys, json\nfrom adapters.entrypoints.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "责任单位" in done.stdout
    for heavy in ("fastapi", "uvicorn", "nats", "adapters.demo.year", "adapters.entrypoints.server", "httpx"):
        assert heavy not in loaded, heavy
    if argv == ["--help"]:
        assert not {"eventsourcing", "sqlalchemy", "adapters.service_layer.application"} & loaded


def test_real_entrypoint_exit_status(tmp_path: Any) -> None:
    exe = [str(Path(sys.executable).parent / "dudao")]  # the installed console script
    db = str(tmp_path / "x.db")
    ok = subprocess.run([*exe, "--db", db, "unit", "add", "A1", "--name", "一中"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*exe, "--db", db, "--json", "finding", "record", "--unit", "ZZ",
                          "--on", "2024-09-20", "--inspector", "a", "--text", "b"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0 and "--unit" in bad.stderr
