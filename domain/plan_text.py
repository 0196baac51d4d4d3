"""Reading an action plan (实施方案) from its text: pure text processing, no I/O.

``parse_plan(text)`` returns the plan's title, period, tasks (number, title,
text, lead and responsible units, indicators, deadline), the plan-level goals
(indicators of its 工作目标 section), its stages (推进步骤) and a warning for
everything it could not read. It never invents a unit or a number: a unit is
a name written in an annotation, an indicator is a number written after (or
before) an explicit comparator (达到…以上, 不得超过, 不少于, 至少, …).

Annotation styles recognised (full-width and half-width alike, NFKC first):

* ``<责任单位:…>``, ``[责任单位:…]``, ``【责任单位:…】``, ``(牵头单位:…;责任单位:…)``;
* a trailing ``责任单位:…`` at the end of a task paragraph or on the next line;
* ``(A牵头,B、C配合)`` at the end of a task paragraph;
* a table whose header has a 责任单位/责任部门/牵头单位 column and a task column,
  cells separated by ``|``, tabs or two or more spaces.
"""

from __future__ import annotations

import calendar as _calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.unit_names import is_group, looks_like_unit, split_names, split_on_known

COMPARATORS = {">=": "不低于", "<=": "不高于", ">": "高于", "<": "低于", "=": "等于"}


@dataclass
class ParsedIndicator:
    name: str
    comparator: str
    value: str  # the number as written (Arabic digits)
    unit: str
    deadline: date | None
    line: int
    text: str  # the clause it was read from

    def as_dict(self, n: int) -> dict[str, object]:
        return {"n": n, "name": self.name, "comparator": self.comparator,
                "value": self.value, "unit": self.unit, "deadline": self.deadline,
                "line": self.line, "text": self.text}


@dataclass
class ParsedTask:
    ordinal: int
    number: str  # as written: "(一)", "3", "附件(二)"
    title: str
    text: str
    category: str | None
    lead: list[str]
    responsible: list[str]
    indicators: list[ParsedIndicator]
    deadline: date | None
    deadline_source: str  # "task" (written in the task), "plan" (the plan's end), "none"
    line: int
    style: str  # which annotation style the units came from


@dataclass
class ParsedStage:
    name: str
    start: date
    end: date
    line: int


@dataclass
class Warning:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.message}" if self.line else self.message


@dataclass
class ParsedPlan:
    title: str | None
    period: tuple[int, int] | None
    tasks: list[ParsedTask] = field(default_factory=list)
    goals: list[ParsedIndicator] = field(default_factory=list)
    stages: list[ParsedStage] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # name -> "unit" | "group"
    groups_lines: dict[str, int] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)

    goal_dates: list[date] = field(default_factory=list)
    over_limit: bool = False
    """More tasks than ``parse_plan`` was told to read: it stopped there (never imported)."""

    @property
    def end(self) -> date | None:
        """The plan's own end: its period's last year, else the latest of its stages'
        ends and the dates in its goals section."""
        if self.period:
            return date(self.period[1], 12, 31)
        dates = [s.end for s in self.stages] + self.goal_dates
        return max(dates) if dates else None

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Warning(line, message))


