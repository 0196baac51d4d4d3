"""Auditors' routes: a finding's full trail, the chain head, and verification (read only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import PREFIX, Service, Who, forbid
from adapters.entrypoints.api.errors import READ_ERRORS
from adapters.infrastructure.hash_chain import Checkpoint
from adapters.service_layer.audit import trail

router = APIRouter(prefix=PREFIX, tags=["审计"])


@router.get("/audit/findings/{finding_id}/trail", response_model=m.TrailOut,
            summary="一条问题的审计轨迹（审计、管理员）", responses=READ_ERRORS)
def get_trail(finding_id: str, c: Service, who: Who) -> m.TrailOut:
    forbid(who, "audit.read")
    return m.TrailOut.model_validate(trail(c.app, finding_id))


@router.get("/audit/checkpoint", response_model=m.CheckpointOut,
            summary="当前链头（检查点；审计、管理员）", responses=READ_ERRORS)
def get_checkpoint(c: Service, who: Who) -> m.CheckpointOut:
    forbid(who, "audit.read")
    return m.CheckpointOut(**c.app.chain_head().as_dict())


@router.get("/audit/verify", response_model=m.VerifyOut,
            summary="校验哈希链（审计、管理员）：ok=false 时给出第一个出问题的位置",
            responses=READ_ERRORS)
def get_verify(
    c: Service,
    who: Who,
    checkpoint: Annotated[str | None, Query(
        pattern=r"^[0-9]{1,18}:[0-9a-fA-F]{64}$",
        description="同时核对的检查点 POSITION:HASH")] = None,
) -> m.VerifyOut:
    forbid(who, "audit.read")
    cp = Checkpoint.parse(checkpoint) if checkpoint else None
    return m.VerifyOut.model_validate(c.app.verify(cp).as_dict())
