"""The domain rules of issue 15 part 2: unit kinds, groups, jurisdiction, fair lagging,
corrections of a recorded plan (no I/O: aggregates in memory, the clock passed in)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from domain.calendar import WorkCalendar
from domain.errors import InvalidInput, Refused
from domain.plans import (
    ACCOUNTABLE_KINDS,
    ActionPlan,
    LagPolicy,
    Task,
    TaskView,
    check_accountable,
)
from domain.time import SHANGHAI
from domain.units import KINDS, Unit, check_kind, check_members, guess_kind

AT = datetime(2024, 1, 2, 9, tzinfo=SHANGHAI)
cal = WorkCalendar()


@pytest.mark.parametrize("name,kind", [
    ("汉中市人民政府", "government"), ("汉台区人民政府", "government"),
    ("各县区党委、政府", "government"),  # a group answering through its governments
    ("市教育局", "department"), ("市发展改革委", "department"), ("市政府办", "department"),
    ("市委编办", "party_organ"), ("市委组织部", "party_organ"), ("市纪委监委机关", "party_organ"),
    ("区委宣传部", "party_organ"), ("市妇女联合会委员会", "party_organ"),
    ("市第一中学", "school"), ("城关小学", "school"), ("汉中市职业技术学院", "school"),
    ("市政府教育督导室", "supervision_office"), ("市残联", "other"),
])
def test_the_kind_is_guessed_from_the_name(name: str, kind: str) -> None:
    assert guess_kind(name) == kind


def test_a_kind_is_given_by_its_code_or_its_chinese_name() -> None:
    assert check_kind("党委机关") == check_kind("party_organ") == "party_organ"
    assert set(KINDS) == {"government", "department", "school", "party_organ",
                          "supervision_office", "other"}
    with pytest.raises(InvalidInput) as e:
        check_kind("政党")
    assert e.value.field == "kind" and "政府（government）" in str(e.value)


def unit(code: str = "U", name: str = "市委编办", category: str | None = None) -> Unit:
    return Unit(id=__import__("uuid").uuid4(), code=code, name=name, parent=None,
                principal=None, kind="unit", actor="t", recorded_at=AT, category=category)


def test_a_unit_without_a_recorded_kind_gets_the_guess_and_a_change_is_an_event() -> None:
    u = unit()
    assert u.category == "party_organ"
    assert u.change_kind("部门", actor="张督学", recorded_at=AT) is True
    assert u.change_kind("department", actor="张督学", recorded_at=AT) is False  # no change
    assert u.category == "department"
    assert [(h["previous"], h["kind"]) for h in u.kind_history] == [("party_organ",
                                                                     "department")]
    assert [type(e).__name__ for e in u.collect_events()] == ["Registered", "KindChanged"]
    with pytest.raises(InvalidInput):
        u.change_kind("x", actor="t", recorded_at=AT)


def test_group_members_are_checked_in_the_domain() -> None:
    g = unit("G", "各镇人民政府")
    assert g.set_members(["A", "B"], actor="t", recorded_at=AT) is True
    assert g.set_members(["A", "B"], actor="t", recorded_at=AT) is False
    assert g.members == ["A", "B"]
    for bad, field in ((["G"], "members"), (["A", "A"], "members"), ([], "members"),
                       (["a b"], "members")):
        with pytest.raises(InvalidInput) as e:
            check_members("G", bad)
        assert e.value.field == field


def test_the_supervision_office_is_never_held_to_account_by_its_own_rule() -> None:
    assert ACCOUNTABLE_KINDS == ("government", "department", "school")
    with pytest.raises(InvalidInput):
        check_accountable(["government", "supervision_office"])
    with pytest.raises(InvalidInput):
        LagPolicy(accountable=("nobody",))
    policy = LagPolicy()
    assert policy.holds_to_account("school") and not policy.holds_to_account("party_organ")
    assert not policy.holds_to_account("supervision_office")


def view(**kw: Any) -> TaskView:
    base: dict[str, Any] = dict(
        code="P-1", plan="P", number="1", title="消除大班额", category=None,
        lead=["A"], responsible=["B", "G"],
        indicators=[{"n": 1, "name": "班额", "comparator": "<=", "value": "45", "unit": "人",
                     "deadline": None}],
        deadline=date(2024, 6, 30), deadline_source="task", reports=[], closed_on=None,
        closed_by=None, imported_on=date(2024, 1, 2))
    base.update(kw)
    return TaskView(**base)


def report(unit: str | None, value: str, on: date) -> dict[str, Any]:
    return {"indicator": 1, "value": value, "on": on, "unit": unit}


def test_an_indicator_met_for_the_task_lags_for_no_one() -> None:
    t = view(reports=[report("A", "44", date(2024, 6, 28))])
    assert [t.lags(date(2024, 7, 1), u) for u in ("A", "B", "G")] == [None, None, None]
    # the latest value by anyone is unmet: only those whose own part is unmet lag
    t = view(reports=[report("A", "44", date(2024, 6, 20)), report("B", "50", date(2024, 6, 28))])
    assert t.lags(date(2024, 7, 1), "A") is None
    assert t.lags(date(2024, 7, 1), "B") is not None and t.lags(date(2024, 7, 1), "G")
    # a value reported after the deadline does not count
    t = view(reports=[report(None, "40", date(2024, 7, 1))])
    assert t.lags(date(2024, 7, 2), "A") is not None


def test_a_members_value_is_its_own_part_only() -> None:
    t = view(reports=[report("M1", "44", date(2024, 6, 28))])
    assert t.lags(date(2024, 7, 1), "M1", via="G") is None
    assert t.lags(date(2024, 7, 1), "M2", via="G") is not None
    assert t.lags(date(2024, 7, 1), "B") is not None  # M1 is no unit the task names
    # the group's own value counts for its members
    t = view(reports=[report("G", "45", date(2024, 6, 28))])
    assert t.lags(date(2024, 7, 1), "M2", via="G") is None


def test_nothing_lags_before_the_import_plus_the_grace() -> None:
    policy = LagPolicy(grace=10)
    # imported 2024-08-01 (Thu): 10 working days end 2024-08-15, lagging from 08-16
    assert policy.earliest(cal, date(2024, 8, 1)) == date(2024, 8, 16)
    t = view(imported_on=date(2024, 8, 1))
    threshold_of = policy.threshold_of(cal, t.imported_on)
    assert t.lags(date(2024, 8, 15), "A", threshold_of) is None
    lag = t.lags(date(2024, 8, 16), "A", threshold_of)
    assert lag is not None and (lag.threshold, lag.deadline) == (date(2024, 8, 16),
                                                                 date(2024, 6, 30))
    # a plan imported well before its deadline: the day after the deadline, as before
    t = view(imported_on=date(2024, 1, 2))
    lag = t.lags(date(2024, 7, 1), "A", policy.threshold_of(cal, t.imported_on))
    assert lag is not None and lag.threshold == date(2024, 7, 1)
    assert LagPolicy(grace=0).earliest(cal, date(2024, 8, 1)) == date(2024, 8, 1)


def task() -> Task:
    return Task(id=__import__("uuid").uuid4(), code="P-1", plan="P", ordinal=1, number="1",
                title="消除大班额", text="…", category=None, lead=["A"], responsible=["B"],
                indicators=[], deadline=date(2024, 6, 30), deadline_source="task", line=3,
                actor="t", recorded_at=AT)


def test_a_task_is_corrected_by_an_event_and_checked_in_the_domain() -> None:
    t = task()
    assert t.imported_on == date(2024, 1, 2)
    changes = t.edit(title="消除56人以上大班额", deadline=date(2024, 8, 31), lead=["A"],
                     responsible=["B", "C"], actor="张督学", recorded_at=AT)
    assert changes == {"title": "消除56人以上大班额", "deadline": date(2024, 8, 31),
                       "responsible": ["B", "C"], "deadline_source": "edited"}
    assert (t.title, t.deadline, t.responsible) == ("消除56人以上大班额", date(2024, 8, 31),
                                                    ["B", "C"])
    edited = [e for e in t.collect_events() if type(e).__name__ == "Edited"]
    assert len(edited) == 1 and edited[0].previous["title"] == "消除大班额"
    assert t.edit(title="消除56人以上大班额", actor="t", recorded_at=AT) == {}
    for kw, field in (({"title": " "}, "title"), ({"lead": ["a b"]}, "lead"),
                      ({"lead": [], "responsible": []}, "units"),
                      ({"deadline": "2024-08-31"}, "deadline")):
        with pytest.raises(InvalidInput) as e:
            t.edit(actor="t", recorded_at=AT, **kw)
        assert e.value.field == field
    t.close(on=date(2024, 1, 2), inspector="张督学", note=None, actor="t", recorded_at=AT)
    with pytest.raises(Refused):
        t.edit(title="别的", actor="t", recorded_at=AT)


def test_a_plan_is_corrected_by_an_event() -> None:
    p = ActionPlan(id=__import__("uuid").uuid4(), code="P", title="旧标题", source="p.txt",
                   digest="d", period=None, end=None, goals=[], stages=[], tasks=[],
                   units=[], indicators=0, warnings=[], actor="t", recorded_at=AT)
    assert p.edit(title="新标题", end=date(2025, 12, 31), actor="t", recorded_at=AT) == {
        "title": "新标题", "end": date(2025, 12, 31)}
    assert p.edit(title="新标题", actor="t", recorded_at=AT) == {}
    with pytest.raises(InvalidInput):
        p.edit(title="", actor="t", recorded_at=AT)
