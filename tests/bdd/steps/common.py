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


def run_dudao(db: Path, now: str, *args: str, as_json: bool = True, actor: str = ACTOR,
              env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """``dudao [--json] ARGS`` at ``now`` on ``db`` as ``actor``, with these settings in the
    environment (``DUDAO_POLICY``, say): its exit status, output and errors."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["--db", str(db), "--now", now, *(["--json"] if as_json else []),
            "--actor", actor, *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            mock.patch.dict(os.environ, dict(env or {})):
        status = run(cli, argv)
    return status, out.getvalue(), err.getvalue().strip()


def run_cli(db: Path, now: str, *args: str, actor: str = ACTOR,
            env: Mapping[str, str] | None = None) -> Any:
    """``dudao --json ARGS``, which must succeed; its JSON output (None when empty)."""
    status, out, err = run_dudao(db, now, *args, actor=actor, env=env)
    assert status == 0, f"dudao {' '.join(args)} 失败：{err}"
    text = out.strip()
    return json.loads(text) if text else None


def run_text(db: Path, now: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """What a command that must succeed prints for people (a document, a report)."""
    status, out, err = run_dudao(db, now, *args, as_json=False, env=env)
    assert status == 0, f"dudao {' '.join(args)} 失败：{err}"
    return out


def run_refused(db: Path, now: str, *args: str) -> str:
    """Run a command that must be refused; its one-line error."""
    status, out, err = run_dudao(db, now, *args, as_json=False)
    assert status != 0, f"dudao {' '.join(args)} 应被拒绝，却成功了：{out}"
    return err
