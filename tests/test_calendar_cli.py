"""Issue 11, case 1: deadlines past the package's last year (2026) no longer halt sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli


def test_a_2027_deadline_no_longer_halts_the_sweep(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    code, _, err = dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2026-11-30T09:00")
    assert code == 0, err
    code, fid, err = dudao("finding", "record", "--unit", "CGX", "--on", "2026-11-30",
                           "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                           now="2026-11-30T10:00")
    assert code == 0, err
    fid = fid.strip()
    code, out, err = dudao("--json", "rectify", "order", fid, "--on", "2026-11-30", "--within",
                           "40", "--calendar-days", now="2026-11-30T11:00")
    assert code == 0, err
    assert json.loads(out) == {"deadline": "2027-01-09"}
    # before: exit 1, "工作日历不含2027年", nothing recorded for any finding
    code, out, err = dudao("--json", "escalate", now="2026-12-02T09:00")
    assert code == 0, err
    assert "escalations" in json.loads(out)


def test_working_days_into_2027_are_counted_provisionally(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2026-12-18T09:00")
    _, fid, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2026-12-18",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2026-12-18T10:00")
    # before: refused ("工作日历不含2027年")
    code, out, err = dudao("--json", "rectify", "order", fid.strip(), "--on", "2026-12-18",
                           "--within", "10", now="2026-12-18T11:00")
    assert code == 0, err
    assert json.loads(out) == {"deadline": "2027-01-04"}


def test_a_provisional_deadline_is_recorded_and_shown_as_such(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2026-12-18T09:00")
    _, fid, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2026-12-18",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2026-12-18T10:00")
    code, out, err = dudao("rectify", "order", fid.strip(), "--on", "2026-12-18",
                           "--within", "10", now="2026-12-18T11:00")
    assert code == 0, err
    assert "2027-01-04（暂定）" in out
