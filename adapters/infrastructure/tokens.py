"""Roles and bearer tokens, and the idempotency keys of HTTP writes.

Tokens are random, shown once, and stored only as their SHA-256 hash in the
same database as the events (table ``api_tokens``). Each token has a role and,
for the ``unit`` role, the one unit it acts for. The permission table below is
the one place that says who may do what; the HTTP API (and the web pages) ask it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from adapters.service_layer.application import StoreUnavailable
from domain.errors import Conflict, InvalidInput, NotFound
from domain.values import check_text

ROLES = {
    "inspector": "督学",
    "unit": "责任单位",
    "policy": "督导室政策人员",
    "auditor": "审计/纪检",
    "committee": "督导委员会（办公室）",
    "admin": "管理员",
}

# action → the roles allowed to do it. A unit token is further limited to its own unit.
READERS = frozenset(ROLES)
PERMISSIONS: dict[str, frozenset[str]] = {
    "unit.add": frozenset({"admin"}),
    "unit.read": READERS,
    "finding.read": READERS,
    "report.read": READERS,
    "inspection.record": frozenset({"inspector"}),
    "finding.record": frozenset({"inspector"}),
    "finding.order": frozenset({"inspector"}),
    "finding.review": frozenset({"inspector"}),
    "finding.extend": frozenset({"inspector"}),
    "finding.interview": frozenset({"inspector"}),
    "finding.report": frozenset({"unit"}),
    "finding.request_extension": frozenset({"unit"}),
    "finding.decide_extension": frozenset({"inspector"}),
    "plan.import": frozenset({"policy", "admin"}),
    "plan.read": READERS,
    "task.progress": frozenset({"unit", "inspector"}),
    "task.close": frozenset({"inspector"}),
    "audit.read": frozenset({"auditor", "admin"}),
    "person.add": frozenset({"admin", "inspector"}),
    "person.end": frozenset({"admin", "inspector"}),
    "person.read": READERS,
    # accountability cases (问责案件): the committee decides; a unit states its own case
    "case.read": READERS,
    "case.investigate": frozenset({"inspector", "committee"}),
    "case.notify": frozenset({"inspector", "committee"}),
    "case.statement": frozenset({"unit", "inspector", "committee"}),
    "case.decide": frozenset({"committee"}),
    "case.dismiss": frozenset({"committee"}),
}

ACTION_NAMES = {
    "unit.add": "登记单位",
    "unit.read": "查看单位",
    "finding.read": "查看问题",
    "report.read": "查看问责报告",
    "inspection.record": "登记督导检查",
    "finding.record": "登记问题",
    "finding.order": "下达整改通知",
    "finding.review": "复查",
    "finding.extend": "批准延期",
    "finding.interview": "登记约谈",
    "finding.report": "提交整改报告",
    "finding.request_extension": "申请延期",
    "finding.decide_extension": "审批延期申请",
    "plan.import": "导入实施方案",
    "plan.read": "查看工作台账",
    "task.progress": "填报任务进度",
    "task.close": "任务销号",
    "audit.read": "查看审计轨迹与校验",
    "person.add": "登记人员",
    "person.end": "办理人员离任",
    "person.read": "查看人员",
    "case.read": "查看问责案件",
    "case.investigate": "登记调查核实",
    "case.notify": "告知问责事实",
    "case.statement": "提交陈述申辩",
    "case.decide": "作出问责决定",
    "case.dismiss": "决定不予问责",
}

TOKEN_PREFIX = "dd_"

api_metadata = MetaData()

api_tokens = Table(
    "api_tokens",
    api_metadata,
    Column("token_id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("unit", String(64)),
    Column("name", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),  # set by ``dudao token revoke``; row kept
    Column("last_used_at", DateTime(timezone=True)),
)

idempotency_keys = Table(
    "api_idempotency_keys",
    api_metadata,
    Column("scope", String(36), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(10), nullable=False),  # pending | done
    Column("lease_until", Float, nullable=False),  # seconds since the epoch (wall clock)
    Column("status", Integer),
    Column("body", Text),
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_tables(engine: Engine, metadata: MetaData = api_metadata) -> None:
    """Create the token and idempotency tables (or ``metadata``'s) if missing (several
    processes may race here: on PostgreSQL the loser of a concurrent CREATE TABLE fails, and
    finds the tables made)."""
    for attempt in (1, 2):
        try:
            metadata.create_all(engine, checkfirst=True)
            if metadata is api_metadata:
                _add_missing_columns(engine)
            return
        except OperationalError as e:
            raise unavailable(e) from e
        except (IntegrityError, ProgrammingError):
            if attempt == 2:
                raise


def check_role(role: str, unit: str | None, holder: str = "令牌", en: str = "token") -> None:
    """A role of :data:`ROLES`, with a unit exactly when it is ``unit`` (of a token, a user)."""
    if role not in ROLES:
        raise InvalidInput(
            f"角色 {role!r} 无效，应为 {'、'.join(ROLES)} 之一",
            f"invalid role {role!r}: expected one of {', '.join(ROLES)}", field="role",
        )
    if role == "unit" and not unit:
        raise InvalidInput(f"责任单位角色的{holder}必须用 --unit 指定单位",
                           f"a unit {en} needs --unit CODE", field="unit")
    if role != "unit" and unit:
        raise InvalidInput(f"只有责任单位角色的{holder}才能指定单位",
                           f"only a unit {en} takes --unit", field="unit")


def _add_missing_columns(engine: Engine) -> None:
    """Tables made before revocation lack its columns: add them (nullable, rows kept)."""
    have = {c["name"] for c in sa_inspect(engine).get_columns("api_tokens")}
    for col in ("revoked_at", "last_used_at"):
        if col not in have:
            try:
                with engine.begin() as conn:
                    conn.execute(text(
                        f"ALTER TABLE api_tokens ADD COLUMN {col} TIMESTAMP WITH TIME ZONE"))
            except (IntegrityError, ProgrammingError, OperationalError):
                pass  # another process added it meanwhile


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's role, its unit (for ``unit``), and the actor recorded.
    A user signed in to the pages (adapters/infrastructure/users.py) has ``user`` set: its
    actor is ``user:NAME`` and ``name`` its display name."""

    token_id: str
    role: str
    unit: str | None
    name: str | None
    user: str | None = None

    @property
    def actor(self) -> str:
        if self.user:
            return f"user:{self.user}"
        who = self.name or self.unit or "token"
        return f"{self.role}:{who}#{self.token_id[:8]}"

    def may(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]

    def sees_unit(self, unit: str) -> bool:
        """A unit token sees its own unit only; every other role sees all."""
        return self.role != "unit" or self.unit == unit


