"""Issue 11, case 10: plan import is bounded in size and task count, on the CLI and the API.

Over a limit the import is refused with one line naming the argument, and nothing is
recorded; a plan is never imported in part.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from adapters.plan_reader import MAX_PLAN_BYTES, MAX_PLAN_TASKS, parse_plan
from tests.apiserver import ApiServer
from tests.conftest import Cli
from tests.e2e.test_serve import DUDAO


def plan_text(tasks: int, *, pad: int = 0) -> str:
    lines = ["某县教育质量提升三年行动实施方案(2023-2025)", "", "一、主要任务", ""]
    for i in range(1, tasks + 1):
        lines += [f"{i}.加强第{i}项工作建设，确保2025年完成率达到95%以上。<责任单位:县教育局>", ""]
    if pad:
        lines.append("附：" + "说明" * (pad // 6) + "。")
    return "\n".join(lines)


def test_reading_stops_at_the_first_task_past_the_limit() -> None:
    parsed = parse_plan(plan_text(12), max_tasks=10)
    assert parsed.over_limit and len(parsed.tasks) == 11
    assert not parse_plan(plan_text(10), max_tasks=10).over_limit


def test_plan_import_of_dev_zero_ends_at_once_with_the_size_error(tmp_path: Path) -> None:
    env = {**os.environ, "DUDAO_DB": str(tmp_path / "dudao.db")}
    done = subprocess.run([DUDAO, "plan", "import", "/dev/zero"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "FILE" in lines[0] and "过大" in lines[0] and "5 MiB" in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def test_a_file_over_the_size_limit_is_refused_and_records_nothing(sqlite_db: str, tmp_path: Path,
                                                                  capsys: Any) -> None:
    cli = Cli(sqlite_db, capsys)
    text = plan_text(3)
    big = tmp_path / "big.txt"
    raw = text.encode("utf-8")
    big.write_bytes(raw + b"\n" + "。".encode() * ((MAX_PLAN_BYTES - len(raw)) // 3 + 1))
    assert big.stat().st_size > MAX_PLAN_BYTES
    code, _, err = cli("plan", "import", str(big))
    assert code != 0 and "过大" in err and "FILE" in err, err
    assert cli.events() == 0
    small = tmp_path / "small.txt"
    small.write_bytes(raw)
    assert cli("plan", "import", str(small))[0] == 0  # the same plan, without the padding


def test_a_plan_over_the_task_limit_is_refused_whole(sqlite_db: str, tmp_path: Path,
                                                    capsys: Any) -> None:
    cli = Cli(sqlite_db, capsys)
    file = tmp_path / "many.txt"
    file.write_text(plan_text(MAX_PLAN_TASKS + 1), encoding="utf-8")
    code, _, err = cli("plan", "import", str(file))
    assert code != 0, err
    assert f"最多 {MAX_PLAN_TASKS} 项任务" in err and "FILE" in err and "未导入" in err, err
    assert len(err.strip().splitlines()) == 1
    assert cli.events() == 0


@pytest.fixture
def server(sqlite_db: str, clock: Any) -> Any:
    s = ApiServer(sqlite_db, clock).start()
    yield s
    s.stop()


def test_the_api_import_has_the_same_limits(server: ApiServer) -> None:
    token = server.token("policy", name="督导室")
    with server.client(token) as client:
        r = client.post("/plans", json={"text": plan_text(MAX_PLAN_TASKS + 1),
                                        "source": "many.txt"})
        assert r.status_code == 422, r.text
        assert f"最多 {MAX_PLAN_TASKS} 项任务" in r.json()["message"]
        r = client.post("/plans", json={"text": plan_text(3, pad=MAX_PLAN_BYTES),
                                        "source": "big.txt"})
        assert r.status_code == 422, r.text
        assert "过大" in r.json()["message"]
    assert server.events() == 0