# ------------------------------------------------------------------ numbers

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20 (up to 99); None if not a simple numeral."""
    if not text:
        return None
    if text == "十":
        return 10
    if "十" in text:
        left, _, right = text.partition("十")
        tens = CN_DIGITS.get(left) if left else 1
        ones = CN_DIGITS.get(right) if right else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if len(text) == 1 and text in CN_DIGITS:
        return CN_DIGITS[text]
    return None


# ------------------------------------------------------------------ dates


def last_day(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


DATE_RE = re.compile(
    r"(?<![\d.])(20\d\d|19\d\d)\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日?)?)?"
    r"(?!\s*(?:起|以来|开始|度?的|\d))"
)


def find_deadlines(text: str) -> list[tuple[int, date]]:
    """Every 'YYYY年[M月[D日]]' that reads as a deadline, with its offset."""
    out: list[tuple[int, date]] = []
    for m in DATE_RE.finditer(text):
        year = int(m.group(1))
        try:
            if m.group(3):
                d = date(year, int(m.group(2)), int(m.group(3)))
            elif m.group(2):
                d = last_day(year, int(m.group(2)))
            else:
                d = date(year, 12, 31)
        except ValueError:
            continue
        out.append((m.start(), d))
    return out


MONTH_RE = r"(20\d\d)\s*年\s*(\d{1,2})\s*月"
STAGE_RANGE = re.compile(MONTH_RE + r"(?:\s*(?:\d{1,2}\s*日)?)\s*[-—–~至到]+\s*(?:" + MONTH_RE + r")?")


def parse_stage(text: str) -> tuple[date, date] | None:
    m = STAGE_RANGE.search(text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
        if m.group(3):
            end = last_day(int(m.group(3)), int(m.group(4)))
        else:
            return None
    except ValueError:
        return None
    return (start, end) if end >= start else None


GARBLED_RANGE = re.compile(r"(20\d\d)(\d{1,2})\s*月?\s*[-—–~至到]+\s*(20\d\d)(\d{1,2})\s*月")


def parse_garbled_stage(text: str) -> tuple[date, date] | None:
    """'20241—20243月': 2024年1月—2024年3月 with 年 and a 月 lost in copying."""
    m = GARBLED_RANGE.search(text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
        end = last_day(int(m.group(3)), int(m.group(4)))
    except ValueError:
        return None
    return (start, end) if end >= start else None


def parse_single_month(text: str) -> tuple[date, date] | None:
    m = re.search(MONTH_RE, text)
    if not m:
        return None
    try:
        start = date(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None
    return start, last_day(start.year, start.month)


# -------------------------------------------------------------- indicators

NUM = r"(\d+(?:\.\d+)?|[一二两三四五六七八九十]{1,3})"
# A measure word that starts a longer word (名师, 个人, 人才) is not a measure.
MEASURE = (r"(%|万平方米|平方米|万元|亿元|元|万人次|万人|人次|万个|万册|人(?![才员民])|名(?![师校优家])|个(?![人性体])|"
           r"所|节|次|间|项|门|篇|学时|课时|小时|天|家|台|套|条|批|场|期|支|类|倍|届|位|本|册|"
           r"座|块|亩|公里|米|岁|分钟)")
GE_WORDS = ("不得低于", "不得少于", "不低于", "不少于", "不小于", "至少", "达到", "提高到",
            "提升到", "增加到", "增至", "达")
LE_WORDS = ("不得超过", "不超过", "不高于", "不大于", "不得高于", "控制在")
GT_WORDS = ("超过", "高于")
LT_WORDS = ("低于", "少于")
EQ_WORDS = ("统一为", "统一到")
CHANGE_WORDS = ("降低", "减少", "下降", "提高", "增加", "增长")  # by at least
STRONG_WORDS = ("不得低于", "不得少于", "不低于", "不少于", "至少", "不得超过", "不超过", "不高于")
_COMP_WORDS = sorted(GE_WORDS + LE_WORDS + GT_WORDS + LT_WORDS + EQ_WORDS + CHANGE_WORDS,
                     key=len, reverse=True)
SUFFIX_RE = r"(及以上|以上|及以下|以下|以内|左右)"
ITEM = NUM + r"\s*" + MEASURE + r"?\s*" + SUFFIX_RE + r"?"
LIST = ITEM + r"(?:\s*、\s*" + ITEM + r")*"
INDICATOR_RE = re.compile(
    r"(?P<comp>" + "|".join(_COMP_WORDS) + r")\s*(?P<dist>分别|均|都)?\s*(?:为|是)?\s*"
    r"(?P<list>" + LIST + r")"
)
GAP_RE = re.compile(
    r"(?P<comp>" + "|".join(STRONG_WORDS) + r")(?P<gap>[\u4e00-\u9fff()]{1,16}?)"
    r"(?P<list>" + ITEM + r")"
)
BARE_RE = re.compile(
    r"(?<![\d.A-Za-z])(?P<list>" + LIST + r")(?=\s*(?:[,;。、)\]>】]|$))"
)
ITEM_RE = re.compile(ITEM)
LOOSE_NUMBER_RE = re.compile(r"(?<![\d.A-Za-z年])(\d+(?:\.\d+)?)\s*" + MEASURE + r"(?![A-Za-z])")

_CLAUSE_STOP = re.compile(r"[,;。:!?]")
_LEADING_NOISE = re.compile(
    r"^(?:(?:到|至|在|于)?\s*20\d\d\s*年(?:\s*\d{1,2}\s*月)?(?:底|末|前|内)?|确保|实现|并|且|其中|"
    r"力争|全面|逐步|每年|全市|全区|使|要|达到|、)+"
)


def _clause_before(text: str, pos: int) -> tuple[str, int]:
    start = 0
    for m in _CLAUSE_STOP.finditer(text, 0, pos):
        start = m.end()
    return text[start:pos], start


def _name_of(raw: str) -> str:
    name = raw.strip()
    previous = None
    while previous != name:
        previous = name
        name = _LEADING_NOISE.sub("", name).strip()
    return name


def _comparator(word: str | None, suffix: str | None) -> str | None:
    if suffix == "左右":
        return "~"
    if suffix in ("以上", "及以上"):
        if word in LE_WORDS:
            return None
        return ">="
    if suffix in ("以下", "及以下", "以内"):
        if word in GE_WORDS and word != "控制在":
            return None
        return "<="
    if word in GE_WORDS or word in CHANGE_WORDS:
        return ">="
    if word in EQ_WORDS:
        return "="
    if word in LE_WORDS:
        return "<="
    if word in GT_WORDS:
        return ">"
    if word in LT_WORDS:
        return "<"
    return None


def _value(text: str) -> str | None:
    if text[0].isdigit():
        try:
            Decimal(text)
        except InvalidOperation:
            return None
        return text
    n = cn_number(text)
    return str(n) if n is not None else None


def mask(text: str) -> str:
    """Blank out book titles 《…》 and document numbers 〔…〕 (same length)."""
    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))
    text = re.sub(r"《[^》]*》", blank, text)
    text = re.sub(r"〔[^〕]*〕\s*\d*\s*号?", blank, text)
    return re.sub(r"(?<=\d)\s*号", lambda m: " " * len(m.group(0)), text)


def read_indicators(
    text: str, line: int, default_deadline: date | None,
) -> tuple[list[ParsedIndicator], list[str]]:
    """Indicators in ``text`` and the numbers it saw but could not read as targets."""
    masked = mask(text)
    deadlines = find_deadlines(masked)
    found: list[ParsedIndicator] = []
    used: list[tuple[int, int]] = []
    unread: list[str] = []

    def deadline_at(pos: int) -> date | None:
        best = None
        # the last deadline written before the number, within the same sentence
        sentence_start = max(masked.rfind("。", 0, pos), masked.rfind(";", 0, pos)) + 1
        for off, d in deadlines:
            if off < pos:
                best = d if off >= sentence_start or best is None else best
        if best is not None:
            return best
        return default_deadline

    def add(word: str | None, gap: str, m: re.Match[str], list_start: int) -> None:
        items = list(ITEM_RE.finditer(m.group("list")))
        last_suffix = items[-1].group(3)
        clause, cstart = _clause_before(masked, m.start())
        before = [b for _, b in used if cstart <= b <= m.start()]
        if before:
            clause = masked[max(before):m.start()]
        name = re.sub(r"(分别|均|都)$", "", _name_of(clause))
        if len(name) > 24 and "、" in name:
            name = _name_of(name.rsplit("、", 1)[1])
        if word in CHANGE_WORDS:
            name += word
        if gap:
            name = f"{name}{word}{gap}"
        after = masked[m.end():]
        stop = _CLAUSE_STOP.search(after)
        after = after[: stop.start() if stop else len(after)]
        after = re.split(r"[、(]", after)[0].strip()
        if after.startswith("的") or (len(name) < 5 and after):
            name = f"{name}…{after.lstrip('的')}" if name else after.lstrip("的")
        labels: list[str] | None = None
        if len(items) > 1:
            tail = re.search(r"([\u4e00-\u9fff]+)((?:、[\u4e00-\u9fff]+)+)$", name)
            if tail:
                rest = tail.group(2).split("、")[1:]
                width = len(rest[-1])
                first = tail.group(1)[-width:]
                candidates = [first, *rest]
                if len(candidates) == len(items) and all(len(c) == width for c in rest):
                    labels = candidates
                    name = name[: tail.start() + len(tail.group(1)) - width]
        for i, item in enumerate(items):
            value = _value(item.group(1))
            measure = item.group(2) or ""
            comp = _comparator(word, item.group(3) or last_suffix)
            snippet = text[m.start():m.end()].strip()
            if value is None or comp is None:
                unread.append(snippet)
                continue
            if comp == "~":
                unread.append(f"{snippet}（约数，不作为考核指标）")
                continue
            if not word and not measure and not (item.group(3) or last_suffix):
                continue
            if not measure and (not item.group(1)[0].isdigit() or word in CHANGE_WORDS):
                # 九年一贯制, 提高一个档次: a Chinese numeral or a change needs a measure
                continue
            label = f"{name}{labels[i]}" if labels else name
            found.append(ParsedIndicator(
                name=label or clause.strip() or snippet, comparator=comp, value=value,
                unit=measure, deadline=deadline_at(m.start()), line=line,
                text=_sentence(text, m.start(), m.end()),
            ))
        used.append((list_start, m.end()))

    for m in INDICATOR_RE.finditer(masked):
        add(m.group("comp"), "", m, m.start("list"))
    for m in GAP_RE.finditer(masked):
        if any(a <= m.start("list") < b for a, b in used):
            continue
        add(m.group("comp"), m.group("gap"), m, m.start("list"))
    for m in BARE_RE.finditer(masked):
        if any(a <= m.start() < b for a, b in used):
            continue
        items = list(ITEM_RE.finditer(m.group("list")))
        if not any(it.group(3) for it in items):
            continue
        # "500M以上带宽" or "县级以上" are attributes, not targets: the regex already
        # requires the suffix to end the clause.
        add(None, "", m, m.start())
    for m in LOOSE_NUMBER_RE.finditer(masked):
        if any(a <= m.start() < b for a, b in used):
            continue
        unread.append(_context(text, m.start(), m.end()))
    found.sort(key=lambda i: text.find(i.text))
    return found, unread


def _sentence(text: str, start: int, end: int) -> str:
    a = max(text.rfind(c, 0, start) for c in ",;。") + 1
    ends = [p for p in (text.find(c, end) for c in ",;。") if p != -1]
    b = min(ends) if ends else len(text)
    return text[a:b].strip()


def _context(text: str, start: int, end: int) -> str:
    a = max(text.rfind(c, 0, start) for c in ",;。、") + 1
    return text[max(a, start - 12):end].strip()


# ------------------------------------------------------------ annotations

LABELS = {
    "牵头单位": "lead", "牵头部门": "lead", "主责单位": "lead", "主责部门": "lead",
    "责任单位": "responsible", "责任部门": "responsible", "配合单位": "responsible",
    "配合部门": "responsible", "协办单位": "responsible", "参与单位": "responsible",
}
LABEL_RE = "(?:" + "|".join(LABELS) + ")"
OPEN, CLOSE = "<[(【〔{", ">])】〕}"
_INNER = r"\s*[:：](?:[^()<>\[\]【】]|\([^()]*\))*?"
BRACKETED = re.compile(
    r"<\s*(" + LABEL_RE + _INNER + r")\s*(?:>|$)"
    r"|\[\s*(" + LABEL_RE + _INNER + r")\s*(?:\]|$)"
    r"|【\s*(" + LABEL_RE + _INNER + r")\s*(?:】|$)"
    r"|\(\s*(" + LABEL_RE + _INNER + r")\s*(?:\)|$)"
)
TRAILING = re.compile(r"(?:^|(?<=[。;.\s]))(" + LABEL_RE + r"\s*[:：][^。\n]*?)\s*$")
LEADS_RE = re.compile(r"[(（]([^()（）]{2,120}?)(?:牵头|负责)[,，、;；]?([^()（）]*?)(?:配合|参与|协同|按职责分工负责)?[)）]\s*$")


@dataclass
class Annotation:
    lead: list[str]
    responsible: list[str]
    style: str
    start: int
    end: int


def read_annotation(text: str, *, loose: bool = True) -> Annotation | None:
    """The last unit annotation in a paragraph, if any.

    ``loose=False`` accepts bracketed annotations only: an unbracketed
    ``责任部门:…`` in a page header or a preamble is not a task's annotation.
    """
    found = None
    for m in BRACKETED.finditer(text):
        body = next(g for g in m.groups() if g is not None)
        found = (body, m.start(), m.end(), text[m.start()] + "责任单位" + CLOSE[OPEN.index(text[m.start()])])
    if found is None and not loose:
        return None
    if found is None:
        t = TRAILING.search(text)
        if t:
            found = (t.group(1), t.start(1), t.end(), "trailing")
    if found is None:
        m2 = LEADS_RE.search(text)
        if m2:
            leads = split_names(m2.group(1))
            others = split_names(m2.group(2)) if m2.group(2) else []
            if leads and all(looks_like_unit(n) or is_group(n) for n in leads):
                return Annotation(leads, others, "牵头/配合", m2.start(), m2.end())
        return None
    body, start, end, style = found
    lead: list[str] = []
    resp: list[str] = []
    parts = re.split("(" + LABEL_RE + r")\s*[:：]", body)
    # parts: ['', label, names, label, names, ...]
    for label, names in zip(parts[1::2], parts[2::2], strict=False):
        names = names.strip().rstrip(";；")
        target = lead if LABELS[label] == "lead" else resp
        for n in split_names(names):
            if n not in target:
                target.append(n)
    return Annotation(lead, resp, style, start, end)


# ------------------------------------------------------------- structure

L1_RE = re.compile(r"^\s*([一二三四五六七八九十]{1,3})\s*[、.]\s*(\S.*)$")
L2_RE = re.compile(r"^\s*[(（]\s*([一二三四五六七八九十]{1,3})\s*[)）]\s*(\S.*)$")
ITEM_NUM_RE = re.compile(
    r"^\s*(?:[(（]\s*(\d{1,4})\s*[)）]|(\d{1,4})\s*[.、．)]|(\d{1,4})(?=[\u4e00-\u9fff])"
    r"(?![年月日号%个所人名项次])|第([一二三四五六七八九十]{1,3})[条项])\s*(\S.*)$"
)
STAGE_HEAD_RE = re.compile(r"^\s*第([一二三四五六七八九十]{1,3})阶段\s*[:：]?\s*(.*)$")
TASK_SECTION = ("任务", "措施", "重点工作", "工作内容", "主要内容", "重点项目")
GOAL_SECTION = ("目标",)
STAGE_SECTION = ("步骤", "进度", "时间安排", "实施阶段", "阶段安排")
OTHER_SECTION = ("组织", "保障", "要求", "实施", "指导思想", "原则", "背景", "说明", "打算",
                 "过程", "内容")


def section_kind(title: str) -> str | None:
    head = title.split("。")[0][:20]
    for words, kind in ((STAGE_SECTION, "stages"), (GOAL_SECTION, "goals"),
                        (TASK_SECTION, "tasks"), (OTHER_SECTION, "other")):
        if any(w in head for w in words):
            return kind
    return None


@dataclass
class Block:
    line: int
    text: str
    lines: int = 1


def blocks_of(lines: list[str]) -> list[Block]:
    """Paragraphs: a blank line or a numbered/heading line starts a new one."""
    out: list[Block] = []
    current: Block | None = None
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            current = None
            continue
        starts_new = bool(
            L1_RE.match(line) or L2_RE.match(line) or ITEM_NUM_RE.match(line)
            or STAGE_HEAD_RE.match(line) or _is_table_row(line)
        )
        attaches = bool(re.match(LABEL_RE + r"\s*[:：]", line)) or bool(
            re.match(r"^[<\[(【]\s*" + LABEL_RE, line))
        if current is not None and (attaches or not starts_new) and not _is_table_row(
                current.text.splitlines()[-1]):
            current.text += line
            current.lines += 1
        else:
            current = Block(i, line)
            out.append(current)
    return out


def _cells(line: str) -> list[str]:
    if "|" in line:
        return [c.strip() for c in line.strip().strip("|").split("|")]
    if "\t" in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in re.split(r"\s{2,}", line.strip())]


def _is_table_row(line: str) -> bool:
    return ("|" in line and line.count("|") >= 2) or line.count("\t") >= 1


# ------------------------------------------------------------------ title

PERIOD_RE = re.compile(r"(20\d\d)\s*年?\s*[-—–~至到]+\s*(20\d\d)")


def plan_title(lines: list[str]) -> str | None:
    for line in lines[:60]:
        for m in re.finditer(r"《([^》]{4,80})》", line):
            if re.search(r"方案|计划|规划", m.group(1)):
                return m.group(1).strip()
    for line in lines[:60]:
        s = line.strip()
        if 4 <= len(s) <= 80 and re.search(r"(实施方案|行动计划|工作方案)", s):
            return s
    return None


# ------------------------------------------------------------------- parse


def normalise_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", text)


def parse_plan(text: str, *, max_tasks: int | None = None) -> ParsedPlan:
    """Read a plan's text. Never raises on odd input: it warns instead.

    With ``max_tasks``, reading stops at the first task past it and the result is
    marked ``over_limit`` (see :func:`check_plan_tasks`): a huge plan costs no more
    than one of the limit's size."""
    lines = normalise_text(text).split("\n")
    title = plan_title(lines)
    period = None
    if title:
        m = PERIOD_RE.search(title)
        if m and int(m.group(1)) <= int(m.group(2)):
            period = (int(m.group(1)), int(m.group(2)))
        else:
            years = set(re.findall(r"(20\d\d)\s*年", title))
            if len(years) == 1:  # 《2024年…工作方案》: the plan is for that year
                year = int(years.pop())
                period = (year, year)
    plan = ParsedPlan(title=title, period=period)
    blocks = blocks_of(lines)

    # First pass: stages (they give the plan's end when its title has no period).
    l1_kind: str | None = None
    kinds: list[tuple[Block, str | None, str | None]] = []
    l2_kind: str | None = None
    category: str | None = None
    for b in blocks:
        m1 = L1_RE.match(b.text)
        if m1 and len(m1.group(2)) <= 30 and "。" not in m1.group(2):
            l1_kind = section_kind(m1.group(2))
            l2_kind = None
            category = None
            kinds.append((b, "heading", None))
            continue
        m2 = L2_RE.match(b.text)
        if m2 and "。" not in b.text and len(b.text) <= 40 and not read_annotation(b.text):
            k = section_kind(m2.group(2))
            if l1_kind == "tasks" and k is None:
                category = m2.group(2).strip()
            else:
                l2_kind = k
            kinds.append((b, "heading", None))
            continue
        kind = l2_kind or l1_kind
        if kind == "tasks" and "。" not in b.text and len(b.text) <= 40 and \
                not read_annotation(b.text) and not _is_table_row(b.text):
            category = b.text.strip(" ()")
            kinds.append((b, "heading", None))
            continue
        kinds.append((b, kind, category))

    for b, kind, _ in kinds:
        if kind == "goals":
            plan.goal_dates.extend(d for _, d in find_deadlines(mask(b.text)))
        if kind == "stages" or STAGE_HEAD_RE.match(b.text) or re.search(r"阶段\s*[(（:：]", b.text[:30]):
            if kind not in ("stages",) and not STAGE_HEAD_RE.match(b.text):
                continue
            _read_stage(plan, b)

    plan_end = plan.end
    ordinal = 0
    table: list[str] | None = None
    table_cols: dict[str, int] = {}
    seen_task_sections = 0
    for b, kind, category in kinds:
        if kind == "heading":
            if kind == "tasks":
                seen_task_sections += 1
            continue
        if kind == "stages" or STAGE_HEAD_RE.match(b.text):
            continue
        if _is_table_row(b.text):
            cells = _cells(b.text)
            if table is None:
                cols = _table_header(cells)
                if cols:
                    table, table_cols = cells, cols
                    continue
            elif re.fullmatch(r"[\s|:\-—=]+", b.text):
                continue
            else:
                ordinal += 1
                task = _table_task(plan, b, cells, table_cols, ordinal, category, plan_end)
                if task:
                    plan.tasks.append(task)
                    if max_tasks is not None and len(plan.tasks) > max_tasks:
                        plan.over_limit = True
                        return plan
                else:
                    ordinal -= 1
                continue
        else:
            table = None
        numbered = ITEM_NUM_RE.match(b.text) or L2_RE.match(b.text)
        ann = read_annotation(b.text, loose=bool(numbered) or kind == "tasks")
        if ann is not None or (kind == "tasks" and numbered and "。" in b.text):
            ordinal += 1
            plan.tasks.append(_task(plan, b, ann, ordinal, category, plan_end, numbered))
            if max_tasks is not None and len(plan.tasks) > max_tasks:
                plan.over_limit = True
                return plan
            continue
        if kind == "goals":
            inds, unread = read_indicators(b.text, b.line, _first_deadline(b.text) or plan_end)
            plan.goals.extend(inds)
            for u in unread:
                plan.warn(b.line, f"工作目标中未能识别为指标的数值：“{u}”")
            if not inds and "。" in b.text:
                plan.warn(b.line, f"跳过段落（工作目标，没有可读的数值指标）：“{_head(b.text)}”")
            continue
        if "。" in b.text or (kind == "tasks" and len(b.text) >= 20):
            where = "任务部分" if kind == "tasks" else "非任务部分"
            plan.warn(b.line, f"跳过段落（{where}，没有任务编号或责任单位标注）：“{_head(b.text)}”")

    _number_tasks(plan)
    _resolve_units(plan)
    plan.warnings.sort(key=lambda w: w.line)
    return plan


