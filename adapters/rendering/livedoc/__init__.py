"""Living documentation: the feature files with their last results, as one HTML page.

Built from pytest-bdd's Cucumber JSON (``--cucumberjson``); the data tables
are read back from the feature files themselves. Beside the scenarios stands the
escalation policy they state: the rung table of the default policy (and of each
example policy under ``features/策略示例/``) as loaded: codes, names, modes,
triggers, values per severity, version. Times are Beijing time. Styles ship with the
project: the page works offline, on an intranet, with no CDN.

    python -m adapters.rendering.livedoc out/features.json out/features.html
"""

from __future__ import annotations

import html
import json
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gherkin.parser import Parser

from adapters.bootstrap import policy as loaded_policy
from domain.errors import DudaoError
from domain.findings import SEVERITIES
from domain.rungs import MODES
from domain.time import SHANGHAI

if TYPE_CHECKING:
    from rules.policy import Policy, Rung

HERE = Path(__file__).parent
ORDER = ["完整示例", "预警", "督办", "约谈", "通报", "问责", "问责决定", "督导决定优先",
         "工作日历", "复查暂停", "延期", "弄虚作假", "拒不接受约谈", "手动升级", "销号",
         "迟到的扫描", "重复扫描", "按严重程度计时", "修改策略", "挂牌督导", "主要负责人",
         "工作滞后"]
STATUS_ZH = {"passed": "通过", "failed": "未通过", "skipped": "跳过", "undefined": "未定义"}


Table = list[list[str]]


def tables_of(feature_file: Path) -> tuple[dict[int, Table], dict[int, list[tuple[str, Table]]]]:
    """Data tables of a feature file by the line of the step that carries them, and the
    example tables of each scenario outline by the outline's line."""
    try:
        doc = Parser().parse(feature_file.read_text(encoding="utf-8"))
    except Exception:  # a missing or broken file shows no tables
        return {}, {}
    found: dict[int, Table] = {}
    examples: dict[int, list[tuple[str, Table]]] = {}
    feature: Any = doc.get("feature") or {}
    for child in feature.get("children", []):
        for key in ("background", "scenario"):
            block = child.get(key) or {}
            for step in block.get("steps", []):
                table = step.get("dataTable")
                if table:
                    found[step["location"]["line"]] = [
                        [c["value"] for c in row["cells"]] for row in table["rows"]
                    ]
            for ex in block.get("examples", []):
                head = [c["value"] for c in (ex.get("tableHeader") or {}).get("cells", [])]
                rows = [[c["value"] for c in row["cells"]] for row in ex.get("tableBody", [])]
                examples.setdefault(block["location"]["line"], []).append(
                    (ex.get("name", ""), [head, *rows]))
    return found, examples


def table_html(table: Table) -> str:
    head, *rows = table
    return ("<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in head)
            + "</tr></thead><tbody>" + "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
            + "</tbody></table>")


def scenario_status(element: dict[str, Any]) -> str:
    statuses = [s.get("result", {}).get("status", "skipped") for s in element.get("steps", [])]
    if any(s == "failed" for s in statuses):
        return "failed"
    if statuses and all(s == "passed" for s in statuses):
        return "passed"
    return "skipped"


def _order(feature: dict[str, Any]) -> tuple[int, str]:
    stem = Path(feature.get("uri", "")).stem
    return (ORDER.index(stem) if stem in ORDER else len(ORDER), stem)


def e(text: Any) -> str:
    return html.escape(str(text))


# ------------------------------------------------------------ the rung table

DAYS_ZH = {"working": "个工作日", "calendar": "个自然日"}
EVENT_ZH = {"falsified": "复查认定整改报告弄虚作假，当天起",
            "interview_missed": "约谈期限过后仍未约谈（拒不接受约谈），期限次日起",
            "manual": "只由督学手动升级（dudao escalate raise）"}


def by_severity(rung: Rung, key: str) -> str:
    """``10``, or ``一般 20 / 较重 20 / 严重 10`` when the value depends on severity."""
    values = {s: rung.value(key, s) for s in SEVERITIES}
    if len(set(values.values())) == 1:
        return str(next(iter(values.values())))
    return " / ".join(f"{SEVERITIES[s]} {v}" for s, v in values.items())


