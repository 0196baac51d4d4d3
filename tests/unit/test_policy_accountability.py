"""The policy's say over accountability: ``decided_by`` on a rung and the
``[accountability]`` table (rules/policy.py), from policy text (no file read)."""

from __future__ import annotations

import pytest

from rules.policy import PolicyError, parse_policy

POLICY = """
policy = "p"
version = 1
title = "测试"

[rungs.supervise]
name = "督办"
mode = "supervise"
from = "deadline"
after = 0
due = 10
sets_deadline = true
notice = "督办"

[rungs.accountability]
name = "问责"
mode = "accountability"
from = "supervise"
after = 20
{decided_by}
notice = "提请问责"
{table}
"""


def policy(decided_by: str = "", table: str = "") -> str:
    return POLICY.format(decided_by=decided_by, table=table)


def test_a_rung_is_decided_by_the_rules_unless_the_file_says_the_committee() -> None:
    p = parse_policy(policy('decided_by = "committee"'), "p.toml")
    assert p.rungs["supervise"].decided_by == "rules"
    assert p.rungs["accountability"].decided_by == "committee"
    assert parse_policy(policy(), "p.toml").rungs["accountability"].decided_by == "rules"


def test_the_accountability_table_has_its_defaults_and_may_change_them() -> None:
    p = parse_policy(policy(), "p.toml")
    assert (p.accountability.statement_days, p.accountability.aggravation_months) == (5, 12)
    p = parse_policy(policy(table="[accountability]\nstatement_days = 7\naggravation_months = 24"),
                     "p.toml")
    assert (p.accountability.statement_days, p.accountability.aggravation_months) == (7, 24)


@pytest.mark.parametrize(("decided_by", "table", "key"), [
    ('decided_by = "people"', "", "rungs.accountability.decided_by"),
    ("", "[accountability]\nstatement_days = 0", "accountability.statement_days"),
    ("", "[accountability]\naggravation_months = -1", "accountability.aggravation_months"),
    ("", "[accountability]\nstatement_days = 61", "accountability.statement_days"),
    ("", "[accountability]\nwindow = 3", "accountability.window"),
])
def test_a_wrong_value_is_refused_naming_the_file_and_key(decided_by: str, table: str,
                                                          key: str) -> None:
    with pytest.raises(PolicyError) as e:
        parse_policy(policy(decided_by, table), "p.toml")
    assert f"策略文件 p.toml 的 {key}：" in e.value.zh, e.value.zh
    assert e.value.field == "--policy"
