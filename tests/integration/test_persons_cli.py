"""Persons through the command line, in process, on a store: ``person add|end|list``, the
principal at a date in the reports and the notices, interviews naming a person with their
commitments, and ``report person``. Every refusal is one line on stderr and records nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

UNIT = "CGX"


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    c = Cli(str(tmp_path / "persons.db"), capsys)
    c.json("unit", "add", UNIT, "--name", "城固县人民政府", "--principal", "王五",
           now="2024-01-02T09:00")
    c.json("unit", "add", "HTQ", "--name", "汉台区人民政府", now="2024-01-02T09:00")
    return c


def add(cli: Cli, name: str, *extra: str, now: str = "2024-01-02T10:00",
        unit: str = UNIT) -> str:
    out = cli.json("person", "add", "--unit", unit, "--name", name, *extra, now=now)
    return str(out["person_id"])


def refused(cli: Cli, *args: str, now: str = "2024-12-31T18:00", status: int = 1) -> str:
    before = cli.events()
    code, out, err = cli(*args, now=now)
    assert code == status, (code, out, err)
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert cli.events() == before  # nothing recorded
    return err


def interview_due(cli: Cli, unit: str = UNIT) -> str:
    """A finding of ``unit`` escalated to 约谈 on 2024-10-29 (due 2024-11-04)."""
    fid = cli.json("finding", "record", "--unit", unit, "--on", "2024-09-25", "--inspector",
                   "张督学", "--text", "教师全员培训学时未达标", now="2024-09-25T10:00")["finding_id"]
    cli.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
             now="2024-09-25T11:00")
    for day in ("2024-10-15", "2024-10-29"):
        cli.json("escalate", now=f"{day}T09:00")
    return str(fid)


def test_add_end_and_list_on_both_stores(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(db, capsys)
    cli.json("unit", "add", UNIT, "--name", "城固县人民政府", now="2024-01-02T09:00")
    zhang = add(cli, "张三", "--post", "县长", "--principal", "--from", "2024-01-01")
    staff = add(cli, "赵六", "--post", "教育局长", "--from", "2024-03-01",
                now="2024-03-01T10:00")
    ended = cli.json("person", "end", zhang, "--on", "2024-10-25", now="2024-10-28T09:00")
    assert ended == {"person_id": zhang, "to": "2024-10-25"}
    li = add(cli, "李四", "--post", "县长", "--principal", "--from", "2024-10-26",
             now="2024-10-28T10:00")
    listed = cli.json("person", "list", "--unit", UNIT)["persons"]
    assert [(p["name"], p["principal"], p["from"], p["to"]) for p in listed] == [
        ("张三", True, "2024-01-01", "2024-10-25"), ("李四", True, "2024-10-26", None),
        ("赵六", False, "2024-03-01", None)]
    assert {p["person_id"] for p in listed} == {zhang, staff, li}
    on = cli.json("person", "list", "--as-of", "2024-10-25")["persons"]
    assert [p["name"] for p in on] == ["张三", "赵六"]
    assert [p["name"] for p in cli.json("person", "list", "--as-of", "2024-02-01")["persons"]] \
        == ["张三"]


def test_adding_the_same_person_again_records_nothing(cli: Cli) -> None:
    first = add(cli, "张三", "--post", "县长", "--principal", "--from", "2024-01-01")
    before = cli.events()
    assert add(cli, "张三", "--post", "县长", "--principal", "--from", "2024-01-01") == first
    assert cli.events() == before


def test_human_output(cli: Cli) -> None:
    pid = add(cli, "张三", "--post", "县长", "--principal", "--from", "2024-01-01")
    code, out, _ = cli("person", "list")
    assert code == 0 and out.strip() == f"{pid}  {UNIT}  张三（县长，主要负责人）  2024-01-01 至 今"
    code, out, _ = cli("person", "end", pid, "--on", "2024-06-30")
    assert code == 0 and out.strip() == "张三已于2024-06-30离任"
    code, out, _ = cli("person", "list", "--unit", "HTQ")
    assert code == 0 and out.strip() == "没有登记的人员"


def test_refusals_name_the_option(cli: Cli) -> None:
    zhang = add(cli, "张三", "--principal", "--from", "2024-01-01")
    err = refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--principal",
                  "--from", "2024-10-26")
    assert err.startswith("错误：--principal:") and "已有主要负责人张三" in err and zhang in err
    cli.json("person", "end", zhang, "--on", "2024-10-25")
    err = refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--principal",
                  "--from", "2024-10-25")
    assert err.startswith("错误：--from:") and "重叠" in err
    assert "不存在" in refused(cli, "person", "add", "--unit", "NOPE", "--name", "李四",
                                "--from", "2024-01-01")
    assert refused(cli, "person", "add", "--unit", UNIT, "--name", " ", "--from",
                   "2024-01-01").startswith("错误：--name:")
    assert refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--post", "长" * 101,
                   "--from", "2024-01-01").startswith("错误：--post:")
    assert refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--from",
                   "2025-01-01").startswith("错误：--from:")
    assert refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--from",
                   "2024-02-01", "--to", "2024-01-31").startswith("错误：--to:")
    assert refused(cli, "person", "add", "--unit", UNIT, "--name", "李四", "--from",
                   "2024/01/01", status=2).startswith("错误：--from:")
    assert "已于2024-10-25离任" in refused(cli, "person", "end", zhang, "--on", "2024-11-01")
    assert "不存在" in refused(cli, "person", "end", "not-an-id", "--on", "2024-11-01")
    assert "不存在" in refused(cli, "person", "list", "--unit", "NOPE")


def test_an_interview_names_the_person_and_its_commitments_show_everywhere(cli: Cli) -> None:
    li = add(cli, "李四", "--post", "县长", "--principal", "--from", "2024-10-26",
             now="2024-10-28T09:00")
    fid = interview_due(cli)
    held = cli.json("interview", "hold", fid, "--on", "2024-11-01", "--person", li,
                    "--minutes", "说明了滞后原因", "--commitment", "2024-11-30:完成培训补课",
                    "--commitment", "2024-12-15:报送整改总结", now="2024-11-01T16:00")
    assert held["interviewee"] == "李四" and held["person_id"] == li
    shown = cli.json("finding", "show", fid, now="2024-11-02T09:00")
    assert (shown["interviewee"], shown["interview_person"]) == ("李四", li)
    assert shown["commitments"] == [{"on": "2024-11-30", "text": "完成培训补课"},
                                    {"on": "2024-12-15", "text": "报送整改总结"}]
    code, out, _ = cli("finding", "show", fid, now="2024-11-02T09:00")
    assert code == 0 and "整改承诺：2024-11-30前完成培训补课" in out

    report = cli.json("report", "unit", UNIT, "--format", "json", now="2024-11-02T09:00")
    assert report["principal"] == "李四"
    assert [(c["on"], c["text"], c["interviewee"], c["person_id"], c["interview_on"])
            for c in report["commitments"]] == [
        ("2024-11-30", "完成培训补课", "李四", li, "2024-11-01"),
        ("2024-12-15", "报送整改总结", "李四", li, "2024-11-01")]
    timeline = report["open_findings"][0]["timeline"]
    assert any("整改承诺：2024-11-30前完成培训补课" in t["detail"] for t in timeline)
    code, md, _ = cli("report", "unit", UNIT, "--format", "md", now="2024-11-02T09:00")
    assert code == 0 and "## 附：整改承诺" in md and "| 2024-11-30 | 完成培训补课 |" in md
    code, html, _ = cli("report", "unit", UNIT, "--format", "html", now="2024-11-02T09:00")
    assert code == 0 and 'id="commitments"' in html and "报送整改总结" in html


def test_interview_refusals(cli: Cli) -> None:
    other = add(cli, "钱七", "--principal", "--from", "2024-01-01", unit="HTQ")
    fid = interview_due(cli)
    err = refused(cli, "interview", "hold", fid, "--on", "2024-11-01", "--person", other,
                  "--minutes", "纪要")
    assert err.startswith("错误：--person:") and "HTQ" in err
    err = refused(cli, "interview", "hold", fid, "--on", "2024-11-01", "--person", "nobody",
                  "--minutes", "纪要")
    assert err.startswith("错误：--person:") and "不存在" in err
    err = refused(cli, "interview", "hold", fid, "--on", "2024-11-01", "--minutes", "纪要",
                  status=2)
    assert "--interviewee" in err and "--person" in err
    err = refused(cli, "interview", "hold", fid, "--on", "2024-11-01", "--interviewee", "李四",
                  "--minutes", "纪要", "--commitment", "11月底:补课", status=2)
    assert err.startswith("错误：--commitment:") and "YYYY-MM-DD" in err
    err = refused(cli, "interview", "hold", fid, "--on", "2024-11-01", "--interviewee", "李四",
                  "--minutes", "纪要", "--commitment", "2024-10-31:补课")
    assert err.startswith("错误：--commitment:") and "早于约谈日期" in err


def test_the_reports_name_the_principal_at_their_date(cli: Cli) -> None:
    zhang = add(cli, "张三", "--principal", "--from", "2024-03-01", now="2024-03-01T10:00")
    cli.json("person", "end", zhang, "--on", "2024-10-25", now="2024-10-28T09:00")
    add(cli, "李四", "--principal", "--from", "2024-10-26", now="2024-10-28T09:00")

    def principal(day: str) -> Any:
        return cli.json("report", "unit", UNIT, "--format", "json", now=f"{day}T18:00")["principal"]

    # before anyone was recorded as principal: the name registered with the unit
    assert [principal(d) for d in ("2024-02-29", "2024-03-01", "2024-10-25", "2024-10-26")] == [
        "王五", "张三", "张三", "李四"]
    assert cli.json("report", "unit", "HTQ", "--format", "json")["principal"] is None


def test_report_person(cli: Cli) -> None:
    deputy = add(cli, "李四", "--post", "副县长", "--from", "2024-01-01")
    cli.json("person", "end", deputy, "--on", "2024-10-25", now="2024-10-28T09:00")
    li = add(cli, "李四", "--post", "县长", "--principal", "--from", "2024-10-26",
             now="2024-10-28T09:00")
    fid = interview_due(cli)
    cli.json("interview", "hold", fid, "--on", "2024-11-01", "--person", li, "--minutes",
             "说明了滞后原因", "--commitment", "2024-11-30:完成培训补课", now="2024-11-01T16:00")

    data = json.loads(cli("report", "person", li, "--format", "json", now="2024-11-02T09:00")[1])
    assert (data["report"], data["name"], data["unit"], data["unit_name"], data["post"],
            data["principal"], data["in_post"]) == (
        "person", "李四", UNIT, "城固县人民政府", "县长", True, True)
    assert [(p["post"], p["from"], p["to"], p["this"]) for p in data["posts"]] == [
        ("副县长", "2024-01-01", "2024-10-25", False), ("县长", "2024-10-26", None, True)]
    assert [(i["finding_id"], i["on"], i["finding_text"]) for i in data["interviews"]] == [
        (fid, "2024-11-01", "教师全员培训学时未达标")]
    assert [(c["on"], c["text"]) for c in data["commitments"]] == [("2024-11-30", "完成培训补课")]
    assert data["decisions"] == []  # the accountability cases' hook, empty until they land
    # the deputy's record shows the same posts and the interview of the same person
    assert len(cli.json("report", "person", deputy, "--format", "json")["interviews"]) == 1

    code, md, _ = cli("report", "person", li, "--format", "md", now="2024-11-02T09:00")
    assert code == 0 and md.startswith("# 人员档案：李四（城固县人民政府）")
    assert "| 2024-11-30 | 完成培训补课 | 教师全员培训学时未达标 | 2024-11-01 |" in md
    code, html, _ = cli("report", "person", li, "--format", "html", now="2024-11-02T09:00")
    assert code == 0 and "<h1>人员档案</h1>" in html and 'id="interviews"' in html
    # as the system knew it before the interview was recorded
    before = cli.json("report", "person", li, "--format", "json", "--as-of",
                      "2024-10-30T00:00")
    assert before["interviews"] == [] and before["commitments"] == []
    assert "不存在" in refused(cli, "report", "person", "nobody")


def test_notices_name_the_principal_on_the_threshold_date(cli: Cli) -> None:
    from adapters.bootstrap import bootstrap, notice_publisher
    from adapters.settings import Settings

    zhang = add(cli, "张三", "--principal", "--from", "2024-01-01")
    fid = interview_due(cli)  # 督办 from 2024-10-15, 约谈 from 2024-10-29
    cli.json("person", "end", zhang, "--on", "2024-10-20", now="2024-10-30T09:00")
    add(cli, "李四", "--principal", "--from", "2024-10-21", now="2024-10-30T09:00")
    settings = Settings(db=cli.db)
    app = bootstrap(settings)
    try:
        publisher = notice_publisher(app, cli.db, "nats://127.0.0.1:1", settings)
        _, found = publisher.collect(1)
        publisher.engine.dispose()
    finally:
        app.close()
    named = {n.payload["code"]: n.payload["principal"] for n in found
             if n.payload["finding"] == fid}
    # recorded after the escalations, the handover still names who was in post on each day
    assert named == {"reminder": "张三", "supervise": "张三", "interview": "李四"}
