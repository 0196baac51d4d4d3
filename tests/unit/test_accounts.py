"""The rules of accounts (domain/accounts.py) and the password hashing
(adapters/infrastructure/passwords.py): names, passwords, Argon2id and its rehash, session
lifetimes and the sign-in wait, on a fake clock (plain datetimes)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher, Type

from adapters.infrastructure.passwords import PARAMETERS, Passwords
from domain.accounts import (
    FREE_FAILURES,
    MAX_WAIT,
    PASSWORD_MIN,
    SESSION_ABSOLUTE,
    SESSION_IDLE,
    blocked_for,
    check_display,
    check_password,
    check_user_name,
    counted,
    session_alive,
    wait_after,
    wait_text,
)
from domain.errors import InvalidInput
from domain.time import SHANGHAI

T0 = datetime(2024, 10, 14, 9, tzinfo=SHANGHAI)


@pytest.mark.parametrize("name", ["zhangsan", "li.si", "wang_5", "abc", "a" * 32, " zhao "])
def test_user_names_accepted(name: str) -> None:
    assert check_user_name(name) == name.strip()


@pytest.mark.parametrize("name", ["", "ab", "a" * 33, "Zhangsan", "1abc", "张三", "zhang san",
                                  "user:x", "dudao", "token", "root"])
def test_user_names_refused_name_the_field(name: str) -> None:
    with pytest.raises(InvalidInput) as e:
        check_user_name(name)
    assert e.value.field == "user"


def test_display_defaults_to_the_user_name_and_is_checked() -> None:
    assert check_display(None, "zhangsan") == "zhangsan"
    assert check_display(" 张督学 ", "zhangsan") == "张督学"
    with pytest.raises(InvalidInput):
        check_display("x" * 51, "zhangsan")
    with pytest.raises(InvalidInput):
        check_display("a\x00b", "zhangsan")


@pytest.mark.parametrize("password, says", [
    ("x" * (PASSWORD_MIN - 1), "至少10个"), ("x" * 257, "最多256个"),
    ("zhangsan12", None), ("line\nbreak-pw", "控制字符"), ("ZHANGSAN  ", "用户名相同")])
def test_passwords_refused(password: str, says: str | None) -> None:
    if says is None:
        assert check_password(password, "zhangsan") == password
        return
    with pytest.raises(InvalidInput) as e:
        check_password(password, "zhangsan")
    assert e.value.field == "password" and says in e.value.zh


def test_password_equal_to_the_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="用户名相同"):
        check_password("zhangsan.x", "zhangsan.x")


def test_argon2id_with_the_stated_parameters() -> None:
    p = Passwords()
    stored = p.hash("correct-horse-42")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct-horse-42" not in stored
    assert p.verify(stored, "correct-horse-42")
    assert not p.verify(stored, "correct-horse-43")
    assert not p.verify(None, "correct-horse-42")  # unknown user: the dummy, never a match
    assert not p.verify("not a hash", "x")
    assert not p.needs_rehash(stored)
    assert PARAMETERS["type"] is Type.ID


def test_a_hash_made_with_other_parameters_needs_a_rehash() -> None:
    weaker = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    old = weaker.hash("correct-horse-42")
    current = Passwords()
    assert current.verify(old, "correct-horse-42")  # still signs in …
    assert current.needs_rehash(old)  # … and is stored again with ours
    assert not current.needs_rehash(current.hash("correct-horse-42"))
    assert current.needs_rehash("garbage")


def test_session_lifetimes() -> None:
    assert session_alive(T0, T0, T0 + SESSION_IDLE - timedelta(seconds=1))
    assert not session_alive(T0, T0, T0 + SESSION_IDLE)
    late = T0 + SESSION_ABSOLUTE - timedelta(minutes=5)
    assert session_alive(T0, late, late + timedelta(minutes=4))
    assert not session_alive(T0, late, T0 + SESSION_ABSOLUTE)


def test_the_wait_grows_after_the_free_failures() -> None:
    free = FREE_FAILURES["user"]
    assert [wait_after(n, "user") for n in range(free)] == [timedelta(0)] * free
    assert [wait_after(free + k, "user").total_seconds() for k in range(6)] == [
        30, 60, 120, 240, 480, 900]
    assert wait_after(free + 50, "user") == MAX_WAIT
    assert wait_after(FREE_FAILURES["address"] - 1, "address") == timedelta(0)
    assert wait_after(FREE_FAILURES["address"], "address") == timedelta(seconds=30)


def test_blocked_for_on_a_fake_clock() -> None:
    free = FREE_FAILURES["user"]
    assert blocked_for(free - 1, T0, T0, "user") == timedelta(0)
    assert blocked_for(free, T0, T0, "user") == timedelta(seconds=30)
    assert blocked_for(free, T0, T0 + timedelta(seconds=20), "user") == timedelta(seconds=10)
    assert blocked_for(free, T0, T0 + timedelta(seconds=30), "user") == timedelta(0)
    assert blocked_for(free + 1, T0, T0 + timedelta(seconds=30), "user") == timedelta(seconds=30)
    assert blocked_for(3, None, T0, "user") == timedelta(0)
    # a day after the last failure the count is forgotten
    assert counted(40, T0, T0 + timedelta(hours=23)) == 40
    assert counted(40, T0, T0 + timedelta(hours=24)) == 0


def test_wait_text() -> None:
    assert wait_text(timedelta(seconds=30)) == "30 秒"
    assert wait_text(timedelta(seconds=0.2)) == "1 秒"
    assert wait_text(timedelta(seconds=61)) == "2 分钟"
    assert wait_text(MAX_WAIT) == "15 分钟"
