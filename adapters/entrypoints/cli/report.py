"""``dudao report unit|bulletin|findings`` and ``dudao projections rebuild|catch-up``."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from adapters.bootstrap import read_models
from adapters.entrypoints.cli.base import DATE, MOMENT, ChoiceType, Context, cli, emit, pass_app
from adapters.rendering.exports import EXPORT_FORMATS, findings_file
from adapters.rendering.reports import view
from adapters.rendering.reports.render import FORMATS, render
from adapters.service_layer.application import Dudao
from adapters.service_layer.persons import record_data
from domain.errors import InvalidInput
from projections.exports import findings_export


def _output(text: str, out: str | None, what: str) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    emit({"written": str(path)}, f"已写入{what}：{path}")


def masthead(issuer: str, issue_no: str | None) -> dict[str, Any]:
    """发文机关 and 期号 of a bulletin (成文日期 is its as-of day)."""
    issuer = " ".join(issuer.split())
    if not issuer or len(issuer) > 60:
        raise InvalidInput("发文机关应为1到60个字", "issuer must be 1 to 60 characters",
                           field="issuer")
    no = " ".join((issue_no or "").split()) or None
    if no is not None and len(no) > 40:
        raise InvalidInput("期号不超过40个字", "issue number too long", field="issue_no")
    return {"issuer": issuer, "issue_no": no}


def write_bytes(data: bytes, out: str, what: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    emit({"written": str(path)}, f"已写入{what}：{path}")


def _format(fmt: str | None) -> str:
    ctx = click.get_current_context().find_object(Context)
    return fmt or ("json" if ctx is not None and ctx.json else "md")


report_options = [
    click.option("--as-of", "as_of", type=MOMENT, default=None,
                 help="按该时刻之前记录的事件出报告（当时系统所知），不动现有读模型"),
    click.option("--since", "since", type=DATE, default=None,
                 help="本期起始日期：只计其后仍未销号或其后销号的问题、其后的升级"),
    click.option("--format", "fmt", type=ChoiceType(FORMATS), default=None,
                 help="输出格式：json、md 或 html（默认 md；带 --json 时为 json）"),
    click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
                 help="写入文件而不是标准输出"),
]


def with_report_options(f: Any) -> Any:
    for option in reversed(report_options):
        f = option(f)
    return f


@cli.group("report")
def report() -> None:
    pass


@report.command("unit")
@click.argument("code")
@with_report_options
@pass_app
def report_unit(app: Dudao, actor: str, code: str, as_of: datetime | None,
                since: date | None, fmt: str | None, out: str | None) -> None:
    """单位问责报告：问题、逾期、按期整改率、升级、约谈、通报、问责及同级比较。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    with view(app, ctx.settings.db, as_of) as v:
        data = v.period(since).unit(code)
    _output(render(data, _format(fmt)), out, f"{data['name']}问责报告")


@report.command("bulletin")
@with_report_options
@click.option("--issue-no", "issue_no", metavar="TEXT", default=None,
              help="期号，如 2024年第3期（印在通报文头）")
@click.option("--issuer", "issuer", metavar="TEXT", default=None,
              help="发文机关（默认 DUDAO_ISSUER，未设时为 ××市人民政府教育督导室）")
@pass_app
def report_bulletin(app: Dudao, actor: str, as_of: datetime | None, since: date | None,
                    fmt: str | None, out: str | None, issue_no: str | None,
                    issuer: str | None) -> None:
    """督导通报：按期整改率排名、通报批评、问责、激励与总体情况。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    with view(app, ctx.settings.db, as_of) as v:
        data = v.period(since).bulletin() | masthead(issuer or ctx.settings.issuer, issue_no)
    _output(render(data, _format(fmt)), out, "督导通报")


@report.command("findings")
@click.option("--unit", "unit", metavar="CODE", default=None, help="只列该单位的问题")
@click.option("--status", "status", metavar="S", default=None,
              help="只列该状态的问题：recorded（已登记）、rectifying（整改中）、"
                   "under_review（待复查）、closed（已销号），或其中文名")
@click.option("--overdue", is_flag=True, help="只列逾期未销号的问题")
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="按该时刻之前记录的事件导出（当时系统所知）")
@click.option("--format", "fmt", type=ChoiceType(EXPORT_FORMATS), required=True,
              help="xlsx（Excel）、csv（UTF-8，Excel 可直接打开）或 json")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="写入文件（xlsx 必须指定；csv、json 默认写到标准输出）")
@pass_app
def report_findings(app: Dudao, actor: str, unit: str | None, status: str | None,
                    overdue: bool, as_of: datetime | None, fmt: str, out: str | None) -> None:
    """问题清单：每条问题一行（单位名称、问题、严重程度、登记日期、督学、整改期限、状态、
    当前升级级别、逾期天数），导出为 Excel、CSV 或 JSON。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    if fmt == "xlsx" and out is None:
        raise InvalidInput("xlsx 格式须用 -o FILE 指定输出文件", "xlsx needs -o FILE",
                           field="out")
    with view(app, ctx.settings.db, as_of) as v:
        data = findings_export(v.reports, unit=unit, status=status, overdue=overdue)
    what = f"{data['unit_name'] or '全部单位'}问题清单（{len(data['rows'])}条）"
    if fmt == "json":
        _output(render(data, "json"), out, what)
        return
    blob = findings_file(data, fmt)
    if out is None:
        sys.stdout.buffer.write(blob)
        return
    write_bytes(blob, out, what)


@report.command("person")
@click.argument("person_id", metavar="PERSON")
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="按该时刻之前记录的事件出报告（当时系统所知），不动现有读模型")
@click.option("--format", "fmt", type=ChoiceType(FORMATS), default=None,
              help="输出格式：json、md 或 html（默认 md；带 --json 时为 json）")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), default=None,
              help="写入文件而不是标准输出")
@pass_app
def report_person(app: Dudao, actor: str, person_id: str, as_of: datetime | None,
                  fmt: str | None, out: str | None) -> None:
    """人员档案：任职、接受的约谈、整改承诺、点名该人员的问责决定。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    with view(app, ctx.settings.db, as_of) as v:
        data = record_data(v.conn, person_id, v.now)
    _output(render(data, _format(fmt)), out, f"{data['name']}的人员档案")


@cli.group("projections")
def projections() -> None:
    pass


def _run(app: Dudao, db: str, rebuild: bool) -> int:
    runner = read_models(app, db)
    total = app.last_position()
    start = 0 if rebuild else min(runner.positions().values(), default=0)
    with click.progressbar(length=max(total - start, 0), label="重放事件", file=None,
                           show_pos=True, show_percent=True) as bar:
        last = [start]

        def progress(position: int, end: int) -> None:
            bar.update(position - last[0])
            last[0] = position

        done = runner.rebuild(progress=progress) if rebuild else runner.catch_up(progress=progress)
    runner.engine.dispose()
    return done


@projections.command("rebuild")
@pass_app
def projections_rebuild(app: Dudao, actor: str) -> None:
    """清空读模型，从第一个事件起重放（显示进度）。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    done = _run(app, ctx.settings.db, rebuild=True)
    emit({"events": done}, f"已重建读模型：重放 {done} 个事件")


@projections.command("catch-up")
@pass_app
def projections_catch_up(app: Dudao, actor: str) -> None:
    """把读模型追到事件库最新位置。"""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None
    done = _run(app, ctx.settings.db, rebuild=False)
    emit({"events": done}, f"读模型已追平：新应用 {done} 个事件")