def triggers(policy: Policy, code: str) -> list[str]:
    """A rung's triggers in Chinese, one line each."""
    rung = policy.rungs[code]
    days = DAYS_ZH[rung.days]
    out = []
    if rung.from_ == "deadline":
        if rung.before is not None:
            out.append(f"整改期限前 {by_severity(rung, 'before')} {days}当天起")
        else:
            out.append(f"整改期限过后满 {by_severity(rung, 'after')} {days}")
    elif rung.from_ is not None:
        source = policy.rungs[rung.from_]
        after = f"满 {by_severity(rung, 'after')} {days}"
        if source.due is None:
            out.append(f"{source.name}（{rung.from_}）起算日起{after}")
        elif source.mode == "interview":
            out.append(f"{source.name}期限（{rung.from_}；期限后才约谈的，从约谈日）过后{after}")
        else:
            out.append(f"{source.name}期限（{rung.from_}）过后{after}")
    if rung.failed_reviews is not None:
        out.append(f"复查第 {by_severity(rung, 'failed_reviews')} 次未通过，当天起")
    out += [EVENT_ZH[x] for x in rung.on]
    return out


def properties(rung: Rung) -> list[str]:
    out = []
    if rung.due is not None:
        days = DAYS_ZH[rung.days]
        out.append(f"期限：起算后 {by_severity(rung, 'due')} {days}"
                   + ("，成为新的整改期限" if rung.sets_deadline else ""))
    if rung.per_deadline:
        out.append("每个整改期限各一次")
    if rung.skip_for:
        out.append("跳过：" + "、".join(SEVERITIES[s] for s in rung.skip_for) + "问题（由下一级接手）")
    if rung.decided_by == "committee":
        out.append("由督导委员会决定：触发时提请问责、立案")
    return out


