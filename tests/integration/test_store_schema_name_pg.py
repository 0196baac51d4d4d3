"""Issue 11 case 7: a bad schema name in --db creates nothing on the PostgreSQL server."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from adapters.infrastructure.event_store import prepare
from domain.errors import InvalidInput


def test_bad_schema_creates_nothing() -> None:
    name = f"x;drop schema public_{uuid.uuid4().hex}"
    with pytest.raises(InvalidInput):
        prepare(f"postgresql://postgres@127.0.0.1:5432/test?schema={name}")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test") as conn:
        rows = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (name,)
        ).fetchall()
    assert rows == []
