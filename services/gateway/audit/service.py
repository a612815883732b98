"""Writing to and reading the audit log (ids only, never personal data; flush, never commit)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditEvent
from shared.db import utcnow
from shared.logging import request_id_var
from shared.paging import after_cursor, encode_cursor
from shared.problems import FieldError, UnprocessableContent
from shared.tenancy import in_tenant


async def record(
    session: AsyncSession,
    *,
    action: str,
    outcome: str,
    actor: str,
    tenant_id: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log, in the caller's transaction."""
    session.add(
        AuditEvent(
            id=str(uuid.uuid4()),
            occurred_at=utcnow(),
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            request_id=request_id_var.get(),
            detail=detail or {},
        )
    )
    await session.flush()


async def list_events(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    actor: str | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEvent], str | None]:
    """One page of the tenant's events (``tenant_id`` None: those tied to no tenant), newest
    first, and the cursor of the next page if there is one."""
    if tenant_id is None:
        statement = select(AuditEvent).where(AuditEvent.tenant_id.is_(None))
    else:
        statement = in_tenant(select(AuditEvent), AuditEvent, tenant_id)
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    for bound, name in ((since, "since"), (until, "until")):
        if bound is not None and bound.tzinfo is None:
            raise UnprocessableContent(
                f"{name} needs a time zone", errors=[FieldError(pointer=f"/query/{name}", detail="add a UTC offset")]
            )
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.occurred_at < until)
    statement = after_cursor(statement, cursor, AuditEvent.occurred_at, AuditEvent.id)
    rows = list(
        await session.scalars(statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit + 1))
    )
    page, more = rows[:limit], len(rows) > limit
    return page, (encode_cursor(page[-1].occurred_at, page[-1].id) if more and page else None)
