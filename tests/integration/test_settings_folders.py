"""Settings read once from the environment (adapters.settings), and the operator's policy
folders reaching the sweep and the lagging rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.settings import Settings
from rules.policy import POLICY_DIR
from tests.conftest import Cli


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


def test_operator_policy_folders_reach_the_sweep_and_the_lagging_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_db: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    text = (POLICY_DIR / "default.toml").read_text(encoding="utf-8")
    (tmp_path / "strict.toml").write_text(
        text.replace('policy = "default"', 'policy = "strict"'), encoding="utf-8")
    dudao = Cli(sqlite_db, capsys)
    assert dudao("escalate", "--policy", "strict")[0] == 1  # not in the built-in folder
    monkeypatch.setenv("DUDAO_POLICIES", str(tmp_path))
    code, out, err = dudao("--json", "escalate", "--policy", "strict")
    assert code == 0, err
    assert json.loads(out)["policy"] == "strict"  # the operator's file, by its name
    assert dudao("plan", "lagging", "--policy", "strict")[0] == 0
    monkeypatch.setenv("DUDAO_POLICY", "strict")
    assert dudao.json("escalate")["policy"] == "strict"
