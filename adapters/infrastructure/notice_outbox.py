"""The notices outbox: follows the event log and publishes escalation notices to NATS JetStream.

The event log is the outbox. The publisher keeps its own position in the
``notice_positions`` table of the same database and advances it only after
JetStream has acknowledged every notice up to it. A crash between publishing
and saving the position republishes the same notices with the same message
ids, and JetStream's deduplication drops them; a NATS outage only delays
notices, because nothing moves the position until they are acknowledged.

An escalation that cannot be decoded or made into a notice is skipped (issue 11):
named with its position in a warning, kept in ``skipped_events`` (counted in
``/health``), and the publisher goes on with the rest of the log.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import nats
from eventsourcing import persistence
from nats.js import api
from nats.js.errors import NotFoundError
from sqlalchemy import Column, Integer, String, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters.infrastructure.notice_messages import (
    ESCALATION,
    STREAM,
    SUBJECT_PREFIX,
    FindingInfo,
    Notice,
    NoticeRenderer,
    UnitInfo,
    build_notice,
    unit_subject,
)
from adapters.service_layer.application import Dudao, StoreUnavailable
from adapters.settings import DEFAULT_NATS, nats_servers
from domain.errors import DudaoError
from projections.events import FINDING_RECORDED, event_class
from projections.runner import NOT_THE_EVENT, metadata, skip_event, skipped_events

DUPLICATE_WINDOW = 7 * 24 * 3600.0
"""JetStream's deduplication window (seconds): a publisher that crashed after
publishing and before saving its position may restart up to a week later
and its repeats are still dropped."""

RECORDED: type = FINDING_RECORDED
STORE_ERRORS = (persistence.OperationalError, persistence.InterfaceError)

notice_positions = Table(
    "notice_positions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
)


class NatsUnavailable(DudaoError):
    """NATS (or its JetStream) cannot be reached; nothing was lost."""


def unavailable(server: str, error: BaseException, pending: int | None = None) -> NatsUnavailable:
    if isinstance(error, (nats.errors.NoServersError, OSError)):
        reason = "连接被拒绝或超时"
    elif isinstance(error, (TimeoutError, nats.errors.TimeoutError)):
        reason = "等待确认超时"
    else:
        reason = f"{type(error).__name__}: {error}".strip().rstrip(":").splitlines()[0]
    waiting_zh = f"{pending} 条通知待发布，" if pending is not None else "待发布的通知"
    waiting_en = f"{pending} notices are" if pending is not None else "pending notices are"
    return NatsUnavailable(
        f"无法连接消息服务 NATS（{server}，{reason}）：{waiting_zh}仍保留在事件日志中，"
        "不会丢失；NATS 恢复后重新运行 dudao notices publish 即可补发",
        f"NATS at {server} is unreachable ({reason}); {waiting_en} kept in the event log, "
        "nothing is lost; run dudao notices publish again when NATS is back",
        field="DUDAO_NATS",
    )


async def _quiet(*_args: Any) -> None:
    """nats-py would log every connection error; the outbox reports them itself."""


async def connect(server: str, *, timeout: float = 2.0) -> Any:
    """A NATS connection, or :class:`NatsUnavailable` after two quick attempts per server.

    ``server`` is one URL or several comma-separated (the nodes of a cluster: the
    first that answers is used). The connection does not reconnect by itself: when
    its node goes away the publisher's next call fails at once, and its loop
    reconnects, to any node that answers, with a pause.
    """
    servers = list(nats_servers(server, "--nats"))
    try:
        return await nats.connect(
            servers=servers, connect_timeout=timeout, allow_reconnect=False,
            max_reconnect_attempts=1, reconnect_time_wait=0.1,
            error_cb=_quiet, disconnected_cb=_quiet, reconnected_cb=_quiet, closed_cb=_quiet,
            name="dudao-notices",
        )
    except Exception as e:  # any failure to connect means NATS is unreachable
        raise unavailable(server, e) from e


def stream_config(stream: str = STREAM, replicas: int = 1) -> api.StreamConfig:
    return api.StreamConfig(
        name=stream,
        description="督导升级通知（dudao escalation notices）",
        subjects=[f"{SUBJECT_PREFIX}.>"],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=replicas,
    )


async def ensure_stream(js: Any, stream: str = STREAM, replicas: int = 1) -> Any:
    """The notices stream, created when missing with ``replicas`` copies
    (``DUDAO_NATS_REPLICAS``); an existing one with another count is changed to it."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        try:
            return await js.add_stream(stream_config(stream, replicas))
        except Exception as refused:
            # Another process may have created it at the same moment; if not, the reason
            # is the refusal (three copies asked of a single server, say), not "not found".
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                raise refused from None
    return await ensure_replicas(js, info, replicas)