def _head(text: str, n: int = 24) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + "…"


def _first_deadline(text: str) -> date | None:
    ds = find_deadlines(mask(text))
    return ds[0][1] if ds else None


def _read_stage(plan: ParsedPlan, b: Block) -> None:
    text = b.text
    m = STAGE_HEAD_RE.match(text)
    names = [n for n in re.findall(r"([^\s,。:()（）\d—-]{2,12}阶段)", text[:80])
             if not n.startswith("第")]
    name = names[0] if names else _head(text, 12)
    if m:
        name = f"第{m.group(1)}阶段：{name}" if names else f"第{m.group(1)}阶段"
    span = parse_stage(text[:80])
    if span is None:
        span = parse_garbled_stage(text[:80])
        if span is not None:
            plan.warn(b.line, f"阶段日期缺少“年”“月”字，按{span[0]:%Y年%m月}—{span[1]:%Y年%m月}登记："
                              f"“{_head(text, 30)}”")
    if span is None:
        head = text[:60]
        if re.search(MONTH_RE, head) and not re.search(r"[-—–~至到]", head.split("。")[0]):
            span = parse_single_month(head)
    if span is None:
        if re.search(r"\d{4}", text[:60]):
            plan.warn(b.line, f"阶段的起止日期无法识别，未登记：“{_head(text, 30)}”")
        elif "。" in text:
            plan.warn(b.line, f"跳过段落（推进步骤，没有日期）：“{_head(text)}”")
        return
    plan.stages.append(ParsedStage(name=name, start=span[0], end=span[1], line=b.line))


