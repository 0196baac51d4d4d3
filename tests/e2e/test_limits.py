"""Issue 11, case 10 (bounded work): a half-sent request is cut, bodies are bounded per route.

A real server (uvicorn on a socket, as ``dudao serve`` runs it); the deadlines are
shortened for the test, the sizes are the served ones.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.entrypoints.http_limits import BODY_LIMIT, MAX_HEAD, BoundedHttpToolsProtocol
from tests.apiserver import ApiServer


@pytest.fixture
def server(sqlite_db: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.setattr(BoundedHttpToolsProtocol, "head_timeout", 1.0)
    monkeypatch.setattr(BoundedHttpToolsProtocol, "request_timeout", 2.0)
    s = ApiServer(sqlite_db, clock).start()
    s.app.add_unit("HTQ", "汉台区人民政府", actor="t")
    yield s
    s.stop()


def raw(server: ApiServer, data: bytes, *, wait: float = 15.0) -> tuple[bytes, float]:
    """Send ``data`` and read until the server closes: (what it answered, seconds it took)."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(wait)
    started = time.monotonic()
    try:
        if data:
            sock.sendall(data)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"the server held the connection {wait} s: {got!r}") from None
            if not chunk:
                return got, time.monotonic() - started
            got += chunk
    finally:
        sock.close()


def test_a_half_sent_request_head_is_cut_with_408(server: ApiServer) -> None:
    got, took = raw(server, b"POST /api/v1/findings HTTP/1.1\r\nHost: x\r\nContent-Ty")
    assert got.startswith(b"HTTP/1.1 408"), got
    assert took < 10


def test_a_connection_that_sends_nothing_is_closed(server: ApiServer) -> None:
    got, took = raw(server, b"")
    assert got.startswith(b"HTTP/1.1 408"), got
    assert took < 10


def test_a_slow_loris_body_is_cut(server: ApiServer) -> None:
    # a caller with a token (POST /findings reads its body after the caller is known: one
    # without a token is refused at once, its body unread)
    token = server.token("inspector", name="张督学").encode()
    head = (b"POST /api/v1/findings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token + b"\r\nContent-Length: 100\r\n\r\n")
    got, took = raw(server, head + b'{"unit":')
    assert got.startswith(b"HTTP/1.1 408"), got
    assert took < 10
    assert server.events() == 1  # the unit only


def test_an_oversized_head_is_refused_with_431(server: ApiServer) -> None:
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD + 70000)
    got, _ = raw(server, head)
    assert got.startswith(b"HTTP/1.1 431"), got[:200]


def test_the_health_check_still_answers_at_once(server: ApiServer) -> None:
    with server.client() as client:
        assert client.get("/health").status_code == 200


def finding_body(size: int) -> bytes:
    text = "问" * (size // 3)
    return ('{"unit":"HTQ","on":"2024-10-15","inspector":"张督学","text":"' + text + '"}').encode()


def test_a_body_over_the_route_limit_is_413_and_records_nothing(server: ApiServer) -> None:
    token = server.token("inspector", name="张督学")
    with server.client(token) as client:
        r = client.post("/findings", content=finding_body(BODY_LIMIT + 1000),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        body = r.json()
        assert body["code"] == "too_large" and body["field"] == "body"
        assert "请求体过大" in body["message"] and "64 KiB" in body["message"]
        assert "too large" in body["message_en"]
    assert server.events() == 1


def test_a_chunked_body_is_cut_as_it_streams_past_the_limit(server: ApiServer) -> None:
    token = server.token("inspector", name="张督学")
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        data = finding_body(10 * BODY_LIMIT)
        for i in range(0, len(data), 8192):
            sent += 8192
            yield data[i:i + 8192]

    with server.client(token) as client:
        r = client.post("/findings", content=chunks(),
                        headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers  # chunked, no length declared
        assert r.status_code == 413, r.text
        assert r.json()["field"] == "body"
    assert server.events() == 1


def test_a_body_within_the_limit_is_served(server: ApiServer) -> None:
    token = server.token("inspector", name="张督学")
    with server.client(token) as client:
        r = client.post("/findings", content=finding_body(3000),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
    assert server.events() == 2


def test_the_web_form_has_the_small_limit(server: ApiServer) -> None:
    with server.client() as client:
        r = client.post(server.base.removesuffix("/api/v1") + "/findings",
                        content=b"text=" + b"a" * (BODY_LIMIT + 10),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
    assert server.events() == 1


def test_plan_import_takes_more_than_the_small_limit(server: ApiServer) -> None:
    token = server.token("policy", name="督导室")
    with server.client(token) as client:
        # 200 KiB of text is no plan, but it reaches the importer (not refused for its size)
        r = client.post("/plans", json={"text": "一" * 70000, "source": "p.txt"})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "FILE"