async def ensure_replicas(js: Any, info: Any, replicas: int) -> Any:
    """The stream of ``info`` with ``replicas`` copies (a single server keeps one)."""
    if (info.config.num_replicas or 1) == replicas:
        return info
    config = info.config
    config.num_replicas = replicas
    return await js.update_stream(config)


@dataclass
class PublishResult:
    published: int = 0
    """Notices JetStream acknowledged as new."""
    duplicates: int = 0
    """Notices JetStream acknowledged as repeats of one it already had (dropped)."""
    position: int = 0
    """The publisher's position in the event log afterwards."""

    @property
    def acknowledged(self) -> int:
        return self.published + self.duplicates


class Backlog:
    """The positions of the escalations after a publisher's position: an index kept in
    memory as the log grows, so counting them reads each event of the log at most once.

    ``count(position)`` forgets the escalations at or before ``position`` (acknowledged
    meanwhile) and reads only the events recorded since the last count; a position that
    moved back (a publisher's row deleted, say) starts the index again from there."""

    def __init__(self, read_log: Callable[[int, int], Any], page: int = 5000) -> None:
        self.read_log = read_log
        self.page = page
        self.base: int | None = None
        """The publisher's position the index counts from."""
        self.upto = 0
        """The last position of the log read into the index."""
        self.items: list[int] = []
        """The escalations' positions in (base, upto], ascending."""
        self._lock = threading.Lock()

    def count(self, position: int) -> int:
        with self._lock:
            if self.base is None or position < self.base or position > self.upto:
                self.base, self.upto, self.items = position, position, []
            else:
                del self.items[:bisect.bisect_right(self.items, position)]
                self.base = position
            start = self.upto + 1
            while True:
                page = self.read_log(start, self.page)
                if not page:
                    break
                self.items.extend(n.id for n in page if _kind(n) == ESCALATION)
                self.upto = page[-1].id
                start = self.upto + 1
            return len(self.items)


