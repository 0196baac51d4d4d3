"""Auditors' services: the trail of a finding, checkpoints on NATS, replay as of a moment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from adapters.infrastructure.event_store import store_env
from adapters.infrastructure.hash_chain import GENESIS, Checkpoint, EventRow, seal, verify_rows
from adapters.service_layer.application import Dudao
from adapters.settings import DEFAULT_NATS, nats_servers
from domain.errors import DudaoError
from domain.rungs import recorded_rung, rung_name
from projections.events import CASE_EVENTS, ESCALATION_RAISED

if TYPE_CHECKING:
    from rules.policy import Policy

# ------------------------------------------------------------------ trail

EVENT_NAMES = {
    "Recorded": "登记问题",
    "RectificationOrdered": "下达整改通知",
    "ReportSubmitted": "提交整改报告",
    "ReviewPassed": "复查通过（销号）",
    "ReviewFailed": "复查未通过",
    "ReportFoundFalse": "复查认定弄虚作假",
    "ExtensionGranted": "批准延期",
    "InterviewHeld": "约谈",
    "EscalationRaised": "升级",
    "ExtensionRequested": "申请延期",
    "ExtensionRequestDecided": "审批延期申请",
}
FIELD_NAMES = {
    "unit": "责任单位", "inspector": "督学", "severity": "严重程度", "task": "任务",
    "inspection_id": "检查", "text": "内容", "within": "期限天数", "calendar_days": "按自然日",
    "deadline": "整改期限", "note": "复查意见", "to": "延期至", "reason": "理由",
    "interviewee": "被约谈人", "minutes": "约谈纪要", "threshold": "触发日期",
    "due": "新期限", "decided_at": "决定时间", "files": "佐证材料", "granted": "是否批准",
    "request_id": "延期申请编号", "previous": "原期限",
}
# Shown in the heading lines of an event, not among its details.
HEADING = {"type", "version", "position", "name", "actor", "business_date", "recorded_at", "on",
           "code", "rung", "rule", "policy", "policy_version", "facts", "decided_at",
           "mode", "sets_deadline", "per_deadline", "rung_name"}


def manual_reason(e: dict[str, Any]) -> str | None:
    """The reason an inspector gave for raising an escalation by hand (it is one of the
    facts the event records), or None for an escalation the rules decided."""
    if not str(e.get("rule", "")).endswith(".manual"):
        return None
    facts = e.get("facts") or {}
    return facts.get("reason") if isinstance(facts, dict) else None


def business_date(e: dict[str, Any]) -> date | None:
    """The date the event happened in the world (for escalations: the threshold crossed)."""
    value = e.get("on") or e.get("threshold")
    return value if isinstance(value, date) else None


def trail(app: Dudao, finding_id: str) -> dict[str, Any]:
    """Every event of a finding, in order, with position, actor and both times."""
    finding = app.get_finding(finding_id)
    positions = app.positions_of(finding.id)
    events = []
    for e in app.history(finding.id):
        name = EVENT_NAMES.get(e["type"], e["type"])
        extra: dict[str, Any] = {}
        if e["type"] == "EscalationRaised":
            rung = recorded_rung(e)
            name = f"升级：{rung['name']}"
            extra = {"rung_name": rung["name"], "mode": rung["mode"],
                     "reason": manual_reason(e)}
        events.append({
            "position": positions.get(e["version"]),
            "version": e["version"],
            "type": e["type"],
            "name": name,
            "actor": e.get("actor"),
            "business_date": business_date(e),
            "recorded_at": e.get("recorded_at"),
            **{k: v for k, v in e.items() if k not in ("type", "version", "name")},
            **extra,
        })
    unit = app.find_unit(finding.unit)
    return {
        "finding_id": str(finding.id),
        "unit": finding.unit,
        "unit_name": unit.name if unit else None,
        "text": finding.text,
        "status": finding.status,
        "events": events,
    }


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, dict):
        return "，".join(f"{k}={_value(x)}" for k, x in v.items()) or "—"
    if isinstance(v, (list, tuple)):
        return "、".join(_value(x) for x in v) or "—"
    return str(v)


def trail_text(data: dict[str, Any]) -> str:
    """The trail for people: a heading, then a block per event."""
    unit = f"{data['unit_name']}（{data['unit']}）" if data.get("unit_name") else data["unit"]
    lines = [f"问题 {data['finding_id']}  {unit}  {data['text']}",
             f"共 {len(data['events'])} 个事件，按发生顺序："]
    for e in data["events"]:
        when = e["business_date"] or "—"
        lines.append(f"#{e['version']}  位置 {e['position']}  业务日期 {when}  {e['name']}")
        stamp = f"    操作人 {e['actor']}；记录于 {_value(e['recorded_at'])}"
        if e["type"] == "EscalationRaised":
            stamp += f"；决定于 {_value(e.get('decided_at'))}"
            lines.append(stamp)
            mode = e.get("mode")
            lines.append(f"    规则 {e.get('rule')}；策略 {e.get('policy')} 第{e.get('policy_version')}版；"
                         f"级别 {e.get('code')}（第{e.get('rung')}级，方式 {mode}）")
            lines.append(f"    依据事实：{_value(e.get('facts') or {})}")
        else:
            lines.append(stamp)
        details = [f"{FIELD_NAMES.get(k, k)} {_value(v)}" for k, v in e.items()
                   if k not in HEADING and v is not None]
        if details:
            lines.append("    " + "；".join(details))
    return "\n".join(lines)


# ------------------------------------------------------------- checkpoints

SUBJECT = "dudao.audit.checkpoint"
STREAM = "DUDAO_AUDIT"


class NotPublished(DudaoError):
    """The checkpoint could not be published to NATS."""


def publish_checkpoint(checkpoint: Checkpoint, taken_at: datetime, url: str | None = None,
                       timeout: float = 3.0, replicas: int = 1) -> str:
    """Publish to ``dudao.audit.checkpoint``; returns how it was kept.

    On JetStream (stream DUDAO_AUDIT, created if missing, message id
    ``position:hash`` so a repeat is dropped) the checkpoint is stored by the
    server (``replicas`` copies on a cluster, ``DUDAO_NATS_REPLICAS``); without JetStream
    it reaches only the subscribers listening now. ``url`` may name several
    comma-separated servers (a cluster). Raises NotPublished when NATS cannot be reached.
    """
    url = url or DEFAULT_NATS
    payload = json.dumps({**checkpoint.as_dict(), "taken_at": taken_at.isoformat()},
                         ensure_ascii=False).encode()
    try:
        return asyncio.run(asyncio.wait_for(_publish(url, payload, str(checkpoint), timeout,
                                                     replicas),
                                            4 * timeout))
    except DudaoError:
        raise
    except Exception as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise NotPublished(
            f"无法连接 NATS（{url}）：{type(e).__name__} {text}".strip(),
            f"NATS at {url} is unreachable: {type(e).__name__}",
            field="DUDAO_NATS",
        ) from e


async def _publish(url: str, payload: bytes, msg_id: str, timeout: float,
                   replicas: int = 1) -> str:
    import nats
    from nats.js.errors import NotFoundError

    async def quiet(_: Exception) -> None:
        return None

    # nats-py keeps retrying an unreachable server inside connect(): bound it.
    nc = await asyncio.wait_for(
        nats.connect(list(nats_servers(url, "DUDAO_NATS")), connect_timeout=timeout, allow_reconnect=False,
                     max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=quiet),
        timeout)
    try:
        js = nc.jetstream(timeout=timeout)
        try:
            try:
                await js.stream_info(STREAM)
            except NotFoundError:
                await js.add_stream(name=STREAM, subjects=[SUBJECT], num_replicas=replicas)
            ack = await js.publish(SUBJECT, payload, headers={"Nats-Msg-Id": msg_id})
            return f"已发布到 NATS {SUBJECT}（JetStream 流 {ack.stream}，序号 {ack.seq}）"
        except Exception as e:  # JetStream cannot keep it (none here): publish plainly
            await nc.publish(SUBJECT, payload)
            await nc.flush(int(max(1, timeout)))
            return (f"已发布到 NATS {SUBJECT}，但 JetStream 未能保存（{type(e).__name__}），"
                    "只有正在订阅者收到")
    finally:
        await nc.close()


# ------------------------------------------------------------------ replay

BATCH = 5000
Progress = Callable[[str, int, int], None]  # phase, done, total


def _recorded_at(app: Dudao, row: EventRow) -> datetime | None:
    event = app.decode(Notification(id=row[0], originator_id=UUID(row[1]),
                                    originator_version=row[2], topic=row[3], state=row[4]))
    moment = getattr(event, "recorded_at", None)
    return moment if isinstance(moment, datetime) else None


def replay(app: Dudao, as_of: datetime, out: Path, *, progress: Progress | None = None,
           write_reports: Callable[[Dudao, str, Path], list[str]] | None = None
           ) -> dict[str, Any]:
    """Rebuild the read models, the reports and the bulletin from the events recorded up to ``as_of``.

    The events recorded at or before ``as_of`` are copied, bytes and positions
    unchanged, into a scratch SQLite store ``out/replay.db`` (sealed there in a
    chain of its own), and the read models are built there from nothing: the
    live read models are never touched. An event recorded by ``as_of`` whose
    aggregate has an earlier event recorded after it is held back too, so
    every aggregate is replayed as a prefix of its history.

    The live log is verified in the same pass; the manifest (also written to
    ``out/replay.json``) records the result and the live chain head read.
    """
    from adapters.infrastructure.read_models import read_models
    from domain.time import fixed_clock
    from projections.findings import list_findings

    out.mkdir(parents=True, exist_ok=True)
    db = out / "replay.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    scratch = Dudao(clock=fixed_clock(as_of), calendar=app.calendar, env=store_env(str(db)))
    scratch.ladder_source = lambda: app.ladder  # the reports' columns: the policy's rungs
    try:
        total = app.last_position()
        recorder: Any = app.recorder
        target: Any = scratch.recorder
        counts = {"copied": 0, "held": 0, "last": 0}
        previous = [GENESIS]
        cut: set[str] = set()
        page: list[EventRow] = []

        def flush() -> None:
            if page:
                seals = seal(previous[0], page)
                target.copy_rows(page, seals)
                previous[0] = seals[-1][2]
                counts["copied"] += len(page)
                counts["last"] = page[-1][0]
                page.clear()

        def tap(rows: Iterator[EventRow]) -> Iterator[EventRow]:
            for seen, row in enumerate(rows, 1):
                moment = _recorded_at(app, row)
                if row[1] in cut or (moment is not None and moment > as_of):
                    if row[1] not in cut:
                        cut.add(row[1])
                    elif moment is not None and moment <= as_of:
                        counts["held"] += 1
                else:
                    page.append((row[0], row[1], row[2], row[3], bytes(row[4])))
                    if len(page) >= BATCH:
                        flush()
                if progress and seen % BATCH == 0:
                    progress("copy", row[0], total)
                yield row
            flush()

        with recorder.snapshot() as snap:
            live = verify_rows(tap(recorder.read_events(snap)), recorder.read_chain(snap))
        if progress:
            progress("copy", total, total)
        runner = read_models(scratch, str(db))
        runner.catch_up(progress=(lambda done, end: progress("build", done, end))
                        if progress else None)
        with runner.engine.connect() as conn:
            findings = list_findings(conn)
        runner.engine.dispose()
        files = ["findings.json"]
        (out / "findings.json").write_text(
            json.dumps(findings, ensure_ascii=False, indent=2, default=_json_default),
            encoding="utf-8")
        files += (write_reports or replay_reports)(scratch, str(db), out)
        manifest = {
            "as_of": as_of.isoformat(),
            "events": counts["copied"],
            "position": counts["last"],
            "held_back": counts["held"],
            "events_in_store": live.events,
            "live_head": live.head.as_dict(),
            "live_verified": live.ok,
            "live_first_bad_position": live.first_bad,
            "scratch_head": scratch.chain_head().as_dict(),
            "store": db.name,
            "files": files,
        }
        (out / "replay.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                         encoding="utf-8")
        return manifest
    finally:
        scratch.close()


def replay_reports(scratch: Dudao, db: str, out: Path) -> list[str]:
    """The bulletin and every unit's report, in every format, from the scratch read models."""
    from adapters.rendering.reports import live
    from adapters.rendering.reports.render import FORMATS, render

    folder = out / "reports"
    (folder / "units").mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with live(scratch, db) as view:  # the scratch clock stands at the replay's moment
        bulletin = view.bulletin()
        for fmt in FORMATS:
            (folder / f"bulletin.{fmt}").write_text(render(bulletin, fmt), encoding="utf-8")
            written.append(f"reports/bulletin.{fmt}")
        for code, report in view.all_units().items():
            for fmt in FORMATS:
                (folder / "units" / f"{code}.{fmt}").write_text(render(report, fmt),
                                                                encoding="utf-8")
                written.append(f"reports/units/{code}.{fmt}")
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------- rules re-run


