"""Whatever the text, the parser never crashes and never invents a unit or a number."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.plan_reader import MAX_PLAN_TASKS, parse_plan
from adapters.plan_reader.indicators import MAX_INDICATORS
from adapters.service_layer.application import Dudao
from adapters.service_layer.plan_files import LEDGER_SHEET, plan_text
from domain.errors import DudaoError, InvalidInput
from tests import plan_shapes as S
from tests.conftest import SAMPLE_PLANS, Clock

PLANS = SAMPLE_PLANS
SAMPLES = [p.read_text(encoding="utf-8") for p in sorted(PLANS.glob("*.txt"))] + [
    S.ONE_LINE, S.FLATTENED, S.SPACED_TABLE, S.NO_ANNOTATIONS]
PIECES = ["<责任单位:", "[责任单位:", "(牵头单位:", ";责任单位:", ">", "]", ")", "、", ",", "。",
          "\n", "1.", "(一)", "二、主要任务", "市教育局", "区财政局", "各县区党委", "政府",
          "达到", "不少于", "不得超过", "以上", "以内", "96%", "55人", "2025年底", "2024年3月",
          "—", "第一阶段:", "牵头", "配合", "|", "\t", "责任部门", "九", "一门", "左右",
          "序号\n", "\n责任\n部门\n", "\n1\n", "\n2\n", "2024年工作进程表\n", "    ", "  ",
          "每年", "每学期", "分别", "均", "、初中生均", "小学、初中", "整改实施阶段", "复评",
          "①", "1)", "委编办", "政府办", "关于印发《", "印发", "按照不低于", "%列支"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(0, 12))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:pos] + draw(st.sampled_from(PIECES)) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
    return text


def check_nothing_invented(text: str) -> None:
    plan = parse_plan(text)
    flat = unicodedata.normalize("NFKC", text)
    bare = "".join(flat.split()).replace("、", "")
    for name in plan.units:
        # a name is written in the text, or is one that lost its 区/市/县 in copying
        # (委编办 read as 区委编办, with a warning)
        assert name.replace("、", "") in bare or (
            name[1:] in bare and any(name[1:] in w.message for w in plan.warnings)), name
    for t in plan.tasks:
        for n in (*t.lead, *t.responsible):
            assert n in plan.units
        for ind in [*t.indicators]:
            assert ind.value in flat or any(c in flat for c in "一二两三四五六七八九十"), ind
    for ind in plan.goals:
        assert ind.value in flat


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_mutated_plans_parse_without_inventing(text: str) -> None:
    check_nothing_invented(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=60).map("".join))
def test_fragments_parse_without_inventing(text: str) -> None:
    check_nothing_invented(text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_import_records_all_or_nothing(tmp_path: Path, text: str) -> None:
    db = tmp_path / f"fuzz-{abs(hash(text))}.db"
    app = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(str(db)))
    try:
        try:
            result = app.import_plan(text.encode(), source="fuzz.txt", actor="t")
        except DudaoError:
            assert app.event_count() == 0
            return
        assert result["tasks"] > 0
        again = app.import_plan(text.encode(), source="fuzz.txt", actor="t")
        assert again["new"] is False
    finally:
        app.close()


# Inputs built to make a reader do more than a pass over them: a run of item numbers under
# a flattened header, headers with no rows, thousands of inline numbers in one line, a list
# of values or levels that never ends, an annotation that never closes, a name of thousands
# of characters, a periodic target every few characters. Each parses, and what it returns is
# bounded by the limits, whatever the input's length (the suite's run time is the check that
# none is quadratic: a quadratic reader takes hours on these).
ADVERSARIAL = {
    "numbers": "序号\n工作任务\n责任\n部门\n" + "".join(f"{i}\n任务{i}\n区教育局\n"
                                                   for i in range(1, 20000)),
    "headers": "序号\n工作任务\n责任单位\n" * 10000,
    "inline numbers": "三、主要任务 " + " (一)任务。 1.做事。 ①做。" * 10000,
    "levels": "1.任务。不低于小学生均2000元" + "、初中生均2500元" * 10000 + "[责任单位:区教育局]",
    "values": "1.任务。达到" + "1%、" * 30000 + "[责任单位:区教育局]",
    "loose numbers": "1.任务。" + "5人" * 30000 + "[责任单位:区教育局]",
    "targets": "1.任务。" + "达到1%;" * 30000 + "[责任单位:区教育局]",
    "open brackets": "1.任务。<责任单位:" + "(" * 30000,
    "long name": "1.任务。<责任单位:" + "(a)" * 30000,
    "unclosed labels": "1.任务。" + "[责任单位:" * 20000,
    "leads": "1.任务。(" + "区教育局、" * 20000 + "牵头)",
    "periodic": "某方案(2024—2034年)\n一、主要任务\n" + "1.做。每学期不少于5次;" * 3000
                + "[责任单位:区教育局]",
    "spaces": "序号  工作任务  责任单位\n" + "1  任务  区教育局\n" * 20000,
    "one long line": "一、主要任务\n1.任务" + "做" * 600_000 + "。[责任单位:区教育局]",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_parse_within_the_limits(name: str) -> None:
    text = ADVERSARIAL[name]
    plan = parse_plan(text, max_tasks=MAX_PLAN_TASKS)
    assert len(plan.tasks) <= MAX_PLAN_TASKS + 1
    for t in plan.tasks:
        # a periodic target is at most one indicator per term for eleven years
        assert len(t.indicators) <= MAX_INDICATORS * 22
        assert all(len(n) <= len(text) for n in (*t.lead, *t.responsible))
    assert len(plan.warnings) <= text.count("\n") + 2 + 60 * (len(plan.tasks) + 1)
    check_nothing_invented(text[:20000])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_office_files_that_are_not_are_refused_cleanly(tail: bytes) -> None:
    # a zip header and anything after it, or a truncated .docx / .xlsx
    for raw in (b"PK\x03\x04" + tail, S.docx_plan()[: len(tail) * 4 + 30],
                S.xlsx_plan()[: len(tail) * 4 + 30], b"\xd0\xcf\x11\xe0" + tail):
        try:
            plan_text(raw, "plan.docx")
        except InvalidInput as e:
            assert "plan.docx" in e.zh


CELLS = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12), st.integers(-5, 10**6),
                  st.sampled_from(["任务", "指标", "总体目标", "阶段", "≥", "<=", "约", "2024-13-40",
                                   "2024年6月30日", "区教育局、政府", "0", "1e400", "nan"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(2, 12), st.integers(1, 17), CELLS), max_size=12))
def test_edited_ledgers_import_or_are_refused_recording_nothing(tmp_path: Path, edits) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    db = tmp_path / f"ledger-{abs(hash(str(edits)))}.db"
    app = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(str(db)))
    try:
        blob, _ = app.preview_plan(S.SPACED_TABLE.encode(), source="s.txt", code="S")
        wb = load_workbook(io.BytesIO(blob))
        ws = wb[LEDGER_SHEET]
        for row, col, value in edits:
            ws.cell(row, col).value = value
        out = io.BytesIO()
        wb.save(out)
        try:
            result = app.import_plan(out.getvalue(), source="s.xlsx", actor="t")
        except DudaoError as e:
            assert app.event_count() == 0
            assert isinstance(e, InvalidInput) or e.zh
            return
        assert result["tasks"] > 0
    finally:
        app.close()
