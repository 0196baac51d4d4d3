"""Bounded work for ``dudao serve``: how long a request may take to arrive, how big it may be.

uvicorn times out idle keep-alive connections only; nothing bounds a request that
is being sent (a client trickling a byte a second holds a connection for good) and
httptools bounds no header size. :class:`BoundedHttpToolsProtocol` adds, per
connection: the request head (request line and headers) within
``HEAD_TIMEOUT`` seconds of its first byte (or of the connection, for the first
request), at most ``MAX_HEAD`` bytes of it, and the whole request, body included,
within ``REQUEST_TIMEOUT`` seconds; a late request is answered 408, an oversized
head 431, and the connection is closed.

:class:`BodyLimit` is the ASGI middleware that bounds bodies per route: 413 with
the API's error body when ``Content-Length`` says more than the route takes, or
as soon as a body sent without one (chunked) streams past it; the bytes are
counted as they arrive, so a big body is never buffered whole.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from domain.evidence import MAX_REPORT_BYTES

log = logging.getLogger("dudao.serve")

KiB = 1024
MiB = 1024 * KiB

HEAD_TIMEOUT = 10.0
"""Seconds for a request's line and headers to arrive."""
REQUEST_TIMEOUT = 60.0
"""Seconds for a whole request, body included, to arrive."""
KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection stays open (uvicorn's ``timeout_keep_alive``)."""
MAX_HEAD = 32 * KiB
"""Bytes of request line and headers."""
MAX_CONNECTIONS = 1000
"""Concurrent connections and requests (uvicorn's ``limit_concurrency``: beyond, 503)."""

BODY_LIMIT = 64 * KiB
"""Bytes of a request body: the JSON API and the web forms."""
ROUTE_BODY_LIMITS: dict[str, int] = {
    # an inspection carries up to 200 findings of up to 4,000 characters each
    "/api/v1/inspections": 6 * MiB,
    # a plan's text (itself at most adapters.plan_reader.MAX_PLAN_BYTES), JSON-escaped
    "/api/v1/plans": 16 * MiB,
}


REPORT_BODY_LIMIT = MAX_REPORT_BYTES + MiB
"""A 整改报告 with its 佐证材料 (domain.evidence: all its files together, plus the form)."""
_REPORT_PATHS = re.compile(r"^(/api/v1)?/findings/[^/]+/reports?$")


def body_limit(path: str) -> int:
    path = path.rstrip("/") or "/"
    if _REPORT_PATHS.match(path):
        return REPORT_BODY_LIMIT
    return ROUTE_BODY_LIMITS.get(path, BODY_LIMIT)


def size_text(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n // KiB} KiB"


def too_large_body(limit: int) -> bytes:
    return orjson.dumps({
        "code": "too_large", "field": "body",
        "message": f"请求体过大：这个地址最多接受 {size_text(limit)}，本次未记录",
        "message_en": f"request body too large: at most {limit} bytes here; nothing recorded",
    })


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over its route's limit (see module doc)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int] = body_limit) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # uvicorn has refused a malformed one already
                if declared > limit:
                    await self._refuse(send, limit)
                    return
                break
        seen = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer: whatever the app says next is dropped
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise
            # the app saw the body end early (a disconnect): nothing to report

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = too_large_body(limit)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for a request to arrive, and a head size."""

    head_timeout = HEAD_TIMEOUT
    request_timeout = REQUEST_TIMEOUT
    max_head = MAX_HEAD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: Any = None
        self._began = 0.0
        self._head_bytes: int | None = None  # counting while a request's head arrives

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(max(0.0, seconds), self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._arm(self.head_timeout)  # a connection that never sends a request is closed

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self._head_bytes is not None
        super().data_received(data)
        if counting and self._head_bytes is not None:  # the head is still open after it
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head and not self.transport.is_closing():
                self._answer(431, "请求头过大 (request header fields too large)")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = time.monotonic()
        if self._head_bytes is None:
            self._head_bytes = 0
        self._arm(self.head_timeout)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._arm(self.request_timeout - (time.monotonic() - self._began))
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.warning("closing a connection whose request did not arrive in time: %s",
                    self.client)
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        self._answer(408, "请求超时：请求未在规定时间内发送完 (request timeout)")

    def _answer(self, status: int, text: str) -> None:
        body = text.encode("utf-8")
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(b"".join([
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]))
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()
