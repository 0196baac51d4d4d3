"""Settings read once (adapters.settings) and a command line that loads a command's module
only when it runs (adapters.entrypoints.cli.base.COMMANDS)."""

from __future__ import annotations

import importlib

import pytest

from adapters.entrypoints.cli.base import COMMANDS, cli
from adapters.settings import Settings
from domain.errors import InvalidInput


def test_a_bad_thread_count_names_the_variable() -> None:
    with pytest.raises(InvalidInput) as e:
        Settings.from_env(environ={"DUDAO_API_THREADS": "many"})
    assert e.value.field == "DUDAO_API_THREADS"


def test_the_command_table_matches_the_commands_the_modules_define() -> None:
    for module in {m for m, _ in COMMANDS.values()}:
        importlib.import_module(f"adapters.entrypoints.cli.{module}")
    assert set(cli.commands) == set(COMMANDS)
    for name, (_module, line) in COMMANDS.items():
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and (command.help or "").startswith(line)