def _task(plan: ParsedPlan, b: Block, ann: Annotation | None, ordinal: int,
          category: str | None, plan_end: date | None, numbered: re.Match[str] | None) -> ParsedTask:
    text = b.text
    style = "none"
    lead: list[str] = []
    resp: list[str] = []
    if ann is not None:
        text = (text[: ann.start] + text[ann.end:]).strip()
        lead, resp, style = ann.lead, ann.responsible, ann.style
    number = ""
    body = text
    m = ITEM_NUM_RE.match(text)
    if m:
        number = next(g for g in m.groups()[:4] if g)
        body = m.group(5)
    else:
        m2 = L2_RE.match(text)
        if m2:
            number = f"({m2.group(1)})"
            body = m2.group(2)
    body = body.strip()
    title_end = body.find("。")
    title = body[:title_end] if 0 < title_end <= 40 else _head(body, 20)
    task_deadlines = [d for _, d in find_deadlines(mask(body))]
    if task_deadlines:
        deadline, source = max(task_deadlines), "task"
    elif plan_end is not None:
        deadline, source = plan_end, "plan"
    else:
        deadline, source = None, "none"
    inds, unread = read_indicators(body, b.line, deadline)
    for u in unread:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）中未能识别为指标的数值：“{u}”")
    if ann is not None and not lead and not resp:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）的责任单位标注为空")
    elif ann is None:
        plan.warn(b.line, f"任务{number or ordinal}（{_head(title, 12)}）没有标注责任单位")
    return ParsedTask(
        ordinal=ordinal, number=number, title=title, text=body, category=category,
        lead=lead, responsible=resp, indicators=inds, deadline=deadline,
        deadline_source=source, line=b.line, style=style,
    )


