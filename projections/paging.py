"""Keyset pagination over the read models: pages that stay put while rows are added.

A list is ordered by columns whose values never change once a row exists (a finding's
date, the moment it was recorded, its id), the last being unique. A page's cursor holds
the sort key of its last row; the next page is the rows after that key, by a ``WHERE``
on the key (not an ``OFFSET``): a row added meanwhile before the cursor is not seen by
this walk, one added after it is, and no row is seen twice or skipped. The cursor is
opaque to the caller (base64url of the key as JSON).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, and_, literal, or_
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from domain.errors import InvalidInput

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Key:
    """A sort column and its direction."""

    column: Column[Any]
    descending: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _value(column: Column[Any], raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(raw)
    if isinstance(column.type, Date):
        return date.fromisoformat(raw)
    if isinstance(column.type, Boolean):
        if not isinstance(raw, bool):
            raise ValueError(raw)
        return raw
    if isinstance(column.type, Integer):
        return int(raw)
    return str(raw)


def encode(row: dict[str, Any], keys: Sequence[Key]) -> str:
    data = orjson.dumps([_text(row[k.column.name]) for k in keys])
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(cursor: str, keys: Sequence[Key]) -> list[Any]:
    """The key a cursor holds; a cursor this list did not give is refused (``cursor``)."""
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError(cursor)
        return [_value(k.column, v) for k, v in zip(keys, raw, strict=True)]
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidInput("cursor 无效：请使用上一页返回的 next_cursor",
                           f"invalid cursor {cursor[:40]!r}", field="cursor") from None


def after(keys: Sequence[Key], values: Sequence[Any]) -> Any:
    """The rows after ``values`` in the order of ``keys`` (the key columns are not null,
    except possibly the first ones compared by equality, which none of ours are)."""
    bound = [literal(v, k.column.type) for k, v in zip(keys, values, strict=True)]
    terms = []
    for i, k in enumerate(keys):
        equal = [keys[j].column == bound[j] for j in range(i)]
        beyond = k.column < bound[i] if k.descending else k.column > bound[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)


def page(conn: Connection, query: Select[Any], keys: Sequence[Key], *, limit: int,
         cursor: str | None) -> Page:
    """One page of ``query`` (its filters; ordered here by ``keys``) after ``cursor``."""
    if cursor:
        query = query.where(after(keys, decode(cursor, keys)))
    query = query.order_by(*(k.column.desc() if k.descending else k.column.asc()
                             for k in keys)).limit(limit + 1)
    result = conn.execute(query)
    names = list(result.keys())
    rows = [dict(zip(names, r, strict=True)) for r in result]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode(rows[-1], keys) if more and rows else None)
