"""Two writers changing the same finding at once, in two processes on PostgreSQL:
one succeeds, the other gets a clear conflict error, and no event is lost."""

from __future__ import annotations

import multiprocessing as mp
from datetime import date
from typing import Any

from adapters.bootstrap import load_calendar
from adapters.infrastructure.event_store import store_env
from adapters.service_layer.application import Dudao
from domain.errors import Conflict
from tests.conftest import Clock


def writer(db: str, fid: str, to: str, barrier: Any, results: Any) -> None:
    app = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(db))
    commit = app.commit

    def commit_together(*aggregates: Any) -> None:
        barrier.wait(timeout=120)  # both have loaded and decided; now both save
        commit(*aggregates)

    app.commit = commit_together  # type: ignore[method-assign]
    try:
        app.extend(fid, on=date(2024, 9, 30), to=date.fromisoformat(to), reason=f"延至{to}",
                   actor=f"writer-{to}")
        results.put(("ok", to))
    except Conflict as e:
        results.put(("conflict", str(e)))
    except Exception as e:
        results.put(("error", repr(e)))
    finally:
        app.close()


def test_two_processes_one_wins_one_conflicts(pg_db: str) -> None:
    main = Dudao(clock=Clock(), calendar=load_calendar(None), env=store_env(pg_db))
    main.add_unit("U1", "一中", actor="t")
    fid = main.record_finding(unit="U1", on=date(2024, 9, 20), inspector="督学", text="问题",
                              actor="t")
    main.order_rectification(fid, on=date(2024, 9, 25), within=10, actor="t")
    before = main.event_count()

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=writer, args=(pg_db, str(fid), to, barrier, results))
             for to in ("2024-10-31", "2024-11-15")]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=30)

    kinds = [k for k, _ in outcomes]
    assert kinds == ["conflict", "ok"], outcomes
    assert "并发冲突" in outcomes[0][1] and "conflict" in outcomes[0][1]
    winner = outcomes[1][1]
    assert main.event_count() == before + 1
    finding = main.get_finding(fid)
    assert finding.deadline == date.fromisoformat(winner)
    assert [e["type"] for e in main.history(fid)][-1] == "ExtensionGranted"
    main.close()
