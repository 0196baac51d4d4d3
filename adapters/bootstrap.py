"""The composition root: wires storage, clock, calendar and (later) messaging.

Nothing else in the project reads the wall clock; the environment is read once,
into :class:`adapters.settings.Settings`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.infrastructure.event_store import engine_for, prepare, startup_lock, store_env
from adapters.infrastructure.read_models import default_projections, read_models
from adapters.service_layer.application import Dudao, StoreUnavailable
from adapters.settings import Settings
from domain.calendar import WorkCalendar, parse_holiday_text
from domain.errors import InvalidInput
from domain.time import SHANGHAI, Clock, fixed_clock

if TYPE_CHECKING:
    from adapters.service_layer.sweep import Sweeper
    from rules.policy import Policy


def system_clock() -> datetime:
    """The wall clock, read here and nowhere else."""
    return datetime.now(SHANGHAI)


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
    """The store's start-up lock held (see :func:`adapters.infrastructure.event_store.startup_lock`) and its
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
        app = Dudao(
            clock=clock_for(settings),
            calendar=load_calendar(settings.holidays),
            env=store_env(settings.db),
        )
    # the rungs of the settings' policy, loaded when first asked for
    app.ladder_source = lambda: policy(settings).ladder()
    app.lag_source = lambda: policy(settings).lagging.rule()
    return app


def policy(settings: Settings | None, name: str | None = None) -> Policy:
    """The escalation policy named (else the settings', else the default), looked up in the
    operator's policy folders first (no settings: a name or file, else the default)."""
    from rules.policy import load_policy

    if settings is None:
        return load_policy(name)
    return load_policy(name or settings.policy, settings.policy_folders)


def sweeper(app: Dudao, db: str, name: str | None = None,
            settings: Settings | None = None) -> Sweeper:
    """The escalation sweep of a policy (see :func:`policy`) on this store; the service
    calls ``.run()`` on it periodically."""
    from adapters.service_layer.sweep import Sweeper

    settings = settings or Settings(db=db)
    with startup_lock(db):  # its read model's table is made once
        return Sweeper(app, engine_for(db), policy(settings, name), page=settings.sweep_page)


def notice_publisher(app: Dudao, db: str, server: str | None = None,
                     settings: Settings | None = None, **options: Any) -> Any:
    """The notices outbox publisher (``notice_outbox.NoticePublisher``) on the same
    database; notices of a policy in the operator's folders are worded by that policy's file."""
    from functools import partial

    from adapters.infrastructure.notice_messages import NoticeRenderer, policy_notice_texts
    from adapters.infrastructure.notice_outbox import NoticePublisher

    settings = settings or Settings(db=db)
    options.setdefault("replicas", settings.nats_replicas)
    options.setdefault("renderer", NoticeRenderer(
        partial(policy_notice_texts, folders=settings.policy_folders)))
    with startup_lock(db):  # its position table is made once
        return NoticePublisher(app, engine_for(db), server or settings.nats, **options)


__all__ = ["bootstrap", "clock_for", "default_projections", "fixed_clock", "load_calendar",
           "notice_publisher", "policy", "read_models", "sweeper", "system_clock"]
