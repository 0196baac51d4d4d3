"""What every step module shares: the command line run in process, as policy staff would type it."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run

ACTOR = "特性测试"


def run_cli_status(db: Path, now: str, *args: str, actor: str = ACTOR,
                   env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """``dudao --json ARGS`` at ``now`` on ``db`` as ``actor``, with these settings in the
    environment (``DUDAO_POLICY``, say): its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["--db", str(db), "--now", now, "--json", "--actor", actor, *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            mock.patch.dict(os.environ, dict(env or {})):
        status = run(cli, argv)
    return status, out.getvalue().strip(), err.getvalue().strip()


def run_cli(db: Path, now: str, *args: str, actor: str = ACTOR,
            env: Mapping[str, str] | None = None) -> Any:
    """``dudao --json ARGS`` at ``now`` on ``db``; its JSON output (None when empty)."""
    status, text, err = run_cli_status(db, now, *args, actor=actor, env=env)
    assert status == 0, f"dudao {' '.join(args)} 失败：{err}"
    return json.loads(text) if text else None
