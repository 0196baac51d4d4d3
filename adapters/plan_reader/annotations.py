"""Unit annotations: who leads and who is responsible for a task, as the plan writes it.

Styles recognised (full-width and half-width alike, NFKC first):

* ``<责任单位:…>``, ``[责任单位:…]``, ``【责任单位:…】``, ``(牵头单位:…;责任单位:…)``;
* a trailing ``责任单位:…`` at the end of a task paragraph or on the next line;
* ``(A牵头,B、C配合)`` at the end of a task paragraph;
* (a table with a 责任单位 column is read by ``blocks.table_header`` and the parser.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.plan_reader.unit_names import is_group, looks_like_unit, split_names

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
