"""Rungs are data (issue 13), through the stores and the command line: a policy that adds
挂牌督导 by editing its file alone reaches the notices (subject and name), the API's
OpenAPI document and the reports; manual raises and falsified reviews on the command line;
``audit rules --policy`` re-decides the whole history with the same ladder as the sweep."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import bootstrap, notice_publisher, sweeper
from adapters.entrypoints.api.app import create_api
from adapters.entrypoints.server import build_components
from adapters.service_layer.application import Dudao
from adapters.settings import Settings
from tests.conftest import Cli, Clock

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "features" / "策略示例"
LISTED = str(EXAMPLES / "listed.toml")


def listed_store(db: str, clock: Clock) -> tuple[Dudao, Any]:
    """A finding of 市教育局 escalated under the 挂牌督导 policy up to 2024-12-31."""
    settings = Settings(db=db, policy="listed", policy_folders=(EXAMPLES,))
    app = bootstrap(settings)
    app.clock = clock
    clock.at("2024-09-02")
    app.add_unit("SJYJ", "市教育局", principal="王建国", actor="管理员")
    clock.at("2024-09-25")
    fid = app.record_finding(unit="SJYJ", on=date(2024, 9, 25), inspector="张督学",
                             text="大班额问题整改滞后", actor="张督学")
    app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="张督学")
    sweep = sweeper(app, db, settings=settings)
    for day in ("2024-10-15", "2024-10-29", "2024-11-19", "2024-12-03", "2024-12-31"):
        clock.at(day, 9)
        sweep.run()
    return app, settings


def test_a_rung_added_by_file_reaches_the_notices_the_api_and_the_reports(
        sqlite_db: str, clock: Clock) -> None:
    app, settings = listed_store(sqlite_db, clock)
    try:
        publisher = notice_publisher(app, sqlite_db, settings=settings)
        _, notices = publisher.collect(1)
        by_code = {n.payload["code"]: n for n in notices}
        assert list(by_code) == ["reminder", "supervise", "interview", "public_notice",
                                 "listed_supervision", "accountability"]
        listed = by_code["listed_supervision"]
        assert listed.subject == "dudao.notice.listed_supervision.SJYJ"
        assert (listed.payload["code_name"], listed.payload["rung"]) == ("挂牌督导", 4)
        assert listed.payload["mode"] == "listed_supervision"
        assert listed.payload["notice"].startswith("挂牌督导：你单位“大班额问题整改滞后”")
        assert by_code["accountability"].payload["rung"] == 5
        # the API's document: the policy's codes, one count per rung
        c = build_components(app, sqlite_db, settings)
        try:
            schema = create_api(c).openapi()
        finally:
            c.engine.dispose()
        codes = schema["components"]["schemas"]["EscalationOut"]["properties"]["code"]["enum"]
        assert codes == ["reminder", "supervise", "interview", "public_notice",
                         "listed_supervision", "accountability"]
        counts = schema["components"]["schemas"]["EscalationCounts"]["properties"]
        assert list(counts) == codes and counts["listed_supervision"]["title"] == "挂牌督导"
        # the reports: a column per rung of the policy, in its order
        from adapters.rendering.reports import live

        with live(app, sqlite_db) as view:
            report = view.unit("SJYJ")
            bulletin = view.bulletin()
        assert [(e["code"], e["count"]) for e in report["escalations_by_rung"]] == [
            (code, 1) for code in codes]
        assert report["escalations"]["listed_supervision"] == 1
        assert (report["public_notices"], report["accountability"]) == (1, 1)
        assert [s["heading"] for s in bulletin["sections"]] == ["通报批评", "挂牌督导", "问责"]
        assert [u["unit"] for u in bulletin["sections"][1]["units"]] == ["SJYJ"]
    finally:
        app.close()


def test_escalate_raise_and_a_falsified_review_on_the_command_line(
        sqlite_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    dudao = Cli(sqlite_db, capsys)
    dudao.json("unit", "add", "SJYJ", "--name", "市教育局", now="2024-09-02T09:00")
    fid = dudao.json("finding", "record", "--unit", "SJYJ", "--on", "2024-09-25",
                     "--inspector", "张督学", "--text", "食堂食品安全管理不到位",
                     now="2024-09-25T10:00")["finding_id"]
    dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
               now="2024-09-25T11:00")
    events = dudao.events()
    code, _, err = dudao("escalate", "raise", fid, "--rung", "listed_supervision", "--reason",
                         "重大事故", "--on", "2024-10-21", now="2024-10-21T17:00")
    assert code == 1 and "--rung: " in err and "没有级别 'listed_supervision'" in err
    code, _, err = dudao("escalate", "raise", fid, "--rung", "public_notice", "--reason", " ",
                         "--on", "2024-10-21", now="2024-10-21T17:00")
    assert code == 1 and "--reason: " in err and "理由不能为空" in err
    assert dudao.events() == events  # refusals record nothing
    raised = dudao.json("--actor", "王督学", "escalate", "raise", fid, "--rung", "public_notice",
                        "--reason", "发生食物中毒事件", "--on", "2024-10-21",
                        now="2024-10-21T17:00")
    assert (raised["code"], raised["name"], raised["rule"], raised["actor"], raised["reason"]) == (
        "public_notice", "通报", "public_notice.manual", "王督学", "发生食物中毒事件")
    code, _, err = dudao("escalate", "raise", fid, "--rung", "interview", "--reason", "约谈",
                         "--on", "2024-10-22", now="2024-10-22T17:00")
    assert code == 1 and "--rung: " in err and "只能升到更高的级别" in err
    # with a policy file: its rungs (挂牌督导) may be raised by hand
    listed = dudao.json("escalate", "raise", fid, "--rung", "listed_supervision", "--policy",
                        LISTED, "--reason", "整改严重滞后", "--on", "2024-10-23",
                        now="2024-10-23T17:00")
    assert (listed["rung"], listed["name"], listed["policy"]) == (4, "挂牌督导", "listed")
    trail = dudao.json("audit", "trail", fid, now="2024-10-23T18:00")
    manual = [e for e in trail["events"] if e["type"] == "EscalationRaised"]
    assert [(e["reason"], e["name"], e["rule"]) for e in manual] == [
        ("发生食物中毒事件", "升级：通报", "public_notice.manual"),
        ("整改严重滞后", "升级：挂牌督导", "listed_supervision.manual")]
    assert manual[0]["actor"] == "王督学" and manual[1]["actor"].startswith("cli:")
    # 弄虚作假: a review outcome of its own
    dudao.json("rectify", "report", fid, "--on", "2024-10-24", "--text", "已整改",
               now="2024-10-24T10:00")
    for args, words in [(("--falsified", "--pass"), "--falsified"),
                        (("--falsified",), "弄虚作假的认定意见不能为空"),
                        (("--falsified", "--within", "5", "--note", "x"), "--within: ")]:
        code, _, err = dudao("rectify", "review", fid, "--on", "2024-10-25", *args,
                             now="2024-10-25T10:00")
        assert code != 0 and words in err, err
    out = dudao.json("rectify", "review", fid, "--on", "2024-10-25", "--falsified", "--note",
                     "整改台账系事后补造", now="2024-10-25T10:00")
    assert (out["status"], out["deadline"], out["falsified"]) == ("rectifying", "2024-10-14", True)
    trail = dudao.json("audit", "trail", fid, now="2024-10-25T18:00")
    assert trail["events"][-1]["type"] == "ReportFoundFalse"
    assert trail["events"][-1]["name"] == "复查认定弄虚作假"


def test_audit_rules_re_decides_the_history_under_another_policy_with_the_new_semantics(
        sqlite_db: str, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    """Recorded under the default policy: an extension after 通报 (to 2025-01-10) and an
    inspector's manual raise. Re-decided under the 挂牌督导 policy: the manual raise stays as
    it was, and 挂牌督导 counts from the extended deadline (2025-01-10 + 10 working days)."""
    settings = Settings(db=sqlite_db)
    app = bootstrap(settings)
    app.clock = clock
    try:
        clock.at("2024-09-02")
        app.add_unit("SJYJ", "市教育局", actor="管理员")
        clock.at("2024-09-25")
        a = app.record_finding(unit="SJYJ", on=date(2024, 9, 25), inspector="张督学",
                               text="大班额问题整改滞后", actor="张督学")
        b = app.record_finding(unit="SJYJ", on=date(2024, 9, 25), inspector="张督学",
                               text="校车安全隐患", actor="张督学")

        for fid in (a, b):
            app.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="张督学")
        sweep = sweeper(app, sqlite_db, settings=settings)

        def run(day: str) -> None:
            clock.at(day, 9)
            sweep.run()

        for day in ("2024-10-15", "2024-10-29"):
            run(day)
        clock.at("2024-10-30", 16)
        from adapters.service_layer.manual import raise_manually
        from rules.policy import load_policy

        raise_manually(app, load_policy("default"), b, code="public_notice",
                       reason="发生校车事故", on=date(2024, 10, 30), actor="王督学")
        for day in ("2024-11-19",):
            run(day)
        clock.at("2024-11-25", 16)
        app.extend(a, on=date(2024, 11, 25), to=date(2025, 1, 10), reason="跨年施工", actor="张督学")
        run("2024-12-17")
        clock.at("2025-02-10")  # another finding, whose 督办 a sweep records on 2025-03-03
        c = app.record_finding(unit="SJYJ", on=date(2025, 2, 10), inspector="张督学",
                               text="课后服务收费不规范", actor="张督学")
        app.order_rectification(c, on=date(2025, 2, 10), within=10, actor="张督学")
        for day in ("2025-02-14", "2025-03-03"):
            run(day)
    finally:
        app.close()
    dudao = Cli(sqlite_db, capsys)
    same = dudao.json("audit", "rules", now="2025-03-04T09:00")
    assert same["differences"] == [] and same["manual"] == 1
    assert same["decided"] == same["recorded"]
    what_if = dudao.json("audit", "rules", "--policy", LISTED, now="2025-03-04T09:00")
    assert what_if["manual"] == 1 and what_if["policy"] == "listed"
    diffs = {(d["finding_id"], d["code"]): d for d in what_if["differences"]}
    listed = diffs[(str(a), "listed_supervision")]
    assert listed["kind"] == "only_decided" and listed["name"] == "挂牌督导"
    assert listed["decided"]["threshold"] == "2025-01-25"  # 2025-01-10 + 10 working days
    acc = diffs[(str(a), "accountability")]
    assert acc["kind"] == "changed" and acc["recorded"]["threshold"] == "2025-02-14"
    assert acc["decided"]["threshold"] == "2025-02-28"  # 挂牌督导 + 20 working days
    # the manual 通报 of b stays; 挂牌督导 counts from it (no earlier than b's deadline)
    b_listed = diffs[(str(b), "listed_supervision")]
    assert b_listed["kind"] == "only_decided"
    assert (str(b), "public_notice") not in diffs
    code, out, _ = dudao("audit", "rules", "--policy", LISTED, now="2025-03-04T09:00")
    assert code == 0 and "督学手动升级 1 项照原样保留" in out and "挂牌督导" in out


def test_an_inspector_raising_the_committee_rung_by_hand_opens_its_case(
        sqlite_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The default policy's 问责 is decided by the 督导委员会: raised by hand (重大事故), it
    proposes 问责 and opens the case in the same commit, as when the rules raise it."""
    dudao = Cli(sqlite_db, capsys)
    dudao.json("unit", "add", "SJYJ", "--name", "市教育局", now="2024-09-02T09:00")
    fid = dudao.json("finding", "record", "--unit", "SJYJ", "--on", "2024-09-25",
                     "--inspector", "张督学", "--text", "校舍坍塌隐患", "--severity", "major",
                     now="2024-09-25T10:00")["finding_id"]
    dudao.json("rectify", "order", fid, "--on", "2024-09-25", "--within", "10",
               now="2024-09-25T11:00")
    raised = dudao.json("--actor", "王督学", "escalate", "raise", fid, "--rung",
                        "accountability", "--reason", "发生重大安全事故", "--on", "2024-10-08",
                        now="2024-10-08T17:00")
    assert (raised["rule"], raised["threshold"]) == ("accountability.manual", "2024-10-08")
    cases = dudao.json("accountability", "list", now="2024-10-08T18:00")["cases"]
    assert [(c["finding_id"], c["status"]) for c in cases] == [(fid, "proposed")]
