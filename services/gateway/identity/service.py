"""Identity operations of the gateway: authenticate clients, issue tokens, keep the audit log.

Domain logic only (flush, never commit); routes are in api.py / auth_api.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.hashing import verify_secret
from services.gateway.models import ApiClient, AuditEvent, RoleAssignment
from shared.db import utcnow
from shared.logging import request_id_var


async def audit(
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


async def authenticate_client(session: AsyncSession, *, client_id: str, secret: str) -> ApiClient | None:
    """The enabled client with this id and secret, else None (timing does not tell which)."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    ok = verify_secret(client.secret_hash if client else None, secret)
    if client is None or not ok or not client.enabled:
        return None
    client.last_used_at = utcnow()
    return client


def within(requested: str | None, granted: list[str]) -> frozenset[str] | None:
    """RFC 6749 §3.3: no scope asked → everything granted; else a subset, or None if not."""
    if requested is None or not requested.strip():
        return frozenset(granted)
    asked = frozenset(requested.split())
    return asked if asked <= frozenset(granted) else None


def assign_role(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    """Add a role assignment to the session (the caller checks that the role is allowed)."""
    session.add(
        RoleAssignment(id=str(uuid.uuid4()), tenant_id=tenant_id, user_id=user_id, role=role, created_at=utcnow())
    )