class NoticePublisher:
    """Publishes the notices of every escalation in the log after its own position."""

    def __init__(
        self,
        app: Dudao,
        engine: Engine,
        server: str = DEFAULT_NATS,
        *,
        name: str = "notices",
        stream: str = STREAM,
        replicas: int = 1,
        batch: int = 500,
        ack_timeout: float = 5.0,
        poll: float = 0.2,
        renderer: NoticeRenderer | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.server = server
        self.name = name
        self.stream = stream
        self.replicas = replicas
        self.batch = batch
        self.ack_timeout = ack_timeout
        self.poll = poll
        self.renderer = renderer or NoticeRenderer()
        self.log = log or (lambda _text: None)
        self.before_save: Callable[[int], None] | None = None
        """Test hook: called after JetStream acknowledged a batch, before the position is saved."""
        self.published = 0
        self.duplicates = 0
        """Counts over this publisher's life: notices acknowledged as new, and as repeats."""
        self.nc: Any = None
        self.js: Any = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._units: dict[str, UnitInfo] = {}
        self._principals: dict[tuple[str, date], str | None] = {}
        self._findings: OrderedDict[str, FindingInfo] = OrderedDict()
        self.backlog = Backlog(app.read_log)
        with engine.begin() as conn:
            notice_positions.create(conn, checkfirst=True)
            skipped_events.create(conn, checkfirst=True)

    # ------------------------------------------------------------ the log side

    def position(self) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(notice_positions.c.position).where(notice_positions.c.name == self.name)
            ).first()
        return int(row[0]) if row else 0

    def pending(self) -> int:
        """How many escalations in the log are after the position (not yet acknowledged).

        Counted from the publisher's position by :class:`Backlog`: while NATS is down the
        position stands still and each count reads only the events recorded since the last."""
        return self.backlog.count(self.position())

    def _save(self, new: int) -> int:
        """Move the position forward to ``new`` (never back); returns the stored position."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                notice_positions.update()
                .where(notice_positions.c.name == self.name, notice_positions.c.position < new)
                .values(position=new)
            ).rowcount
            if moved == 0:
                row = conn.execute(
                    select(notice_positions.c.position).where(notice_positions.c.name == self.name)
                ).first()
                if row is not None:
                    return max(int(row[0]), new)
                try:
                    with conn.begin_nested():
                        conn.execute(notice_positions.insert().values(name=self.name, position=new))
                except IntegrityError:
                    pass  # another publisher inserted it first; ours is acknowledged anyway
        return new

    def _unit(self, code: str, on: date) -> UnitInfo:
        """The unit's name, and its principal on ``on`` (the escalation's threshold): the
        person recorded as principal that day, else the one registered with the unit. The
        principals are looked up once per page (persons may be recorded meanwhile)."""
        info = self._units.get(code)
        if info is None:
            unit = self.app.find_unit(code)
            info = UnitInfo(unit.name, unit.principal) if unit else UnitInfo(code)
            self._units[code] = info
        key = (code, on)
        if key not in self._principals:
            self._principals[key] = self.app.principal_at(code, on)
        return UnitInfo(info.name, self._principals[key])

    def _finding(self, finding_id: Any) -> FindingInfo:
        key = str(finding_id)
        info = self._findings.get(key)
        if info is None:
            finding = self.app.find_finding(finding_id)
            if finding is None:  # pragma: no cover - an escalation always has its finding
                raise DudaoError(f"问题 {key} 不存在", f"unknown finding {key}", field="finding")
            info = self._remember(key, FindingInfo(finding.unit, finding.text, finding.severity))
        return info

    def _remember(self, key: str, info: FindingInfo) -> FindingInfo:
        self._findings[key] = info
        if len(self._findings) > 50_000:
            self._findings.popitem(last=False)
        return info

    def collect(self, start: int) -> tuple[int, list[Notice]]:
        """The notices of one page of the log from ``start``; and the page's last position
        (``start - 1`` when the log has nothing there)."""
        page = self.app.read_log(start, self.batch)
        self._principals.clear()
        notices = []
        for notification in page:
            kind = _kind(notification)
            try:
                if kind == RECORDED:
                    event = self.app.decode(notification)
                    self._remember(str(event.originator_id),
                                   FindingInfo(event.unit, event.text, event.severity))
                elif kind == ESCALATION:
                    event = self.app.decode(notification)
                    finding = self._finding(event.originator_id)
                    notices.append(build_notice(event, notification.id, finding,
                                                self._unit(finding.unit, event.threshold),
                                                self.renderer))
            except (StoreUnavailable, *NOT_THE_EVENT, *STORE_ERRORS):
                raise  # the store, not the event: retried as a whole
            except Exception as e:
                with self.engine.begin() as conn:
                    skip_event(conn, self.name, "publisher", notification.id, e)
        return (page[-1].id if page else start - 1), notices

    # ----------------------------------------------------------- the NATS side

    async def open(self) -> None:
        if self.nc is not None and self.nc.is_connected:
            return
        await self.close()
        self.nc = await connect(self.server)
        self.js = self.nc.jetstream()
        try:
            await ensure_stream(self.js, self.stream, self.replicas)
        except Exception as e:
            await self.close()
            raise unavailable(self.server, e) from e

    async def close(self) -> None:
        nc, self.nc, self.js = self.nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    async def publish_pending(self) -> PublishResult:
        """Publish every notice after the position; returns once all are acknowledged.

        Raises :class:`NatsUnavailable` when NATS fails; the position then stays
        at the last notice acknowledged, so nothing is skipped.
        """
        result = PublishResult(position=await asyncio.to_thread(self.position))
        try:
            await self.open()
        except NatsUnavailable as e:
            pending = await asyncio.to_thread(self.pending)
            raise unavailable(self.server, e.__cause__ or e, pending) from e
        start = result.position + 1
        # The next page is read and rendered (in a thread) while this one is published.
        ahead = asyncio.ensure_future(asyncio.to_thread(self.collect, start))
        try:
            while True:
                last, notices = await ahead
                if last < start:
                    return result
                start = last + 1
                ahead = asyncio.ensure_future(asyncio.to_thread(self.collect, start))
                try:
                    await self._publish(notices, result)
                except Exception as e:
                    await self.close()
                    pending = await asyncio.to_thread(self.pending)
                    raise unavailable(self.server, e, pending) from e
                if self.before_save is not None:
                    self.before_save(last)
                result.position = await asyncio.to_thread(self._save, last)
        finally:
            if not ahead.done():
                # Let the thread finish its page: the caches are not shared with another reader.
                with contextlib.suppress(BaseException):
                    await ahead

    async def _publish(self, notices: list[Notice], result: PublishResult) -> None:
        """Publish a batch in log order, pipelined in waves that hold at most one notice
        per finding: a wave's acks are all awaited before the next wave is sent.

        On a failure the position moves to just before the first notice not
        acknowledged, and the error is raised. On a cluster a stream's leader may
        change mid-wave: notices of the wave sent after a lost one may be stored
        before it is republished, but they are other findings' (so each finding's
        notices stay in log order), and republished they are dropped as duplicates.
        """
        for wave in waves(notices):
            await self._publish_wave(wave, result)

    async def _publish_wave(self, notices: list[Notice], result: PublishResult) -> None:
        if not notices:
            return
        futures: list[tuple[Notice, asyncio.Future[Any]]] = []
        acked = 0
        try:
            for notice in notices:
                future = await self.js.publish_async(
                    notice.subject, notice.data(), stream=self.stream,
                    headers={api.Header.MSG_ID: notice.msg_id},
                )
                futures.append((notice, future))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.ack_timeout + len(notices) / 1000
            for _notice, future in futures:
                ack = await asyncio.wait_for(future, max(0.01, deadline - loop.time()))
                if ack.duplicate:
                    result.duplicates += 1
                    self.duplicates += 1
                else:
                    result.published += 1
                    self.published += 1
                acked += 1
        except Exception:
            for _, future in futures:
                future.cancel()
            _reraise_cancel()
            safe = notices[acked].position - 1
            if safe > result.position:
                result.position = await asyncio.to_thread(self._save, safe)
            raise
        except BaseException:  # cancelled (killed): the position stays where it was
            for _, future in futures:
                future.cancel()
            raise

    # ----------------------------------------------------------- running

    def wake(self) -> None:
        """Look at the log now (the sweep may call this after recording escalations,
        from any thread); otherwise the publisher looks every ``poll`` seconds."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            self._wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stop.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Publish as the log grows until ``stop`` is set (or :meth:`stop` is called).

        A NATS outage is reported once and retried with a growing pause (at most
        5 s); notices decided meanwhile wait in the log.
        """
        stop = stop or self._stop
        self._loop = asyncio.get_running_loop()
        pause = 0.25
        down = False
        try:
            while not stop.is_set() and not self._stop.is_set():
                _reraise_cancel()  # in case a library swallowed it
                try:
                    result = await self.publish_pending()
                except NatsUnavailable as e:
                    _reraise_cancel()
                    if not down:
                        self.log(f"警告：{e.zh}")
                        down = True
                    await self._sleep(stop, pause)
                    pause = min(pause * 2, 5.0)
                    continue
                except DudaoError as e:  # the event store is unreachable: retry later
                    _reraise_cancel()
                    self.log(f"警告：{e.zh}")
                    await self._sleep(stop, 5.0)
                    continue
                if down:
                    self.log("NATS 已恢复，继续发布通知")
                    down, pause = False, 0.25
                if result.published:
                    self.log(f"已发布 {result.published} 条升级通知（位置 {result.position}）")
                await self._sleep(stop, self.poll, wakeable=True)
        finally:
            await self.close()

    async def _sleep(self, stop: asyncio.Event, seconds: float, wakeable: bool = False) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._stop.wait())]
        if wakeable:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        self._wake.clear()


def waves(notices: list[Notice]) -> list[list[Notice]]:
    """``notices`` cut, in order, into runs in which no finding appears twice."""
    out: list[list[Notice]] = [[]]
    seen: set[Any] = set()
    for notice in notices:
        finding = notice.payload.get("finding")
        if finding in seen:
            out.append([])
            seen.clear()
        seen.add(finding)
        out[-1].append(notice)
    return out


def _reraise_cancel() -> None:
    """nats-py turns a cancellation inside a publish into an ordinary error
    (TooManyStalledMsgsError); a task being cancelled must stop, not retry."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _kind(notification: Any) -> type | None:
    """The event class of a stored notification, from its topic (no decoding)."""
    return event_class(notification.topic)


