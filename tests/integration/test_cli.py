"""The command line of INTERFACE.md: journeys, --json, idempotency, and bad input."""

from __future__ import annotations

import json

import pytest

from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run
from tests.conftest import CLI_NOW as NOW
from tests.conftest import Cli


@pytest.fixture
def dudao(db: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    c = Cli(db, capsys)
    assert c("unit", "add", "SJYJ", "--name", "市教育局", "--principal", "王建国")[0] == 0
    return c


def record(dudao: Cli, **extra: str) -> str:
    args = ["finding", "record", "--unit", "SJYJ", "--on", "2024-09-20", "--inspector",
            "张督学", "--text", "教师培训学时未达标"]
    for k, v in extra.items():
        args += [f"--{k}", v]
    return dudao.json(*args)["finding_id"]  # type: ignore[no-any-return]


def test_inspector_journey(dudao: Cli) -> None:
    fid = record(dudao, severity="serious", task="T-3")
    assert dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10") == {
        "deadline": "2024-10-14"}
    assert dudao("rectify", "report", fid, "--on", "2024-10-11", "--text", "已补齐")[0] == 0
    failed = dudao.json("rectify", "review", fid, "--on", "2024-10-12", "--fail",
                        "--within", "5", "--note", "台账不全")
    assert failed["status"] == "rectifying" and failed["deadline"] == "2024-10-18"
    assert dudao.json("rectify", "extend", fid, "--on", "2024-10-15", "--to", "2024-10-31",
                      "--reason", "汛期")["deadline"] == "2024-10-31"
    assert dudao("rectify", "report", fid, "--on", "2024-10-30", "--text", "再次整改")[0] == 0
    passed = dudao.json("rectify", "review", fid, "--on", "2024-11-01", "--pass")
    assert passed["status"] == "closed"
    shown = dudao.json("finding", "show", fid)
    assert (shown["status"], shown["severity"], shown["task"], shown["strikes"]) == (
        "closed", "serious", "T-3", 1)
    trail = dudao.json("audit", "trail", fid)["events"]
    assert [e["type"] for e in trail] == [
        "Recorded", "RectificationOrdered", "ReportSubmitted", "ReviewFailed",
        "ExtensionGranted", "ReportSubmitted", "ReviewPassed"]
    assert all(e["actor"] and e["recorded_at"] for e in trail)
    assert trail[1]["on"] == "2024-09-25" and trail[1]["deadline"] == "2024-10-14"
    code, out, _ = dudao("audit", "trail", fid)
    assert code == 0 and "下达整改通知" in out and "复查通过" in out


def test_calendar_days_order(dudao: Cli) -> None:
    fid = record(dudao)
    assert dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
                      "--calendar-days") == {"deadline": "2024-10-05"}


def test_global_options_anywhere(dudao: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    fid = record(dudao)
    code = run(cli, ["rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
                     "--json", "--db", dudao.db, "--now", NOW])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"deadline": "2024-10-14"}


def test_idempotent_record(dudao: Cli) -> None:
    first = record(dudao, key="visit-42-1")
    count = dudao.events()
    assert record(dudao, key="visit-42-1") == first
    assert dudao.events() == count
    code, _, err = dudao("finding", "record", "--unit", "SJYJ", "--on", "2024-09-20",
                         "--inspector", "张督学", "--text", "另一个问题", "--key", "visit-42-1")
    assert code != 0 and "--key" in err and dudao.events() == count


BAD = [
    (["finding", "record", "--unit", "NOPE", "--on", "2024-09-20", "--inspector", "a",
      "--text", "b"], "--unit"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2024-9-20", "--inspector", "a",
      "--text", "b"], "--on"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2024-02-30", "--inspector", "a",
      "--text", "b"], "--on"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2024-09-20", "--inspector", "a",
      "--text", "b", "--severity", "huge"], "--severity"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2024-09-20", "--inspector", "a",
      "--text", "   "], "--text"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2024-09-20", "--inspector", "a"],
     "--text"),
    (["finding", "record", "--unit", "SJYJ", "--on", "2025-06-01", "--inspector", "a",
      "--text", "b"], "--on"),
    (["rectify", "order", "{fid}", "--on", "2024-09-25", "--within", "0"], "--within"),
    (["rectify", "order", "{fid}", "--on", "2024-09-25", "--within", "-3"], "--within"),
    (["rectify", "order", "{fid}", "--on", "2024-09-25", "--within", "ten"], "--within"),
    (["rectify", "order", "00000000-0000-0000-0000-000000000000", "--on", "2024-09-25",
      "--within", "5"], "FINDING"),
    (["rectify", "order", "not-an-id", "--on", "2024-09-25", "--within", "5"], "FINDING"),
    (["rectify", "extend", "{ordered}", "--on", "2024-09-26", "--to", "2024-10-10",
      "--reason", "x"], "--to"),
    (["rectify", "review", "{ordered}", "--on", "2024-09-26", "--pass"], "FINDING"),
    (["rectify", "review", "{fid}", "--on", "2024-09-26"], "--pass"),
    (["rectify", "report", "{fid}", "--on", "2024-09-26", "--text", "x"], "FINDING"),
    (["interview", "hold", "{ordered}", "--on", "2024-09-26", "--interviewee", "x",
      "--minutes", "y"], "FINDING"),
    (["unit", "add", "bad code", "--name", "x"], "CODE"),
    (["unit", "add", "SJYJ", "--name", "另一个局"], "CODE"),
    (["unit", "add", "X1", "--name", "x", "--parent", "NOPE"], "--parent"),
    (["--now", "yesterday", "unit", "add", "X2", "--name", "x"], "--now"),
]


