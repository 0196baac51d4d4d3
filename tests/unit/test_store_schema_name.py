"""Issue 11 case 7: a schema name in --db is validated before anything is created."""

from __future__ import annotations

import pytest

from adapters.infrastructure.event_store import pg_schema, prepare, store_env
from domain.errors import InvalidInput

BAD = ["x;DROP SCHEMA public", "X", "1abc", "a" * 64, "", "a-b", 'a"b']


@pytest.mark.parametrize("name", BAD)
def test_bad_schema_names_are_refused_naming_db(name: str) -> None:
    db = f"postgresql://postgres@127.0.0.1:5432/test?schema={name}"
    for call in (pg_schema, store_env, prepare):
        with pytest.raises(InvalidInput) as err:
            call(db)
        assert err.value.field == "--db"
        assert "模式名" in err.value.zh


def test_good_schema_name_is_kept() -> None:
    db = "postgresql://postgres@127.0.0.1:5432/test?schema=ok_1" + "a" * 10
    assert pg_schema(db) == "ok_1" + "a" * 10
