"""The accountability case (domain/accountability.py): its life, every refusal, 从重.

Pure: the aggregate and the work calendar, no store. A refusal must name its field
and leave the case exactly as it was, with no event pending (nothing recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.accountability import (
    CASE_STATUSES,
    AccountabilityCase,
    case_id,
    check_status,
    history_summary,
    months_before,
)
from domain.calendar import WorkCalendar
from domain.errors import DudaoError, InvalidInput, Refused
from domain.rungs import PERSON_MODES, UNIT_MODES
from domain.time import SHANGHAI

CAL = WorkCalendar()
D = date.fromisoformat
FINDING = UUID("0b9f2a52-2f4e-4d47-9b8a-6a1f1a0e0c11")


def at(day: str, hour: int = 18) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=SHANGHAI)


def opened(**overrides: Any) -> AccountabilityCase:
    values: dict[str, Any] = dict(
        finding_id=FINDING, unit="CZJ", unit_name="市财政局", finding_text="经费未足额拨付",
        severity="serious", code="accountability", rung_name="问责", policy="default",
        policy_version=1, opened_on=D("2024-12-17"), statement_days=5,
        aggravation_months=12,
        history=[{"event": "Recorded", "on": "2024-09-25", "text": "经费未足额拨付"}],
        actor="dudao:rules", recorded_at=at("2024-12-17", 9))
    values.update(overrides)
    case = AccountabilityCase.open(**values)
    case.collect_events()
    return case


def notified(persons: tuple[str, ...] = ("王局长",)) -> AccountabilityCase:
    case = opened()
    case.notify(on=D("2024-12-18"), persons=persons, calendar=CAL, actor="督学",
                recorded_at=at("2024-12-18"))
    case.collect_events()
    return case


def state(case: AccountabilityCase) -> dict[str, Any]:
    return {k: v for k, v in case.__dict__.items() if k != "_pending_events"}


def refuses(case: AccountabilityCase, command: Callable[[], Any], field: str,
            kind: type[DudaoError] = DudaoError, says: str = "") -> DudaoError:
    """The command is refused naming ``field``, and records nothing."""
    before = state(case)
    with pytest.raises(kind) as caught:
        command()
    assert caught.value.field == field, (caught.value.field, str(caught.value))
    assert says in caught.value.zh, caught.value.zh
    assert case.collect_events() == []
    assert state(case) == before
    return caught.value


def decide(case: AccountabilityCase, on: str = "2024-12-26", *, role: str | None = "committee",
           unit_modes: Any = ("public_criticism",), persons: Any = (), basis: str = "第七条",
           effective_on: date | None = None, earlier: Any = ()) -> None:
    case.decide(on=D(on), unit_modes=unit_modes, persons=persons, basis=basis,
                effective_on=effective_on, earlier=earlier, role=role, actor="委员会",
                recorded_at=at(on))


# ----------------------------------------------------------------- the life


def test_a_case_goes_from_proposal_through_notice_and_statement_to_a_decision() -> None:
    case = opened()
    assert case.id == case_id(FINDING, "accountability")
    assert case.status == "proposed" and CASE_STATUSES[case.status] == "问责建议（待告知）"
    case.investigate(on=D("2024-12-18"), note="核对拨付凭证", actor="督学",
                     recorded_at=at("2024-12-18"))
    due = case.notify(on=D("2024-12-18"), persons=["王局长", "王局长"], calendar=CAL,
                      actor="督学", recorded_at=at("2024-12-18"))
    assert due == D("2024-12-25") == case.statement_due  # 5 working days
    assert case.notified_persons == ["王局长"] and case.status == "notified"
    case.submit_statement(on=D("2024-12-20"), text="已制定补拨计划", by_unit="CZJ",
                          actor="unit:CZJ", recorded_at=at("2024-12-20"))
    assert case.status == "stated" and case.statements[0]["by_unit"] is True
    decide(case, "2024-12-23", unit_modes=["public_criticism", "interview", "interview"],
           persons=[("王局长", ["criticism"]), ("王局长", "organisational")])
    assert case.status == "decided" and case.closed_on == D("2024-12-23")
    d = case.decision
    assert d is not None
    assert d["unit_modes"] == ["public_criticism", "interview"]
    assert d["persons"] == [{"name": "王局长", "modes": ["criticism", "organisational"]}]
    assert d["effective_on"] == D("2024-12-23") and not case.aggravated
    kinds = [type(e).__name__ for e in case.collect_events()]
    assert kinds == ["Investigated", "Notified", "Stated", "Decided"]


def test_a_statement_recorded_by_staff_is_marked_so() -> None:
    case = notified()
    case.submit_statement(on=D("2024-12-25"), text="代为记录", by_unit=None, actor="督学",
                          recorded_at=at("2024-12-25"))
    assert case.statements[0]["by_unit"] is False


def test_without_a_statement_the_decision_waits_for_the_window_to_close() -> None:
    case = notified()
    decide(case, "2024-12-26")  # the window's last day, 12-25, is over
    assert case.status == "decided"


def test_a_dismissal_records_its_reasons() -> None:
    case = opened()
    case.dismiss(on=D("2024-12-18"), reason="已整改到位", role="committee", actor="委员会",
                 recorded_at=at("2024-12-18"))
    assert case.status == "dismissed" and case.dismissal == {
        "on": D("2024-12-18"), "reason": "已整改到位", "actor": "委员会"}


# ------------------------------------------------------------- the refusals


def test_deciding_without_a_notice_is_refused() -> None:
    case = opened()
    refuses(case, lambda: decide(case, "2024-12-26"), "case", Refused, "尚未告知")


def test_deciding_before_the_statement_window_closes_without_a_statement_is_refused() -> None:
    case = notified()
    refuses(case, lambda: decide(case, "2024-12-25"), "on", Refused, "期满")


def test_a_statement_after_the_window_is_refused() -> None:
    case = notified()
    refuses(case, lambda: case.submit_statement(
        on=D("2024-12-26"), text="迟到", by_unit="CZJ", actor="u", recorded_at=at("2024-12-26")),
        "on", Refused, "届满")


def test_a_statement_before_the_notice_is_refused() -> None:
    case = opened()
    refuses(case, lambda: case.submit_statement(
        on=D("2024-12-18"), text="先说", by_unit=None, actor="u", recorded_at=at("2024-12-18")),
        "case", Refused, "尚未告知")


def test_a_statement_dated_before_the_notice_is_refused() -> None:
    case = notified()
    refuses(case, lambda: case.submit_statement(
        on=D("2024-12-17"), text="早", by_unit=None, actor="u", recorded_at=at("2024-12-18")),
        "on", InvalidInput, "早于告知日期")


def test_a_unit_stating_another_units_case_is_refused() -> None:
    case = notified()
    refuses(case, lambda: case.submit_statement(
        on=D("2024-12-19"), text="代别人说", by_unit="SJYJ", actor="unit:SJYJ",
        recorded_at=at("2024-12-19")), "unit", Refused, "不能为其他单位")


@pytest.mark.parametrize("role", [None, "inspector", "unit", "admin", "policy", ""])
def test_only_the_committee_decides_or_dismisses(role: str | None) -> None:
    case = notified()
    refuses(case, lambda: decide(case, "2024-12-26", role=role), "role", Refused, "督导委员会")
    refuses(case, lambda: case.dismiss(on=D("2024-12-26"), reason="理由", role=role,
                                       actor="x", recorded_at=at("2024-12-26")),
            "role", Refused, "督导委员会")


@pytest.mark.parametrize(("modes", "persons", "field"), [
    (["bogus"], (), "unit_mode"),
    (["public_criticism", "disciplinary"], (), "unit_mode"),  # a person's mode, for the unit
    ([], (), "unit_mode"),
    (["public_criticism"], [("王局长", ["bogus"])], "person_mode"),
    (["public_criticism"], [("王局长", ["penalty_referral"])], "person_mode"),  # the unit's
    (["public_criticism"], [("王局长", [])], "person_mode"),
    (["public_criticism"], [("  ", ["criticism"])], "person"),
])
def test_unknown_or_missing_modes_are_refused(modes: list[str], persons: Any,
                                              field: str) -> None:
    case = notified()
    refuses(case, lambda: decide(case, unit_modes=modes, persons=persons), field, InvalidInput)


def test_a_person_who_was_not_notified_cannot_be_held_to_account() -> None:
    case = notified(persons=("王局长",))
    refuses(case, lambda: decide(case, persons=[("李科长", ["criticism"])]), "person", Refused,
            "未被告知")


def test_a_decision_needs_its_basis_and_an_effective_date_not_before_it() -> None:
    case = notified()
    refuses(case, lambda: decide(case, basis="  "), "basis", InvalidInput)
    refuses(case, lambda: decide(case, effective_on=D("2024-12-25")), "effective_on",
            InvalidInput)


def test_dismissing_without_a_reason_is_refused() -> None:
    case = opened()
    refuses(case, lambda: case.dismiss(on=D("2024-12-18"), reason=" ", role="committee",
                                       actor="x", recorded_at=at("2024-12-18")),
            "reason", InvalidInput, "理由")


def test_a_decided_or_dismissed_case_takes_no_further_step() -> None:
    case = notified()
    decide(case)
    case.collect_events()
    for command in (
        lambda: decide(case, "2024-12-27"),
        lambda: case.dismiss(on=D("2024-12-27"), reason="r", role="committee", actor="x",
                             recorded_at=at("2024-12-27")),
        lambda: case.submit_statement(on=D("2024-12-27"), text="t", by_unit=None, actor="x",
                                      recorded_at=at("2024-12-27")),
        lambda: case.investigate(on=D("2024-12-27"), note="n", actor="x",
                                 recorded_at=at("2024-12-27")),
        lambda: case.notify(on=D("2024-12-27"), calendar=CAL, actor="x",
                            recorded_at=at("2024-12-27")),
    ):
        refuses(case, command, "case", Refused, "已于2024-12-26作出问责决定")
    other = opened()
    other.dismiss(on=D("2024-12-18"), reason="r", role="committee", actor="x",
                  recorded_at=at("2024-12-18"))
    other.collect_events()
    refuses(other, lambda: decide(other), "case", Refused, "不予问责")


def test_a_case_is_notified_once() -> None:
    case = notified()
    refuses(case, lambda: case.notify(on=D("2024-12-19"), calendar=CAL, actor="x",
                                      recorded_at=at("2024-12-19")), "case", Refused, "已于")


def test_dates_before_the_case_or_after_today_are_refused() -> None:
    case = opened()
    refuses(case, lambda: case.notify(on=D("2024-12-16"), calendar=CAL, actor="x",
                                      recorded_at=at("2024-12-18")), "on", InvalidInput)
    refuses(case, lambda: case.notify(on=D("2024-12-19"), calendar=CAL, actor="x",
                                      recorded_at=at("2024-12-18")), "on", InvalidInput, "晚于今天")
    refuses(case, lambda: case.investigate(on=D("2024-12-16"), note="n", actor="x",
                                           recorded_at=at("2024-12-18")), "on", InvalidInput)
    stated = notified()
    stated.submit_statement(on=D("2024-12-24"), text="t", by_unit=None, actor="x",
                            recorded_at=at("2024-12-24"))
    stated.collect_events()
    refuses(stated, lambda: decide(stated, "2024-12-23"), "on", InvalidInput, "上一步")


def test_opening_checks_the_policy_values() -> None:
    with pytest.raises(InvalidInput) as e:
        opened(statement_days=0)
    assert e.value.field == "statement_days"
    with pytest.raises(InvalidInput) as e:
        opened(aggravation_months=True)
    assert e.value.field == "aggravation_months"


def test_a_list_filter_names_a_known_status() -> None:
    assert check_status("decided") == "decided"
    with pytest.raises(InvalidInput) as e:
        check_status("closed")
    assert e.value.field == "status"


# ------------------------------------------------------------------- 从重


def earlier(case_id_: str, decided_on: str, persons: list[str] | None = None) -> dict[str, Any]:
    return {"case_id": case_id_, "decided_on": D(decided_on), "persons": persons or []}


def test_a_decided_case_within_the_window_makes_the_decision_aggravated() -> None:
    case = notified(persons=("王局长", "赵科长"))
    first = str(uuid4())
    decide(case, "2024-12-26", persons=[("王局长", ["criticism"]), ("赵科长", ["interview"])],
           earlier=[earlier(first, "2023-12-26", ["王局长"]),  # the window's first day
                    earlier(str(uuid4()), "2023-12-25", ["赵科长"]),  # a day too early
                    earlier(str(case.id), "2024-12-01")])  # itself: never
    assert case.aggravated
    by = case.decision["aggravated_by"]  # type: ignore[index]
    assert by["since"] == "2023-12-26"
    assert by["unit"] == [{"case_id": first, "decided_on": "2023-12-26"}]
    assert by["persons"] == {"王局长": [{"case_id": first, "decided_on": "2023-12-26"}],
                             "赵科长": []}


def test_no_earlier_decision_in_the_window_no_aggravation() -> None:
    case = notified()
    decide(case, "2024-12-26", earlier=[earlier(str(uuid4()), "2023-11-30")])
    assert not case.aggravated


def test_the_window_is_the_policys_number_of_months() -> None:
    case = opened(aggravation_months=1)
    case.notify(on=D("2024-12-18"), calendar=CAL, actor="x", recorded_at=at("2024-12-18"))
    decide(case, "2024-12-26", earlier=[earlier(str(uuid4()), "2024-11-25")])
    assert not case.aggravated
    again = opened(finding_id=uuid4(), aggravation_months=2)
    again.notify(on=D("2024-12-18"), calendar=CAL, actor="x", recorded_at=at("2024-12-18"))
    decide(again, "2024-12-26", earlier=[earlier(str(uuid4()), "2024-11-25")])
    assert again.aggravated


@pytest.mark.parametrize(("day", "months", "expected"), [
    ("2025-03-31", 1, "2025-02-28"), ("2024-03-31", 1, "2024-02-29"),
    ("2025-01-15", 12, "2024-01-15"), ("2025-01-31", 2, "2024-11-30"),
    ("2024-02-29", 12, "2023-02-28"), ("2025-07-08", 13, "2024-06-08"),
])
def test_months_before(day: str, months: int, expected: str) -> None:
    assert months_before(D(day), months) == D(expected)


# ------------------------------------------------------------------ facts


def test_the_facts_keep_the_history_as_plain_data() -> None:
    records = [
        {"type": "Recorded", "version": 1, "on": D("2024-09-25"), "inspector": "张督学",
         "text": "问题", "severity": "serious", "actor": "a", "recorded_at": at("2024-09-25")},
        {"type": "EscalationRaised", "version": 3, "code": "supervise", "rung": 1,
         "threshold": D("2024-10-15"), "due": D("2024-10-28"), "deadline": D("2024-10-14"),
         "rule": "r", "policy": "default", "policy_version": 1, "facts": {"x": 1},
         "decided_at": at("2024-10-15")},
        {"type": "SomethingNew", "on": D("2024-11-01"), "what": "x", "actor": "a"},
    ]
    assert history_summary(records) == [
        {"event": "Recorded", "on": "2024-09-25", "inspector": "张督学", "text": "问题",
         "severity": "serious"},
        {"event": "EscalationRaised", "on": "2024-10-15", "code": "supervise", "rung": 1,
         "due": "2024-10-28", "deadline": "2024-10-14", "rule": "r", "policy": "default",
         "policy_version": 1},
        {"event": "SomethingNew", "on": "2024-11-01", "what": "x"},
    ]


def test_the_mode_vocabularies_are_the_measures_of_the_2021_rules() -> None:
    assert list(UNIT_MODES.values()) == ["公开批评", "约谈", "督导通报", "资源调整", "提请行政处罚"]
    assert list(PERSON_MODES.values()) == ["责令检查", "约谈", "通报批评", "组织处理", "处分",
                                           "移交纪检监察机关或司法机关"]
