"""Settings read once (adapters.settings) and a command line that loads a command's module
only when it runs (adapters.entrypoints.cli.base.COMMANDS)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.entrypoints.cli.base import COMMANDS, cli
from adapters.settings import Settings
from domain.errors import InvalidInput
from rules.policy import POLICY_DIR
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_dudao_variable_is_read_into_one_settings_object(tmp_path: Path) -> None:
    env = {"DUDAO_DB": "x.db", "DUDAO_NOW": "2024-10-15T09:00", "DUDAO_HOLIDAYS": "h.txt",
           "DUDAO_ACTOR": "督导室", "DUDAO_POLICY": "strict",
           "DUDAO_POLICIES": f"{tmp_path}:{tmp_path / 'b'}", "DUDAO_NATS": "nats://n:4222",
           "DUDAO_API_THREADS": "8"}
    s = Settings.from_env(environ=env)
    assert (s.db, s.holidays, s.actor, s.policy, s.nats, s.api_threads) == (
        "x.db", "h.txt", "督导室", "strict", "nats://n:4222", 8)
    assert s.now is not None and s.now.isoformat() == "2024-10-15T09:00:00+08:00"
    assert s.policy_folders == (tmp_path, tmp_path / "b")
    # an option given on the command line wins over its variable
    assert Settings.from_env(db="y.db", actor="张三", environ=env).db == "y.db"
    assert Settings.from_env(environ={}) == Settings()


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


@pytest.mark.parametrize("argv", [["--help"], ["unit", "--help"]])
def test_the_command_line_starts_without_the_server_the_demo_or_nats(argv: list[str]) -> None:
    code = ("import sys, json\nfrom adapters.entrypoints.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "责任单位" in done.stdout
    for heavy in ("fastapi", "uvicorn", "nats", "adapters.demo.year", "adapters.entrypoints.server", "httpx"):
        assert heavy not in loaded, heavy
    if argv == ["--help"]:
        assert not {"eventsourcing", "sqlalchemy", "adapters.service_layer.application"} & loaded


def test_operator_policy_folders_reach_the_sweep_and_the_lagging_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_db: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    text = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")
    (tmp_path / "strict.toml").write_text(
        text.replace('policy = "default"', 'policy = "strict"'), encoding="utf-8")
    dudao = Cli(sqlite_db, capsys)
    assert dudao("escalate", "--policy", "strict")[0] == 1  # not in the built-in folder
    monkeypatch.setenv("DUDAO_POLICIES", str(tmp_path))
    code, out, err = dudao("escalate", "--policy", "strict")
    assert "strict" in out
    assert code == 0, err
    assert dudao("plan", "lagging", "--policy", "strict")[0] == 0
    monkeypatch.setenv("DUDAO_POLICY", "strict")
    assert dudao.json("escalate")["policy"] == "strict"
