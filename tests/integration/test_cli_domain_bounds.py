"""The command line checks a number's form; its bounds are the domain's (issue 12, point 3)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.findings import MAX_WITHIN
from tests.conftest import Cli


@pytest.mark.parametrize(("year", "says"), [
    ("0", "年份 year 无效"), ("10000", "年份 year 无效"), ("abc", "必须是整数"),
    ("1899", "工作日历不含1899年"),
])
def test_calendar_year_is_checked_by_the_calendar(year: str, says: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "y.db"), capsys)
    code, out, err = dudao("calendar", "show", year)
    assert code != 0 and out == ""
    assert says in err and "is not in the range" not in err


@pytest.mark.parametrize(("within", "says"), [
    ("0", "必须是正整数天数"), ("abc", "必须是正整数天数"),
    (str(MAX_WITHIN + 1), f"最多{MAX_WITHIN}天"),
])
def test_within_bounds_are_the_domains(within: str, says: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "w.db"), capsys)
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2024-11-01T09:00")
    _, fid, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2024-11-01",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2024-11-01T10:00")
    code, _, err = dudao("rectify", "order", fid.strip(), "--on", "2024-11-01", "--within",
                         within, now="2024-11-01T11:00")
    assert code != 0
    assert "--within" in err and says in err
    code, out, _ = dudao("--json", "finding", "show", fid.strip())
    assert code == 0 and '"deadline": null' in out


def test_within_at_the_bound_is_accepted(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(str(tmp_path / "m.db"), capsys)
    dudao("unit", "add", "CGX", "--name", "城固县人民政府", now="2024-11-01T09:00")
    _, fid, _ = dudao("finding", "record", "--unit", "CGX", "--on", "2024-11-01",
                      "--inspector", "张督学", "--text", "教师全员培训学时未达标",
                      now="2024-11-01T10:00")
    code, out, err = dudao("--json", "rectify", "order", fid.strip(), "--on", "2024-11-01",
                           "--within", str(MAX_WITHIN), "--calendar-days", now="2024-11-01T11:00")
    assert code == 0, err
    due = date(2024, 11, 1) + timedelta(days=MAX_WITHIN)
    assert f'"deadline": "{due.isoformat()}"' in out
