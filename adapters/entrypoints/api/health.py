"""The health and readiness checks: the only routes that need no token.

Both report the background roles as the store knows them (any server says the same):
who holds each lease and since when, the projector's lag, the publisher's backlog
(:mod:`adapters.infrastructure.background_status`). ``/ready`` answers 503 while the
event store is unreachable, as ``/health`` does.
"""

from __future__ import annotations

from fastapi import APIRouter

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Service
from adapters.infrastructure.background_status import status_of
from projections.runner import skipped_counts

router = APIRouter(prefix=PREFIX)


@router.get("/health", response_model=m.HealthOut, tags=["服务"],
            summary="健康检查（不需要令牌）",
            responses={503: {"model": m.ErrorOut, "description": "事件库无法访问"}})
def health(c: Service) -> m.HealthOut:
    events = c.app.event_count()
    sweep = c.background.get("sweep")  # background.LeasedRole (its .skipped: the sweep's)
    skipped = skipped_counts(c.engine)
    roles = status_of(c).report()
    return m.HealthOut(status="ok", events=events, skipped=m.SkippedCounts(
        sweep=getattr(sweep, "skipped", 0), **skipped), **roles)


@router.get("/ready", response_model=m.ReadyOut, tags=["服务"],
            summary="就绪检查（不需要令牌）：租约持有者、读模型滞后、待发布通知",
            responses={503: {"model": m.ErrorOut, "description": "事件库无法访问"}})
def ready(c: Service) -> m.ReadyOut:
    events = c.app.event_count()
    return m.ReadyOut(status="ready", events=events, **status_of(c).report())
