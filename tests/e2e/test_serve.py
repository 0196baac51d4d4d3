"""``dudao serve`` as a process: token, requests, clean stop on SIGTERM; 503 when the store is down."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from adapters.entrypoints.api.app import Lifecycle
from tests.apiserver import ApiServer

DUDAO = str(Path(sys.executable).with_name("dudao"))


def read_line(proc: subprocess.Popen[str], timeout: float = 20) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError("no output from dudao serve")
    return proc.stdout.readline()


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "DUDAO_DB": str(tmp_path / "dudao.db"), "DUDAO_NOW": "2024-10-15T09:00"}
    subprocess.run([DUDAO, "unit", "add", "HTQ", "--name", "汉台区人民政府"], env=env, check=True)
    created = subprocess.run([DUDAO, "--json", "token", "create", "--role", "inspector",
                              "--name", "张督学"], env=env, check=True, capture_output=True,
                             text=True)
    token = json.loads(created.stdout)["token"]
    assert token.startswith("dd_")
    # only the hash is stored
    assert token.encode() not in (tmp_path / "dudao.db").read_bytes()
    proc = subprocess.Popen([DUDAO, "serve", "--port", "0", "--sweep-interval", "5"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc)
        assert "dudao 服务已启动" in line, line
        base = line.split("：", 1)[1].split("（", 1)[0].strip()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get("/health").json()["status"] == "ok"
            r = client.post("/findings", json={"unit": "HTQ", "on": "2024-10-15",
                                               "inspector": "张督学", "text": "问题"})
            assert r.status_code == 201
            fid = r.json()["finding_id"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "dudao 服务正在停止" in out and out.rstrip().endswith("dudao 服务已停止")
    trail = subprocess.run([DUDAO, "--json", "audit", "trail", fid], env=env, check=True,
                           capture_output=True, text=True)
    assert json.loads(trail.stdout)["events"][0]["actor"].startswith("inspector:张督学#")


def test_lifecycle_hooks_start_with_the_service_and_stop_in_order(sqlite_db: str,
                                                                 clock: Any) -> None:
    seen: list[str] = []
    lifecycle = Lifecycle(startup=[lambda c: seen.append("sweep started")],
                          shutdown=[lambda c: seen.append("sweep stopped")])

    async def publisher_start(c: Any) -> None:
        seen.append("publisher started")

    lifecycle.startup.append(publisher_start)
    server = ApiServer(sqlite_db, clock, lifecycle).start()
    assert seen == ["sweep started", "publisher started"]
    server.stop()
    assert seen[-1] == "sweep stopped"


class Proxy:
    """A TCP forwarder to PostgreSQL that the test can cut, like a network outage."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_an_unreachable_store_is_503_and_the_service_recovers(pg_db: str, clock: Any) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(pg_db)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}") \
        if parts.port else f"{parts.netloc}:{proxy.port}".replace(parts.hostname or "", "127.0.0.1")
    db = parts._replace(netloc=netloc).geturl()
    server = ApiServer(db, clock).start()
    try:
        server.app.add_unit("HTQ", "汉台区人民政府", actor="t")
        token = server.token("inspector", name="张督学")
        body = {"unit": "HTQ", "on": "2024-10-15", "inspector": "张督学", "text": "问题"}
        with server.client(token) as client:
            assert client.post("/findings", json=body).status_code == 201
            proxy.cut()
            r = client.post("/findings", json=body)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "unavailable" and r.headers["retry-after"]
            assert client.get("/findings").status_code == 503
            assert client.get("/ready").status_code == 503  # not ready: no store
            proxy.restore()
            deadline = time.monotonic() + 30
            while client.get("/health").status_code != 200:
                assert time.monotonic() < deadline, "the service did not recover"
                time.sleep(0.2)
            assert client.post("/findings", json=body).status_code == 201
            assert client.get("/findings").json()["count"] == 2
            ready = client.get("/ready")
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
    finally:
        server.stop()
        proxy.close()