class TokenStore:
    """Tokens in the database, looked up by hash. A process remembers a lookup for at
    most ``TTL`` seconds (monotonic clock), so a revoked token is refused within ~1 s."""

    TTL = 1.0

    def __init__(self, engine: Engine, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock  # when given, a lookup from the DB records ``last_used_at``
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        create_tables(engine)

    def create(self, *, role: str, unit: str | None, name: str | None, now: datetime,
               created_by: str) -> tuple[str, Principal]:
        """A new token: returns the token (to show once) and its principal."""
        check_role(role, unit)
        # the name becomes the actor on every event this token records: one text check
        name = check_text(name, "name", "令牌名称", max_len=100) if name and name.strip() else None
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(token_id=str(uuid.uuid4()), role=role, unit=unit, name=name)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(api_tokens).values(
                    token_id=principal.token_id, token_hash=hash_token(token), role=role,
                    unit=unit, name=name, created_at=now, created_by=created_by,
                ))
        except OperationalError as e:
            raise unavailable(e) from e
        return token, principal

    def cached(self, token: str) -> Principal | None:
        """The principal of a token this process has already seen, without touching the DB."""
        with self._lock:
            hit = self._cache.get(hash_token(token))
        if hit is None or self._monotonic() - hit[0] > self.TTL:
            return None
        return hit[1]

    def lookup(self, token: str) -> Principal | None:
        digest = hash_token(token)
        known = self.cached(token)
        if known is not None:
            return known
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(api_tokens.c.token_id, api_tokens.c.role, api_tokens.c.unit,
                           api_tokens.c.name).where(api_tokens.c.token_hash == digest,
                                                    api_tokens.c.revoked_at.is_(None))
                ).first()
        except OperationalError as e:
            raise unavailable(e) from e
        if row is None:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(token_id=row.token_id, role=row.role, unit=row.unit, name=row.name)
        if self._clock is not None:  # at most once a TTL per token and process
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(api_tokens).where(api_tokens.c.token_id == row.token_id)
                                 .values(last_used_at=self._clock()))
            except OperationalError:
                pass  # only a statistic
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[digest] = (self._monotonic(), principal)
        return principal

    def list(self) -> list[dict[str, Any]]:
        """Every token (revoked ones too), oldest first; never the token or its hash."""
        t = api_tokens
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(
                    t.c.token_id, t.c.role, t.c.unit, t.c.name, t.c.created_at,
                    t.c.created_by, t.c.revoked_at, t.c.last_used_at,
                ).order_by(t.c.created_at, t.c.token_id)).all()
        except OperationalError as e:
            raise unavailable(e) from e
        return [{"id": r.token_id, "role": r.role, "unit": r.unit, "name": r.name,
                 "created_at": r.created_at, "created_by": r.created_by,
                 "last_used_at": r.last_used_at, "revoked_at": r.revoked_at} for r in rows]

    def revoke(self, ident: str, *, now: datetime) -> dict[str, Any]:
        """Revoke the token whose id is ``ident`` or starts with it (a unique prefix)."""
        ident = (ident or "").strip().lower()
        matches = [r for r in self.list() if ident and r["id"].startswith(ident)]
        if not matches:
            raise NotFound(f"令牌 {ident} 不存在", f"unknown token {ident!r}", field="ID")
        if len(matches) > 1:
            raise InvalidInput(f"令牌编号前缀 {ident} 对应多个令牌，请写长一些",
                               f"token id prefix {ident!r} is ambiguous", field="ID")
        row = matches[0]
        if row["revoked_at"] is not None:
            raise Conflict(f"令牌 {row['id'][:8]} 已于 {row['revoked_at']} 吊销",
                           f"token {row['id'][:8]} is already revoked", field="ID")
        try:
            with self.engine.begin() as conn:
                conn.execute(update(api_tokens).where(api_tokens.c.token_id == row["id"])
                             .values(revoked_at=now))
        except OperationalError as e:
            raise unavailable(e) from e
        with self._lock:
            self._cache.clear()
        return row | {"revoked_at": now}


