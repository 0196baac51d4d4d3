"""What every step module shares: the command line run in process, as policy staff would type it."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli import cli
from adapters.entrypoints.cli.base import run


def run_cli(db: Path, now: str, *args: str) -> Any:
    """``dudao --json ARGS`` at ``now`` on ``db``; its JSON output (None when empty)."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["--db", str(db), "--now", now, "--json", "--actor", "特性测试", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run(cli, argv)
    assert status == 0, f"dudao {' '.join(args)} 失败：{err.getvalue().strip()}"
    text = out.getvalue().strip()
    return json.loads(text) if text else None
