"""Escalation notices' content, no NATS: the message, its subject and id, its Chinese text."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from uuid import UUID

from adapters.infrastructure.notice_messages import (
    DEFAULT_TEXTS,
    FindingInfo,
    NoticeRenderer,
    UnitInfo,
    build_notice,
    cn_date,
)

CODES = ["reminder", "supervise", "interview", "public_notice", "accountability"]


class FakeEvent:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def supervise_event() -> FakeEvent:
    from datetime import datetime

    from domain.time import SHANGHAI

    return FakeEvent(
        originator_id=UUID("00000000-0000-4000-8000-000000000001"), originator_version=3,
        code="supervise", rung=1, rule="deadline-passed", policy="default", policy_version=1,
        threshold=date(2024, 10, 15), due=date(2024, 10, 28), deadline=date(2024, 10, 14),
        decided_at=datetime(2024, 10, 15, 9, 30, tzinfo=SHANGHAI),
    )


def test_a_notice_carries_the_escalation_and_a_chinese_text() -> None:
    notice = build_notice(supervise_event(), 42, FindingInfo("CGX", "教师培训学时未达标", "general"),
                          UnitInfo("城固县人民政府", "杨帆"), NoticeRenderer(None))
    assert notice.subject == "dudao.notice.supervise.CGX"
    assert notice.msg_id == "00000000-0000-4000-8000-000000000001:3"
    p = json.loads(notice.data())
    assert {k: p[k] for k in ("finding", "unit", "unit_name", "rung", "code", "rule",
                              "policy_version", "deadline", "due", "decided_at", "position")} == {
        "finding": "00000000-0000-4000-8000-000000000001", "unit": "CGX",
        "unit_name": "城固县人民政府", "rung": 1, "code": "supervise", "rule": "deadline-passed",
        "policy_version": 1, "deadline": "2024-10-14", "due": "2024-10-28",
        "decided_at": "2024-10-15T09:30:00+08:00", "position": 42,
    }
    assert p["notice"].startswith("【督办通知】城固县人民政府：")
    assert "教师培训学时未达标" in p["notice"]
    assert "2024年10月14日" in p["notice"] and "2024年10月28日" in p["notice"]


def test_the_policy_text_is_used_and_a_broken_one_falls_back() -> None:
    texts = {"supervise": "请{{ 单位 }}（{{ unit }}）于{{ 新期限 }}前整改：{{ finding_text }}"}
    renderer = NoticeRenderer(lambda policy, version: texts if (policy, version) == ("default", 1)
                              else None)
    finding = FindingInfo("CGX", "台账不全", "general")
    notice = build_notice(supervise_event(), 1, finding, UnitInfo("城固县"), renderer)
    assert notice.payload["notice"] == "请城固县（CGX）于2024年10月28日前整改：台账不全"
    texts["supervise"] = "{{ unit_name "  # a policy file with a broken template
    broken = NoticeRenderer(lambda policy, version: texts)
    notice = build_notice(supervise_event(), 1, finding, UnitInfo("城固县"), broken)
    assert notice.payload["notice"].startswith("【督办通知】城固县：")


def test_the_policy_file_texts_become_jinja_templates() -> None:
    from adapters.infrastructure.notice_messages import policy_notice_texts, policy_template

    assert policy_template("请于{due}前整改“{text}”，{unit}") == (
        "请于{{ due | cn_date }}前整改“{{ finding_text }}”，{{ unit_name }}")
    texts = policy_notice_texts("default", 2)
    assert texts is not None and set(texts) == set(CODES)
    assert policy_notice_texts("default", 999) is None  # another version: the default texts
    assert policy_notice_texts("no_such_policy", 1) is None
    event = supervise_event()
    event.policy_version = 2  # decided by the file's version: its text
    notice = build_notice(event, 1, FindingInfo("CGX", "台账不全", "general"),
                          UnitInfo("城固县"), NoticeRenderer())
    assert notice.payload["notice"] == ("督办通知：你单位“台账不全”未在2024年10月14日前完成整改，"
                                        "现予督办，请于2024年10月28日前整改到位并报告。")
    older = build_notice(supervise_event(), 1, FindingInfo("CGX", "台账不全", "general"),
                         UnitInfo("城固县"), NoticeRenderer())  # version 1: the rung's text
    assert older.payload["notice"].startswith("【督办通知】城固县：")


def test_every_rung_has_a_default_text_that_renders() -> None:
    renderer = NoticeRenderer(None)
    for code in CODES:
        event = supervise_event()
        event.code = code
        event.rung = CODES.index(code)
        text = build_notice(event, 1, FindingInfo("U", "问题", "major"), UnitInfo("某单位", "李某"),
                            renderer).payload["notice"]
        assert "某单位" in text and "问题" in text and "{{" not in text, code
    assert set(DEFAULT_TEXTS) == set(CODES)
    assert cn_date(date(2024, 10, 4)) == "2024年10月4日"
