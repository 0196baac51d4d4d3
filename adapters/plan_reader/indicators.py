"""Indicators: a number written after (or before) an explicit comparator.

达到…以上, 不得超过, 不少于, 至少, … : ``read_indicators`` never invents a number, and
says which numbers it saw but could not read as targets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from adapters.plan_reader.dates import find_deadlines
from adapters.plan_reader.model import ParsedIndicator
from adapters.plan_reader.numerals import cn_number

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
    r"力争|全面|逐步|每年|全市|全区|使|要|达到|根据[^,;。]{0,10}?情况|、)+"
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
    text: str, line: int, default_deadline: date | None, start_year: int | None = None,
    end_year: int | None = None,
) -> tuple[list[ParsedIndicator], list[str]]:
    """Indicators in ``text`` and the numbers it saw but could not read as targets.

    A target written for each year or term (每年, 每学期) is one indicator per period from
    ``start_year`` (or the year the text says it starts, ``2025年起``) to its deadline's year
    or ``end_year`` (the plan's), whichever is later."""
    masked = mask(text)
    deadlines = find_deadlines(masked)
    found: list[ParsedIndicator] = []
    used: list[tuple[int, int]] = []
    unread: list[str] = []
    starts: dict[int, int] = {}

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

    def add(word: str | None, gap: str, m: re.Match[str], list_start: int,
            dist: str | None = None) -> None:
        items = list(ITEM_RE.finditer(m.group("list")))
        last_suffix = items[-1].group(3)
        if len(items) > MAX_LIST:  # a list of values is a few (小学、初中…), never thousands
            unread.append(f"{text[m.start():m.start() + 30]}…（一次列出 {len(items)} 个数值，"
                          f"只读前 {MAX_LIST} 个）")
            items = items[:MAX_LIST]
        clause, cstart = _clause_before(masked, m.start())
        before = [b for _, b in used if cstart <= b <= m.start()]
        if before:
            clause = masked[max(before):m.start()]
        sentence = masked[max(masked.rfind("。", 0, m.start()), masked.rfind(";", 0, m.start())) + 1:
                          m.start()]
        period = next((w for w in PERIOD_WORDS if w in clause or w in gap), None)
        written = re.search(r"(均|都)$", _name_of(clause))
        dist = dist or (written.group(1) if written else None)
        name = re.sub(r"(分别|均|都)$", "", _name_of(clause))
        for w in PERIOD_WORDS:
            name = name.replace(w, "")
        level_pair = re.search(r"(?:" + "|".join(LEVELS) + r")(?:、(?:" + "|".join(LEVELS) + r"))+$",
                               name)
        if len(name) > 24 and "、" in re.sub(r"\([^()]*\)", "", name) and not level_pair:
            name = _name_of(name.rsplit("、", 1)[1])
        if word in CHANGE_WORDS:
            name += word
        after = masked[m.end():]
        stop = _CLAUSE_STOP.search(after)
        after = after[: stop.start() if stop else len(after)]
        after = re.split(r"[、(]", after)[0].strip()
        share = SHARE_RE.match(after)
        if share and (gap or re.search(r"按照?", name)):
            base = (gap or re.sub(r"^.*?按照?", "", name)).removesuffix("的")
            name = f"{share.group(1)}占{base}比例"
        elif gap and after:
            name = f"{name}{gap}{after}"
        elif gap.endswith("的") and len(gap) > 2:  # 不低于符合条件教师总数的10%: a share
            name = f"{re.sub(r'的?比例$', '', name)}占{gap[:-1]}比例"
        elif gap:
            name = f"{name}{word}{gap}"
        elif after.startswith("的") or (len(name) < 5 and after):
            name = f"{name}…{after.lstrip('的')}" if name else after.lstrip("的")
        if name in LEVELS and found and found[-1].line == line and found[-1].text in text:
            base = re.sub(r"\([^()]*\)$", "", found[-1].name)
            name = f"{base}({name})"
        name = SCOPE_RE.sub("", name)
        labels: list[str] | None = None
        tail = re.search(r"([\u4e00-\u9fff]+)((?:、[\u4e00-\u9fff]+)+)$", name)
        if tail and (len(items) > 1 or dist in ("均", "都")):
            rest = tail.group(2).split("、")[1:]
            width = len(rest[-1])
            first = tail.group(1)[-width:]
            candidates = [first, *rest]
            if all(len(c) == width for c in rest) and (
                    len(candidates) == len(items) or (len(items) == 1 and all(
                        c in LEVELS for c in candidates))):
                labels = candidates
                name = name[: tail.start() + len(tail.group(1)) - width]
                if len(items) == 1:
                    items = items * len(candidates)
        start = re.findall(r"(20\d\d)\s*年起", sentence)
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
            label = f"{name}({labels[i]})" if labels else name
            found.append(ParsedIndicator(
                name=label or clause.strip() or snippet, comparator=comp, value=value,
                unit=measure, deadline=deadline_at(m.start()), line=line,
                text=_sentence(text, m.start(), m.end()), period=period,
            ))
            if period and start:
                starts[id(found[-1])] = int(start[-1])
        used.append((list_start, m.end()))

    for m in INDICATOR_RE.finditer(masked):
        if len(found) >= MAX_INDICATORS:
            break
        add(m.group("comp"), "", m, m.start("list"), m.group("dist"))
    for m in GAP_RE.finditer(masked):
        if len(found) >= MAX_INDICATORS:
            break
        if any(a <= m.start("list") < b for a, b in used):
            continue
        if _levels_before_values(m, masked, text, line, deadline_at, found, used):
            continue
        add(m.group("comp"), m.group("gap"), m, m.start("list"))
    for m in BARE_RE.finditer(masked):
        if len(found) >= MAX_INDICATORS:
            break
        if any(a <= m.start() < b for a, b in used):
            continue
        items = list(ITEM_RE.finditer(m.group("list")))
        if not any(it.group(3) for it in items):
            continue
        # "500M以上带宽" or "县级以上" are attributes, not targets: the regex already
        # requires the suffix to end the clause.
        add(None, "", m, m.start())
    for m in LOOSE_NUMBER_RE.finditer(masked):
        if len(unread) >= MAX_UNREAD:
            break
        if any(a <= m.start() < b for a, b in used):
            continue
        unread.append(_context(text, m.start(), m.end()))
    found.sort(key=lambda i: text.find(i.text))
    return _per_period(found, starts, start_year, end_year), unread


MAX_INDICATORS = 200
"""At most this many indicators are read from one task's text (each costs a pass over it)."""
MAX_LIST = 20
"""At most this many values of one list (小学、初中分别达到…) are read."""
MAX_UNREAD = 50
"""At most this many numbers not read as targets are reported for one text."""
PERIOD_WORDS = ("每学年", "每学期", "每年")
LEVELS = ("小学", "初中", "高中", "普通高中", "中职", "幼儿园", "学前", "义务教育", "特殊教育学校",
          "城市", "农村", "城区", "乡村", "县城", "镇区")
SCOPE_RE = re.compile(r"^(?:城乡)?(?:中小学)?(?=生均)")
SHARE_RE = re.compile(r"^(?:的)?(?:比例)?(?:列支|安排|用于|选配|提取)([\u4e00-\u9fff]{2,20})")
CONT_RE = re.compile(r"\s*、\s*([\u4e00-\u9fff]{1,8}?)" + NUM + r"\s*" + MEASURE)


def _levels_before_values(m: re.Match[str], masked: str, text: str, line: int,
                          deadline_at: Callable[[int], date | None],
                          found: list[ParsedIndicator], used: list[tuple[int, int]]) -> bool:
    """``不低于小学生均2000元、初中生均2500元标准配备``: each level before its own value."""
    items = [(m.group("gap"), m.group("list"), m.start("list"))]
    pos = m.end()
    while len(items) < 20:  # 小学、初中、高中…: a few levels, never a run of thousands
        c = CONT_RE.match(masked, pos)
        if not c:
            break
        items.append((c.group(1), masked[c.start(2):c.end()], c.start(2)))
        pos = c.end()
    if len(items) < 2:
        return False
    labels = [g for g, _, _ in items]
    common = labels[0]
    while common and not all(lb.endswith(common) for lb in labels):
        common = common[1:]
    levels = [lb[: len(lb) - len(common)] for lb in labels]
    if not common or not all(levels):
        return False
    after = masked[pos:]
    stop = re.search(r"[,;。:!?(]", after)
    after = after[: stop.start() if stop else len(after)].strip()
    comp = _comparator(m.group("comp"), None)
    if comp is None:
        return False
    for level, (_, item_text, at) in zip(levels, items, strict=True):
        it = ITEM_RE.match(item_text)
        value = _value(it.group(1)) if it else None
        if it is None or value is None:
            return False
        found.append(ParsedIndicator(
            name=f"{common}{after}({level})", comparator=comp, value=value,
            unit=it.group(2) or "", deadline=deadline_at(at), line=line,
            text=_sentence(text, m.start(), pos)))
    used.append((m.start("list"), pos))
    return True


def _per_period(found: list[ParsedIndicator], starts: dict[int, int],
                start_year: int | None, end_year: int | None) -> list[ParsedIndicator]:
    """Each periodic target as one indicator per year (每年, 每学年) or term (每学期)."""
    out: list[ParsedIndicator] = []
    for ind in found:
        first = starts.get(id(ind), start_year)
        if not ind.period or ind.deadline is None or first is None or \
                not 0 <= ind.deadline.year - first <= 10:
            out.append(ind)
            continue
        last = max(ind.deadline.year, end_year or 0)
        if last - first > 10:
            last = ind.deadline.year
        for year in range(first, last + 1):
            if ind.period == "每学期":
                terms = [(f"{year}年春季学期", date(year, 7, 31)),
                         (f"{year}年秋季学期", date(year + 1, 1, 31))]
            else:
                terms = [(f"{year}年", date(year, 12, 31))]
            for label, due in terms:
                out.append(dataclasses.replace(ind, name=f"{ind.name}({label})", deadline=due))
    return out


def _sentence(text: str, start: int, end: int) -> str:
    a = max(text.rfind(c, 0, start) for c in ",;。") + 1
    ends = [p for p in (text.find(c, end) for c in ",;。") if p != -1]
    b = min(ends) if ends else len(text)
    return text[a:b].strip()


def _context(text: str, start: int, end: int) -> str:
    a = max(text.rfind(c, 0, start) for c in ",;。、") + 1
    return text[max(a, start - 12):end].strip()
