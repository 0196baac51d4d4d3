"""Persons and the roster, and interviews naming them, on the aggregates alone (no store):
every value checked, every refusal named, nothing recorded by a refusal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.calendar import WorkCalendar
from domain.errors import DudaoError, InvalidInput, Refused
from domain.findings import MAX_COMMITMENTS, Finding
from domain.ids import roster_id
from domain.persons import MAX_NAME, MAX_POST, Person, Roster, member_data
from domain.time import SHANGHAI

NOW = datetime(2024, 12, 31, 18, tzinfo=SHANGHAI)
D = date.fromisoformat


def person(name: str = "张三", *, unit: str = "U1", principal: bool = True,
           start: str = "2024-01-01", end: str | None = None, post: str | None = "县长",
           now: datetime = NOW) -> Person:
    return Person.add(id=uuid4(), unit=unit, name=name, post=post, principal=principal,
                      from_date=D(start), to_date=D(end) if end else None, actor="t",
                      recorded_at=now)


def roster(unit: str = "U1") -> Roster:
    return Roster(id=roster_id(unit), unit=unit, actor="t", recorded_at=NOW)


def admitted(*people: Person, unit: str = "U1") -> Roster:
    r = roster(unit)
    for p in people:
        r.admit(p, actor="t", recorded_at=NOW)
    return r


def refused(call: Any, kind: type[DudaoError], field: str, *words: str) -> DudaoError:
    with pytest.raises(kind) as e:
        call()
    assert e.value.field == field, e.value
    for w in words:
        assert w in e.value.zh, e.value.zh
    return e.value


# ------------------------------------------------------------------ Person


def test_a_person_is_recorded_with_every_value_checked() -> None:
    p = person("  李四 ", post="  校长 ", principal=True, start="2024-03-01")
    assert (p.name, p.post, p.principal, p.from_date, p.to_date) == (
        "李四", "校长", True, D("2024-03-01"), None)
    assert p.in_post(D("2024-03-01")) and p.in_post(D("2030-01-01"))
    assert not p.in_post(D("2024-02-29"))
    assert p.label == "李四（校长，主要负责人）"
    assert person(post=" ", principal=False).post is None
    assert [type(e).__name__ for e in p.collect_events()] == ["Added"]


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"name": ""}, "name", ("人员姓名不能为空",)),
    ({"name": "  "}, "name", ("人员姓名不能为空",)),
    ({"name": "张\x00三"}, "name", ("控制字符",)),
    ({"name": "张" * (MAX_NAME + 1)}, "name", ("过长",)),
    ({"post": "长" * (MAX_POST + 1)}, "post", ("职务过长",)),
    ({"post": "校\x07长"}, "post", ("控制字符",)),
    ({"start": "1999-12-31"}, "from", ("超出范围",)),
    ({"start": "2025-01-01"}, "from", ("晚于今天",)),
    ({"start": "2024-05-01", "end": "2024-04-30"}, "to", ("早于任职日期",)),
    ({"end": "2025-01-01"}, "to", ("晚于今天",)),
])
def test_a_person_with_a_bad_value_is_refused(kwargs: dict[str, Any], field: str,
                                               words: tuple[str, ...]) -> None:
    refused(lambda: person(**kwargs), InvalidInput, field, *words)


def test_principal_must_be_yes_or_no() -> None:
    with pytest.raises(InvalidInput) as e:
        Person.add(id=uuid4(), unit="U1", name="张三", principal="yes",  # type: ignore[arg-type]
                   from_date=D("2024-01-01"), actor="t", recorded_at=NOW)
    assert e.value.field == "principal"


def test_ending_sets_the_last_day_in_post() -> None:
    p = person()
    p.collect_events()
    p.end(on=D("2024-10-31"), actor="t", recorded_at=NOW)
    assert p.to_date == D("2024-10-31")
    assert p.in_post(D("2024-10-31")) and not p.in_post(D("2024-11-01"))
    assert [type(e).__name__ for e in p.collect_events()] == ["Ended"]


@pytest.mark.parametrize(("on", "kind", "field", "words"), [
    ("2023-12-31", InvalidInput, "on", ("早于任职日期",)),
    ("2025-01-01", InvalidInput, "on", ("晚于今天",)),
    ("2100-01-01", InvalidInput, "on", ("超出范围",)),
])
def test_a_bad_end_is_refused_and_records_nothing(on: str, kind: type[DudaoError], field: str,
                                                  words: tuple[str, ...]) -> None:
    p = person()
    p.collect_events()
    refused(lambda: p.end(on=D(on), actor="t", recorded_at=NOW), kind, field, *words)
    assert p.collect_events() == [] and p.to_date is None


def test_a_person_cannot_leave_twice() -> None:
    p = person(end="2024-06-30")
    p.collect_events()
    refused(lambda: p.end(on=D("2024-07-31"), actor="t", recorded_at=NOW), Refused, "person",
            "已于2024-06-30离任")
    assert p.collect_events() == [] and p.to_date == D("2024-06-30")


# ------------------------------------------------------------------ Roster


def test_the_principal_at_a_date_follows_the_handover() -> None:
    zhang = person("张三", start="2024-01-01")
    r = admitted(zhang, person("赵六", principal=False, start="2024-02-01"))
    zhang.end(on=D("2024-10-25"), actor="t", recorded_at=NOW)
    r.release(zhang, actor="t", recorded_at=NOW)
    li = person("李四", start="2024-10-26")
    r.admit(li, actor="t", recorded_at=NOW)
    principal = r.principal_at
    assert principal(D("2023-12-31")) is None
    assert principal(D("2024-01-01")).name == "张三"  # type: ignore[union-attr]
    assert principal(D("2024-10-25")).name == "张三"  # type: ignore[union-attr]
    assert principal(D("2024-10-26")).name == "李四"  # type: ignore[union-attr]
    assert principal(D("2030-01-01")).name == "李四"  # type: ignore[union-attr]
    assert member_data(r.members[str(zhang.id)])["to"] == D("2024-10-25")
    assert [type(e).__name__ for e in r.collect_events()] == [
        "Opened", "Admitted", "Admitted", "Released", "Admitted"]


def test_a_second_principal_while_the_first_is_in_post_is_refused() -> None:
    zhang = person("张三", start="2024-01-01")
    r = admitted(zhang)
    r.collect_events()
    # whatever the first day: the first one's period runs on until they are ended
    for start in ("2024-10-26", "2024-01-01", "2024-06-01"):
        li = person("李四", start=start)
        refused(lambda li=li: r.admit(li, actor="t", recorded_at=NOW), Refused, "principal",
                "已有主要负责人张三", "dudao person end")
    assert r.collect_events() == [] and len(r.members) == 1


def test_a_principal_overlapping_an_ended_one_is_refused() -> None:
    zhang = person("张三", start="2024-01-01")
    r = admitted(zhang)
    zhang.end(on=D("2024-10-25"), actor="t", recorded_at=NOW)
    r.release(zhang, actor="t", recorded_at=NOW)
    r.collect_events()
    for start, end in (("2024-10-25", None), ("2023-06-01", "2024-01-01"),
                       ("2024-05-01", "2024-05-31")):
        li = person("李四", start=start, end=end)
        refused(lambda li=li: r.admit(li, actor="t", recorded_at=NOW), Refused, "from",
                "与张三（2024-01-01至2024-10-25）重叠")
    assert r.collect_events() == []
    # the day after the last day in post, or a past principal wholly before, is fine
    r.admit(person("李四", start="2024-10-26"), actor="t", recorded_at=NOW)
    r.admit(person("王五", start="2020-01-01", end="2023-12-31"), actor="t", recorded_at=NOW)
    assert r.principal_at(D("2022-01-01")).name == "王五"  # type: ignore[union-attr]


def test_other_staff_may_overlap_anyone() -> None:
    r = admitted(person("张三"), person("赵六", principal=False), person("钱七", principal=False))
    assert len(r.members) == 3 and r.principal_at(D("2024-06-01")).name == "张三"  # type: ignore[union-attr]


def test_the_roster_refuses_another_units_person_and_the_same_person_twice() -> None:
    r = roster("U1")
    other = person(unit="U2")
    refused(lambda: r.admit(other, actor="t", recorded_at=NOW), Refused, "unit", "U2")
    p = person(principal=False)
    r.admit(p, actor="t", recorded_at=NOW)
    refused(lambda: r.admit(p, actor="t", recorded_at=NOW), Refused, "person", "已在名册中")


def test_the_roster_releases_only_its_members_who_left() -> None:
    r = roster()
    stranger = person(end="2024-02-01")
    refused(lambda: r.release(stranger, actor="t", recorded_at=NOW), Refused, "person")
    member = person()
    r.admit(member, actor="t", recorded_at=NOW)
    refused(lambda: r.release(member, actor="t", recorded_at=NOW), Refused, "person")


def test_a_repeated_add_is_found_as_the_same_member() -> None:
    first = person("张三", start="2024-01-01")
    r = admitted(first)
    again = person("张三", start="2024-01-01")
    assert r.same_as(again).person_id == str(first.id)  # type: ignore[union-attr]
    assert r.same_as(person("张三", start="2024-01-02")) is None
    assert r.same_as(person("张三", post="副县长", start="2024-01-01")) is None


# ------------------------------------------------------- interviews naming a person

CAL = WorkCalendar()


def interview_due(unit: str = "U1") -> Finding:
    f = Finding.record(id=uuid4(), unit=unit, on=D("2024-09-25"), inspector="张督学",
                       text="问题", actor="t", recorded_at=NOW)
    f.order_rectification(on=D("2024-09-25"), within=10, calendar_days=False, calendar=CAL,
                          actor="t", recorded_at=NOW)
    for code, threshold, due in (("supervise", "2024-10-15", "2024-10-28"),
                                 ("interview", "2024-10-29", "2024-11-04")):
        f.raise_escalation(code=code, rule=f"r-{code}", policy="default", policy_version=1,
                           threshold=D(threshold), due=D(due), facts={}, decided_at=NOW,
                           actor="rules", recorded_at=NOW)
    f.collect_events()
    return f


def hold(f: Finding, **kwargs: Any) -> None:
    args: dict[str, Any] = {"on": D("2024-11-01"), "interviewee": None, "minutes": "纪要",
                            "actor": "t", "recorded_at": NOW}
    args.update(kwargs)
    f.hold_interview(**args)


def test_an_interview_names_the_person_and_records_commitments() -> None:
    f = interview_due()
    li = person("李四", start="2024-10-26")
    hold(f, person=li, commitments=[(D("2024-11-30"), " 完成培训补课 "),
                                    (D("2024-11-01"), "当天报送整改方案")])
    assert (f.interview_held_on, f.interviewee, f.interview_person_id) == (
        D("2024-11-01"), "李四", str(li.id))
    assert f.commitments == [{"on": D("2024-11-30"), "text": "完成培训补课"},
                             {"on": D("2024-11-01"), "text": "当天报送整改方案"}]
    events = f.collect_events()
    assert [type(e).__name__ for e in events] == ["InterviewHeld"]
    assert events[0].person_id == str(li.id)  # type: ignore[attr-defined]


def test_an_interview_without_a_person_is_as_before() -> None:
    f = interview_due()
    hold(f, interviewee="主要负责人")
    assert (f.interviewee, f.interview_person_id, f.commitments) == ("主要负责人", None, [])


@pytest.mark.parametrize(("case", "kind", "field", "words"), [
    ("other unit", Refused, "person", ("属于单位 U2",)),
    ("not yet in post", Refused, "person", ("不在任",)),
    ("left", Refused, "person", ("不在任", "至2024-10-25")),
    ("another name", InvalidInput, "interviewee", ("不一致",)),
    ("nobody", InvalidInput, "interviewee", ("被约谈人不能为空",)),
    ("commitment before", InvalidInput, "commitment", ("早于约谈日期",)),
    ("commitment out of range", InvalidInput, "commitment", ("超出范围",)),
    ("commitment empty", InvalidInput, "commitment", ("第1条整改承诺内容不能为空",)),
    ("commitment too long", InvalidInput, "commitment", ("过长",)),
    ("too many", InvalidInput, "commitment", ("整改承诺过多",)),
    ("not a pair", InvalidInput, "commitment", ("应为（日期，内容）",)),
])
def test_a_bad_interview_is_refused_and_records_nothing(
        case: str, kind: type[DudaoError], field: str, words: tuple[str, ...]) -> None:
    f = interview_due()
    li = person("李四", start="2024-10-26")
    args: dict[str, Any] = {
        "other unit": {"person": person("李四", unit="U2", start="2024-10-26")},
        "not yet in post": {"person": person("李四", start="2024-11-02"),
                            "on": D("2024-11-01")},
        "left": {"person": person("张三", start="2024-01-01", end="2024-10-25")},
        "another name": {"person": li, "interviewee": "王五"},
        "nobody": {},
        "commitment before": {"person": li, "commitments": [(D("2024-10-31"), "补课")]},
        "commitment out of range": {"person": li, "commitments": [(D("2100-01-01"), "补课")]},
        "commitment empty": {"person": li, "commitments": [(D("2024-11-30"), "  ")]},
        "commitment too long": {"person": li, "commitments": [(D("2024-11-30"), "字" * 501)]},
        "too many": {"person": li,
                     "commitments": [(D("2024-11-30"), "补课")] * (MAX_COMMITMENTS + 1)},
        "not a pair": {"person": li, "commitments": [("2024-11-30:补课",)]},
    }[case]
    refused(lambda: hold(f, **args), kind, field, *words)
    assert f.collect_events() == [] and f.interview_held_on is None and f.commitments == []
