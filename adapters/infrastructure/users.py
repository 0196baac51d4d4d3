"""User accounts, the web pages' sessions, and the count of failed sign-ins.

All three are tables in the same database as the events and the API tokens (made here,
beside ``api_tokens``), not events: an account holds a password hash that must be
replaceable and must never enter the append-only, hash-chained log that is published to
NATS and kept for ever; a session and a failure count are short-lived access control, not
facts of supervision. What a user does is recorded on the events, as the actor
``user:NAME``; the account rows keep who created it and when, when its password last
changed and when it was disabled.

- ``users``: name, display name, role (the tokens' roles), unit (for ``unit``), argon2id
  hash (:mod:`adapters.infrastructure.passwords`), created at/by, password changed at,
  disabled at (a disabled account is kept, never deleted, so its actor stays readable);
- ``signin_sessions``: a web session, of a user or of an API token: the SHA-256 of the
  cookie's random id, when it was opened and last used. It ends at logout, after the idle
  or absolute limit (:mod:`domain.accounts`), and at once when its user is disabled or
  changes password (the rows are deleted) or its token is revoked (checked each request);
- ``signin_failures``: failed sign-ins per user name and per client address, so a limit
  holds across every process serving the same store.

Times are the application clock's (``app.now()``), like every other time of the service.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.infrastructure.passwords import Passwords
from adapters.infrastructure.tokens import (
    Principal,
    api_tokens,
    check_role,
    create_tables,
    unavailable,
)
from domain.accounts import (
    SESSION_TOUCH,
    blocked_for,
    check_display,
    check_password,
    check_user_name,
    counted,
    session_alive,
    wait_text,
)
from domain.errors import Conflict, NotFound

account_metadata = MetaData()

users = Table(
    "users",
    account_metadata,
    Column("name", String(32), primary_key=True),
    Column("display", String(50), nullable=False),
    Column("role", String(20), nullable=False),
    Column("unit", String(64)),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

signin_sessions = Table(
    "signin_sessions",
    account_metadata,
    Column("session_hash", String(64), primary_key=True),  # SHA-256 of the cookie's id
    Column("user_name", String(32), index=True),  # a user's session, or
    Column("token_id", String(36)),  # an API token's
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

signin_failures = Table(
    "signin_failures",
    account_metadata,
    Column("key", String(200), primary_key=True),  # user:NAME or address:IP
    Column("failures", Integer, nullable=False),
    Column("last_failure", DateTime(timezone=True), nullable=False),
)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def user_principal(name: str, display: str, role: str, unit: str | None) -> Principal:
    return Principal(token_id=f"user:{name}", role=role, unit=unit, name=display, user=name)


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: a session id (the cookie), or the refusal to show."""

    session: str | None
    refusal: str | None = None
    wait: timedelta | None = None


WRONG = "用户名或密码不正确。"


