"""The living documentation shows, beside the scenarios, the policy's rung table: codes,
names, modes, triggers, values per severity and version, for the default policy and each
example policy of features/策略示例/."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.rendering.livedoc import render

ROOT = Path(__file__).resolve().parents[2]


def rows(page: str, policy: str) -> list[list[str]]:
    section = page[page.index(f'data-policy="{policy}"'):]
    section = section[:section.index("</section>")]
    def text(cell: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", cell).split())

    return [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
            for tr in re.findall(r"<tr data-rung=[^>]*>(.*?)</tr>", section)]


def test_the_rung_tables_stand_beside_the_scenarios() -> None:
    page = render([], ROOT, "2024-12-31 18:00（北京时间）")
    assert page.index("<main>") < page.index('<aside class="policies">')
    default = rows(page, "default")
    assert [r[1] for r in default] == ["reminder", "supervise", "interview", "public_notice",
                                       "accountability"]
    assert [r[2] for r in default] == ["预警", "督办", "约谈", "通报", "问责"]
    assert default[3][3] == "督导通报 public_notice"
    assert default[0][4] == "整改期限前 3 个工作日当天起"
    assert default[2][4] == "督办期限（supervise）过后满 0 个工作日 复查第 2 次未通过，当天起"
    assert default[1][5] == "期限：起算后 10 个工作日，成为新的整改期限"
    assert "跳过：严重问题" in default[3][5]
    assert "策略 <code>default</code> 第2版" in page
    # values per severity, event triggers and manual rungs of the example policies
    by_severity = rows(page, "by_severity")
    assert by_severity[4][4] == "通报（public_notice）起算日起满 一般 20 / 较重 20 / 严重 10 个工作日"
    strict = rows(page, "strict")
    assert "复查认定整改报告弄虚作假，当天起" in strict[3][4]
    assert "约谈期限过后仍未约谈（拒不接受约谈），期限次日起" in strict[3][4]
    assert strict[4][1:4] == ["resource_adjustment", "资源调整", "资源调整 resource_adjustment"]
    assert strict[4][4] == "只由督学手动升级（dudao escalate raise）"
    listed = rows(page, "listed")
    assert [r[1] for r in listed][4:] == ["listed_supervision", "accountability"]
    assert "生成于 2024-12-31 18:00（北京时间）" in page