@pytest.mark.parametrize(("args", "names"), BAD, ids=[" ".join(a[:2]) + f" {n}" for a, n in BAD])
def test_bad_input_is_one_line_naming_the_argument_and_records_nothing(
    dudao: Cli, args: list[str], names: str
) -> None:
    fid = record(dudao)
    ordered = record(dudao)
    dudao("rectify", "order", ordered, "--on", "2024-09-25", "--within", "10")
    before = dudao.events()
    argv = [a.format(fid=fid, ordered=ordered) for a in args]
    code, _, err = dudao(*argv)
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("错误：")
    assert names in err
    assert dudao.events() == before


def test_unreachable_store_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(cli, ["--db", "postgresql://postgres@127.0.0.1:1/test", "unit", "add", "A1",
                     "--name", "一中"])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1
    assert "事件库无法访问" in err and "--db" in err


def test_unit_add_twice_is_idempotent(dudao: Cli) -> None:
    before = dudao.events()
    code, _, _ = dudao("unit", "add", "SJYJ", "--name", "市教育局", "--principal", "王建国")
    assert code == 0 and dudao.events() == before
    assert dudao("unit", "add", "HTQ", "--name", "汉台区", "--parent", "SJYJ")[0] == 0
    assert dudao.events() == before + 1


def test_year_one_and_control_characters_refused_on_the_command_line(dudao: Cli) -> None:
    """Issue 11: the CLI agrees with the API: dates 2000-2099, no NUL/control chars."""
    before = dudao.events()
    for args in (["--on", "0001-01-01", "--text", "x"], ["--on", "2024-09-20", "--text", "a\x07b"]):
        code, _out, err = dudao("finding", "record", "--unit", "SJYJ", "--inspector", "张", *args)
        assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert dudao.events() == before


def test_review_note_with_a_control_character_is_refused(dudao: Cli) -> None:
    """Found by tests/e2e/test_entry_properties.py: ``rectify review --note`` was stored as given,
    NUL included (the API refused it, the command line did not)."""
    fid = record(dudao)
    assert dudao("rectify", "order", fid, "--on", "2024-09-25", "--within", "10")[0] == 0
    assert dudao("rectify", "report", fid, "--on", "2024-10-11", "--text", "已补齐")[0] == 0
    before = dudao.events()
    for verdict in (["--pass"], ["--fail", "--within", "5"]):
        code, _out, err = dudao("rectify", "review", fid, "--on", "2024-10-12", *verdict,
                                "--note", "台账\x00不全")
        assert code == 1 and err.startswith("错误：--note: ") and "控制字符" in err, err
        assert len(err.strip().splitlines()) == 1
    assert dudao.events() == before
    assert dudao("rectify", "review", fid, "--on", "2024-10-12", "--pass", "--note", "台账已补")[0] == 0


def test_task_and_principal_with_a_control_character_are_refused(dudao: Cli) -> None:
    """Found by tests/e2e/test_entry_properties.py: ``finding record --task`` and
    ``unit add --principal`` were only stripped, so a NUL or a backspace was recorded."""
    before = dudao.events()
    code, _out, err = dudao("finding", "record", "--unit", "SJYJ", "--on", "2024-09-20",
                            "--inspector", "张督学", "--text", "问题", "--task", "T\x08-3")
    assert code == 1 and err.startswith("错误：--task: ") and "控制字符" in err, err
    code, _out, err = dudao("unit", "add", "HTQ", "--name", "汉台区", "--principal", "陈\x00明")
    assert code == 1 and err.startswith("错误：--principal: ") and "控制字符" in err, err
    assert dudao.events() == before


def test_token_name_and_actor_with_a_control_character_are_refused(dudao: Cli) -> None:
    """Found while extending tests/e2e/test_entry_properties.py: ``token create --name`` with a
    NUL was a traceback on PostgreSQL (psycopg DataError), and ``--actor`` with a NUL was
    recorded on the event as the actor."""
    before = dudao.events()
    code, _out, err = dudao("token", "create", "--role", "inspector", "--name", "张\x00督学")
    assert code == 1 and err.startswith("错误：--name: ") and "控制字符" in err, err
    code, _out, err = dudao("--actor", "cli:\x1b[31m", "finding", "record", "--unit", "SJYJ",
                            "--on", "2024-09-20", "--inspector", "张督学", "--text", "问题")
    assert code == 1 and err.startswith("错误：--actor: ") and "控制字符" in err, err
    assert len(err.strip().splitlines()) == 1
    assert dudao.events() == before
    assert dudao("token", "create", "--role", "inspector", "--name", "张督学")[0] == 0
