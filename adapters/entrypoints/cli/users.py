"""``dudao user add|passwd|disable|list``: the accounts people sign in to the pages with.

A password is never an option on the command line (it would stay in the shell's history
and in the process list): it is typed twice at a prompt, or read from standard input with
``--password-stdin`` (one line, for scripts). Rules: domain/accounts.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from adapters.entrypoints.cli.base import ChoiceType, Context, cli, emit, pass_app
from adapters.infrastructure.event_store import engine_for, startup_lock
from adapters.infrastructure.tokens import ROLES
from adapters.infrastructure.users import UserStore
from adapters.service_layer.application import Dudao
from domain.accounts import PASSWORD_MAX, PASSWORD_MIN
from domain.errors import InvalidInput


@contextmanager
def user_store(app: Dudao) -> Iterator[UserStore]:
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    engine = engine_for(ctx.settings.db)
    try:
        with startup_lock(ctx.settings.db):
            store = UserStore(engine, app.now)
        yield store
    finally:
        engine.dispose()


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = click.prompt("密码", hide_input=True, err=True, default="", show_default=False)
    second = click.prompt("再输入一次密码", hide_input=True, err=True, default="",
                          show_default=False)
    if first != second:
        raise InvalidInput("两次输入的密码不一致，未作更改", "the passwords differ",
                           field="password")
    return str(first).removesuffix("\r")


def line(u: dict[str, Any]) -> str:
    state = f"已停用 {u['disabled_at']:%Y-%m-%d %H:%M}" if u["disabled_at"] else "启用"
    return (f"{u['name']}  {u['display']}  {ROLES[u['role']]}  {u['unit'] or '—'}  "
            f"开设 {u['created_at']:%Y-%m-%d %H:%M}  "
            f"密码更新 {u['password_changed_at']:%Y-%m-%d %H:%M}  {state}")


PASSWORD_HELP = (f"从标准输入读一行作为密码（供脚本用；密码{PASSWORD_MIN}到{PASSWORD_MAX}个字符）；"
                 "不给时在提示下输入两次")


@cli.group("user")
def user() -> None:
    pass


@user.command("add")
@click.argument("name", metavar="NAME")
@click.option("--role", required=True, type=ChoiceType(list(ROLES)),
              help="角色：inspector 督学 / unit 责任单位 / policy 政策人员 / auditor 审计 / "
                   "committee 督导委员会 / admin 管理员")
@click.option("--unit", "unit_code", metavar="CODE", help="责任单位账号所属的单位（role=unit 时必填）")
@click.option("--display", metavar="NAME", help="显示名称，网页上这样称呼（如 张督学）；默认为用户名")
@click.option("--password-stdin", "from_stdin", is_flag=True, help=PASSWORD_HELP)
@pass_app
def user_add(app: Dudao, actor: str, name: str, role: str, unit_code: str | None,
             display: str | None, from_stdin: bool) -> None:
    """开设一个网页登录账号。用户名3到32个字符（小写字母、数字、点、下划线、连字符，
    以字母开头），记在该用户所做每个事件的操作人上（user:用户名）；密码至少10个字符，
    库里只存 Argon2id 哈希。"""
    if unit_code is not None:
        app.get_unit(unit_code)
    with user_store(app) as store:
        store.check_new(name=name, role=role, unit=unit_code, display=display)
        password = read_password(from_stdin)
        row = store.add(name=name, role=role, unit=unit_code, display=display,
                        password=password, created_by=actor)
    emit(row, lambda: f"已开设账号 {row['name']}（{row['display']}，{ROLES[row['role']]}"
                      f"{'，' + row['unit'] if row['unit'] else ''}）")


@user.command("passwd")
@click.argument("name", metavar="NAME")
@click.option("--password-stdin", "from_stdin", is_flag=True, help=PASSWORD_HELP)
@pass_app
def user_passwd(app: Dudao, actor: str, name: str, from_stdin: bool) -> None:
    """设置新密码：该用户已登录的会话立即失效。"""
    with user_store(app) as store:
        store.get(name)
        row = store.set_password(name, read_password(from_stdin))
    emit(row, f"已更新 {row['name']} 的密码；其已登录的会话均已退出")


@user.command("disable")
@click.argument("name", metavar="NAME")
@pass_app
def user_disable(app: Dudao, actor: str, name: str) -> None:
    """停用账号：不能再登录，已登录的会话立即失效；账号记录保留。"""
    with user_store(app) as store:
        row = store.disable(name)
    emit(row, f"已停用账号 {row['name']}（{row['display']}）；其已登录的会话均已退出")


@user.command("list")
@pass_app
def user_list(app: Dudao, actor: str) -> None:
    """列出账号（用户名、显示名称、角色、单位、开设与停用时间）；从不显示密码或其哈希。"""
    with user_store(app) as store:
        rows = store.list()
    emit({"users": rows}, lambda: "\n".join(map(line, rows)) if rows else "（还没有账号）")