# ------------------------------------------------------------------ receiving


def consumer_name(unit: str | None) -> str:
    return f"dudao-follow-{unit or 'all'}"


async def follow(
    server: str,
    on_notice: Callable[[dict[str, Any]], None],
    *,
    unit: str | None = None,
    durable: str | None = None,
    stop: asyncio.Event | None = None,
    count: int | None = None,
    once: bool = False,
    stream: str = STREAM,
    replicas: int = 1,
    log: Callable[[str], None] | None = None,
) -> int:
    """Receive notices through a durable consumer (one per unit, or one for all).

    The consumer remembers what was acknowledged, so a unit that was offline
    gets what it missed. Returns how many notices were handled. ``count``
    stops after that many; ``once`` stops when nothing more is waiting. NATS
    unreachable at the start is an error; NATS lost later is waited for.
    """
    stop = stop or asyncio.Event()
    log = log or (lambda _text: None)
    name = durable or consumer_name(unit)
    subject = unit_subject(unit)
    handled = 0
    connected_once = False
    pause = 0.25
    while not stop.is_set() and (count is None or handled < count):
        nc = None
        try:
            nc = await connect(server)
            js = nc.jetstream()
            await ensure_stream(js, stream, replicas)
            config = api.ConsumerConfig(
                durable_name=name,
                description=f"dudao notices follow {unit or '(all units)'}",
                deliver_policy=api.DeliverPolicy.ALL,
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=30,
                filter_subject=subject,
            )
            sub = await js.pull_subscribe(subject, durable=name, stream=stream, config=config)
            if connected_once and pause > 0.25:
                log("NATS 已恢复，继续接收通知")
            connected_once, pause = True, 0.25
            while not stop.is_set() and (count is None or handled < count):
                want = 100 if count is None else min(100, count - handled)
                try:
                    messages = await sub.fetch(want, timeout=0.5 if once else 1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    if once:
                        return handled
                    continue
                for message in messages:
                    try:
                        payload = json.loads(message.data)
                    except ValueError:
                        payload = {"notice": message.data.decode(errors="replace"),
                                   "subject": message.subject}
                    on_notice(payload)
                    await message.ack_sync()
                    handled += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            _reraise_cancel()
            error = e if isinstance(e, NatsUnavailable) else unavailable(server, e)
            if not connected_once:
                raise error from e
            if pause == 0.25:
                log(f"警告：与 NATS 的连接中断，正在重连（{server}）")
            await _pause(stop, pause)
            pause = min(pause * 2, 5.0)
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()
    return handled


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def publish_all(publisher: NoticePublisher) -> PublishResult:
    """Publish every pending notice and close the connection (for synchronous callers)."""

    async def once() -> PublishResult:
        try:
            return await publisher.publish_pending()
        finally:
            await publisher.close()

    return asyncio.run(once())


# ------------------------------------------------------------ inside a service


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class PublisherTask:
    """The publisher as a background task of a long-running process (``dudao serve``)."""

    def __init__(self, publisher: NoticePublisher) -> None:
        self.publisher = publisher
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.publisher.run(), name="dudao-notices")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in flight (its acks are awaited, its position saved)."""
        task, self.task = self.task, None
        if task is None:
            return
        self.publisher.stop()
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:  # stuck (a NATS ack that never comes): kill it; nothing is lost
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
