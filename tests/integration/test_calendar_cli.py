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


def _finding_of_2026_12_18(dudao: Cli) -> str:
    """A unit and a finding recorded on 2026-12-18; returns the finding's id."""
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2026-12-18T09:00")
    _, fid, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2026-12-18",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2026-12-18T10:00")
    return fid.strip()


def test_working_days_into_2027_are_counted_provisionally(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    fid = _finding_of_2026_12_18(dudao)
    # before: refused ("工作日历不含2027年")
    code, out, err = dudao("--json", "rectify", "order", fid.strip(), "--on", "2026-12-18",
                           "--within", "10", now="2026-12-18T11:00")
    assert code == 0, err
    assert json.loads(out) == {"deadline": "2027-01-04"}


def test_a_provisional_deadline_is_recorded_and_shown_as_such(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    fid = _finding_of_2026_12_18(dudao)
    code, out, err = dudao("rectify", "order", fid.strip(), "--on", "2026-12-18",
                           "--within", "10", now="2026-12-18T11:00")
    assert code == 0, err
    assert "2027-01-04（暂定）" in out


def test_one_finding_the_calendar_cannot_count_does_not_stop_the_sweep(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.bootstrap as boot
    from domain.calendar import WorkCalendar

    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2024-09-25T09:00")
    dudao("unit", "add", "HZX", "--name", "汉中县人民政府", now="2024-09-25T09:00")
    _, old, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2024-09-25",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2024-09-25T10:00")
    assert dudao("rectify", "order", old.strip(), "--on", "2024-09-25", "--within", "10",
                 now="2024-09-25T11:00")[0] == 0
    _, new, _ = dudao("finding", "record", "--unit", "HZX", "--on", "2026-12-18",
                      "--inspector", "张督学", "--text", "校舍安全隐患未整改",
                      now="2026-12-18T10:00")
    assert dudao("rectify", "order", new.strip(), "--on", "2026-12-18", "--within", "10",
                 now="2026-12-18T11:00")[0] == 0
    # the sweep runs on a calendar that knows no 2027 (no provisional years)
    monkeypatch.setattr(boot, "load_calendar", lambda path: WorkCalendar(provisional=False))
    code, out, err = dudao("--json", "escalate", now="2026-12-20T09:00")
    assert code == 0, err
    result = json.loads(out)
    assert {e["finding_id"] for e in result["escalations"]} == {old.strip()}
    assert [(s["finding_id"], s["unit"]) for s in result["skipped"]] == [
        (new.strip(), "汉中县人民政府")]
    assert "2027" in result["skipped"][0]["reason"]
    code, out, err = dudao("escalate", now="2026-12-21T09:00")
    assert code == 0, err
    assert "跳过的问题" in out and new.strip() in out and "汉中县人民政府" in out


def test_calendar_show_names_the_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "cal.db"), capsys)
    shown = dudao.json("calendar", "show", "2027")
    assert shown["source"] == "provisional"
    assert {"day": "2027-10-05", "working": False, "note": "补假"} in shown["days"]
    assert dudao.json("calendar", "show", "2024")["source"] == "package"
    assert {"day": "2024-10-01", "working": False, "note": "国庆节"} in dudao.json(
        "calendar", "show", "2024")["days"]
    assert {"day": "2024-10-12", "working": True, "note": "调休上班"} in dudao.json(
        "calendar", "show", "2024")["days"]
    code, out, _ = dudao("calendar", "show", "2027")
    assert code == 0 and "暂定" in out and "2027-01-01  休息" in out
