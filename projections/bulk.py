"""Writing many rows at once through the driver's executemany.

SQLAlchemy's executemany builds and processes parameters row by row in Python,
which is most of a replay's time. Here the statement is compiled to SQL once,
the type conversions (``bind_processor``) are looked up once per column, and
the rows go to the driver as plain tuples: the same values SQLAlchemy would
send, several times faster.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Table
from sqlalchemy.engine import Connection

# sqlite3 stores a date or a datetime through its default adapters, Python functions
# (``val.isoformat()``, ``val.isoformat(" ")``). These give the same text from C, without
# a Python call per value (and without Python 3.12's warning about the default adapters).
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(datetime, partial(datetime.isoformat, sep=" "))


class Bulk:
    """Insert or update whole pages of rows (dicts keyed by column name) into one table."""

    def __init__(self, table: Table, key: str | None = None) -> None:
        self.table = table
        self.key = key
        self.columns = [c.name for c in table.columns]
        self._cache: dict[str, tuple[str, str, list[Callable[[Any], Any] | None]]] = {}

    def _prepared(self, conn: Connection) -> tuple[str, str, list[Callable[[Any], Any] | None]]:
        name = conn.dialect.name
        if name not in self._cache:
            prep = conn.dialect.identifier_preparer
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            table = prep.format_table(self.table)
            names = [prep.quote(c) for c in self.columns]
            insert = (f"INSERT INTO {table} ({', '.join(names)}) "
                      f"VALUES ({', '.join([mark] * len(names))})")
            update = ""
            if self.key is not None:
                sets = ", ".join(f"{prep.quote(c)} = {mark}" for c in self.columns
                                 if c != self.key)
                update = f"UPDATE {table} SET {sets} WHERE {prep.quote(self.key)} = {mark}"
            procs: list[Callable[[Any], Any] | None] = [
                # sqlite3 stores True and False as 1 and 0, what SQLAlchemy's processor gives
                None if name == "sqlite" and isinstance(c.type, Boolean)
                else c.type.bind_processor(conn.dialect) for c in self.table.columns]
            self._cache[name] = (insert, update, procs)
        return self._cache[name]

    @staticmethod
    def _tuples(rows: Sequence[dict[str, Any]], columns: Sequence[str],
                procs: Sequence[Callable[[Any], Any] | None]) -> list[Any]:
        getter = itemgetter(*columns)
        convert = [(i, p) for i, p in enumerate(procs) if p is not None]
        if not convert:
            return [getter(r) for r in rows]
        out = []
        for r in rows:
            values = list(getter(r))
            for i, p in convert:
                v = values[i]
                if v is not None:
                    values[i] = p(v)
            out.append(tuple(values))
        return out

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        sql, _, procs = self._prepared(conn)
        conn.exec_driver_sql(sql, self._tuples(rows, self.columns, procs))

    def update(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        assert self.key is not None
        _, sql, procs = self._prepared(conn)
        key = self.key
        pairs = [(c, p) for c, p in zip(self.columns, procs, strict=True) if c != key]
        cols = [c for c, _ in pairs] + [key]
        order_procs = [p for _, p in pairs] + [procs[self.columns.index(key)]]
        conn.exec_driver_sql(sql, self._tuples(rows, cols, order_procs))
