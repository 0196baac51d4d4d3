"""Plan shapes the sample plans do not have (issue 15), read by the parser: pure, no store.

The shapes are in tests/plan_shapes.py, each with the figures a correct reading finds
counted by hand there.
"""

from __future__ import annotations

from datetime import date

import pytest

from adapters.plan_reader import ParsedPlan, decode_plan, parse_plan
from adapters.service_layer.plan_files import plan_text
from domain.errors import InvalidInput
from tests import plan_shapes as S


def figures(plan: ParsedPlan) -> tuple[int, int, int]:
    return (len(plan.tasks), len(plan.units),
            len(plan.goals) + sum(len(t.indicators) for t in plan.tasks))


def units_of(plan: ParsedPlan) -> list[list[str]]:
    return [[*t.lead, *t.responsible] for t in plan.tasks]


def test_one_line_scrape_is_split_on_its_inline_numbering() -> None:
    assert len(S.ONE_LINE) >= 8000 and "\n" not in S.ONE_LINE
    plan = parse_plan(S.ONE_LINE)
    assert figures(plan) == (8, 6, 3)
    assert [t.number for t in plan.tasks] == [str(n) for n in range(1, 9)]
    assert [t.title for t in plan.tasks] == [w for w, _ in S.ONE_LINE_TASKS]
    assert set(plan.units) == set(S.ONE_LINE_UNITS)
    assert [t.category for t in plan.tasks] == ["扩大资源供给"] * 3 + ["提高保教质量"] * 5
    assert plan.period == (2024, 2026)
    # the 保障措施 section's items are no tasks
    assert not any("组织领导" in t.title or "督导评估" in t.title for t in plan.tasks)


def test_flattened_yearly_work_table() -> None:
    plan = parse_plan(S.FLATTENED)
    assert figures(plan) == (7, 4, 2)
    assert [t.title for t in plan.tasks][:2] == ["完成学校布局规划修编", "新建幼儿园不少于3所"]
    # the department is given once, after its group's first item
    assert units_of(plan) == [["区教育局"], ["区教育局"], ["区财政局"], ["区住建局"],
                              ["区人社局"], ["区教育局"], ["区教育局"]]
    # the year in each table's title is its items' deadline
    assert [t.deadline for t in plan.tasks] == [date(2024, 12, 31)] * 4 + [date(2025, 12, 31)] * 3
    assert all(t.deadline_source == "task" for t in plan.tasks)
    # the 保障措施 headings are no tasks; the split header 责任/部门 is no unit or task
    assert not any("组织领导" in t.title or "督导考核" in t.title for t in plan.tasks)
    assert "部门" not in plan.units and "责任" not in plan.units
    assert len({t.number for t in plan.tasks}) == 7


def test_table_whose_columns_are_runs_of_spaces() -> None:
    plan = parse_plan(S.SPACED_TABLE)
    assert figures(plan) == (3, 5, 1)
    t1, t2, _ = plan.tasks
    assert (t1.title, t1.lead, t1.responsible) == (
        "实现教师持证上岗率达到100%", ["县教育局"], ["县人社局"])
    assert t2.responsible == ["县教育局", "县人社局"]
    assert [t.deadline for t in plan.tasks] == [date(2024, 6, 30), date(2024, 12, 31),
                                                date(2025, 12, 31)]
    assert (t1.indicators[0].comparator, t1.indicators[0].value) == (">=", "100")


def test_plan_without_annotations_names_its_issuing_body() -> None:
    plan = parse_plan(S.NO_ANNOTATIONS)
    assert figures(plan)[0] == 3
    assert plan.issuer == "某某县教育局"
    assert [t.title for t in plan.tasks] == ["扩大课后服务覆盖面", "丰富课后服务内容",
                                             "加强课后服务保障"]


def test_mixed_encoding_file_reads_line_by_line() -> None:
    text = decode_plan(S.mixed_encoding(), "mixed.txt")
    assert S.MIXED_GB_BLOCK.strip() in text and S.MIXED_UTF8_TAIL.strip() in text
    assert not text.startswith("\ufeff")
    plan = parse_plan(text)
    assert figures(plan) == (2, 2, 1)
    assert list(plan.units) == ["镇教育办", "镇财政所"]


def test_docx_with_a_task_table() -> None:
    text = plan_text(S.docx_plan(), "plan.docx")
    plan = parse_plan(text)
    assert plan.title == S.DOCX_TITLE
    assert figures(plan) == (4, 7, 2)
    assert [t.number for t in plan.tasks] == ["1", "2", "3", "4"]
    assert plan.tasks[0].lead == ["市教育局"]
    assert plan.tasks[0].responsible == ["市发改委", "市住建局"]
    assert plan.tasks[0].deadline == date(2025, 8, 31)


def test_xlsx_task_sheet() -> None:
    plan = parse_plan(plan_text(S.xlsx_plan(), "plan.xlsx"))
    assert figures(plan) == (4, 7, 2)
    assert plan.tasks[3].responsible == ["市教育局", "市市场监管局"]
    assert plan.tasks[3].deadline == date(2024, 6, 30)


def test_a_broken_office_file_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as e:
        plan_text(S.docx_plan()[:200], "broken.docx")
    assert "broken.docx" in e.value.zh


def test_fragments_are_not_units() -> None:
    # 委编办, 政府办: the jurisdiction dropped in copying; not registered as units of their
    # own, but as the 区's (every other unit is the 区's), with a warning; with no such
    # jurisdiction they are not registered at all
    text = "\n".join([
        "某某区教育优质均衡实施方案",
        "一、主要任务",
        "1.核定教师编制。按标准核定编制。[责任单位:委编办、区人社局区教育局]",
        "2.建立通报机制。每年通报一次。[责任单位:政府办、区教育局]",
    ])
    plan = parse_plan(text)
    assert set(plan.units) == {"区委编办", "区人社局", "区教育局", "区政府办"}
    assert any("“委编办”" in w.message and "区委编办" in w.message for w in plan.warnings)
    assert any("“政府办”" in w.message for w in plan.warnings)
    mixed = parse_plan(text.replace("区人社局区教育局", "市人社局、县教育局"))
    assert "委编办" not in mixed.units and "区委编办" not in mixed.units
