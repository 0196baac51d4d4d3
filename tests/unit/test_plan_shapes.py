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
    assert figures(plan) == (8, 6, 5)
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


def test_utf16_text_with_a_bom() -> None:
    for codec in ("utf-16", "utf-16-be"):
        raw = S.SPACED_TABLE.encode(codec)
        raw = raw if codec == "utf-16" else b"\xfe\xff" + raw
        assert figures(parse_plan(decode_plan(raw, "u16.txt"))) == (3, 5, 1)


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


# ------------------------------------------------------- indicators (issue 15 §2)

def indicators_of(text: str) -> list[tuple[str, str, str, str, date | None, str | None]]:
    plan = parse_plan("某某区教育提质实施方案(2024—2026年)\n一、主要任务\n"
                      f"1.落实经费。{text}[责任单位:区教育局]")
    return [(i.name, i.comparator, i.value, i.unit, i.deadline, i.period)
            for i in plan.tasks[0].indicators]


END = date(2026, 12, 31)


def test_an_indicator_is_named_by_the_thing_measured() -> None:
    # a share of a base: what is set aside, as a share of what
    assert indicators_of("各校按照不低于公用经费5%列支教师培训经费。") == [
        ("教师培训经费占公用经费比例", ">=", "5", "%", END, None)]
    # a second clause naming only a school level qualifies the first one's measure
    assert indicators_of("城乡中小学生均公用经费基准定额统一为650元,初中统一为850元。") == [
        ("生均公用经费基准定额", "=", "650", "元", END, None),
        ("生均公用经费基准定额(初中)", "=", "850", "元", END, None)]
    # levels paired with values, each its own indicator named level in brackets
    assert [i[0] for i in indicators_of("生均运动场面积小学、初中分别达到7平方米、9平方米以上。")] == [
        "生均运动场面积(小学)", "生均运动场面积(初中)"]


def test_one_value_for_several_levels_is_an_indicator_for_each() -> None:
    assert indicators_of("每百名学生拥有骨干教师数小学、初中均达到1人以上。") == [
        ("每百名学生拥有骨干教师数(小学)", ">=", "1", "人", END, None),
        ("每百名学生拥有骨干教师数(初中)", ">=", "1", "人", END, None)]


def test_a_level_written_before_its_value_is_not_dropped() -> None:
    got = indicators_of("按照分别不低于小学生均1800元、初中生均2600元标准配备仪器。")
    assert [(v, u) for _, _, v, u, _, _ in got] == [("1800", "元"), ("2600", "元")]
    assert [n for n, *_ in got] == ["生均标准配备仪器(小学)", "生均标准配备仪器(初中)"]


def test_a_periodic_target_is_one_indicator_per_period() -> None:
    got = indicators_of("每年开展送教下乡不少于4次。")
    assert got == [(f"开展送教下乡({y}年)", ">=", "4", "次", date(y, 12, 31), "每年")
                   for y in (2024, 2025, 2026)]
    # 每学期: the spring term ends in July, the autumn term in the next January
    got = indicators_of("校长每学期至少兼任一门学科教学工作。")
    assert [(n, v, u, d) for n, _, v, u, d, _ in got][:3] == [
        ("校长兼任学科教学工作(2024年春季学期)", "1", "门", date(2024, 7, 31)),
        ("校长兼任学科教学工作(2024年秋季学期)", "1", "门", date(2025, 1, 31)),
        ("校长兼任学科教学工作(2025年春季学期)", "1", "门", date(2025, 7, 31))]
    assert len(got) == 6 and {p for *_, p in got} == {"每学期"}
    # a start year written in the task ("2025年起") starts the periods there
    assert [i[4] for i in indicators_of("2025年起,每年举办培训不少于2次。")] == [
        date(2025, 12, 31), date(2026, 12, 31)]


def test_stage_dates_attach_to_the_tasks_they_govern() -> None:
    text = "\n".join([
        "某某县义务教育优质均衡创建方案",
        "一、主要任务",
        "1.改造薄弱学校。完成薄弱学校改造。[责任单位:县教育局]",
        "2.配齐教师。2025年6月底前配齐音体美教师。[责任单位:县人社局]",
        "二、实施步骤",
        "第一阶段:2024年1月—2024年2月,宣传动员阶段。制定方案。",
        "第二阶段:2024年3月—2024年6月,整改实施阶段。全面完成整改工作。",
        "第三阶段:2024年7月—2024年9月,复评验收阶段。迎接复评。",
    ])
    plan = parse_plan(text)
    t1, t2 = plan.tasks
    # a task with no date of its own is the 整改 stage's work, due at its end, and
    # reviewed in the 复评 stage
    assert (t1.deadline, t1.deadline_source) == (date(2024, 6, 30), "stage")
    assert t1.stages == ["第二阶段：整改实施阶段", "第三阶段：复评验收阶段"]
    # a task that writes its own date keeps it
    assert (t2.deadline, t2.deadline_source) == (date(2025, 6, 30), "task")


def test_a_heading_with_its_paragraph_on_the_next_line() -> None:
    # no blank line between 一、工作目标 and its paragraph: still the goals section
    plan = parse_plan("某某县教育提质方案\n一、工作目标\n到2025年,课后服务覆盖率达到90%以上。\n"
                      "二、主要任务\n1.做事。推进课后服务。[责任单位:县教育局]")
    assert [(g.name, g.value) for g in plan.goals] == [("课后服务覆盖率", "90")]
    assert len(plan.tasks) == 1
