"""The health check: the only route that needs no token."""

from __future__ import annotations

from fastapi import APIRouter

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Service
from projections.runner import skipped_counts

router = APIRouter(prefix=PREFIX)


@router.get("/health", response_model=m.HealthOut, tags=["服务"],
            summary="健康检查（不需要令牌）",
            responses={503: {"model": m.ErrorOut, "description": "事件库无法访问"}})
def health(c: Service) -> m.HealthOut:
    events = c.app.event_count()
    sweep = c.background.get("sweep")
    skipped = skipped_counts(c.engine)
    return m.HealthOut(status="ok", events=events, skipped=m.SkippedCounts(
        sweep=getattr(sweep, "skipped", 0), **skipped))
