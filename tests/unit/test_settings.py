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


def test_nats_takes_several_urls_and_a_replica_count_checked_once() -> None:
    s = Settings.from_env(environ={"DUDAO_NATS": " nats://a:4222 ,nats://b:4223",
                                   "DUDAO_NATS_REPLICAS": "3"})
    assert (s.nats, s.nats_replicas) == ("nats://a:4222,nats://b:4223", 3)
    assert Settings.from_env(environ={}).nats_replicas == 1
    for name, bad in (("DUDAO_NATS", "http://a:4222"), ("DUDAO_NATS", "nats://a:4222,nats://:1"),
                      ("DUDAO_NATS", "nats://a:70000"), ("DUDAO_NATS", " , "),
                      ("DUDAO_NATS_REPLICAS", "0"), ("DUDAO_NATS_REPLICAS", "6"),
                      ("DUDAO_NATS_REPLICAS", "three")):
        with pytest.raises(InvalidInput) as e:
            Settings.from_env(environ={name: bad})
        assert e.value.field == name and name in e.value.zh


def test_a_batch_is_sent_in_waves_of_one_notice_per_finding() -> None:
    from adapters.infrastructure.notice_messages import Notice
    from adapters.infrastructure.notice_outbox import waves

    def n(finding: str, position: int) -> Notice:
        return Notice(f"{finding}:{position}", "dudao.notice.x.U1", {"finding": finding}, position)

    batch = [n("a", 1), n("b", 2), n("a", 3), n("c", 4), n("b", 5), n("b", 6)]
    cut = waves(batch)
    assert [[x.position for x in w] for w in cut] == [[1, 2], [3, 4, 5], [6]]
    assert [x for w in cut for x in w] == batch  # nothing lost, nothing reordered
    assert waves([]) == [[]]
