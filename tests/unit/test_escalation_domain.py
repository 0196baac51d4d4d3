"""The aggregate's side of rungs as data (issue 13): a rung's properties come with the
command and are recorded in the event; an inspector raises only above the top, with a
reason; a review may find the report false (弄虚作假). Every refusal records nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.calendar import WorkCalendar
from domain.errors import InvalidInput, Refused
from domain.findings import Finding
from domain.rungs import LADDER, RUNGS, Rung, recorded_rung
from domain.time import SHANGHAI

NOW = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)
CAL = WorkCalendar()
D = date.fromisoformat
LISTED = Rung("listed_supervision", 4, "挂牌督导", "listed_supervision")
ACCOUNTABILITY = Rung("accountability", 5, "问责", "accountability")


def ordered() -> Finding:
    f = Finding.record(id=uuid4(), unit="U1", on=D("2024-09-25"), inspector="张督学",
                       text="台账不全", actor="t", recorded_at=NOW)
    f.order_rectification(on=D("2024-09-25"), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    return f


def rules(f: Finding, rung: Rung, threshold: str = "2024-10-15", due: str | None = None) -> None:
    f.raise_escalation(code=rung.code, rule=f"{rung.code}.r", policy="listed", policy_version=1,
                       threshold=D(threshold), due=D(due) if due else None, facts={},
                       decided_at=NOW, actor="dudao:rules", recorded_at=NOW, rung=rung)


def by_hand(f: Finding, rung: Rung, on: str = "2024-10-21", reason: str = "发生重大安全事故",
            due: str | None = None) -> None:
    f.raise_manually(rung=rung, on=D(on), due=D(due) if due else None, reason=reason,
                     policy="listed", policy_version=1, actor="王督学", recorded_at=NOW)


def reported(f: Finding, on: str = "2024-10-11") -> Finding:
    f.submit_report(on=D(on), text="已整改", actor="单位", recorded_at=NOW)
    return f


def events(f: Finding) -> list[str]:
    return [type(e).__name__ for e in f.collect_events()]


def refused(f: Finding, command: Any, kind: type[Exception], field: str, words: str) -> None:
    f.collect_events()  # what came before
    state = dict(f.__dict__)
    with pytest.raises(kind) as caught:
        command()
    assert caught.value.field == field and words in caught.value.zh, caught.value.zh  # type: ignore[attr-defined]
    assert f.collect_events() == [] and f.__dict__ == state  # nothing recorded, nothing changed


# --------------------------------------------------------------- manual raises


def test_a_manual_raise_records_the_inspector_the_reason_and_the_rung() -> None:
    f = ordered()
    rules(f, RUNGS["supervise"], due="2024-10-28")
    by_hand(f, LISTED)
    raised = f.escalations[-1]
    assert (raised["code"], raised["rung"], raised["name"], raised["mode"]) == (
        "listed_supervision", 4, "挂牌督导", "listed_supervision")
    assert (raised["rule"], raised["actor"], raised["reason"]) == (
        "listed_supervision.manual", "王督学", "发生重大安全事故")
    assert raised["threshold"] == D("2024-10-21") and f.rung == "listed_supervision"
    assert f.rung_label == "挂牌督导" and f.deadline == D("2024-10-28")


@pytest.mark.parametrize("rung", [RUNGS["supervise"], RUNGS["reminder"], RUNGS["interview"]])
def test_a_manual_raise_at_or_below_the_top_is_refused(rung: Rung) -> None:
    f = ordered()
    rules(f, RUNGS["supervise"], due="2024-10-28")
    if rung.code == "interview":
        rules(f, rung, threshold="2024-10-29", due="2024-11-04")
    f.collect_events()
    refused(f, lambda: by_hand(f, rung, on="2024-11-05"), Refused, "rung", "只能升到更高的级别")


def test_a_manual_raise_without_a_reason_is_refused() -> None:
    f = ordered()
    f.collect_events()
    for reason in ("", "   "):
        refused(f, lambda r=reason: by_hand(f, LISTED, reason=r), InvalidInput, "reason",
                "理由不能为空")


def test_a_manual_raise_needs_an_order_an_open_finding_and_a_sensible_day() -> None:
    new = Finding.record(id=uuid4(), unit="U1", on=D("2024-09-25"), inspector="张督学",
                         text="台账不全", actor="t", recorded_at=NOW)
    new.collect_events()
    refused(new, lambda: by_hand(new, LISTED), Refused, "finding", "尚未下达整改通知")
    f = ordered()
    rules(f, RUNGS["supervise"], due="2024-10-28")
    f.collect_events()
    refused(f, lambda: by_hand(f, LISTED, on="2024-09-20"), InvalidInput, "on", "早于整改通知日期")
    refused(f, lambda: by_hand(f, LISTED, on="2024-10-14"), InvalidInput, "on",
            "早于最近一次升级的起算日")
    refused(f, lambda: by_hand(f, LISTED, on="2025-01-02"), InvalidInput, "on", "")
    reported(f, "2024-10-16").pass_review(on=D("2024-10-17"), note=None, actor="t",
                                          recorded_at=NOW)
    f.collect_events()
    refused(f, lambda: by_hand(f, LISTED), Refused, "finding", "销号")


def test_a_rung_s_properties_are_checked() -> None:
    f = ordered()
    f.collect_events()
    for rung, field, words in [
        (Rung("Bad-Code", 1, "督办", "supervise"), "code", "小写字母和下划线"),
        (Rung("supervise", -1, "督办", "supervise"), "rung", "序号"),
        (Rung("supervise", 1, " ", "supervise"), "name", "不能为空"),
        (Rung("supervise", 1, "督办", "urge"), "mode", "方式"),
    ]:
        refused(f, lambda r=rung: rules(f, r), InvalidInput, field, words)
    refused(f, lambda: f.raise_escalation(
        code="bogus", rule="r", policy="p", policy_version=1, threshold=D("2024-10-15"),
        due=None, facts={}, decided_at=NOW, actor="t", recorded_at=NOW), InvalidInput, "code",
        "未给出该级别的属性")
    refused(f, lambda: f.raise_escalation(
        code="supervise", rule="r", policy="p", policy_version=1, threshold=D("2024-10-15"),
        due=None, facts={}, decided_at=NOW, actor="t", recorded_at=NOW, rung=LISTED),
        InvalidInput, "code", "不符")


def test_the_rules_never_go_back_down_but_a_repeating_rung_may_come_again() -> None:
    f = ordered()
    rules(f, RUNGS["reminder"], threshold="2024-10-10")
    rules(f, LISTED)
    f.collect_events()
    refused(f, lambda: rules(f, RUNGS["public_notice"]), Refused, "code", "升级只升不降")
    refused(f, lambda: rules(f, Rung("other", 4, "同级", "public_notice")), Refused, "code",
            "升级只升不降")
    f.grant_extension(on=D("2024-10-20"), to=D("2024-11-30"), reason="客观原因", calendar=CAL,
                      actor="t", recorded_at=NOW)
    rules(f, RUNGS["reminder"], threshold="2024-11-27")  # a reminder for the new deadline
    assert f.rung == "listed_supervision"
    rules(f, ACCOUNTABILITY, threshold="2024-12-02")
    assert [e["code"] for e in f.escalations] == [
        "reminder", "listed_supervision", "reminder", "accountability"]


def test_the_rung_s_own_property_sets_the_deadline_not_its_code() -> None:
    f = ordered()
    rules(f, Rung("supervise", 1, "督办", "supervise"), due="2024-10-28")  # sets_deadline=False
    assert f.deadline == D("2024-10-14")
    rules(f, Rung("listed_supervision", 4, "挂牌督导", "listed_supervision", sets_deadline=True),
          due="2024-11-15")
    assert f.deadline == D("2024-11-15")


def test_an_event_recorded_before_rungs_carried_their_properties_takes_the_built_in_ones() -> None:
    old = {"code": "supervise", "rung": 1}  # as events recorded before issue 13 hold it
    assert recorded_rung(old) == {"code": "supervise", "rung": 1, "name": "督办",
                                  "mode": "supervise", "sets_deadline": True,
                                  "per_deadline": False}
    assert recorded_rung({"code": "reminder", "rung": 0})["per_deadline"] is True
    unknown = recorded_rung({"code": "listed_supervision", "rung": 4})
    assert (unknown["name"], unknown["sets_deadline"]) == ("listed_supervision", False)
    new = recorded_rung({"code": "supervise", "rung": 1, "name": "督办", "mode": "supervise",
                         "sets_deadline": False, "per_deadline": False})
    assert new["sets_deadline"] is False  # what the event recorded wins
    assert [r.order for r in LADDER] == list(range(5))


# -------------------------------------------------------------------- 弄虚作假


def test_a_report_found_false_goes_back_to_rectifying_with_its_deadline() -> None:
    f = reported(ordered())
    f.collect_events()
    f.find_report_false(on=D("2024-10-16"), note="台账系补造", actor="张督学", recorded_at=NOW)
    assert events(f) == ["ReportFoundFalse"]
    assert (f.status, f.deadline, f.strikes, f.falsified) == (
        "rectifying", D("2024-10-14"), 0, 1)
    reported(f, "2024-10-18")  # the unit may report again


def test_a_falsified_review_needs_a_report_under_review_and_a_note() -> None:
    f = ordered()
    f.collect_events()
    refused(f, lambda: f.find_report_false(on=D("2024-10-16"), note="系补造", actor="t",
                                           recorded_at=NOW), Refused, "finding", "没有待复查")
    reported(f)
    f.collect_events()
    refused(f, lambda: f.find_report_false(on=D("2024-10-16"), note=" ", actor="t",
                                           recorded_at=NOW), InvalidInput, "note", "认定意见")
    refused(f, lambda: f.find_report_false(on=D("2024-10-10"), note="系补造", actor="t",
                                           recorded_at=NOW), InvalidInput, "on", "整改报告日期")
    f.pass_review(on=D("2024-10-16"), note=None, actor="t", recorded_at=NOW)
    f.collect_events()
    refused(f, lambda: f.find_report_false(on=D("2024-10-17"), note="系补造", actor="t",
                                           recorded_at=NOW), Refused, "finding", "销号")


def test_an_interview_needs_a_rung_that_stands_for_one() -> None:
    f = ordered()
    rules(f, Rung("talk", 2, "约谈主要负责人", "interview"), due="2024-11-04")
    f.hold_interview(on=D("2024-10-30"), interviewee="校长", minutes="纪要", actor="t",
                     recorded_at=NOW)
    assert f.interview_held_on == D("2024-10-30")
    g = ordered()
    rules(g, Rung("interview", 2, "约谈", "public_notice"))  # a code is only a code
    g.collect_events()
    refused(g, lambda: g.hold_interview(on=D("2024-10-30"), interviewee="校长", minutes="纪要",
                                        actor="t", recorded_at=NOW), Refused, "finding",
            "尚未升级到约谈")