def _table_header(cells: list[str]) -> dict[str, int] | None:
    cols: dict[str, int] = {}
    for i, c in enumerate(cells):
        if re.search(r"牵头", c):
            cols.setdefault("lead", i)
        elif re.search(r"责任|配合|承办", c):
            cols.setdefault("responsible", i)
        elif re.search(r"序号|编号", c):
            cols.setdefault("number", i)
        elif re.search(r"时限|时间|期限|完成", c):
            cols.setdefault("deadline", i)
        elif re.search(r"任务|内容|措施|事项|工作", c):
            cols.setdefault("task", i)
    if "task" in cols and ("responsible" in cols or "lead" in cols):
        return cols
    return None


def _table_task(plan: ParsedPlan, b: Block, cells: list[str], cols: dict[str, int],
                ordinal: int, category: str | None, plan_end: date | None) -> ParsedTask | None:
    def cell(key: str) -> str:
        i = cols.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    body = cell("task")
    if not body:
        plan.warn(b.line, f"跳过表格行（没有任务内容）：“{_head(b.text)}”")
        return None
    lead = split_names(cell("lead")) if cell("lead") else []
    resp = split_names(cell("responsible")) if cell("responsible") else []
    title_end = body.find("。")
    title = body[:title_end] if 0 < title_end <= 40 else _head(body, 20)
    ds = [d for _, d in find_deadlines(mask(cell("deadline") or body))]
    deadline, source = (max(ds), "task") if ds else ((plan_end, "plan") if plan_end else (None, "none"))
    inds, unread = read_indicators(body, b.line, deadline)
    number = cell("number") or str(ordinal)
    for u in unread:
        plan.warn(b.line, f"任务{number}（{_head(title, 12)}）中未能识别为指标的数值：“{u}”")
    if not lead and not resp:
        plan.warn(b.line, f"任务{number}（{_head(title, 12)}）没有标注责任单位")
    return ParsedTask(ordinal=ordinal, number=number, title=title, text=body, category=category,
                      lead=lead, responsible=resp, indicators=inds, deadline=deadline,
                      deadline_source=source, line=b.line, style="table")