class UserStore:
    """Accounts and sessions on ``engine``; ``clock`` is the application's."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 passwords: Passwords | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.passwords = passwords or Passwords()
        create_tables(engine)  # api_tokens, which sessions of a token join
        create_tables(engine, account_metadata)

    # ------------------------------------------------------------ accounts

    def check_new(self, *, name: str, role: str, unit: str | None,
                  display: str | None) -> tuple[str, str]:
        """A new account's name and display name, refused before any password is asked."""
        name = check_user_name(name)
        check_role(role, unit, "用户", "user")
        if self._row(name) is not None:
            raise Conflict(f"用户 {name} 已存在", f"user {name!r} exists", field="user")
        return name, check_display(display, name)

    def add(self, *, name: str, role: str, unit: str | None, display: str | None,
            password: str, created_by: str) -> dict[str, Any]:
        """A new account (the unit, if any, is the caller's to check exists)."""
        name, shown = self.check_new(name=name, role=role, unit=unit, display=display)
        check_password(password, name)
        now = self.clock()
        row = {"name": name, "display": shown, "role": role, "unit": unit,
               "password_hash": self.passwords.hash(password), "created_at": now,
               "created_by": created_by, "password_changed_at": now, "disabled_at": None}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(**row))
        except IntegrityError as e:
            raise Conflict(f"用户 {name} 已存在", f"user {name!r} exists", field="user") from e
        except OperationalError as e:
            raise unavailable(e) from e
        return public(row)

    def get(self, name: str) -> dict[str, Any]:
        row = self._row((name or "").strip())
        if row is None:
            raise NotFound(f"用户 {name} 不存在", f"unknown user {name!r}", field="user")
        return row

    def _row(self, name: str, conn: Connection | None = None) -> dict[str, Any] | None:
        query = select(users).where(users.c.name == name)
        try:
            if conn is not None:
                found = conn.execute(query).mappings().first()
            else:
                with self.engine.connect() as c:
                    found = c.execute(query).mappings().first()
        except OperationalError as e:
            raise unavailable(e) from e
        return dict(found) if found is not None else None

    def set_password(self, name: str, password: str) -> dict[str, Any]:
        """A new password; every open session of the user ends."""
        row = self.get(name)
        check_password(password, row["name"])
        now = self.clock()
        hashed = self.passwords.hash(password)
        try:
            with self.engine.begin() as conn:
                conn.execute(update(users).where(users.c.name == row["name"])
                             .values(password_hash=hashed, password_changed_at=now))
                conn.execute(delete(signin_sessions)
                             .where(signin_sessions.c.user_name == row["name"]))
        except OperationalError as e:
            raise unavailable(e) from e
        return public(row | {"password_changed_at": now})

    def disable(self, name: str) -> dict[str, Any]:
        """Disable the account (kept, never deleted); its sessions end at once."""
        row = self.get(name)
        if row["disabled_at"] is not None:
            raise Conflict(f"用户 {row['name']} 已于 {row['disabled_at']:%Y-%m-%d %H:%M} 停用",
                           f"user {row['name']!r} is already disabled", field="user")
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(update(users).where(users.c.name == row["name"])
                             .values(disabled_at=now))
                conn.execute(delete(signin_sessions)
                             .where(signin_sessions.c.user_name == row["name"]))
        except OperationalError as e:
            raise unavailable(e) from e
        return public(row | {"disabled_at": now})

    def list(self) -> list[dict[str, Any]]:
        """Every account (disabled ones too), by name; never a hash."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        except OperationalError as e:
            raise unavailable(e) from e
        return [public(dict(r)) for r in rows]

    def people(self) -> dict[str, tuple[str, str]]:
        """user name → (display name, role), for the pages to name an event's actor."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(users.c.name, users.c.display, users.c.role)).all()
        except OperationalError as e:
            raise unavailable(e) from e
        return {r.name: (r.display, r.role) for r in rows}

    # ------------------------------------------------------------ sign in

    def sign_in(self, name: str, password: str, address: str) -> SignIn:
        """Check a user name and password, within the failure limits; a new session on
        success. A wrong name and a wrong password get the same answer in similar time."""
        name = (name or "").strip()[:64]
        keys = {"user": f"user:{name}", "address": f"address:{address}"[:200]}
        now = self.clock()
        wait = self._blocked(keys, now)
        if wait > timedelta(0):
            return SignIn(None, f"登录失败次数过多，请 {wait_text(wait)}后再试。", wait)
        row = self._row(name) if name else None
        ok = self.passwords.verify(row["password_hash"] if row else None, password)
        if not ok or row is None or row["disabled_at"] is not None:
            self._fail(keys, now)
            return SignIn(None, WRONG)
        sid = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                if self.passwords.needs_rehash(row["password_hash"]):
                    conn.execute(update(users).where(users.c.name == row["name"])
                                 .values(password_hash=self.passwords.hash(password)))
                conn.execute(delete(signin_failures)
                             .where(signin_failures.c.key == keys["user"]))
                conn.execute(insert(signin_sessions).values(
                    session_hash=digest(sid), user_name=row["name"], created_at=now,
                    last_seen_at=now))
        except OperationalError as e:
            raise unavailable(e) from e
        return SignIn(sid)

    def _blocked(self, keys: dict[str, str], now: datetime) -> timedelta:
        f = signin_failures
        try:
            with self.engine.connect() as conn:
                rows = {r.key: r for r in conn.execute(
                    select(f).where(f.c.key.in_(list(keys.values())))).all()}
        except OperationalError as e:
            raise unavailable(e) from e
        waits = [blocked_for(r.failures, _aware(r.last_failure, now), now, kind)
                 for kind, key in keys.items() if (r := rows.get(key)) is not None]
        return max(waits, default=timedelta(0))

    def _fail(self, keys: dict[str, str], now: datetime) -> None:
        f = signin_failures
        try:
            with self.engine.begin() as conn:
                for key in keys.values():
                    row = conn.execute(select(f).where(f.c.key == key)).first()
                    if row is None:
                        try:
                            with conn.begin_nested():
                                conn.execute(insert(f).values(key=key, failures=1,
                                                              last_failure=now))
                            continue
                        except IntegrityError:  # another process counted it meanwhile
                            row = conn.execute(select(f).where(f.c.key == key)).first()
                            assert row is not None
                    before = counted(row.failures, _aware(row.last_failure, now), now)
                    conn.execute(update(f).where(f.c.key == key)
                                 .values(failures=before + 1, last_failure=now))
        except OperationalError as e:
            raise unavailable(e) from e

    # ------------------------------------------------------------ sessions

    def open_token_session(self, token_id: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(signin_sessions).values(
                    session_hash=digest(sid), token_id=token_id, created_at=now,
                    last_seen_at=now))
        except OperationalError as e:
            raise unavailable(e) from e
        return sid

    def session(self, sid: str) -> Principal | None:
        """The principal of a live session (its user enabled, its token not revoked);
        ``None`` once it has expired, which also deletes it."""
        s, u, t = signin_sessions, users, api_tokens
        now = self.clock()
        key = digest(sid)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(s.c.created_at, s.c.last_seen_at, s.c.user_name,
                           u.c.display, u.c.role.label("user_role"),
                           u.c.unit.label("user_unit"), u.c.disabled_at,
                           t.c.token_id, t.c.role, t.c.unit, t.c.name, t.c.revoked_at)
                    .select_from(s.outerjoin(u, u.c.name == s.c.user_name)
                                 .outerjoin(t, t.c.token_id == s.c.token_id))
                    .where(s.c.session_hash == key)).first()
        except OperationalError as e:
            raise unavailable(e) from e
        if row is None:
            return None
        created, seen = _aware(row.created_at, now), _aware(row.last_seen_at, now)
        if not session_alive(created, seen, now):
            self.close_session(sid)
            return None
        if row.user_name is not None:
            if row.display is None or row.disabled_at is not None:
                return None
            who = user_principal(row.user_name, row.display, row.user_role, row.user_unit)
        else:
            if row.token_id is None or row.revoked_at is not None:
                return None
            who = Principal(token_id=row.token_id, role=row.role, unit=row.unit, name=row.name)
        if now - seen >= SESSION_TOUCH:
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(s).where(s.c.session_hash == key)
                                 .values(last_seen_at=now))
            except OperationalError:
                pass  # the session still holds; its idle time is counted from before
        return who

    def close_session(self, sid: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(signin_sessions)
                             .where(signin_sessions.c.session_hash == digest(sid)))
        except OperationalError as e:
            raise unavailable(e) from e


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An account as it may be shown: never its hash."""
    return {"name": row["name"], "display": row["display"], "role": row["role"],
            "unit": row["unit"], "created_at": row["created_at"],
            "created_by": row["created_by"], "password_changed_at": row["password_changed_at"],
            "disabled_at": row["disabled_at"]}


def _aware(moment: datetime, now: datetime) -> datetime:
    """SQLite gives times back without their offset: they were written in ``now``'s zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)

