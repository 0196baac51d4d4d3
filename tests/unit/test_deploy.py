"""The reference deployment (docs/deploy.md, docs/deploy/compose.yaml, nginx.conf,
prometheus.yml) agrees with the code: every ``DUDAO_*`` it sets is a setting dudao reads
(and its value passes the settings' checks), every ``dudao`` command in it exists with
those options, and the ports agree (servers, proxy, scraper, NATS routes, PostgreSQL)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from adapters.entrypoints.cli.base import cli
from adapters.settings import Settings, nats_servers

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
SAMPLE = {"PG_PASSWORD": "pw", "REPLICATOR_PASSWORD": "pw", "DUDAO_METRICS_TOKEN": "tok"}


def compose() -> dict[str, Any]:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for name, value in SAMPLE.items():  # what `--env-file dudao.env` fills in
        text = text.replace(f"${{{name}}}", value)
    assert "${" not in text, "every interpolated variable is in dudao.env.example"
    return dict(yaml.safe_load(text))


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def dudao_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if s.get("command", [""])[0] == "dudao"}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def settings_read() -> set[str]:
    """The DUDAO_* variables adapters/settings.py reads."""
    source = (ROOT / "adapters" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r'env\.get\("(DUDAO_[A-Z_]+)"', source))


def test_the_topology_is_the_reference_one() -> None:
    every = services()
    apis = [n for n, s in dudao_services().items() if s["command"][1] == "serve"]
    workers = [n for n, s in dudao_services().items() if s["command"][1] == "worker"]
    assert len(apis) >= 2 and len(workers) == 2
    nats = [n for n, s in every.items() if str(s.get("image", "")).startswith("nats:")]
    assert len(nats) == 3
    postgres = [n for n, s in every.items() if str(s.get("image", "")).startswith("postgres:")]
    assert len(postgres) == 2 and any("pg_basebackup" in " ".join(every[n]["command"])
                                      for n in postgres)
    assert "proxy" in every


def test_every_variable_set_is_a_setting_and_passes_its_checks() -> None:
    known = settings_read()
    assert {"DUDAO_NATS_REPLICAS", "DUDAO_METRICS_TOKEN", "DUDAO_NATS"} <= known
    for name, service in dudao_services().items():
        env = {k: str(v) for k, v in service["environment"].items()}
        unknown = {k for k in env if k.startswith("DUDAO_")} - known
        assert not unknown, f"{name} sets variables dudao does not read: {unknown}"
        Settings.from_env(environ=env)  # raises, naming the variable, on a bad value
    example = (DEPLOY / "dudao.env.example").read_text(encoding="utf-8")
    assert set(re.findall(r"^(\w+)=", example, re.M)) == set(SAMPLE)


def test_every_command_exists_with_its_options() -> None:
    commands = [s["command"] for s in dudao_services().values()]
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    commands += [shlex.split(line.split("#", 1)[0])
                 for line in re.findall(r"^\s*(dudao [^\n]+)$", doc, re.M)]
    assert len(commands) >= 6
    for argv in commands:
        assert argv[0] == "dudao"
        words = list(argv[1:])
        group: click.Group = cli
        ctx = click.Context(cli, info_name="dudao")
        while True:
            name = words.pop(0)
            command = group.get_command(ctx, name)
            assert command is not None, f"no command {name!r} in {' '.join(argv)}"
            if isinstance(command, click.Group) and words and not words[0].startswith("-"):
                group, ctx = command, click.Context(command, info_name=name, parent=ctx)
                continue
            try:
                command.make_context(name, words, parent=ctx)  # parses, never runs
            except click.exceptions.Exit:
                pass
            except click.UsageError as e:
                pytest.fail(f"{' '.join(argv)}: {e.format_message()}")
            break


def test_the_ports_agree() -> None:
    every = services()
    apis = {n: s for n, s in dudao_services().items() if s["command"][1] == "serve"}
    # the proxy's upstream and the scraper's targets are the servers, on their ports
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", nginx, re.M))
    served = {f"{n}:{option(s['command'], '--port')}" for n, s in apis.items()}
    assert upstream == served
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    dudao_job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "dudao")
    assert set(dudao_job["static_configs"][0]["targets"]) == served
    assert dudao_job["metrics_path"] == "/metrics"
    for name, s in apis.items():
        assert f"127.0.0.1:{option(s['command'], '--port')}/api/v1/ready" in \
            " ".join(s["healthcheck"]["test"]), name
    listen = re.search(r"listen\s+(\d+)", nginx)
    assert listen and f":{listen.group(1)}" in every["proxy"]["ports"][0]
    # NATS: DUDAO_NATS names every node on its client port; the routes name every
    # node on its cluster port; as many copies as nodes
    nats = {n: s["command"] for n, s in every.items()
            if str(s.get("image", "")).startswith("nats:")}
    clients = {f"{n}:{option(c, '-p')}" for n, c in nats.items()}
    cluster_ports = {n: urlsplit(option(c, "--cluster")).port for n, c in nats.items()}
    routes = {f"{n}:{p}" for n, p in cluster_ports.items()}
    for c in nats.values():
        assert {urlsplit(u).netloc for u in option(c, "--routes").split(",")} == routes
    for name, s in dudao_services().items():
        env = s["environment"]
        assert {urlsplit(u).netloc for u in nats_servers(env["DUDAO_NATS"])} == clients, name
        assert int(env["DUDAO_NATS_REPLICAS"]) == len(nats)
        db = urlsplit(env["DUDAO_DB"])
        pg = every[str(db.hostname)]
        assert f"port={db.port}" in pg["command"], name
    standby = " ".join(every["postgres-standby"]["command"])
    primary = urlsplit(dudao_services()["api1"]["environment"]["DUDAO_DB"])
    assert f"-h {primary.hostname} -p {primary.port}" in standby


def test_the_workers_metrics_are_scraped() -> None:
    """The servers run no background roles (``--no-background``): the sweep's duration and
    decisions are the workers' figures, served by ``dudao worker --metrics-port`` and scraped
    there, with the metrics token (the port is bound beyond loopback)."""
    workers = {n: s for n, s in dudao_services().items() if s["command"][1] == "worker"}
    apis = [s for s in dudao_services().values() if s["command"][1] == "serve"]
    assert all("--no-background" in s["command"] for s in apis)
    scraped = set()
    for name, s in workers.items():
        command = s["command"]
        assert "--metrics-port" in command, f"{name} serves no metrics"
        scraped.add(f"{name}:{option(command, '--metrics-port')}")
        if option(command, "--metrics-host") not in {"127.0.0.1", "::1", "localhost"}:
            assert s["environment"].get("DUDAO_METRICS_TOKEN"), name
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = [j for j in scrape["scrape_configs"] if j["job_name"] == "dudao-worker"]
    assert len(jobs) == 1
    assert set(jobs[0]["static_configs"][0]["targets"]) == scraped
    assert jobs[0]["metrics_path"] == "/metrics"
    assert jobs[0]["authorization"]["credentials_file"] == "/etc/prometheus/metrics-token"
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert not any(t in nginx for t in scraped)  # never behind the proxy