def _number_tasks(plan: ParsedPlan) -> None:
    """Keep written numbers unique: a repeated one (an attachment's (一)) gets a prefix."""
    seen: set[str] = set()
    for t in plan.tasks:
        if not t.number:
            t.number = str(t.ordinal)
        if t.number in seen:
            t.number = f"{t.ordinal}:{t.number}"
        seen.add(t.number)


def _resolve_units(plan: ParsedPlan) -> None:
    """Check every name; split run-together ones on names seen elsewhere; drop fragments."""
    known = {n for t in plan.tasks for n in (*t.lead, *t.responsible)}
    for t in plan.tasks:
        for role in ("lead", "responsible"):
            names: list[str] = getattr(t, role)
            out: list[str] = []
            for name in names:
                parts = [name]
                split = split_on_known(name, known - {name})
                if split and not looks_like_unit(split[0]):
                    plan.warn(t.line, f"责任单位“{name}”疑为两个名称连写，按“{split[1]}”登记；"
                                      f"“{split[0]}”不是完整的单位名称，未登记")
                    parts = [split[1]]
                elif split:
                    parts = list(split)
                for p in parts:
                    if len(p) > 40:
                        plan.warn(t.line, f"“{p[:20]}…”过长（{len(p)}字），不像单位名称，未登记")
                    elif is_group(p) or looks_like_unit(p):
                        if p not in out:
                            out.append(p)
                    else:
                        plan.warn(t.line, f"“{p}”不像单位名称，未登记为责任单位")
            setattr(t, role, out)
        for n in (*t.lead, *t.responsible):
            kind = "group" if is_group(n) else "unit"
            plan.units.setdefault(n, kind)
            if kind == "group":
                plan.groups_lines.setdefault(n, t.line)
        if not t.lead and not t.responsible and t.style != "none":
            plan.warn(t.line, f"任务{t.number}（{_head(t.title, 12)}）没有可登记的责任单位")