def policy_html(policy: Policy, source: str) -> str:
    rows = []
    for n, (code, rung) in enumerate(policy.rungs.items()):
        rows.append(
            f'<tr data-rung="{e(code)}"><td class="num">{n}</td><td><code>{e(code)}</code></td>'
            f"<td>{e(rung.name)}</td><td>{e(MODES[rung.mode])}<br><code>{e(rung.mode)}</code></td>"
            f"<td>{'<br>'.join(e(t) for t in triggers(policy, code))}</td>"
            f"<td>{'<br>'.join(e(p) for p in properties(rung)) or '—'}</td></tr>")
    return (f'<section class="policy" data-policy="{e(policy.policy)}">'
            f"<h3>{e(policy.title)}</h3>"
            f'<p class="source">{e(source)} · 策略 <code>{e(policy.policy)}</code> 第{policy.version}版'
            f" · 内容指纹 {e(policy.digest)}</p>"
            "<table><thead><tr><th>序</th><th>代码</th><th>名称</th><th>方式</th><th>触发条件</th>"
            "<th>期限与其他</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def policies_html(root: Path) -> str:
    """The default policy's rung table, then each example policy's (folded)."""
    parts = ['<aside class="policies"><h2>升级策略</h2>'
             '<p class="description">下面的场景按这些策略运行。级别的先后就是策略文件书写的先后；'
             "天数按问题的严重程度分别给出时写作“一般 / 较重 / 严重”。从另一级起算的各级，"
             "都不早于问题当前的整改期限起算（督学的决定优先）。</p>"]
    try:
        parts.append(policy_html(loaded_policy(None), "rules/policies/default.toml"))
    except DudaoError as err:
        parts.append(f'<pre class="error">{e(err.zh)}</pre>')
    for path in sorted((root / "features" / "策略示例").glob("*.toml")):
        rel = path.relative_to(root).as_posix()
        try:
            loaded = loaded_policy(None, str(path))
        except DudaoError as err:
            parts.append(f'<pre class="error">{e(err.zh)}</pre>')
            continue
        parts.append(f"<details><summary>示例：{e(loaded.title)}</summary>"
                     f"{policy_html(loaded, rel)}</details>")
    parts.append("</aside>")
    return "".join(parts)


def render(report: list[dict[str, Any]], root: Path, generated: str) -> str:
    css = (HERE / "features.css").read_text(encoding="utf-8")
    totals: Counter[str] = Counter()
    body: list[str] = []
    toc: list[str] = []
    for n, feature in enumerate(sorted(report, key=_order), start=1):
        tables, examples = tables_of(root / feature.get("uri", ""))
        elements = feature.get("elements", [])
        statuses = [scenario_status(el) for el in elements]
        totals.update(statuses)
        fstatus = "failed" if "failed" in statuses else ("passed" if statuses else "skipped")
        toc.append(f'<li class="{fstatus}"><a href="#f{n}">{e(feature["name"])}</a> '
                   f'<span class="count">{statuses.count("passed")}/{len(statuses)}</span></li>')
        parts = [f'<section class="feature {fstatus}" id="f{n}">',
                 f'<h2><span class="kw">{e(feature.get("keyword", "功能"))}：</span>'
                 f'{e(feature["name"])}</h2>']
        if feature.get("description"):
            parts.append('<p class="description">' + "<br>".join(
                e(line.strip()) for line in feature["description"].splitlines()) + "</p>")
        parts.append(f'<p class="source">{e(feature.get("uri", ""))}</p>')
        seen: Counter[str] = Counter()
        for element, status in zip(elements, statuses, strict=True):
            seen[element["name"]] += 1
            example = ""
            if element.get("keyword", "").endswith("大纲") or seen[element["name"]] > 1 or \
                    sum(1 for x in elements if x["name"] == element["name"]) > 1:
                example = f'<span class="example">例子 {seen[element["name"]]}</span>'
            outline = examples.get(element.get("line", -1))
            if outline and seen[element["name"]] == 1:
                parts.append('<div class="outline">')
                for name, table in outline:
                    parts.append(f'<p class="kw">例子{("：" + e(name)) if name else ""}</p>')
                    parts.append(table_html(table))
                parts.append("</div>")
            parts.append(f'<article class="scenario {status}">')
            parts.append(f'<h3><span class="badge {status}">{STATUS_ZH[status]}</span>'
                         f'<span class="kw">{e(element.get("keyword", "场景"))}：</span>'
                         f'{e(element["name"])} {example}</h3>')
            if element.get("description"):
                parts.append(f'<p class="description">{e(element["description"])}</p>')
            parts.append('<ol class="steps">')
            for step in element.get("steps", []):
                result = step.get("result", {})
                sstatus = result.get("status", "skipped")
                parts.append(f'<li class="{sstatus}"><span class="kw">{e(step["keyword"])}</span> '
                             f'{e(step["name"])}')
                step_table = tables.get(step.get("line", -1))
                if step_table:
                    parts.append(table_html(step_table))
                if sstatus == "failed" and result.get("error_message"):
                    message = result["error_message"].strip().splitlines()
                    parts.append(f'<pre class="error">{e(chr(10).join(message[-6:]))}</pre>')
                parts.append("</li>")
            parts.append("</ol></article>")
        parts.append("</section>")
        body.append("\n".join(parts))
    summary = (f'<p class="summary">共 {sum(totals.values())} 个场景：'
               f'<span class="badge passed">通过 {totals["passed"]}</span> '
               f'<span class="badge failed">未通过 {totals["failed"]}</span> '
               f'<span class="badge skipped">跳过 {totals["skipped"]}</span>'
               f'　生成于 {e(generated)}</p>')
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>督导问题升级策略 · 活文档</title>
<style>{css}</style></head>
<body><header><h1>督导问题升级策略 · 活文档</h1>
<p>下面每一条都是升级策略的一条规定，连同它最近一次自动验证的结果。</p>{summary}
<nav><ol>{"".join(toc)}</ol></nav></header>
<div class="page"><main>{"".join(body)}</main>{policies_html(root)}</div></body></html>
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0] if args else "out/features.json")
    target = Path(args[1] if len(args) > 1 else "out/features.html")
    report = json.loads(source.read_text(encoding="utf-8"))
    generated = (datetime.fromtimestamp(source.stat().st_mtime, SHANGHAI)
                 .strftime("%Y-%m-%d %H:%M") + "（北京时间）")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(report, Path.cwd(), generated), encoding="utf-8")
    print(f"活文档已写入 {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
