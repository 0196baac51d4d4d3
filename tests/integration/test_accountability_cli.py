"""Accountability cases end to end: the sweep opens them (in the escalation's commit),
``dudao accountability …`` moves them on a SQLite file, the reports count them, and the
service layer keeps its checks (a unit states its own case only; 从重 from the log) on
both stores."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest

from adapters.bootstrap import load_calendar, read_models
from adapters.infrastructure.event_store import engine_for, store_env
from adapters.service_layer import accountability as cases
from adapters.service_layer.application import Dudao
from adapters.service_layer.sweep import Sweeper
from domain.accountability import AccountabilityCase
from domain.errors import Conflict, NotFound, Refused
from rules.policy import POLICY_DIR, load_policy, parse_policy
from tests.conftest import Cli, Clock

D = date.fromisoformat


def setup_finding(dudao: Cli, unit: str = "CZJ", name: str = "市财政局",
                  text: str = "生均公用经费未足额拨付") -> str:
    code, _, err = dudao("unit", "add", unit, "--name", name, "--principal", "王局长",
                         now="2024-09-01T09:00")
    assert code == 0, err
    fid = dudao.json("finding", "record", "--unit", unit, "--on", "2024-09-25", "--inspector",
                     "张督学", "--text", text, "--severity", "serious",
                     now="2024-09-25T10:00")["finding_id"]
    dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
               now="2024-09-25T11:00")
    return str(fid)


def test_the_default_policy_has_the_committee_decide_its_top_rung() -> None:
    policy = load_policy()
    assert {c: r.decided_by for c, r in policy.rungs.items()} == {
        "reminder": "rules", "supervise": "rules", "interview": "rules",
        "public_notice": "rules", "accountability": "committee"}
    assert (policy.accountability.statement_days, policy.accountability.aggravation_months) == (
        5, 12)
    notice = policy.rungs["accountability"].notice
    assert "移交问责" not in notice and "提请督导委员会问责" in notice


def test_the_sweep_proposes_and_opens_one_case(sqlite_db: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    fid = setup_finding(dudao)
    out = dudao.json("escalate", now="2024-12-17T09:00")
    top = [e for e in out["escalations"] if e["code"] == "accountability"]
    expected = str(uuid5(UUID(fid), "accountability:accountability"))
    assert [(e["decided_by"], e["case_id"]) for e in top] == [("committee", expected)]
    assert all(e["case_id"] is None for e in out["escalations"] if e["code"] != "accountability")
    code, human, _ = dudao("escalate", "--dry-run", now="2024-12-17T09:00")
    assert code == 0 and "没有新的升级" in human
    assert dudao.json("escalate", now="2024-12-17T10:00")["escalations"] == []
    listed = dudao.json("accountability", "list")["cases"]
    assert [(c["case_id"], c["finding_id"], c["unit"], c["status"], c["opened_on"])
            for c in listed] == [(expected, fid, "CZJ", "proposed", "2024-12-17")]
    shown = dudao.json("accountability", "show", expected)
    assert (shown["policy"], shown["policy_version"], shown["rung_name"]) == ("default", 2, "问责")
    assert [(h["event"], h.get("code"), h["on"]) for h in shown["history"]] == [
        ("Recorded", None, "2024-09-25"), ("RectificationOrdered", None, "2024-09-25"),
        ("EscalationRaised", "reminder", "2024-10-10"),
        ("EscalationRaised", "supervise", "2024-10-15"),
        ("EscalationRaised", "interview", "2024-10-29"),
        ("EscalationRaised", "public_notice", "2024-11-19"),
        ("EscalationRaised", "accountability", "2024-12-17")]


def test_the_case_is_saved_in_the_escalations_commit(sqlite_db: str, clock: Clock) -> None:
    """A case already there (as a concurrent sweep would have saved it) makes the whole
    commit fail: the escalation is not recorded without its case, nor a second case."""
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    try:
        clock.at("2024-09-25", 10)
        app.add_unit("CZJ", "市财政局", actor="t")
        fid = app.record_finding(unit="CZJ", on=D("2024-09-25"), inspector="督学", text="问题",
                                 actor="t")
        app.order_rectification(fid, on=D("2024-09-25"), within=10, actor="t")
        clock.at("2024-11-19", 9)
        sweeper = Sweeper(app, engine_for(sqlite_db), load_policy())
        sweeper.run()
        ghost = AccountabilityCase.open(
            finding_id=fid, unit="CZJ", unit_name="市财政局", finding_text="问题",
            severity="general", code="accountability", rung_name="问责", policy="default",
            policy_version=1, opened_on=D("2024-11-19"), actor="other",
            recorded_at=clock())
        app.commit(ghost)
        before = app.event_count()
        clock.at("2024-12-17", 9)
        with pytest.raises(Conflict):
            sweeper.run()
        assert app.event_count() == before
        assert not app.get_finding(fid).has_escalated("accountability")
        sweeper.runner.engine.dispose()
    finally:
        app.close()


def test_a_case_through_the_command_line(sqlite_db: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    setup_finding(dudao)
    dudao.json("escalate", now="2024-12-17T09:00")
    case = dudao.json("accountability", "list")["cases"][0]["case_id"]
    code, out, err = dudao("accountability", "investigate", case, "--on", "2024-12-18",
                           "--note", "核对拨付凭证", now="2024-12-18T10:00")
    assert code == 0 and "市财政局" in out, err
    code, out, err = dudao("accountability", "notify", case, "--on", "2024-12-18",
                           "--person", "王局长", now="2024-12-18T11:00")
    assert code == 0, err
    assert out.strip() == "已于2024-12-18告知市财政局及王局长：可在5个工作日内陈述申辩，期限至2024-12-25"
    code, out, err = dudao("accountability", "statement", case, "--on", "2024-12-20", "--text",
                           "已制定补拨计划", "--by-unit", "CZJ", now="2024-12-20T15:00")
    assert code == 0 and "单位自行提交" in out, err
    code, out, err = dudao(
        "accountability", "decide", case, "--on", "2024-12-23",
        "--unit-mode", "public_criticism,interview", "--unit-mode", "resource_adjustment",
        "--person", "王局长", "--person-mode", "criticism,organisational",
        "--basis", "《教育督导问责办法》第七条", "--effective", "2024-12-24",
        now="2024-12-23T16:00")
    assert code == 0, err
    assert "公开批评、约谈、资源调整" in out and "王局长：通报批评、组织处理" in out
    assert "2024-12-24起生效" in out
    for word in ("public_criticism", "committee", "criticism", "cli:", "decided"):
        assert word not in out, word
    listed = dudao.json("accountability", "list", "--status", "decided", "--unit", "CZJ")
    assert [(c["case_id"], c["unit_modes"], c["persons"], c["decided_on"], c["effective_on"])
            for c in listed["cases"]] == [
        (case, ["public_criticism", "interview", "resource_adjustment"],
         [{"name": "王局长", "modes": ["criticism", "organisational"]}],
         "2024-12-23", "2024-12-24")]
    assert dudao.json("accountability", "list", "--status", "proposed")["cases"] == []
    assert dudao.json("accountability", "list", "--unit", "OTHER")["cases"] == []
    code, human, _ = dudao("accountability", "list")
    assert "市财政局" in human and "已决定问责" in human and "decided" not in human
    # the documents
    md_file, html_file = tmp_path / "决定书.md", tmp_path / "out" / "决定书.html"
    assert dudao.json("accountability", "document", case, "-o", str(md_file))["written"]
    code, _, err = dudao("accountability", "document", case, "--format", "html",
                         "-o", str(html_file))
    assert code == 0, err
    md, html = md_file.read_text(encoding="utf-8"), html_file.read_text(encoding="utf-8")
    words = re.sub(r"<[^>]+>", "", html)
    for text in ("问责决定书", "市财政局", "主要负责人：王局长", "生均公用经费未足额拨付",
                 "2024-10-15", "督办", "提请问责", "核对拨付凭证", "2024-12-18",
                 "至2024-12-25", "已制定补拨计划", "公开批评、约谈、资源调整",
                 "王局长：通报批评、组织处理", "《教育督导问责办法》第七条",
                 "本决定自2024-12-24起生效", "default"):
        assert text in md, text
        assert text in words, text
    assert "从重" not in md
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script" not in html
    assert "public_criticism" not in md + html
    # the reports
    report = dudao.json("report", "unit", "CZJ", "--format", "json")
    assert (report["accountability"], report["accountability_decided"],
            report["accountability_pending"]) == (1, 1, 0)
    assert [c["status"] for c in report["cases"]] == ["decided"]
    before = dudao.json("report", "unit", "CZJ", "--format", "json",
                        "--as-of", "2024-12-22T12:00")
    assert (before["accountability"], before["accountability_decided"]) == (1, 0)
    bulletin = dudao.json("report", "bulletin", "--format", "json")
    assert (bulletin["overall"]["accountability"],
            bulletin["overall"]["accountability_decided"]) == (1, 1)
    assert [c["case_id"] for c in bulletin["cases_decided"]] == [case]
    code, md_bulletin, _ = dudao("report", "bulletin", "--format", "md")
    assert "提请问责" in md_bulletin and "移交问责" not in md_bulletin
    assert "市财政局**：生均公用经费未足额拨付。2024-12-23决定：公开批评、约谈、资源调整" in md_bulletin


@pytest.mark.parametrize(("notified", "args", "now", "field"), [
    # before the notice
    (False, ["decide", "{case}", "--on", "2024-12-18", "--unit-mode", "public_criticism",
             "--basis", "b"], "2024-12-18T10:00", "CASE"),
    (False, ["statement", "{case}", "--on", "2024-12-18", "--text", "t"], "2024-12-18T10:00",
     "CASE"),
    (False, ["dismiss", "{case}", "--on", "2024-12-18", "--reason", " "], "2024-12-18T10:00",
     "--reason"),
    (False, ["notify", "{case}", "--on", "2024-12-19"], "2024-12-18T10:00", "--on"),
    (False, ["document", "{case}"], "2024-12-18T10:00", "CASE"),
    (False, ["show", "not-a-case"], "2024-12-18T10:00", "CASE"),
    (False, ["decide", "{case}", "--on", "2024-12-18", "--unit-mode", "bogus", "--basis", "b"],
     "2024-12-18T10:00", "--unit-mode"),
    (False, ["decide", "{case}", "--on", "2024-12-18", "--unit-mode", "public_notice",
             "--person", "王局长", "--basis", "b"], "2024-12-18T10:00", "--person-mode"),
    (False, ["list", "--status", "closed"], "2024-12-18T10:00", "--status"),
    # after the notice (2024-12-18, to 王局长 too; the window runs to 2024-12-25)
    (True, ["statement", "{case}", "--on", "2024-12-26", "--text", "迟到"], "2024-12-26T10:00",
     "--on"),
    (True, ["statement", "{case}", "--on", "2024-12-19", "--text", "t", "--by-unit", "SJYJ"],
     "2024-12-19T10:00", "--by-unit"),
    (True, ["decide", "{case}", "--on", "2024-12-25", "--unit-mode", "public_criticism",
            "--basis", "b"], "2024-12-25T10:00", "--on"),
    (True, ["decide", "{case}", "--on", "2024-12-26", "--unit-mode", "public_criticism",
            "--person", "李科长", "--person-mode", "criticism", "--basis", "b"],
     "2024-12-26T10:00", "--person"),
    (True, ["notify", "{case}", "--on", "2024-12-19"], "2024-12-19T10:00", "CASE"),
])
def test_refusals_name_the_field_and_record_nothing(
        sqlite_db: str, capsys: pytest.CaptureFixture[str], notified: bool, args: list[str],
        now: str, field: str) -> None:
    dudao = Cli(sqlite_db, capsys)
    setup_finding(dudao)
    dudao.json("escalate", now="2024-12-17T09:00")
    case = dudao.json("accountability", "list")["cases"][0]["case_id"]
    if notified:
        dudao.json("accountability", "notify", case, "--on", "2024-12-18", "--person", "王局长",
                   now="2024-12-18T10:00")
    before = dudao.events()
    code, out, err = dudao("accountability", *[a.format(case=case) for a in args], now=now)
    assert code != 0 and out == ""
    assert err.startswith(f"错误：{field}: "), err
    assert dudao.events() == before


def test_dismissal_and_its_document(sqlite_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    setup_finding(dudao)
    dudao.json("escalate", now="2024-12-17T09:00")
    case = dudao.json("accountability", "list")["cases"][0]["case_id"]
    code, out, err = dudao("accountability", "dismiss", case, "--on", "2024-12-18",
                           "--reason", "立案前已整改到位", now="2024-12-18T10:00")
    assert code == 0 and out.strip() == "已于2024-12-18决定对市财政局不予问责", err
    code, md, _ = dudao("accountability", "document", case)
    assert "不予问责决定书" in md and "立案前已整改到位" in md and "本案未经告知" in md
    report = dudao.json("report", "unit", "CZJ", "--format", "json")
    assert (report["accountability"], report["accountability_decided"],
            report["accountability_dismissed"]) == (1, 0, 1)


# ------------------------------------------------------ the service, both stores


def opened_case(app: Dudao, clock: Clock, unit: str, on: str, text: str = "问题") -> Any:
    if app.find_unit(unit) is None:
        app.add_unit(unit, f"单位{unit}", actor="t")
    day = D(on)
    clock.at(day, 10)
    fid = app.record_finding(unit=unit, on=day, inspector="督学", text=text, actor="t")
    app.order_rectification(fid, on=day, within=10, actor="t")
    finding = app.record_escalation(
        fid, code="accountability", rule="r", policy="default", policy_version=1,
        threshold=day, due=None, facts={}, actor="dudao:rules", decided_by="committee")
    assert finding.has_escalated("accountability")
    return cases.get_case(app, uuid5(fid, "accountability:accountability"))


def test_a_unit_states_its_own_case_only_and_sees_only_its_own(app: Dudao,
                                                               clock: Clock) -> None:
    case = opened_case(app, clock, "CZJ", "2024-12-02")
    app.add_unit("SJYJ", "市教育局", actor="t")
    clock.at("2024-12-03", 10)
    app.notify_case(case.id, on=D("2024-12-03"), actor="inspector:李")
    before = app.event_count()
    with pytest.raises(Refused) as e:
        app.submit_statement(case.id, on=D("2024-12-03"), text="t", actor="unit:SJYJ",
                             role="unit", unit="SJYJ")
    assert e.value.field == "unit" and app.event_count() == before
    with pytest.raises(NotFound):
        cases.visible_case(app, case.id, role="unit", unit="SJYJ")
    assert cases.visible_case(app, case.id, role="unit", unit="CZJ").id == case.id
    app.submit_statement(case.id, on=D("2024-12-03"), text="本单位陈述", actor="unit:CZJ",
                         role="unit", unit="CZJ")
    assert cases.get_case(app, case.id).statements[0]["by_unit"] is True
    with pytest.raises(Refused) as e:
        app.decide_case(case.id, on=D("2024-12-03"), unit_modes=["interview"], basis="b",
                        actor="inspector:李", role="inspector")
    assert e.value.field == "role"


def test_aggravation_is_worked_out_from_the_decided_cases_in_the_log(
        app: Dudao, db: str, clock: Clock) -> None:
    first = opened_case(app, clock, "CZJ", "2024-03-01", "第一条")
    other = opened_case(app, clock, "SJYJ", "2024-03-01", "别的单位")
    for c in (first, other):
        clock.at("2024-03-04", 10)
        app.notify_case(c.id, on=D("2024-03-04"), persons=["王局长"], actor="t")
        clock.at("2024-03-12", 10)
        app.decide_case(c.id, on=D("2024-03-12"), unit_modes=["public_criticism"],
                        persons=[("王局长", ["criticism"])], basis="b", actor="t",
                        role="committee")
    second = opened_case(app, clock, "CZJ", "2025-03-03", "第二条")
    clock.at("2025-03-04", 10)
    app.notify_case(second.id, on=D("2025-03-04"), persons=["王局长", "赵科长"], actor="t")
    clock.at("2025-03-12", 10)
    decided = app.decide_case(second.id, on=D("2025-03-12"), unit_modes=["public_notice"],
                              persons=[("王局长", ["disciplinary"]), ("赵科长", ["interview"])],
                              basis="b", actor="t", role="committee")
    by = decided.decision["aggravated_by"]
    ref = [{"case_id": str(first.id), "decided_on": "2024-03-12"}]
    assert by["unit"] == ref  # the other unit's decision does not count
    assert by["persons"] == {"王局长": ref, "赵科长": []}
    third = opened_case(app, clock, "CZJ", "2026-03-02", "第三条")
    clock.at("2026-03-03", 10)
    app.notify_case(third.id, on=D("2026-03-03"), actor="t")
    clock.at("2026-03-12", 10)
    late = app.decide_case(third.id, on=D("2026-03-12"), unit_modes=["interview"], basis="b",
                           actor="t", role="committee")
    assert late.decision["aggravated_by"]["unit"] == [
        {"case_id": str(second.id), "decided_on": "2025-03-12"}]  # the window's first day;
    # the first case, decided 2024-03-12, is more than 12 months before
    runner = read_models(app, db)
    try:
        rows = {r["case_id"]: r for r in cases.list_cases(runner, unit="CZJ")}
    finally:
        runner.engine.dispose()
    assert [rows[str(c.id)]["aggravated"] for c in (first, second, third)] == [False, True, True]
    assert rows[str(second.id)]["aggravated_by"] == [str(first.id)]


def test_a_policy_file_sets_the_windows_and_who_decides() -> None:
    text = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")
    changed = parse_policy(text.replace("statement_days = 5", "statement_days = 3"), "x.toml")
    assert changed.accountability.statement_days == 3
    assert json.loads(changed.model_dump_json())["rungs"]["accountability"]["decided_by"] == \
        "committee"


def test_a_decision_naming_a_person_is_on_their_record(sqlite_db: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    setup_finding(dudao)
    pid = dudao.json("person", "add", "--unit", "CZJ", "--name", "王局长", "--post", "局长",
                     "--principal", "--from", "2024-01-01", now="2024-09-01T09:30")["person_id"]
    other = dudao.json("person", "add", "--unit", "CZJ", "--name", "李科长", "--post", "科长",
                       "--from", "2024-01-01", now="2024-09-01T09:31")["person_id"]
    dudao.json("escalate", now="2024-12-17T09:00")
    case = dudao.json("accountability", "list")["cases"][0]["case_id"]
    assert dudao.json("report", "person", pid, "--format", "json")["decisions"] == []
    dudao.json("accountability", "notify", case, "--on", "2024-12-18", "--person", "王局长",
               now="2024-12-18T11:00")
    dudao.json("accountability", "decide", case, "--on", "2024-12-26", "--unit-mode",
               "public_notice", "--person", "王局长", "--person-mode", "criticism,organisational",
               "--basis", "《教育督导问责办法》第七条", now="2024-12-26T16:00")
    record = dudao.json("report", "person", pid, "--format", "json")
    assert [(d["on"], d["case_id"], d["modes"]) for d in record["decisions"]] == [
        ("2024-12-26", case, "通报批评、组织处理")]
    assert dudao.json("report", "person", other, "--format", "json")["decisions"] == []
    code, md, err = dudao("report", "person", pid, "--format", "md")
    assert code == 0, err
    assert "生均公用经费未足额拨付" in md and "通报批评、组织处理" in md and "criticism" not in md