# ---------------------------------------------------------------- decoding


MAX_PLAN_BYTES = 5 * 1024 * 1024
"""A plan file (or the text of ``POST /plans``) is at most 5 MiB."""
MAX_PLAN_TASKS = 2000
"""A plan has at most 2,000 tasks."""


def check_plan_size(size: int, source: str = "FILE") -> None:
    """Refuse a plan over ``MAX_PLAN_BYTES`` (a reader passes at most one byte more)."""
    from domain.errors import InvalidInput

    if size > MAX_PLAN_BYTES:
        raise InvalidInput(
            f"文件 {source} 过大（FILE 最多 {MAX_PLAN_BYTES // (1024 * 1024)} MiB），未导入",
            f"{source} is too large (FILE: at most {MAX_PLAN_BYTES} bytes); nothing imported",
            field="FILE",
        )


def check_plan_tasks(plan: ParsedPlan, source: str = "FILE") -> None:
    """Refuse a plan of more than ``MAX_PLAN_TASKS`` tasks (never import part of it)."""
    from domain.errors import InvalidInput

    if plan.over_limit or len(plan.tasks) > MAX_PLAN_TASKS:
        raise InvalidInput(
            f"文件 {source} 的任务过多（FILE 最多 {MAX_PLAN_TASKS} 项任务），未导入"
            "（不会只导入一部分）；请把方案拆成几份分别导入",
            f"{source} has too many tasks (FILE: at most {MAX_PLAN_TASKS}); nothing imported"
            " (never a part of it); split the plan",
            field="FILE",
        )


