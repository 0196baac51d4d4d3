"""Plan shapes written for the tests (issue 15): how offices actually publish a 实施方案.

None of them is a copy of a sample plan: each is made up to carry one shape the reader
must handle, with figures that can be counted by hand from this file (the comment above
each says what a correct reading finds). ``.docx`` and ``.xlsx`` shapes are built in
memory by the tests that use them (python-docx, openpyxl): :func:`docx_plan`,
:func:`xlsx_plan`.
"""

from __future__ import annotations

import io

# ------------------------------------------------------------ one-line scrape

_SCRAPE_FILLER = (
    "坚持问题导向，聚焦群众关切，统筹城乡学前教育资源配置，完善经费投入和成本分担机制，"
    "健全教师配备补充和工资待遇保障制度，规范办园行为，提高保教质量，"
    "推动学前教育由基本普及向普及普惠安全优质发展转变，"
)


def _scrape_task(n: int, what: str, units: str) -> str:
    return f"{n}.{what}。" + _SCRAPE_FILLER * 9 + f"(责任单位:{units})"


ONE_LINE_UNITS = ["县教育局", "县财政局", "县发改局", "县住建局", "县人社局", "县卫健局"]
ONE_LINE_TASKS = [
    ("扩充普惠性学前教育资源", "县教育局、县发改局"),
    ("完善普惠性幼儿园经费保障", "县财政局、县教育局"),
    ("落实城镇小区配套幼儿园建设", "县住建局、县教育局"),
    ("加强幼儿园教师队伍建设", "县人社局、县教育局"),
    ("提升幼儿园卫生保健水平", "县卫健局"),
    ("规范民办幼儿园办园行为", "县教育局"),
    ("推进幼儿园与小学科学衔接", "县教育局"),
    ("健全学前教育质量评估体系", "县教育局"),
]
# One line of 8,000+ characters: the page's text, sections and items separated by spaces
# only. Tasks: the eight numbered items under 三、主要任务 (each ends in (责任单位:…));
# units: the six names in ONE_LINE_UNITS; indicators: 普惠性幼儿园覆盖率达到85%以上 and
# 学前三年毛入园率达到95%以上 (two goals) and 每年新增公办学位不少于600个 (task 1: one
# indicator a year, 2024, 2025, 2026) = 5.
ONE_LINE = "  ".join([
    "首页 > 政务公开 > 通知公告",
    "某某县人民政府办公室关于印发《某某县学前教育普及普惠发展实施方案(2024—2026年)》的通知",
    "各乡镇人民政府，县政府各部门：现将《某某县学前教育普及普惠发展实施方案(2024—2026年)》"
    "印发给你们，请认真贯彻执行。",
    "一、指导思想 " + _SCRAPE_FILLER * 4,
    "二、工作目标 到2026年底，全县普惠性幼儿园覆盖率达到85%以上，学前三年毛入园率达到95%以上。",
    "三、主要任务",
    "(一)扩大资源供给",
    _scrape_task(1, ONE_LINE_TASKS[0][0], ONE_LINE_TASKS[0][1]).replace(
        "。", "。每年新增公办学位不少于600个。", 1),
    *[_scrape_task(i + 2, w, u) for i, (w, u) in enumerate(ONE_LINE_TASKS[1:3])],
    "(二)提高保教质量",
    *[_scrape_task(i + 4, w, u) for i, (w, u) in enumerate(ONE_LINE_TASKS[3:])],
    "四、保障措施",
    "(一)加强组织领导。 " + _SCRAPE_FILLER * 3,
    "(二)强化督导评估。 " + _SCRAPE_FILLER * 3,
    "某某县人民政府办公室  2024年3月1日  【打印本页】 【关闭窗口】",
])

# ------------------------------------------------- flattened yearly work table

# A plan whose body names no unit: its departments are in the attached 工作进程表, one per
# year, flattened one cell per line as a PDF-to-text copy leaves it, the header's 责任部门
# split over two lines, a department written once (on the line after the group's first
# item) for the items that follow it, the year only in each table's title.
# Tasks: 2024: 1-4, 2025: 1-3 = 7 (the three 保障措施 headings are no tasks);
# units: 区教育局, 区财政局, 区住建局, 区人社局 = 4 (2024: 1,2 区教育局; 3 区财政局;
# 4 区住建局; 2025: 1 区人社局; 2,3 区教育局); deadlines: 2024-12-31 for the 2024 table's
# items, 2025-12-31 for the 2025 table's; indicators: 新建幼儿园不少于3所 (2024, 2) and
# 培训教师不少于500人次 (2025, 1) = 2.
FLATTENED = "\n".join([
    "某某区推进义务教育优质均衡发展实施方案",
    "",
    "一、总体要求",
    "以办好人民满意的教育为目标，统筹推进全区义务教育优质均衡发展，逐年分解落实工作任务。",
    "二、工作目标",
    "到2025年，全区义务教育优质均衡发展各项指标全面达到国家标准。",
    "三、保障措施",
    "(一)加强组织领导。成立由区政府主要领导任组长的领导小组，统筹协调推进各项工作。",
    "(二)加大经费投入。将义务教育优质均衡发展经费列入财政预算，足额保障。",
    "(三)严格督导考核。将工作推进情况纳入年度考核，对工作滞后的进行通报。",
    "",
    "附件",
    "2024年工作进程表",
    "序号",
    "工作任务",
    "责任",
    "部门",
    "1",
    "完成学校布局规划修编",
    "区教育局",
    "2",
    "新建幼儿园不少于3所",
    "3",
    "落实教育经费“两个只增不减”",
    "区财政局",
    "4",
    "完成中小学校舍安全改造",
    "区住建局",
    "2025年工作进程表",
    "序号",
    "工作任务",
    "责任",
    "部门",
    "1",
    "培训教师不少于500人次",
    "区人社局",
    "2",
    "推进集团化办学全覆盖",
    "区教育局",
    "3",
    "完善课后服务保障机制",
])

