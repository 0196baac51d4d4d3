"""The demo: a year of supervision (2024) on units named in the sample plans.

Runs on a fresh SQLite store in the output folder with a simulated clock that
moves from one business day to the next, so every event's recorded time is
the evening of the day it happened.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID, uuid5

from adapters.bootstrap import load_calendar
from adapters.demo.api_tour import api_demo
from adapters.infrastructure.event_store import engine_for, store_env
from adapters.service_layer.action_plans import lag_key, lagging_outside, units_by_name
from adapters.service_layer.application import Dudao
from adapters.service_layer.sweep import Sweeper
from domain.findings import SEVERITIES, STATUSES, Finding
from domain.ids import keyed_id
from domain.time import SHANGHAI

UNITS = [
    # code, name, parent, principal — names as the sample plans write them
    ("SJYJ", "市教育局", None, "王建国"),
    ("SCZJ", "市财政局", None, "李志强"),
    ("SRSJ", "市人社局", None, "赵敏"),
    ("SZRZYJ", "市自然资源局", None, "孙立新"),
    ("SZJJ", "市住建局", None, "周海"),
    ("HTQ", "汉台区人民政府", None, "陈明"),
    ("NZQ", "南郑区人民政府", None, "刘洋"),
    ("CGX", "城固县人民政府", None, "杨帆"),
    ("YX", "洋县人民政府", None, "吴刚"),
    ("JGDQ", "加格达奇区教育局", None, "郑雪"),
]

DEMO_IDS = UUID("6f1d0a52-4d7e-4c1b-9a51-2f0c7e1d2024")

# The sample plans, imported first (their units are the ones the findings use).
SAMPLE_PLANS = Path(__file__).resolve().parent / "sample_plans"
PLANS = [
    ("XZ-2023", "county-high-schools-2023-2025.txt"),
    ("HZ-2023", "hanzhong-education-quality-2023-2025.txt"),
    ("JGDQ-2023", "jiagedaqi-compulsory-education-balance-2023.txt"),
]

INSPECTOR = "张督学"
UNIT_ACTOR = "单位填报"

DEMO_USERS = [
    # user name, display name, role, unit, password — known on purpose: a demo store only
    ("zhangduxue", INSPECTOR, "inspector", None, "demo-duxue-2024"),
    ("hantai", "汉台区人民政府", "unit", "HTQ", "demo-hantai-2024"),
]


@dataclass
class SimClock:
    moment: datetime

    def __call__(self) -> datetime:
        return self.moment

    def at(self, day: date, hour: int = 17) -> None:
        self.moment = datetime.combine(day, time(hour), SHANGHAI)


def d(text: str) -> date:
    return date.fromisoformat(text)


def script(app: Dudao, clock: SimClock,
           before_day: Callable[[date], None] | None = None,
           echo: Callable[[str], None] | None = None) -> list[UUID]:
    """Record the demo's history, day by day. Returns the findings in order.

    The story below is written finding by finding; its steps are collected first
    and then carried out in date order, calling ``before_day`` before each new day
    (the demo's escalation sweeps run there, as they would have at the time).
    """
    findings: list[UUID] = []
    steps: list[tuple[date, int, Callable[[], None]]] = []

    def at(day: str, action: Callable[[], None]) -> None:
        steps.append((d(day), len(steps), action))

    def record(day: str, unit: str, text: str, severity: str = "general",
               task: str | None = None) -> UUID:
        fid = uuid5(DEMO_IDS, f"{day}/{unit}/{text}")
        findings.append(fid)

        def action() -> None:
            clock.at(d(day))
            app.commit(app.new_finding(unit=unit, on=d(day), inspector=INSPECTOR, text=text,
                                       severity=severity, task=task, finding_id=fid,
                                       actor=INSPECTOR))

        at(day, action)
        return fid

    def order(fid: UUID, day: str, within: int, calendar_days: bool = False) -> None:
        def action() -> None:
            clock.at(d(day))
            app.order_rectification(fid, on=d(day), within=within,
                                    calendar_days=calendar_days, actor=INSPECTOR)

        at(day, action)

    def report(fid: UUID, day: str, text: str) -> None:
        def action() -> None:
            clock.at(d(day))
            app.submit_report(fid, on=d(day), text=text, actor=UNIT_ACTOR)

        at(day, action)

    def review(fid: UUID, day: str, passed: bool, within: int | None = None,
               note: str | None = None) -> None:
        def action() -> None:
            clock.at(d(day))
            app.review(fid, on=d(day), passed=passed, within=within, note=note,
                       actor=INSPECTOR)

        at(day, action)

    def extend(fid: UUID, day: str, to: str, reason: str) -> None:
        def action() -> None:
            clock.at(d(day))
            app.extend(fid, on=d(day), to=d(to), reason=reason, actor=INSPECTOR)

        at(day, action)

    # 工作滞后: nothing lags retroactively -- the plans were imported on 2024-01-02, and
    # their tasks may lag from the day after the policy's grace (10 working days). Then
    # 汉中 task 1 (due 2023-12-31, unmet) lags for the units the 督导室 holds to account;
    # the party organs among its units are listed as 滞后, with no finding.
    def lagging_after_grace() -> None:
        clock.at(d("2024-01-17"), 9)
        recorded = app.record_lagging(actor="督导室")
        findings.extend(UUID(r["finding_id"]) for r in recorded)
        if echo is not None:
            echo(f"2024-01-17 工作滞后（导入后10个工作日起算）：登记 {len(recorded)} 条："
                 + "、".join(f"{r['task']} {app.get_unit(r['unit']).name}" for r in recorded))
            outside = lagging_outside(app, policy=app.lag_policy)
            if outside:
                echo("  滞后（不在督导室问责范围，提请政府关注，不登记问题）："
                     + "、".join(f"{u['name']}（{u['kind_label']}）{len(u['tasks'])}项"
                                for u in outside))

    at("2024-01-17", lagging_after_grace)
    # 市人社局 catches up.
    lag = keyed_id("finding", lag_key("HZ-2023-1", "SRSJ"))
    report(lag, "2024-01-22", "已配合完成中小学校党组织标准化建设，覆盖率达到100%")
    review(lag, "2024-01-25", True, note="抽查台账，已达标")

    f = record("2024-03-01", "SJYJ", "部分学校食堂食品安全管理台账不全，未落实陪餐制度", "serious")
    order(f, "2024-03-05", 10)
    report(f, "2024-03-15", "已逐校补齐食堂管理台账，落实校领导陪餐制度")
    review(f, "2024-03-20", True, note="抽查5所学校，台账齐全")

    f = record("2024-04-02", "SCZJ", "县中生均公用经费未足额拨付到校", "major", task="XZ-2023-10")
    order(f, "2024-04-08", 15)

    f = record("2024-05-06", "HTQ", "中心城区义务教育学位紧张，大班额未消除", "serious")
    order(f, "2024-05-06", 20)
    report(f, "2024-05-30", "已调整招生计划，新增学位300个")
    review(f, "2024-06-05", False, within=10, note="仍有3所学校存在56人以上大班额")
    report(f, "2024-06-18", "通过阳光分班消除全部大班额")
    review(f, "2024-06-20", True)

    f = record("2024-06-03", "NZQ", "校园安全隐患排查整改不到位，部分围墙存在倒塌风险")
    order(f, "2024-06-03", 10)
    extend(f, "2024-06-12", "2024-07-15", "汛期施工受阻，围墙加固工程需延后")
    report(f, "2024-07-10", "围墙加固工程已完工并通过验收")
    review(f, "2024-07-12", True)

    f = record("2024-09-25", "CGX", "教师全员培训学时未达标，培训台账不全")
    order(f, "2024-09-25", 10)  # DESIGN.md's worked example: deadline 2024-10-14

    f = record("2024-09-02", "YX", "心理健康教育专职教师配备不足", "serious")
    order(f, "2024-09-02", 15)
    report(f, "2024-09-20", "已招聘心理健康教育专职教师4名")

    record("2024-10-10", "SRSJ", "中小学教师职称评聘政策落实滞后")

    f = record("2024-07-01", "SZJJ", "城镇居住区配套教育设施未同步建设", "serious",
               task="HZ-2023-3")
    order(f, "2024-07-01", 30, calendar_days=True)
    report(f, "2024-07-25", "已督促开发企业签订配套学校移交协议")
    review(f, "2024-08-02", True)

    f = record("2024-08-05", "SZRZYJ", "义务教育学校预留用地被挤占改变用途", "major",
               task="HZ-2023-3")
    order(f, "2024-08-05", 10)
    report(f, "2024-08-19", "已发函要求相关单位腾退")
    review(f, "2024-08-23", False, within=10, note="用地尚未腾退")

    f = record("2024-10-21", "JGDQ", "学校网点调整未按法定程序报批", "serious")
    order(f, "2024-10-21", 10)

    f = record("2024-11-04", "SJYJ", "课后服务收费项目不规范", task="HZ-2023-27")
    order(f, "2024-11-04", 5)
    report(f, "2024-11-08", "已清退违规收费并公示收费项目")
    review(f, "2024-11-12", True)

    f = record("2024-11-18", "HTQ", "体育课开课率不足，部分学校挤占体育课时")
    order(f, "2024-11-18", 10)

    current: date | None = None
    for day, _, action in sorted(steps, key=lambda s: (s[0], s[1])):
        if before_day is not None and day != current:
            before_day(day)
        current = day
        action()
    return findings


def import_plans(app: Dudao, clock: SimClock, echo: Callable[[str], None]) -> list[UUID]:
    """Import the sample plans, keep their ledger a little, and record lagging tasks."""
    clock.at(d("2024-01-02"), 9)
    figures = []
    for code, file in PLANS:
        r = app.import_plan((SAMPLE_PLANS / file).read_bytes(), source=file, code=code,
                            actor="督导室")
        figures.append(f"{code} 任务{r['tasks']} 单位{r['units']} 指标{r['indicators']}")
    # 汉中 task 1: coverage 100% was due 2023-12-31; 市教育局 reported 92% on time.
    app.report_progress("HZ-2023-1", indicator=1, value="92", on=d("2023-12-28"),
                        unit="SJYJ", note="全市中小学校标准化党组织覆盖率92%", actor=UNIT_ACTOR)
    # 汉中 task 7 (due 2023-12-31) was signed off on time.
    app.close_task("HZ-2023-7", on=d("2023-12-29"), inspector=INSPECTOR,
                   note="11个县区均达到创建标准", actor=INSPECTOR)
    app.report_progress("XZ-2023-4", indicator=1, value="52", on=d("2024-01-02"),
                        unit="GXSRMZF", actor=UNIT_ACTOR)
    lagging = app.record_lagging(actor="督导室")
    echo("实施方案：" + "；".join(figures) + f"；工作滞后 {len(lagging)} 条")
    return [UUID(r["finding_id"]) for r in lagging]


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(pad(c, w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    lines += ["  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def finding_row(app: Dudao, f: Finding) -> list[str]:
    unit = app.get_unit(f.unit)
    return [
        str(f.id)[:8],
        unit.name,
        SEVERITIES[f.severity],
        STATUSES[f.status],
        str(f.deadline or "—"),
        f.rung_label or "—",
        f.text if display_width(f.text) <= 40 else f.text[:19] + "…",
    ]


HEADER = ["问题", "责任单位", "程度", "状态", "整改期限", "升级", "问题描述"]


def write_reports(app: Dudao, db: str, out: Path, echo: Callable[[str], None]) -> list[Path]:
    """The bulletin and every unit's report, in every format, under ``out/reports``."""
    from adapters.rendering.reports import live
    from adapters.rendering.reports.render import FORMATS, render

    folder = out / "reports"
    (folder / "units").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with live(app, db) as view:
        bulletin = view.bulletin()
        for fmt in FORMATS:
            path = folder / f"bulletin.{fmt}"
            path.write_text(render(bulletin, fmt), encoding="utf-8")
            written.append(path)
        for code, report in view.all_units().items():
            for fmt in FORMATS:
                path = folder / "units" / f"{code}.{fmt}"
                path.write_text(render(report, fmt), encoding="utf-8")
                written.append(path)
    echo(f"\n督导通报：{os.path.relpath(folder / 'bulletin.html')}（另有 .md、.json）")
    echo(f"各单位问责报告：{os.path.relpath(folder / 'units')}/<单位代码>.html|md|json，"
         f"共 {len(written) // len(FORMATS) - 1} 个单位")
    return written


def run_demo(out: Path, echo: Callable[[str], None], holidays: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    clock = SimClock(datetime(2024, 1, 2, 9, tzinfo=SHANGHAI))
    app = Dudao(clock=clock, calendar=load_calendar(holidays), env=store_env(str(db)))
    try:
        lagging = import_plans(app, clock, echo)
        clock.at(d("2024-01-02"))
        for code, name, parent, principal in UNITS:
            if app.find_unit(code) is None:  # the plans registered the others already
                app.add_unit(code, name, parent=parent, principal=principal, actor="管理员")
        sweep = Sweeper(app, engine_for(str(db)))
        month_ends = [date(2024, m + 1, 1) - timedelta(days=1) for m in range(1, 12)]
        month_ends.append(date(2024, 12, 31))
        echo(f"按“{sweep.policy.title}”（{sweep.policy.label()}）每月末扫描一次，升级随时间发生：")

        def sweep_until(day: date) -> None:
            while month_ends and month_ends[0] < day:
                month_end = month_ends.pop(0)
                clock.at(month_end, 20)
                decided = sweep.run()
                echo(f"  {month_end:%Y-%m} 月末扫描：" + ("无新的升级" if not decided else
                                                        f"{len(decided)} 项升级"))
                for e in decided:
                    due = f"，期限 {e.due}" if e.due else ""
                    echo(f"    {app.get_unit(e.unit).name}  {e.name}"
                         f"（自 {e.threshold} 起{due}）  {e.notice}")

        findings = lagging + script(app, clock, sweep_until, echo)
        sweep_until(date(2024, 12, 2))
        findings += api_demo(str(db), clock, echo, holidays)
        sweep_until(date(2025, 1, 1))
        clock.at(d("2024-12-31"), 21)
        echo("")
        echo(f"演示数据：{len(units_by_name(app))} 个责任单位，{len(findings)} 条问题，"
             f"{app.event_count()} 个事件，截至 {clock.moment:%Y-%m-%d %H:%M}")
        echo(f"事件库：{os.path.relpath(db)}\n")
        echo(table([finding_row(app, app.get_finding(f)) for f in findings], HEADER))
        write_reports(app, str(db), out, echo)
        publish_notices(app, db, echo)
        # The audit: the store verifies against its hash chain; its checkpoint is printed.
        report = app.verify()
        echo("")
        echo(f"审计校验：{report.events} 个事件全部封存，未被改动、删除、插入或调换" if report.ok
             else f"审计校验未通过：位置 {report.first_bad} 起事件库被改动")
        echo(f"检查点：{json.dumps(report.head.as_dict())}")
        echo(f"  日后核对：dudao --db {os.path.relpath(db)} audit verify --checkpoint {report.head}")
        demo_accounts(app, db, echo)
    finally:
        app.close()
    return db


def demo_accounts(app: Dudao, db: Path, echo: Callable[[str], None]) -> None:
    """The demo's web accounts (an inspector and a unit), and how to sign in with them."""
    from adapters.infrastructure.users import UserStore

    engine = engine_for(str(db))
    try:
        store = UserStore(engine, app.now)
        for name, display, role, unit, password in DEMO_USERS:
            store.add(name=name, role=role, unit=unit, display=display, password=password,
                      created_by="dudao:demo")
    finally:
        engine.dispose()
    echo(f"\n网页登录：先运行 dudao --db {os.path.relpath(db)} serve，"
         "再用浏览器打开 http://127.0.0.1:8000/")
    for name, display, role, _unit, password in DEMO_USERS:
        who = "督学" if role == "inspector" else "责任单位"
        echo(f"  {who}（{display}）：用户名 {name}，密码 {password}")
    echo("  登录后可以看到：督学的工作台（/desk）里，待复查有汉台区一份附佐证材料（照片和 PDF）的整改报告，"
         "延期申请有一份待审批的申请；责任单位的待办里列出本单位要整改的问题，可在问题页提交整改报告"
         "（附佐证材料）、申请延期。")


def publish_notices(app: Dudao, db: Path, echo: Callable[[str], None]) -> None:
    """Publish the demo's escalation notices to NATS, or say how many are waiting."""
    from adapters.bootstrap import notice_publisher
    from adapters.infrastructure.notice_outbox import NatsUnavailable, publish_all

    publisher = notice_publisher(app, str(db))
    try:
        result = publish_all(publisher)
    except NatsUnavailable:
        echo(f"\nNATS（{publisher.server}）不可达：{publisher.pending()} 条升级通知等待发布，"
             "已保留在事件日志中；NATS 可用后运行\n"
             f"  .venv/bin/dudao --db {os.path.relpath(db)} notices publish")
        return
    finally:
        publisher.engine.dispose()
    again = f"（另 {result.duplicates} 条此前已发布过，由 JetStream 去重）" if result.duplicates else ""
    echo(f"\n升级通知：已发布 {result.published} 条到 NATS（{publisher.server}，"
         f"主题 dudao.notice.<级别>.<单位>）{again}；"
         "接收：.venv/bin/dudao notices follow [--unit 单位代码]")
