"""Steps of features/主要负责人.feature: persons of a unit, its principal at a date, and
the notices naming them. They drive ``dudao`` as an operator would (the ``world`` of
tests/bdd/steps/findings.py); the notices are the ones the publisher would send (built from the
event log by ``NoticePublisher.collect``, no NATS needed to read them)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from pytest_bdd import given, parsers, then, when

from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run

FEATURES = Path(__file__).resolve().parents[3] / "features"
DAY = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}})"
RUNGS = {"预警": "reminder", "督办": "supervise", "约谈": "interview", "通报": "public_notice",
         "问责": "accountability"}


def _d(name: str) -> str:
    return DAY.format(name)


def _persons(world: Any) -> dict[str, str]:
    """name -> person id, kept on the world of the scenario."""
    if not hasattr(world, "persons"):
        world.persons = {}
    return world.persons  # type: ignore[no-any-return]


def _try(world: Any, now: str, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--db", str(world.db), "--now", now, "--json", "--actor", "特性测试", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run(cli, argv)
    return status, err.getvalue().strip()


def notices(world: Any) -> list[dict[str, Any]]:
    """Every notice the publisher would send, in the order of the log."""
    from adapters.bootstrap import bootstrap, notice_publisher
    from adapters.settings import Settings

    settings = Settings(db=str(world.db), policy_folders=(FEATURES / "策略示例",))
    app = bootstrap(settings)
    try:
        publisher = notice_publisher(app, str(world.db), "nats://127.0.0.1:1", settings)
        try:
            found: list[dict[str, Any]] = []
            start = 1
            while True:
                last, page = publisher.collect(start)
                found += [n.payload for n in page]
                if last < start:
                    return found
                start = last + 1
        finally:
            publisher.engine.dispose()
    finally:
        app.close()


def notice_of(world: Any, rung: str) -> dict[str, Any]:
    mine = [n for n in notices(world)
            if n["code"] == RUNGS[rung] and n["finding"] == world.finding]
    assert len(mine) == 1, mine
    return mine[0]


@given(parsers.re(r"责任单位“(?P<name>[^”]+)”已登记，登记的主要负责人是“(?P<principal>[^”]+)”"))
def unit_with_principal(world: Any, name: str, principal: str) -> None:
    code = f"U{len(world.units) + 1}"
    world.units[name] = code
    world.cli("2024-01-02T09:00", "unit", "add", code, "--name", name, "--principal", principal)


ADD = (_d("on") + r"登记“(?P<name>[^”]+)”为“(?P<unit>[^”]+)”的主要负责人（(?P<post>[^）]+)）"
       r"，自" + _d("start") + r"起任职")


def _add_args(world: Any, name: str, unit: str, post: str, start: str) -> list[str]:
    return ["person", "add", "--unit", world.units[unit], "--name", name, "--post", post,
            "--principal", "--from", start]


@given(parsers.re(ADD))
@when(parsers.re(ADD))
def principal_added(world: Any, on: str, name: str, unit: str, post: str, start: str) -> None:
    out = world.cli(f"{on}T09:00", *_add_args(world, name, unit, post, start))
    _persons(world)[name] = out["person_id"]


@when(parsers.re(_d("on") + r"试图" + ADD[len(_d("on")):]))
def principal_attempted(world: Any, on: str, name: str, unit: str, post: str,
                        start: str) -> None:
    before = _events(world)
    world.attempt = _try(world, f"{on}T09:00", *_add_args(world, name, unit, post, start))
    world.attempt_recorded = _events(world) - before


def _events(world: Any) -> int:
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings

    app = bootstrap(Settings(db=str(world.db)))
    try:
        return app.event_count()
    finally:
        app.close()


@then(parsers.re(r"登记被拒绝：(?P<reason>.+)"))
def refused(world: Any, reason: str) -> None:
    status, err = world.attempt
    assert status != 0, "登记没有被拒绝"
    assert world.attempt_recorded == 0  # a refusal records nothing
    for part in reason.replace("“", "\n").replace("”", "\n").split("\n"):
        part = part.strip()
        if part and part not in ("“", "”"):
            assert part in err, (part, err)


@when(parsers.re(_d("on") + r"办理“(?P<name>[^”]+)”离任，最后任职日为" + _d("last")))
def person_ended(world: Any, on: str, name: str, last: str) -> None:
    world.cli(f"{on}T09:00", "person", "end", _persons(world)[name], "--on", last)


@then(parsers.re(r"(?P<rung>预警|督办|约谈|通报|问责)通知点名的主要负责人是“(?P<name>[^”]+)”"))
def notice_names(world: Any, rung: str, name: str) -> None:
    assert notice_of(world, rung)["principal"] == name


@then(parsers.re(r"(?P<rung>预警|督办|约谈|通报|问责)通知写明“(?P<text>[^”]+)”"))
def notice_says(world: Any, rung: str, text: str) -> None:
    notice = notice_of(world, rung)["notice"]
    assert text in notice, notice


@then(parsers.re(r"“(?P<unit>[^”]+)”" + _d("day") + r"的主要负责人是“(?P<name>[^”]+)”"))
def principal_on(world: Any, unit: str, day: str, name: str) -> None:
    # the unit report at that day names the principal in post then
    report = world.cli(f"{day}T18:00", "report", "unit", world.units[unit], "--format", "json")
    assert report["principal"] == name, report["principal"]
