"""Rungs are data (issue 13): the policy file's rung schema, each refusal naming the file,
the key and the reason; values by severity; the ladder's order is the file's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.rungs import MODES
from rules.policy import POLICY_DIR, parse_policy

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")


def block(text: str, code: str) -> str:
    """The [rungs.<code>] block of a policy text (up to the next table or comment)."""
    start = text.index(f"[rungs.{code}]\n")
    ends = [i for i in (text.find("\n\n[", start), text.find("\n\n#", start)) if i >= 0]
    return text[start:min(ends) if ends else len(text)]


def in_rung(code: str, old: str, new: str) -> Callable[[str], str]:
    """Change ``old`` to ``new`` within one rung's block."""

    def change(text: str) -> str:
        part = block(text, code)
        assert old in part, (code, old)
        return text.replace(part, part.replace(old, new, 1))

    return change


def add_to(code: str, line: str) -> Callable[[str], str]:
    return in_rung(code, "\nnotice = ", f"\n{line}\nnotice = ")


REFUSALS = [
    # the code: lower-case letters and underscores, at most 20
    (lambda t: t.replace("[rungs.reminder]", "[rungs.Reminder]"), "rungs.Reminder",
     "只能是小写字母和下划线"),
    (lambda t: t.replace("[rungs.reminder]", "[rungs.reminder2]"), "rungs.reminder2",
     "只能是小写字母和下划线"),
    (lambda t: t.replace("[rungs.reminder]", "[rungs.a_very_long_reminder_code]"),
     "rungs.a_very_long_reminder_code", "至多20个字符"),
    # the mode: from the domain's fixed vocabulary
    (in_rung("supervise", 'mode = "supervise"', 'mode = "urge"'), "rungs.supervise.mode",
     "未知的方式"),
    (in_rung("supervise", 'mode = "supervise"\n', ""), "rungs.supervise.mode", "缺少必填项"),
    # triggers
    (add_to("public_notice", 'on = "fire"'), "rungs.public_notice.on", "未知的触发条件"),
    (add_to("public_notice", 'on = ["falsified", "storm"]'), "rungs.public_notice.on",
     "未知的触发条件"),
    (add_to("public_notice", "on = 3"), "rungs.public_notice.on", "on 应为文字"),
    (add_to("public_notice", 'on = "manual"'), "rungs.public_notice", 'on = "manual"'),
    (in_rung("accountability", 'from = "public_notice"\nafter = 20\n', ""),
     "rungs.accountability", "缺少触发条件"),
    (in_rung("accountability", 'from = "public_notice"\n', ""), "rungs.accountability",
     "没有写 from"),
    (lambda t: in_rung("interview", 'from = "supervise"', 'from = "late"')(t)
     + '\n[rungs.late]\nname = "后来"\nmode = "supervise"\nfrom = "deadline"\nafter = 1\n'
       'notice = "x"\n', "rungs.interview.from", "排在它前面"),
    (in_rung("interview", 'from = "supervise"', 'from = "interview"'), "rungs.interview.from",
     "循环"),
    (lambda t: add_to("supervise", 'on = "interview_missed"')(t), "rungs.supervise.on",
     "interview_missed"),
    (in_rung("supervise", "due = 10\n", ""), "rungs.supervise", "sets_deadline = true 需要写 due"),
    (add_to("supervise", 'repeat = "per_deadline"') , "rungs.supervise", ""),
    (add_to("interview", 'repeat = "per_deadline"'), "rungs.interview", "per_deadline"),
    (add_to("interview", 'repeat = "always"'), "rungs.interview.repeat", "取值无效"),
    # values by severity
    (in_rung("accountability", "after = 20", "after = {serious = 20, major = 10}"),
     "rungs.accountability.after", "缺少 general 的取值，也没有 default 或 general"),
    (in_rung("accountability", "after = 20", "after = {general = 20, urgent = 10}"),
     "rungs.accountability.after", "未知的键 'urgent'"),
    (in_rung("accountability", "after = 20", "after = {general = -1}"),
     "rungs.accountability.after", "不能为负数"),
    (in_rung("accountability", "after = 20", 'after = {general = "二十"}'),
     "rungs.accountability.after", "应为整数"),
    (in_rung("interview", "due = 5", "due = {general = 0}"), "rungs.interview.due",
     "不能小于 1"),
    (in_rung("interview", "failed_reviews = 2", "failed_reviews = {major = 1}"),
     "rungs.interview.failed_reviews", "缺少 general"),
    # notice placeholders: {unit_code} and {principal} are known, others are not
    (in_rung("interview", "{due}前接受约谈", "{principal_name}前接受约谈"), "rungs.interview",
     "占位符"),
]


