"""``dudao user add|passwd|disable|list`` in process on SQLite and PostgreSQL: the password
comes from standard input (or the prompt, twice), never appears in the output or in the
database in clear, and every refusal is one line on stderr that changes nothing."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from adapters.infrastructure.event_store import engine_for
from adapters.infrastructure.users import UserStore, signin_sessions, users
from domain.accounts import FREE_FAILURES
from tests.conftest import PG_URL, Cli, Clock

PASSWORD = "correct-horse-42"
NEW = "battery-staple-43"


def typed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def stored_text(db: str) -> str:
    """Everything the accounts' tables hold, as text (and a SQLite file's raw bytes)."""
    engine = engine_for(db)
    try:
        with engine.connect() as conn:
            rows = [*conn.execute(select(users)).all(), *conn.execute(select(signin_sessions))]
    finally:
        engine.dispose()
    text = repr(rows)
    if not db.startswith("postgresql"):
        text += Path(db).read_bytes().decode("latin-1")
    else:
        schema = db.split("schema=")[1]
        with psycopg.connect(PG_URL) as conn:
            text += repr(conn.execute(f'SELECT * FROM "{schema}".users').fetchall())
    return text


def refused(cli: Cli, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "",
            says: str) -> None:
    typed(monkeypatch, stdin)
    before = cli.json("user", "list")
    code, out, err = cli(*args)
    assert code != 0 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert cli.json("user", "list") == before


def test_add_passwd_disable_list(db: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(db, capsys)
    cli.json("unit", "add", "HTQ", "--name", "汉台区人民政府")
    events = cli.events()
    typed(monkeypatch, PASSWORD + "\n")
    code, out, err = cli("user", "add", "zhangsan", "--role", "inspector", "--display", "张督学",
                         "--password-stdin")
    assert code == 0, err
    assert out.strip() == "已开设账号 zhangsan（张督学，督学）"
    typed(monkeypatch, PASSWORD + "\r\n")
    added = cli.json("user", "add", "hantai", "--role", "unit", "--unit", "HTQ",
                     "--password-stdin")
    assert added["unit"] == "HTQ" and added["display"] == "hantai"
    assert cli.events() == events  # accounts are not events
    listed = cli.json("user", "list")["users"]
    assert [(u["name"], u["role"], u["unit"], u["disabled_at"]) for u in listed] == [
        ("hantai", "unit", "HTQ", None), ("zhangsan", "inspector", None, None)]
    assert all(set(u) == {"name", "display", "role", "unit", "created_at", "created_by",
                          "password_changed_at", "disabled_at"} for u in listed)
    code, human, _ = cli("user", "list")
    assert code == 0 and "zhangsan  张督学  督学" in human and "汉台区人民政府" not in human
    # the prompt: typed twice
    monkeypatch.setattr("click.termui.visible_prompt_func", lambda _: "")
    answers = iter([NEW, NEW])
    monkeypatch.setattr("click.termui.hidden_prompt_func", lambda _: next(answers))
    code, out, err = cli("user", "passwd", "zhangsan")
    assert code == 0, err
    assert "已更新 zhangsan 的密码" in out
    clock = Clock()
    engine = engine_for(db)
    try:
        store = UserStore(engine, clock)
        assert store.sign_in("zhangsan", NEW, "10.0.0.1").session is not None
        assert store.sign_in("zhangsan", PASSWORD, "10.0.0.1").session is None
        assert store.sign_in("hantai", PASSWORD, "10.0.0.1").session is not None
        code, out, err = cli("user", "disable", "hantai")
        assert code == 0 and "已停用账号 hantai" in out, err
        assert store.sign_in("hantai", PASSWORD, "10.0.0.1").session is None
    finally:
        engine.dispose()
    assert cli.json("user", "list")["users"][0]["disabled_at"] is not None
    # never the password, in clear, in any output or in the database
    everything = out + human + err + repr(listed) + stored_text(db)
    assert PASSWORD not in everything and NEW not in everything
    assert "$argon2id$" in stored_text(db)
    assert "$argon2id$" not in human + repr(listed)


def test_refusals_name_the_field_and_change_nothing(
        db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(db, capsys)
    cli.json("unit", "add", "HTQ", "--name", "汉台区人民政府")
    typed(monkeypatch, PASSWORD + "\n")
    cli.json("user", "add", "zhangsan", "--role", "inspector", "--password-stdin")
    refused(cli, monkeypatch, "user", "add", "Zhang", "--role", "inspector", "--password-stdin",
            stdin=PASSWORD, says="NAME: 用户名应为3到32个字符")
    refused(cli, monkeypatch, "user", "add", "dudao", "--role", "inspector", "--password-stdin",
            stdin=PASSWORD, says="系统保留")
    refused(cli, monkeypatch, "user", "add", "lisi", "--role", "inspector", "--password-stdin",
            stdin="short\n", says="密码太短（5个字符，至少10个）")
    refused(cli, monkeypatch, "user", "add", "lisi", "--role", "unit", "--password-stdin",
            stdin=PASSWORD, says="--unit")
    refused(cli, monkeypatch, "user", "add", "lisi", "--role", "unit", "--unit", "NOPE",
            "--password-stdin", stdin=PASSWORD, says="--unit: 单位 NOPE 不存在")
    refused(cli, monkeypatch, "user", "add", "lisi", "--role", "chief", "--password-stdin",
            stdin=PASSWORD, says="--role")
    refused(cli, monkeypatch, "user", "add", "zhangsan", "--role", "inspector",
            "--password-stdin", stdin=PASSWORD, says="用户 zhangsan 已存在")
    refused(cli, monkeypatch, "user", "passwd", "nobody", "--password-stdin", stdin=NEW,
            says="用户 nobody 不存在")
    refused(cli, monkeypatch, "user", "passwd", "zhangsan", "--password-stdin",
            stdin="zhangsan\n", says="密码太短")
    refused(cli, monkeypatch, "user", "add", "lisi", "--role", "inspector", "--password",
            PASSWORD, says="--password: 未知选项")  # never on the command line
    monkeypatch.setattr("click.termui.visible_prompt_func", lambda _: "")
    answers = iter([NEW, NEW + "x"])
    monkeypatch.setattr("click.termui.hidden_prompt_func", lambda _: next(answers))
    refused(cli, monkeypatch, "user", "passwd", "zhangsan", says="两次输入的密码不一致")
    typed(monkeypatch, "")
    code, _, _ = cli("user", "disable", "zhangsan")
    assert code == 0
    refused(cli, monkeypatch, "user", "disable", "zhangsan", says="已于")


def test_sign_in_limits_hold_across_stores_and_take_similar_time(db: str) -> None:
    """Two stores on one database (two processes serving it) share the failure counts; a
    wrong name costs a hash like a wrong password does."""
    clock = Clock()
    engines = [engine_for(db), engine_for(db)]
    try:
        one, two = (UserStore(e, clock) for e in engines)
        one.add(name="zhangsan", role="inspector", unit=None, display=None, password=PASSWORD,
                created_by="t")
        for i in range(FREE_FAILURES["user"]):
            (one if i % 2 else two).sign_in("zhangsan", "wrong-password", f"10.0.0.{i}")
        held = two.sign_in("zhangsan", PASSWORD, "10.0.1.1")
        assert held.session is None and held.wait is not None
        assert held.refusal == "登录失败次数过多，请 30 秒后再试。"

        def took(name: str, password: str, address: str) -> float:
            start = time.perf_counter()
            assert one.sign_in(name, password, address).session is None
            return time.perf_counter() - start

        unknown = min(took(f"nobody{i}", PASSWORD, f"10.0.2.{i}") for i in range(3))
        one.add(name="wangwu", role="inspector", unit=None, display=None, password=PASSWORD,
                created_by="t")
        wrong = min(took("wangwu", "wrong-password", f"10.0.4.{i}") for i in range(3))
        assert unknown > 0.4 * wrong and wrong > 0.4 * unknown, (unknown, wrong)
    finally:
        for e in engines:
            e.dispose()


def test_a_login_rehashes_with_changed_parameters(sqlite_db: str) -> None:
    from argon2 import PasswordHasher

    from adapters.infrastructure.passwords import Passwords

    engine = engine_for(sqlite_db)
    try:
        weak = UserStore(engine, Clock(), Passwords(PasswordHasher(time_cost=1, memory_cost=8192,
                                                                   parallelism=1)))
        weak.add(name="zhangsan", role="inspector", unit=None, display=None, password=PASSWORD,
                 created_by="t")

        def stored() -> Any:
            with engine.connect() as conn:
                return conn.execute(select(users.c.password_hash)).scalar_one()

        assert "m=8192,t=1,p=1" in stored()
        current = UserStore(engine, Clock())
        assert current.sign_in("zhangsan", PASSWORD, "10.0.0.1").session is not None
        assert stored().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert current.sign_in("zhangsan", PASSWORD, "10.0.0.1").session is not None
    finally:
        engine.dispose()
