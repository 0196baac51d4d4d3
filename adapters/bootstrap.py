"""The composition root: wires storage, clock, calendar and (later) messaging.

Nothing else in the project reads the wall clock or the environment for these.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.service import Dudao, StoreUnavailable
from adapters.store import DEFAULT_DB, engine_for, prepare, startup_lock, store_env
from domain.calendar import WorkCalendar, parse_holiday_text
from domain.errors import InvalidInput
from domain.time import SHANGHAI, Clock
from projections.accountability import AccountabilityProjection
from projections.decode import FastDecoder
from projections.findings import FindingsProjection
from projections.plans import PlansProjection
from projections.read import fast_reader
from projections.runner import Projection, Runner

if TYPE_CHECKING:
    from adapters.escalation import Sweeper


def system_clock() -> datetime:
    """The wall clock, read here and nowhere else."""
    return datetime.now(SHANGHAI)


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


def fixed_clock(moment: datetime) -> Clock:
    def clock() -> datetime:
        return moment

    return clock


@dataclass(frozen=True)
class Settings:
    db: str
    now: datetime | None = None
    holidays: str | None = None

    @classmethod
    def from_env(
        cls, db: str | None = None, now: str | None = None, holidays: str | None = None
    ) -> Settings:
        db = db or os.environ.get("DUDAO_DB") or DEFAULT_DB
        now_text = now or os.environ.get("DUDAO_NOW")
        holidays = holidays or os.environ.get("DUDAO_HOLIDAYS") or None
        return cls(db=db, now=parse_moment(now_text) if now_text else None, holidays=holidays)


def load_calendar(path: str | None) -> WorkCalendar:
    if not path:
        return WorkCalendar()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(
            f"无法读取节假日文件 {path}：{e.strerror}",
            f"cannot read the holiday file {path}: {e.strerror}",
            field="DUDAO_HOLIDAYS",
        ) from None
    return WorkCalendar(parse_holiday_text(text, source=str(file)))


def clock_for(settings: Settings) -> Clock:
    return fixed_clock(settings.now) if settings.now is not None else system_clock


@contextmanager
def prepared(db: str) -> Iterator[None]:
    """The store's start-up lock held (see :func:`adapters.store.startup_lock`) and its
    PostgreSQL schema made: whatever is created or first inserted inside is made once,
    however many processes start at the same moment."""
    with ExitStack() as stack:
        try:
            stack.enter_context(startup_lock(db))
            prepare(db)
        except InvalidInput:
            raise
        except Exception as e:
            raise StoreUnavailable(
                f"事件库无法访问：{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}",
                f"the event store is unreachable: {type(e).__name__}",
                field="--db",
            ) from e
        yield


def bootstrap(settings: Settings) -> Dudao:
    """Build the application service for these settings."""
    with prepared(settings.db):
        return Dudao(
            clock=clock_for(settings),
            calendar=load_calendar(settings.holidays),
            env=store_env(settings.db),
        )


def read_models(app: Dudao, db: str, projections: list[Projection] | None = None) -> Runner:
    """The projection runner over the read models, in the same database as the events."""
    with startup_lock(db):  # the read models' tables are made once
        return Runner(app, engine_for(db), projections or default_projections(),
                      decoder=FastDecoder(app.decode), reader=fast_reader(app))


def default_projections() -> list[Projection]:
    """Every live read model. ``findings_view`` follows the accountability projection:
    both are worked out in one pass over each page of events."""
    accountability = AccountabilityProjection()
    return [accountability, FindingsProjection(follow=accountability), PlansProjection()]


def sweeper(app: Dudao, db: str, policy: str | None = None) -> Sweeper:
    """The escalation sweep of a policy (default: ``DUDAO_POLICY`` or ``default``) on this
    store; the service calls ``.run()`` on it periodically."""
    from adapters.escalation import Sweeper

    name = policy or os.environ.get("DUDAO_POLICY") or "default"
    with startup_lock(db):  # its read model's table is made once
        return Sweeper(app, engine_for(db), name, page=sweep_page())


def sweep_page(value: str | None = None) -> int | None:
    """Findings per transaction of a sweep (``DUDAO_SWEEP_PAGE``, default 2,000): a stop
    (SIGTERM) takes effect between pages."""
    text = value or os.environ.get("DUDAO_SWEEP_PAGE")
    if not text:
        return None
    try:
        page = int(text)
    except ValueError:
        page = 0
    if not 1 <= page <= 100_000:
        raise InvalidInput(f"DUDAO_SWEEP_PAGE 应为 1 到 100000 的整数：{text!r}",
                           f"DUDAO_SWEEP_PAGE must be an integer 1..100000: {text!r}",
                           field="DUDAO_SWEEP_PAGE")
    return page


def nats_server(value: str | None = None) -> str:
    """The NATS server of the notices: ``DUDAO_NATS``, default nats://127.0.0.1:4222."""
    from adapters.outbox import DEFAULT_NATS

    return value or os.environ.get("DUDAO_NATS") or DEFAULT_NATS


def notice_publisher(app: Dudao, db: str, server: str | None = None, **options: Any) -> Any:
    """The notices outbox publisher (adapters.outbox.NoticePublisher) on the same database."""
    from adapters.outbox import NoticePublisher

    with startup_lock(db):  # its position table is made once
        return NoticePublisher(app, engine_for(db), nats_server(server), **options)
