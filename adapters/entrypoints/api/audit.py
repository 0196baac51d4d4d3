"""Auditors' routes: a finding's full trail, the chain head, and verification (read only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query

from adapters.entrypoints.api import models as m
from adapters.entrypoints.api.deps import (
    READ_ERRORS,
    Components,
    Who,
    forbid,
)
from adapters.infrastructure.hash_chain import Checkpoint
from adapters.service_layer.audit import trail


def add_audit_routes(api: FastAPI, components: Components, prefix: str) -> None:
    """Register the routes (called by ``create_api``)."""

    @api.get(f"{prefix}/audit/findings/{{finding_id}}/trail", response_model=m.TrailOut,
             tags=["审计"], summary="一条问题的审计轨迹（审计、管理员）", responses=READ_ERRORS)
    def get_trail(finding_id: str, who: Who) -> m.TrailOut:
        forbid(who, "audit.read")
        return m.TrailOut.model_validate(trail(components.app, finding_id))

    @api.get(f"{prefix}/audit/checkpoint", response_model=m.CheckpointOut, tags=["审计"],
             summary="当前链头（检查点；审计、管理员）", responses=READ_ERRORS)
    def get_checkpoint(who: Who) -> m.CheckpointOut:
        forbid(who, "audit.read")
        return m.CheckpointOut(**components.app.chain_head().as_dict())

    @api.get(f"{prefix}/audit/verify", response_model=m.VerifyOut, tags=["审计"],
             summary="校验哈希链（审计、管理员）：ok=false 时给出第一个出问题的位置",
             responses=READ_ERRORS)
    def get_verify(
        who: Who,
        checkpoint: Annotated[str | None, Query(
            pattern=r"^[0-9]{1,18}:[0-9a-fA-F]{64}$",
            description="同时核对的检查点 POSITION:HASH")] = None,
    ) -> m.VerifyOut:
        forbid(who, "audit.read")
        cp = Checkpoint.parse(checkpoint) if checkpoint else None
        return m.VerifyOut.model_validate(components.app.verify(cp).as_dict())