@pytest.mark.parametrize(("change", "key", "reason"), REFUSALS)
def test_a_bad_rung_names_the_file_the_key_and_the_reason(
        change: Callable[[str], str], key: str, reason: str) -> None:
    text = change(DEFAULT)
    if key == "rungs.supervise" and not reason:
        parse_policy(text, "broken.toml")  # repeat per deadline needs from = deadline: it has
        return
    with pytest.raises(InvalidInput) as caught:
        parse_policy(text, "rules/policies/broken.toml")
    message = caught.value.zh
    assert "rules/policies/broken.toml" in message
    assert f"的 {key}：" in message, message
    assert reason in message, message


def test_a_manual_rung_has_no_other_trigger_and_fires_only_by_hand() -> None:
    text = DEFAULT.replace("[rungs.accountability]", '''[rungs.resource_adjustment]
name = "资源调整"
mode = "resource_adjustment"
on = "manual"
notice = "资源调整：{unit}（{unit_code}）{principal}"

[rungs.accountability]''')
    p = parse_policy(text, "manual.toml")
    assert p.rungs["resource_adjustment"].manual and p.order.index("resource_adjustment") == 4
    assert p.index("accountability") == 5
    with pytest.raises(InvalidInput, match="不能再写 from"):
        parse_policy(text.replace('on = "manual"', 'on = "manual"\nfrom = "deadline"\nafter = 1'),
                     "x.toml")


def test_values_by_severity_take_default_then_general() -> None:
    text = (in_rung("accountability", "after = 20", "after = {general = 20, major = 10}")(DEFAULT))
    text = in_rung("public_notice", "after = 10", "after = {default = 7, major = 3}")(text)
    text = in_rung("interview", "due = 5", "due = {major = 2, default = 4}")(text)
    p = parse_policy(text, "sev.toml")
    acc, notice, interview = (p.rungs[c] for c in ("accountability", "public_notice", "interview"))
    assert [acc.value("after", s) for s in ("general", "serious", "major")] == [20, 20, 10]
    assert [notice.value("after", s) for s in ("general", "serious", "major")] == [7, 7, 3]
    assert [interview.value("due", s) for s in ("general", "serious", "major")] == [4, 4, 2]
    assert p.rungs["supervise"].value("due", "major") == 10  # a plain number: every severity


def test_the_ladder_is_the_file_order_with_the_domain_properties() -> None:
    listed = parse_policy((ROOT / "features/策略示例/listed.toml").read_text(encoding="utf-8"),
                          "listed.toml")
    assert listed.order == ["reminder", "supervise", "interview", "public_notice",
                            "listed_supervision", "accountability"]
    ladder = listed.ladder()
    assert [(r.code, r.order, r.name, r.mode) for r in ladder][3:] == [
        ("public_notice", 3, "通报", "public_notice"),
        ("listed_supervision", 4, "挂牌督导", "listed_supervision"),
        ("accountability", 5, "问责", "accountability")]
    assert [r.code for r in ladder if r.sets_deadline] == ["supervise"]
    assert [r.code for r in ladder if r.per_deadline] == ["reminder"]
    assert all(r.mode in MODES for r in ladder)
    assert listed.rung("listed_supervision") is ladder[4]
