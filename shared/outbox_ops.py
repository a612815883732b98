"""Operator view of a service's outbox: backlog, dead events, and putting a dead event back.

Mounted by each service under ``/v1/ops/<service>/outbox`` (the gateway routes that prefix to
it), because "is anything stuck between services?" is the first question during an incident.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import require_roles
from shared.db import utcnow
from shared.outbox import OutboxMixin
from shared.problems import Conflict, NotFound


class OutboxEventRead(BaseModel):
    id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    created_at: dt.datetime
    available_at: dt.datetime
    delivered_at: dt.datetime | None
    last_error: str | None


class OutboxSummary(BaseModel):
    service: str
    pending: int
    delivered: int
    dead: int
    oldest_pending_age_s: float | None
    recent_dead: list[OutboxEventRead]


def _read(row: OutboxMixin) -> OutboxEventRead:
    return OutboxEventRead(
        id=uuid.UUID(row.id),
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        available_at=row.available_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )


def outbox_ops_router(*, service: str, model: type[OutboxMixin], session_dependency: Callable[..., Any]) -> APIRouter:
    # Operators only: the outbox spans every tenant of the service.
    router = APIRouter(
        prefix=f"/v1/ops/{service}/outbox", tags=["operations"], dependencies=[Depends(require_roles("platform_admin"))]
    )
    session_dep = Depends(session_dependency, scope="function")

    @router.get("", response_model=OutboxSummary, summary="Outbox backlog and recent dead events")
    async def outbox_summary(
        session: AsyncSession = session_dep,
        limit: int = Query(default=20, ge=1, le=100, description="how many dead events to list"),
    ) -> OutboxSummary:
        counts = dict((await session.execute(select(model.status, func.count()).group_by(model.status))).all())
        oldest = await session.scalar(select(func.min(model.created_at)).where(model.status == "pending"))
        dead = (
            await session.execute(
                select(model).where(model.status == "dead").order_by(model.created_at.desc()).limit(limit)
            )
        ).scalars()
        return OutboxSummary(
            service=service,
            pending=counts.get("pending", 0),
            delivered=counts.get("delivered", 0),
            dead=counts.get("dead", 0),
            oldest_pending_age_s=(utcnow() - oldest).total_seconds() if oldest else None,
            recent_dead=[_read(row) for row in dead],
        )

    @router.post(
        "/{event_id}/retry",
        response_model=OutboxEventRead,
        summary="Put a dead event back in the queue for delivery",
        responses={404: {"description": "No such event"}, 409: {"description": "The event is not dead"}},
    )
    async def retry_event(event_id: uuid.UUID, session: AsyncSession = session_dep) -> OutboxEventRead:
        row = await session.get(model, str(event_id))
        if row is None:
            raise NotFound(f"no outbox event {event_id}")
        if row.status != "dead":
            raise Conflict(
                f"event {event_id} is {row.status}; only dead events can be retried",
                current_state=row.status,
                allowed_actions=[],
            )
        row.status = "pending"
        row.attempts = 0
        row.available_at = utcnow()
        row.last_error = None
        await session.flush()
        return _read(row)

    return router
