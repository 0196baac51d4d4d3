"""Issue 11, case 6: two ``dudao serve`` started at once on a fresh PostgreSQL schema.

Both must start and answer: the DDL and first inserts of a first start-up are
serialised (an advisory lock on the schema), so neither dies of a lost race.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.conftest import PG_URL, need, pg_unavailable
from tests.e2e.test_serve import DUDAO, read_line


def start_two_at_once(db: str) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "DUDAO_DB": db, "DUDAO_NOW": "2024-10-15T09:00"}
    command = [DUDAO, "serve", "--port", "0", "--sweep-interval", "600"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]


@pytest.mark.parametrize("attempt", range(5))
def test_two_servers_started_at_once_on_a_fresh_schema_both_serve(attempt: int) -> None:
    error = pg_unavailable()
    if error:
        need("PostgreSQL", error)
    schema = f"race_{uuid.uuid4().hex[:12]}"  # not created: the servers make it
    procs = start_two_at_once(f"{PG_URL}?schema={schema}")
    try:
        for proc in procs:
            line = read_line(proc, timeout=60)
            if "dudao 服务已启动" not in line:
                proc.kill()
                _, err = proc.communicate(timeout=10)
                raise AssertionError(f"a server did not start: {line!r}\n{err[-3000:]}")
            base = line.split("：", 1)[1].split("（", 1)[0].strip()
            health = httpx.get(f"{base}/health", timeout=10)
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "ok"
        for proc in procs:
            proc.terminate()
        for proc in procs:
            _out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err[-3000:]
            # nor did a background task (the sweep, the publisher) die of the race
            assert "Traceback" not in err and "Error" not in err, err[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema)))
