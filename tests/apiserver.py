"""A real dudao HTTP service for tests: uvicorn on a free port, in a thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from adapters.bootstrap import load_calendar
from adapters.entrypoints.api.app import Components, Lifecycle
from adapters.entrypoints.server import (
    bind,
    build_components,
    close_components,
    make_server,
    open_service,
)


class ApiServer:
    """``dudao serve`` in-process: the same components and app, on 127.0.0.1:<free port>."""

    def __init__(self, db: str, clock: Any, lifecycle: Lifecycle | None = None) -> None:
        self.db = db
        self.clock = clock
        self.lifecycle = lifecycle or Lifecycle()
        self.thread: threading.Thread | None = None

    def start(self) -> ApiServer:
        app = open_service(self.db, self.clock, load_calendar(None))
        self.c: Components = build_components(app, self.db)
        self.app = app
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.server = make_server(self.c, sock, self.lifecycle)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        self._sock = sock
        return self

    def stop(self) -> None:
        if self.thread is None:
            return
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self._sock.close()
        close_components(self.c)
        self.thread = None

    def token(self, role: str, unit: str | None = None, name: str | None = None) -> str:
        secret, _ = self.c.tokens.create(role=role, unit=unit, name=name, now=self.clock(),
                                         created_by="test")
        return secret

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)

    def events(self) -> int:
        return self.app.event_count()
