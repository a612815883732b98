"""The audit log as administrators read it: the tenant's events, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.audit import service
from services.gateway.deps import AdminDep
from services.gateway.schemas import AuditEventRead, AuditPage
from shared.state import SessionDep

router = APIRouter(tags=["admin"])


@router.get("/v1/audit-events", response_model=AuditPage, summary="The tenant's audit log, newest first")
async def list_audit_events(
    who: AdminDep,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    unscoped: Annotated[
        bool, Query(description="platform_admin only: events tied to no tenant (e.g. requests with a bad token)")
    ] = False,
) -> AuditPage:
    if unscoped:
        who.require_operator()
    page, next_cursor = await service.list_events(
        session,
        tenant_id=None if unscoped else who.tenant_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPage(
        items=[
            AuditEventRead(
                id=r.id,
                occurred_at=r.occurred_at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                request_id=r.request_id,
                detail=r.detail,
            )
            for r in page
        ],
        next_cursor=next_cursor,
    )