# ---------------------------------------------------- space-separated table

# A task table whose columns are separated by runs of spaces (a copy out of a PDF).
# Tasks: 3; units: 县教育局, 县财政局, 县人社局, 县编办, 县发改局 = 5;
# deadlines: 2024-06-30, 2024-12-31, 2025-12-31; indicators: 达到100% (1) = 1.
SPACED_TABLE = "\n".join([
    "某某县义务教育教师队伍建设实施方案",
    "一、重点任务",
    "序号    重点任务                              牵头单位      责任单位              完成时限",
    "1       实现教师持证上岗率达到100%            县教育局      县人社局              2024年6月底",
    "2       落实教师工资待遇保障                  县财政局      县教育局、县人社局    2024年12月",
    "3       核定中小学教职工编制                  县编办        县教育局、县发改局    2025年12月",
])

# ---------------------------------------------------- no 责任单位 at all

# Tasks numbered 1.-3. under 二、主要任务, no annotation anywhere: the issuing body
# (某某县教育局, from the 印发 line) answers for them, one warning says so.
# Tasks: 3; units: 1 (某某县教育局); indicators: 不低于98% (1) = 1.
NO_ANNOTATIONS = "\n".join([
    "某某县教育局关于印发《某某县中小学课后服务提质实施方案》的通知",
    "各中小学校：",
    "现将《某某县中小学课后服务提质实施方案》印发给你们，请遵照执行。",
    "",
    "一、工作目标",
    "2024年底前，课后服务实现义务教育学校全覆盖。",
    "二、主要任务",
    "1.扩大课后服务覆盖面。全县义务教育学校课后服务覆盖率不低于98%，有需求的学生应参加尽参加。",
    "2.丰富课后服务内容。统筹开展作业辅导、体育锻炼、艺术活动和科普活动。",
    "3.加强课后服务保障。完善课后服务经费保障和教师补助机制，2024年9月前出台办法。",
    "三、组织实施",
    "(一)加强领导。各校要成立课后服务工作专班。",
    "(二)强化督导。将课后服务纳入责任督学挂牌督导内容。",
])

# ---------------------------------------------------- mixed encoding

# The same plan stitched from three sources: a UTF-8 BOM and UTF-8 header, a block saved
# as GB18030 (pasted from an old document), a UTF-8 tail. Tasks: 2; units: 镇教育办,
# 镇财政所 = 2; indicators: 不少于2所 (1) = 1.
MIXED_UTF8_HEAD = "某某镇中心校标准化建设实施方案\n一、主要任务\n"
MIXED_GB_BLOCK = "1.改造薄弱学校。2024年底前改造薄弱学校不少于2所。[责任单位:镇教育办]\n"
MIXED_UTF8_TAIL = "2.保障建设资金。足额安排建设资金，按进度拨付。[责任单位:镇财政所]\n三、保障措施\n(一)加强领导。成立专班。\n"


def mixed_encoding() -> bytes:
    return (b"\xef\xbb\xbf" + MIXED_UTF8_HEAD.encode("utf-8") + MIXED_GB_BLOCK.encode("gb18030")
            + MIXED_UTF8_TAIL.encode("utf-8"))


# ---------------------------------------------------- docx and xlsx

TABLE_HEAD = ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"]
TABLE_ROWS = [
    ["1", "新建城区小学1所，新增学位不少于1350个", "市教育局", "市发改委、市住建局", "2025年8月"],
    ["2", "完成农村学校旱厕改造", "市教育局", "市农业农村局", "2024年12月底"],
    ["3", "落实教师培训经费不低于公用经费的5%", "市财政局", "市教育局", "2024年12月"],
    ["4", "开展校园安全专项整治", "市公安局", "市教育局、市市场监管局", "2024年6月"],
]
# docx: a title paragraph, two paragraphs, the task table (4 tasks), a closing 保障措施
# paragraph. xlsx: the same table on the first sheet with a title row above it.
# Tasks: 4; units: 市教育局, 市发改委, 市住建局, 市农业农村局, 市财政局, 市公安局,
# 市市场监管局 = 7; indicators: 不少于1350个 (1), 不低于…5% (3) = 2.
DOCX_TITLE = "某某市基础教育扩优提质行动方案"


def docx_plan() -> bytes:
    import docx  # type: ignore[import-untyped]

    doc = docx.Document()
    doc.add_paragraph(DOCX_TITLE)
    doc.add_paragraph("一、总体要求")
    doc.add_paragraph("坚持优先发展教育，扩大优质教育资源供给，具体任务见下表。")
    doc.add_paragraph("二、重点任务")
    table = doc.add_table(rows=1, cols=len(TABLE_HEAD))
    for cell, text in zip(table.rows[0].cells, TABLE_HEAD, strict=True):
        cell.text = text
    for row in TABLE_ROWS:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    doc.add_paragraph("三、保障措施")
    doc.add_paragraph("(一)加强组织领导。各单位要明确专人负责。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx_plan() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "任务分解表"
    ws.append([DOCX_TITLE + "任务分解表"])
    ws.append(TABLE_HEAD)
    for row in TABLE_ROWS:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
