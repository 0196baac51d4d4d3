"""Choosing the event store from ``--db``/``DUDAO_DB``: a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInput

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def store_env(db: str) -> dict[str, str]:
    """The eventsourcing environment for a database path or URL."""
    if is_postgres(db):
        parts = urlsplit(db)
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise InvalidInput(
                f"数据库地址 {db!r} 缺少数据库名", f"database URL {db!r} names no database",
                field="--db",
            )
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_PRE_PING": "y",
            # every event is sealed in the audit hash chain as it is stored
            "APPLICATION_RECORDER_TOPIC": "adapters.infrastructure.sealing_recorders:ChainedPostgresRecorder",
        }
        schema = pg_schema(db)
        if schema is not None:
            env["POSTGRES_SCHEMA"] = schema
        return env
    if "://" in db:
        raise InvalidInput(
            f"不支持的数据库地址 {db!r}：请给出 SQLite 文件路径或 postgresql:// 地址",
            f"unsupported database {db!r}: give a SQLite file path or a postgresql:// URL",
            field="--db",
        )
    directory = os.path.dirname(os.path.abspath(db))
    if not os.path.isdir(directory):
        raise InvalidInput(
            f"数据库文件所在目录不存在：{directory}",
            f"the directory of the database file does not exist: {directory}",
            field="--db",
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": db,
        "SQLITE_LOCK_TIMEOUT": "10",
        # every event is sealed in the audit hash chain as it is stored
        "APPLICATION_RECORDER_TOPIC": "adapters.infrastructure.sealing_recorders:ChainedSQLiteRecorder",
    }


def pg_schema(db: str) -> str | None:
    """The schema named by ``?schema=`` in a PostgreSQL URL, if any."""
    if not is_postgres(db):
        return None
    values = parse_qs(urlsplit(db).query, keep_blank_values=True).get("schema")
    if not values:
        return None
    schema = values[0]
    if len(values) > 1 or not _SCHEMA_NAME.fullmatch(schema):
        raise InvalidInput(
            f"数据库地址中的模式名 {schema!r} 不合法：只能用小写字母、数字和下划线，"
            "以字母或下划线开头，最长 63 个字符",
            f"schema name {schema!r} in the database URL is invalid: use [a-z_][a-z0-9_]*,"
            " at most 63 characters",
            field="--db",
        )
    return schema


def pg_conninfo(db: str) -> str:
    """A libpq URL of the database (without dudao's own query parameters)."""
    return "postgresql://" + db.split("://", 1)[1].split("?", 1)[0]


def prepare(db: str) -> None:
    """Create what must exist before the event store opens: a named PostgreSQL schema."""
    schema = pg_schema(db)
    if schema is None:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_conninfo(db), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


_held = threading.local()

STARTUP_LOCK_WAIT = "120s"
"""How long a start-up waits for another process's start-up on the same schema."""


@contextmanager
def startup_lock(db: str) -> Iterator[None]:
    """One process at a time creates a PostgreSQL schema's tables and first rows.

    Two processes opening a fresh schema at once (two ``dudao serve``, or a server and a
    command) would race in ``CREATE TABLE`` (a duplicate ``pg_type`` row: UniqueViolation)
    and in the first inserts. A session advisory lock keyed on the schema, held on a
    connection of its own, makes them take turns: the second finds everything made.
    Re-entrant within a thread (the composition root nests it); nothing on SQLite, whose
    writer lock already serialises DDL."""
    if not is_postgres(db):
        yield
        return
    key = f"dudao:startup:{pg_schema(db) or 'public'}"
    held: dict[str, int] = _held.__dict__.setdefault("keys", {})
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    import psycopg

    with psycopg.connect(pg_conninfo(db), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"SET lock_timeout = '{STARTUP_LOCK_WAIT}'")
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
            with contextlib.suppress(psycopg.Error):  # closing the connection releases it too
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def sqlalchemy_url(db: str) -> str:
    """The SQLAlchemy URL of the same database (read models live beside the events)."""
    if is_postgres(db):
        return "postgresql+psycopg://" + db.split("://", 1)[1].split("?", 1)[0]
    return "sqlite:///" + os.path.abspath(db)


def sqlalchemy_connect_args(db: str) -> dict[str, str]:
    """Connection arguments that put read models in the same schema as the events."""
    schema = pg_schema(db)
    return {"options": f"-csearch_path={schema}"} if schema else {}


def engine_for(db: str) -> Any:
    """A SQLAlchemy engine on the same database as the events."""
    from sqlalchemy import create_engine

    if is_postgres(db):
        return create_engine(sqlalchemy_url(db), connect_args=sqlalchemy_connect_args(db),
                             pool_pre_ping=True)
    engine = create_engine(sqlalchemy_url(db), connect_args={"timeout": 30})

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL (set by the event store) with synchronous=NORMAL: a crash never corrupts
        # the file nor splits a transaction; read models are rebuildable from the log.
        # A page cache of up to 256 MB keeps the read models' indexes (keyed by random
        # UUIDs) in memory during a replay instead of re-reading pages from disk.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()

    return engine


def db_of_env(env: Any) -> str:
    """The ``--db`` of an eventsourcing environment made by :func:`store_env` (its inverse):
    what opens the tables beside the events (佐证材料) from an application's own env."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        from urllib.parse import quote

        user = quote(env.get("POSTGRES_USER") or "postgres", safe="")
        password = env.get("POSTGRES_PASSWORD") or ""
        auth = f"{user}:{quote(password, safe='')}" if password else user
        url = (f"postgresql://{auth}@{env.get('POSTGRES_HOST') or '127.0.0.1'}:"
               f"{env.get('POSTGRES_PORT') or '5432'}/{quote(env.get('POSTGRES_DBNAME') or '')}")
        schema = env.get("POSTGRES_SCHEMA")
        return f"{url}?schema={schema}" if schema else url
    name = env.get("SQLITE_DBNAME")
    if not name:
        raise InvalidInput("事件库没有数据库文件，不能保存佐证材料",
                           "the event store has no database file; files cannot be stored",
                           field="--db")
    return str(name)
