"""The settings of a dudao process, read once from the environment.

Every ``DUDAO_*`` variable is read here and nowhere else; a command-line
option, when given, wins over its variable. The composition root
(:mod:`adapters.bootstrap`) hands the values on to what needs them.

| variable | meaning | default |
|---|---|---|
| ``DUDAO_DB`` | event store: SQLite path or ``postgresql://`` URL | ``dudao.db`` |
| ``DUDAO_NOW`` | the current time (ISO 8601), for simulation and replay | the wall clock |
| ``DUDAO_HOLIDAYS`` | operator holiday file | the package, then provisional |
| ``DUDAO_ACTOR`` | the actor recorded by the command line | ``cli:<user>`` |
| ``DUDAO_POLICY`` | the escalation policy | ``default`` |
| ``DUDAO_POLICIES`` | extra folders of policy files (``os.pathsep``-separated) | none |
| ``DUDAO_NATS`` | the NATS server(s) of notices and checkpoints; several comma-separated URLs for a cluster | ``nats://127.0.0.1:4222`` |
| ``DUDAO_NATS_REPLICAS`` | copies JetStream keeps of the notice and checkpoint streams (3 on a three-node cluster) | 1 |
| ``DUDAO_METRICS_TOKEN`` | bearer token ``/metrics`` asks of a caller not on loopback (unset: loopback only) | none |
| ``DUDAO_API_THREADS`` | worker threads of ``dudao serve`` | anyio's default |
| ``DUDAO_SWEEP_PAGE`` | findings per transaction of a sweep (a stop takes effect between pages) | 2,000 |
| ``DUDAO_ISSUER`` | 发文机关 printed on the 督导通报 (``report bulletin --issuer`` wins) | ``××市人民政府教育督导室`` |

This module is light on purpose: the command line imports it at start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.errors import InvalidInput
from domain.time import SHANGHAI

DEFAULT_DB = "dudao.db"
DEFAULT_NATS = "nats://127.0.0.1:4222"
DEFAULT_ISSUER = "××市人民政府教育督导室"
NATS_SCHEMES = ("nats", "tls", "ws", "wss")
MAX_REPLICAS = 5
"""JetStream keeps at most five copies of a stream."""


def parse_moment(value: str, field: str = "--now") -> datetime:
    """ISO 8601; a date alone is its start; no offset means Asia/Shanghai."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{field} 的时间格式不对：{value!r}（应为 ISO 8601，如 2024-10-15T09:00）",
            f"{field}: invalid ISO 8601 datetime {value!r}",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def _count(name: str, value: str | None, top: int) -> int | None:
    """A whole number from 1 to ``top`` in variable ``name``; None when unset."""
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= top:
        raise InvalidInput(
            f"{name} 应为1到{top}之间的整数，收到 {value!r}",
            f"{name} must be a whole number from 1 to {top}, got {value!r}",
            field=name,
        )
    return number


def nats_servers(value: str, field: str = "DUDAO_NATS") -> tuple[str, ...]:
    """The NATS URLs in ``value`` (comma-separated, as nats-py's ``servers=[...]``)."""
    urls = tuple(u.strip() for u in value.split(",") if u.strip())
    for url in urls:
        scheme, _, rest = url.rpartition("://") if "://" in url else ("nats", "", url)
        host = rest.split("@")[-1].split("/")[0]
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        if (scheme not in NATS_SCHEMES or not name
                or (port and not (port.isdigit() and 0 < int(port) < 65536))):
            raise InvalidInput(
                f"{field} 中的 NATS 地址不对：{url!r}（应为 nats://主机:端口，"
                "集群的多个地址用英文逗号分隔）",
                f"{field}: invalid NATS URL {url!r} (expected nats://host:port, "
                "several separated by commas)",
                field=field,
            )
    if not urls:
        raise InvalidInput(f"{field} 未给出 NATS 地址", f"{field}: no NATS URL given",
                           field=field)
    return urls


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_DB
    now: datetime | None = None
    holidays: str | None = None
    actor: str | None = None
    policy: str | None = None
    """The policy by name or file; ``None`` is the rules' default policy."""
    policy_folders: tuple[Path, ...] = ()
    nats: str = DEFAULT_NATS
    """One NATS URL, or several comma-separated (the nodes of a cluster)."""
    nats_replicas: int = 1
    """Copies JetStream keeps of the notice and checkpoint streams."""
    metrics_token: str | None = None
    """The token ``/metrics`` asks of a caller not on loopback (none: loopback only)."""
    api_threads: int | None = None
    sweep_page: int | None = None
    issuer: str = DEFAULT_ISSUER
    """发文机关 of the 督导通报."""

    @classmethod
    def from_env(cls, db: str | None = None, now: str | None = None,
                 holidays: str | None = None, actor: str | None = None,
                 environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process: the options given, else ``DUDAO_*``, else defaults."""
        env = os.environ if environ is None else environ
        now_text = now or env.get("DUDAO_NOW")
        return cls(
            db=db or env.get("DUDAO_DB") or DEFAULT_DB,
            now=parse_moment(now_text) if now_text else None,
            holidays=holidays or env.get("DUDAO_HOLIDAYS") or None,
            actor=actor or env.get("DUDAO_ACTOR") or None,
            policy=env.get("DUDAO_POLICY") or None,
            policy_folders=tuple(Path(p) for p in env.get("DUDAO_POLICIES", "").split(os.pathsep)
                                 if p),
            nats=",".join(nats_servers(env.get("DUDAO_NATS") or DEFAULT_NATS)),
            nats_replicas=_count("DUDAO_NATS_REPLICAS", env.get("DUDAO_NATS_REPLICAS"),
                                 MAX_REPLICAS) or 1,
            metrics_token=(env.get("DUDAO_METRICS_TOKEN") or "").strip() or None,
            api_threads=_count("DUDAO_API_THREADS", env.get("DUDAO_API_THREADS"), 1024),
            sweep_page=_count("DUDAO_SWEEP_PAGE", env.get("DUDAO_SWEEP_PAGE"), 100_000),
            issuer=(env.get("DUDAO_ISSUER") or "").strip() or DEFAULT_ISSUER,
        )