class _SettableClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _escalation_key(finding_id: str, code: str, deadline: Any,
                    per_deadline: bool) -> tuple[str, str, str]:
    # a repeating rung (预警) fires once per deadline; every other rung once per finding
    return (finding_id, code, str(deadline) if per_deadline else "")


def is_manual(event: Any) -> bool:
    """An escalation an inspector raised by hand (``dudao escalate raise``), not the rules."""
    return manual_reason(event.__dict__) is not None


def rerun_rules(app: Dudao, policy_name: Policy | str | None = None, *,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Re-decide the whole history with a policy and list the differences from what was recorded.

    The log is copied, in order and without the escalations the rules decided (nor the
    accountability cases they opened), into a scratch store, and the policy's sweep (the
    same ladder, the same ruleset as ``dudao escalate``) is run there at each moment a
    recorded sweep decided something (``decided_at``), recording its own decisions so
    that later rungs count from them, as they would have. What people decided stays as
    it was: extensions, reviews (弄虚作假 included), interviews and the escalations
    inspectors raised by hand are copied, and every rung counts from them under the
    policy's own semantics. Nothing is written to the live store. Under the policy
    version that recorded the escalations
    the differences are empty; under another one they are the what-if.
    """
    import tempfile

    from eventsourcing.persistence import StoredEvent

    from adapters.infrastructure.event_store import engine_for
    from adapters.service_layer.sweep import Sweeper
    from rules.policy import Policy, load_policy

    policy = policy_name if isinstance(policy_name, Policy) else load_policy(policy_name)
    recorded: list[Any] = []
    manual = 0
    decided: list[Any] = []
    sweeps: list[datetime] = []
    sweeps_by_decision: dict[int, datetime] = {}
    total = app.last_position()
    with tempfile.TemporaryDirectory(prefix="dudao-rules-") as tmp:
        db = str(Path(tmp) / "rules.db")
        clock = _SettableClock(app.now())
        scratch = Dudao(clock=clock, calendar=app.calendar, env=store_env(db))
        engine = engine_for(db)
        try:
            sweeper = Sweeper(scratch, engine, policy)
            target: Any = scratch.recorder
            versions: dict[str, int] = {}
            page: list[Any] = []

            def flush() -> None:
                if page:
                    target.insert_events(page)
                    page.clear()

            recorder: Any = app.recorder
            with recorder.snapshot() as snap:
                for n, row in enumerate(recorder.read_events(snap), 1):
                    event = app.decode(Notification(
                        id=row[0], originator_id=UUID(row[1]), originator_version=row[2],
                        topic=row[3], state=row[4]))
                    if type(event) in CASE_EVENTS:
                        continue  # the scratch sweep opens the cases its escalations propose
                    if type(event) is ESCALATION_RAISED and is_manual(event):
                        manual += 1  # an inspector's decision: copied as it was
                    elif type(event) is ESCALATION_RAISED:
                        recorded.append(event)
                        if not sweeps or sweeps[-1] != event.decided_at:
                            flush()
                            sweeps.append(event.decided_at)
                            clock.moment = event.decided_at
                            for d in sweeper.run(event.decided_at):
                                decided.append(d)
                                sweeps_by_decision[id(d)] = event.decided_at
                                versions[UUID(d.finding_id).hex] = versions.get(
                                    UUID(d.finding_id).hex, 0) + 1
                        continue
                    # re-stamped versions: the aggregate's own escalations here differ
                    version = versions.get(row[1], 0) + 1
                    versions[row[1]] = version
                    page.append(StoredEvent(originator_id=UUID(row[1]),
                                            originator_version=version, topic=row[3],
                                            state=bytes(row[4])))
                    if len(page) >= BATCH:
                        flush()
                    if progress and n % BATCH == 0:
                        progress(row[0], total)
            flush()
            if progress:
                progress(total, total)
        finally:
            scratch.close()
            engine.dispose()

    def of_recorded(e: Any) -> dict[str, Any]:
        return {"rule": e.rule, "policy": e.policy, "policy_version": e.policy_version,
                "threshold": e.threshold, "due": e.due, "deadline": e.deadline,
                "decided_at": e.decided_at}

    def of_decided(d: Any) -> dict[str, Any]:
        return {"rule": d.rule, "policy": d.policy, "policy_version": d.policy_version,
                "threshold": d.threshold, "due": d.due, "deadline": d.deadline,
                "decided_at": sweeps_by_decision.get(id(d))}

    def order_of(code: str, rung: int) -> int:
        return policy.index(code) if code in policy.rungs else rung

    before = {_escalation_key(str(e.originator_id), e.code, e.deadline,
                              recorded_rung(e.__dict__)["per_deadline"]): e for e in recorded}
    after = {_escalation_key(d.finding_id, d.code, d.deadline,
                             policy.rungs[d.code].per_deadline): d for d in decided}
    orders = {k[1]: order_of(k[1], e.rung) for k, e in before.items()}
    orders.update({k[1]: d.rung for k, d in after.items()})
    names = {k[1]: recorded_rung(e.__dict__)["name"] for k, e in before.items()}
    names.update({k[1]: d.name for k, d in after.items()})
    compared = ("rule", "threshold", "due")
    units: dict[str, str] = {d.finding_id: d.unit for d in decided}
    differences = []
    for key in sorted(set(before) | set(after), key=lambda k: (k[0], k[2], orders[k[1]], k[1])):
        finding_id, code, _ = key
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            a, b = of_recorded(old), of_decided(new)
            changed = [f for f in compared if a[f] != b[f]]
            if not changed:
                continue
            kind = "changed"
        else:
            changed = []
            kind = "only_recorded" if new is None else "only_decided"
        if finding_id not in units:
            found = app.find_finding(UUID(finding_id))
            units[finding_id] = found.unit if found else ""
        differences.append({
            "finding_id": finding_id, "unit": units[finding_id], "code": code,
            "name": names.get(code) or rung_name(code), "kind": kind, "fields": changed,
            "recorded": of_recorded(old) if old is not None else None,
            "decided": of_decided(new) if new is not None else None,
        })
    return {
        "policy": policy.policy,
        "policy_version": policy.version,
        "recorded_with": sorted({f"{e.policy} v{e.policy_version}" for e in recorded}),
        "sweeps": len(sweeps),
        "recorded": len(recorded),
        "manual": manual,
        "decided": len(decided),
        "differences": differences,
    }
