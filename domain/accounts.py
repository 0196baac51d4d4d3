"""User accounts of the web pages: the rules of names and passwords, how long a session
lives, and how long a visitor waits after failed sign-ins. Pure: the store and the hashing
are adapters' (adapters/infrastructure/users.py, adapters/infrastructure/passwords.py).

- a user name is 3–32 characters: lowercase ASCII letters, digits, ``.``, ``_``, ``-``,
  starting with a letter (it is written into the actor of every event: ``user:zhangsan``);
  names the system uses itself (:data:`RESERVED_NAMES`) are refused;
- a password is 10–256 characters, not the user name, without control characters;
- a session ends after :data:`SESSION_IDLE` without a request, and in any case
  :data:`SESSION_ABSOLUTE` after sign-in;
- sign-in failures are counted per user name and per client address: after
  :data:`FREE_FAILURES` failures (5 per user name, 20 per address) the next try waits
  :data:`FIRST_WAIT` (30 s), doubling with each further failure, at most :data:`MAX_WAIT`
  (15 min); a count is forgotten :data:`FORGET_AFTER` (a day) after its last failure, and
  a user name's on a successful sign-in.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from domain.errors import InvalidInput
from domain.values import check_text

USER_NAME = re.compile(r"[a-z][a-z0-9._-]{2,31}")
RESERVED_NAMES = frozenset({"dudao", "system", "token", "cli", "user", "rules", "demo", "root"})
PASSWORD_MIN = 10
PASSWORD_MAX = 256
DISPLAY_MAX = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

SESSION_IDLE = timedelta(hours=2)
SESSION_ABSOLUTE = timedelta(hours=12)
SESSION_TOUCH = timedelta(minutes=1)
"""A session's last request is written at most this often (a page view is not a write)."""

FREE_FAILURES = {"user": 5, "address": 20}
"""Failures before the first wait: per user name, and per client address (several people
may share an office's address)."""
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)


def check_user_name(value: str | None) -> str:
    name = (value or "").strip()
    if not USER_NAME.fullmatch(name):
        raise InvalidInput(
            "用户名应为3到32个字符：小写英文字母、数字、点、下划线或连字符，以字母开头"
            f"（收到 {name!r}）",
            f"user name must be 3-32 of a-z 0-9 . _ -, starting with a letter: {name!r}",
            field="user")
    if name in RESERVED_NAMES:
        raise InvalidInput(
            f"用户名 {name} 为系统保留，不能使用（保留：{'、'.join(sorted(RESERVED_NAMES))}）",
            f"user name {name!r} is reserved", field="user")
    return name


def check_display(value: str | None, name: str) -> str:
    """The name people read (张三); the user name when none is given."""
    if value is None or not value.strip():
        return name
    return check_text(value, "display", "显示名称", max_len=DISPLAY_MAX)


def check_password(password: str, name: str) -> str:
    """A password as typed (never stripped: every character counts)."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"密码太短（{len(password)}个字符，至少{PASSWORD_MIN}个）",
                           f"password too short ({len(password)} < {PASSWORD_MIN})",
                           field="password")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"密码太长（{len(password)}个字符，最多{PASSWORD_MAX}个）",
                           f"password too long ({len(password)} > {PASSWORD_MAX})",
                           field="password")
    if _CONTROL.search(password):
        raise InvalidInput("密码含有不可见的控制字符（如换行）",
                           "password contains a control character", field="password")
    if password.strip().casefold() == name.casefold():
        raise InvalidInput("密码不能与用户名相同", "password equals the user name",
                           field="password")
    return password


def session_alive(created: datetime, last_seen: datetime, now: datetime) -> bool:
    """Whether a session signed in at ``created``, last used at ``last_seen``, still holds."""
    return now - last_seen < SESSION_IDLE and now - created < SESSION_ABSOLUTE


def wait_after(failures: int, kind: str) -> timedelta:
    """How long to wait after ``failures`` failures in a row (``kind``: user or address)."""
    over = failures - FREE_FAILURES[kind]
    if over < 0:
        return timedelta(0)
    if over >= 10:  # 30 s × 2¹⁰ is far past the cap
        return MAX_WAIT
    return min(FIRST_WAIT * (2 ** over), MAX_WAIT)


def counted(failures: int, last_failure: datetime | None, now: datetime) -> int:
    """The failures that still count at ``now`` (forgotten a day after the last one)."""
    if last_failure is None or now - last_failure >= FORGET_AFTER:
        return 0
    return failures


def blocked_for(failures: int, last_failure: datetime | None, now: datetime,
                kind: str) -> timedelta:
    """How much longer a sign-in must wait at ``now`` (zero: it may try)."""
    if last_failure is None:
        return timedelta(0)
    left = last_failure + wait_after(counted(failures, last_failure, now), kind) - now
    return max(left, timedelta(0))


def wait_text(wait: timedelta) -> str:
    """A wait as a person reads it: 30 秒, 2 分钟, 15 分钟 (rounded up)."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"
