"""``dudao escalate`` as an operator runs it: the installed command, a real process each time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def dudao(db: Path, now: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dudao", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "adapters.entrypoints.cli"]
    env = {**os.environ, "DUDAO_DB": str(db), "DUDAO_NOW": now}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


def test_worked_example_through_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    assert dudao(db, "2024-09-25T09:00", "unit", "add", "CGX", "--name", "城固县人民政府").returncode == 0
    fid = dudao(db, "2024-09-25T10:00", "finding", "record", "--unit", "CGX", "--on", "2024-09-25",
                "--inspector", "张督学", "--text", "教师全员培训学时未达标").stdout.strip()
    out = dudao(db, "2024-09-25T11:00", "--json", "rectify", "order", fid, "--on", "2024-09-25",
                "--within", "10")
    assert json.loads(out.stdout) == {"deadline": "2024-10-14"}
    expected = {
        "2024-10-09": [], "2024-10-10": [("reminder", None)], "2024-10-14": [],
        "2024-10-15": [("supervise", "2024-10-28")], "2024-10-28": [],
        "2024-10-29": [("interview", "2024-11-04")], "2024-11-18": [],
        "2024-11-19": [("public_notice", None)], "2024-12-16": [],
        "2024-12-17": [("accountability", None)],
    }
    for day, want in expected.items():
        result = dudao(db, f"{day}T09:00", "--json", "escalate")
        assert result.returncode == 0, result.stderr
        got = [(e["code"], e["due"]) for e in json.loads(result.stdout)["escalations"]]
        assert got == want, day
        if want:
            assert all(e["threshold"] == day and e["policy_version"] == 2
                       for e in json.loads(result.stdout)["escalations"])


@pytest.mark.parametrize("policy", ["nope", "../x"])
def test_unknown_policy_is_one_line_on_stderr(tmp_path: Path, policy: str) -> None:
    result = dudao(tmp_path / "cli.db", "2024-10-15T09:00", "escalate", "--policy", policy)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--policy" in result.stderr