def decode_plan(raw: bytes, source: str = "FILE") -> str:
    """The text of a plan file: UTF-8 (with or without BOM) or GB18030.

    Raises ``InvalidInput`` for an empty file, a binary file, or bytes that are
    not text in either encoding -- before anything is recorded.
    """
    from domain.errors import InvalidInput

    check_plan_size(len(raw), source)
    if not raw.strip():
        raise InvalidInput(f"文件 {source} 是空的，没有可导入的内容",
                           f"{source} is empty: nothing to import", field="FILE")
    sample = raw[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > max(8, len(sample) // 100):
        raise InvalidInput(
            f"文件 {source} 是二进制文件，不是实施方案的文本（请先另存为 UTF-8 文本）",
            f"{source} is a binary file, not the text of a plan (save it as UTF-8 text first)",
            field="FILE",
        )
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise InvalidInput(
            f"文件 {source} 既不是 UTF-8 也不是 GB18030 编码的文本，无法读取",
            f"{source} is neither UTF-8 nor GB18030 text", field="FILE",
        )
    visible = [c for c in text if not c.isspace()]
    cjk = sum(1 for c in visible if "\u4e00" <= c <= "\u9fff")
    odd = sum(1 for c in visible if unicodedata.category(c) in ("Co", "Cn", "Cs", "So")
              or "\u0080" <= c <= "\u024f" or c == "\ufffd")
    if cjk < 10 or odd > cjk:
        raise InvalidInput(
            f"文件 {source} 的内容不像中文实施方案（汉字 {cjk} 个，乱码字符 {odd} 个），"
            "可能是编码错误或乱码，未导入",
            f"{source} does not read as a Chinese plan ({cjk} Chinese characters, "
            f"{odd} garbled ones): wrong encoding or garbage; nothing imported",
            field="FILE",
        )
    return text
