"""The policy file: validated at load, errors naming the file, the key and the reason."""

from __future__ import annotations

import re

import pytest

from domain.errors import InvalidInput
from rules.policy import POLICY_DIR, load_policy, parse_policy

DEFAULT = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")


def test_the_default_policys_header_says_what_each_version_changed() -> None:
    """Escalations record the policy's version: an auditor tells the rules apart by the
    header's history, one line (or more) per version up to the current one."""
    p = load_policy("default")
    header = DEFAULT.split("\npolicy = ", 1)[0]
    assert header.splitlines()[0].endswith(f"第{p.version}版）")
    history = re.findall(r"^#\s+第(\d+)版\s+\S", header, re.M)
    assert history == [str(v) for v in range(1, p.version + 1)]


def test_default_policy_is_the_design_table() -> None:
    p = load_policy("default")
    assert (p.policy, p.version) == ("default", 2)
    assert p.order == ["reminder", "supervise", "interview", "public_notice", "accountability"]
    r = p.rungs
    assert [rung.mode for rung in r.values()] == p.order  # each stands for its own mode

    def v(code: str, key: str) -> int | None:
        values = {r[code].value(key, s) for s in ("general", "serious", "major")}
        assert len(values) == 1, (code, key)  # the default policy does not vary by severity
        return values.pop()

    assert (r["reminder"].from_, v("reminder", "before"), r["reminder"].days) == ("deadline", 3, "working")
    assert r["reminder"].per_deadline and not any(x.per_deadline for x in list(r.values())[1:])
    assert (v("supervise", "after"), v("supervise", "due"), r["supervise"].sets_deadline) == (0, 10, True)
    assert [c for c, x in r.items() if x.sets_deadline] == ["supervise"]
    assert (r["interview"].from_, v("interview", "due"), v("interview", "failed_reviews")) == ("supervise", 5, 2)
    assert (r["public_notice"].from_, v("public_notice", "after"), r["public_notice"].skip_for) == (
        "interview", 10, ("major",))
    assert (r["accountability"].from_, v("accountability", "after")) == ("public_notice", 20)
    assert all(rung.notice for rung in r.values()) and not any(x.on for x in r.values())


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (lambda t: t.replace("[rungs.reminder]", "[rungs.Warning]"), "rungs.Warning", "小写字母和下划线"),
        (lambda t: t.replace('mode = "reminder"', 'mode = "warning"'), "rungs.reminder.mode", "未知的方式"),
        (lambda t: t.replace('mode = "reminder"\n', ""), "rungs.reminder.mode", "缺少必填项"),
        (lambda t: t.replace("after = 10", "after = -1"), "rungs.public_notice.after", "负数"),
        (lambda t: re.sub(r'notice = "通报批评[^\n]*\n', "", t), "rungs.public_notice.notice",
         "缺少必填项"),
        (lambda t: t.replace('from = "supervise"', 'from = "accountability"'),
         "rungs.interview.from", "循环"),
        (lambda t: t.replace('from = "supervise"', 'from = "somewhere"'), "rungs.interview.from",
         "不存在"),
        (lambda t: t.replace("version = 2", "version = 2\nthresholds = 3"), "thresholds", "未知的键"),
        (lambda t: t.replace('days = "working"\ndue = 10', 'days = "weekdays"\ndue = 10'),
         "rungs.supervise.days", "取值无效"),
        (lambda t: t.replace("before = 3", "before = 3\nafter = 1"), "rungs.reminder", "只能写一个"),
        (lambda t: t.replace("{due}前接受约谈", "{when}前接受约谈"), "rungs.interview", "占位符"),
        (lambda t: t.replace("version = 2", 'version = "一"'), "version", "整数"),
    ],
)
def test_bad_policy_names_file_key_and_reason(change, key, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as caught:
        parse_policy(change(DEFAULT), "rules/policies/broken.toml")
    message = caught.value.zh
    assert "rules/policies/broken.toml" in message
    assert f"的 {key}：" in message, message
    assert reason in message, message


def test_not_toml_is_refused() -> None:
    with pytest.raises(InvalidInput, match="不是有效的 TOML"):
        parse_policy("policy = ", "x.toml")


def test_unknown_policy_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"没有名为 lenient 的升级策略.*default"):
        load_policy("lenient")


def test_the_lagging_rule_states_its_jurisdiction_and_grace() -> None:
    rule = load_policy("default").lagging.rule()
    assert rule.accountable == ("government", "department", "school") and rule.grace == 10
    for accountable, reason in (('["government", "supervision_office"]', "督导室不能"),
                                ('["ministry"]', "无效")):
        text = DEFAULT.replace('accountable = ["government", "department", "school"]',
                               f"accountable = {accountable}")
        with pytest.raises(InvalidInput) as caught:
            parse_policy(text, "rules/policies/broken.toml")
        assert "lagging" in caught.value.zh and reason in caught.value.zh, caught.value.zh
    with pytest.raises(InvalidInput) as caught:
        parse_policy(DEFAULT.replace("grace = 10", "grace = -1"), "rules/policies/broken.toml")
    assert "lagging.grace" in caught.value.zh