# ------------------------------------------------------------------ idempotency


def request_digest(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


class IdempotencyStore:
    """First response of each (token, key), kept in the database across restarts.

    ``begin`` reserves the key (a lease), or returns the stored first response,
    or refuses a key reused with a different request. ``finish`` stores a
    success; ``abandon`` frees the key after a refusal (which recorded nothing),
    so the client may retry. A process that dies holding a lease loses it when the
    lease runs out; the retry then runs the command again, which is safe: creations
    are keyed (the same ids come back) and a repeated change is refused by the
    finding's own state.
    """

    LEASE_SECONDS = 30.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine)

    def begin(self, scope: str, key: str, digest: str, wall: float) -> StoredResponse | None:
        t = idempotency_keys
        try:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(t).values(
                        scope=scope, key=key, request_hash=digest, state="pending",
                        lease_until=wall + self.LEASE_SECONDS,
                    ))
                return None
            except IntegrityError:
                pass
            with self.engine.begin() as conn:
                row = conn.execute(select(t).where(t.c.scope == scope, t.c.key == key)).first()
                if row is None:  # abandoned meanwhile: try once more from the start
                    conn.execute(insert(t).values(
                        scope=scope, key=key, request_hash=digest, state="pending",
                        lease_until=wall + self.LEASE_SECONDS,
                    ))
                    return None
                if row.request_hash != digest:
                    raise InvalidInput(
                        f"幂等键 {key} 已用于另一个不同的请求，请换一个新的键",
                        f"Idempotency-Key {key!r} was already used with a different request",
                        field="Idempotency-Key",
                    )
                if row.state == "done":
                    return StoredResponse(status=row.status, body=json.loads(row.body))
                if row.lease_until > wall:
                    raise Conflict(
                        f"幂等键 {key} 的请求正在处理中，请稍后重试",
                        f"a request with Idempotency-Key {key!r} is still in progress; retry later",
                        field="Idempotency-Key",
                    )
                taken = conn.execute(
                    update(t).where(t.c.scope == scope, t.c.key == key,
                                    t.c.lease_until == row.lease_until, t.c.state == "pending")
                    .values(lease_until=wall + self.LEASE_SECONDS)
                ).rowcount
                if not taken:
                    raise Conflict(
                        f"幂等键 {key} 的请求正在处理中，请稍后重试",
                        f"a request with Idempotency-Key {key!r} is still in progress; retry later",
                        field="Idempotency-Key",
                    )
                return None
        except IntegrityError as e:
            raise Conflict(
                f"幂等键 {key} 的请求正在处理中，请稍后重试",
                f"a request with Idempotency-Key {key!r} is in progress; retry later",
                field="Idempotency-Key",
            ) from e
        except OperationalError as e:
            raise unavailable(e) from e

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        t = idempotency_keys
        try:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.scope == scope, t.c.key == key).values(
                    state="done", status=status,
                    body=json.dumps(body, ensure_ascii=False, default=str),
                ))
        except OperationalError as e:
            raise unavailable(e) from e

    def abandon(self, scope: str, key: str) -> None:
        t = idempotency_keys
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(t).where(t.c.scope == scope, t.c.key == key,
                                             t.c.state == "pending"))
        except OperationalError:
            pass  # the lease runs out by itself


def unavailable(e: Exception) -> StoreUnavailable:
    return StoreUnavailable(
        "数据库无法访问，请稍后重试", f"the database is unreachable: {type(e).__name__}",
        field="db",
    )
