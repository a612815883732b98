"""What the verifier reads from this service's own database instead of fetching it: the status of
one of our badges behind a status list entry, or behind an OB 2.0 signed assertion's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.models import Badge, status_slot


async def status_at(session: AsyncSession, list_id: str, index: int, purpose: str) -> tuple[str | None, str]:
    """(the badge's status, or None when no badge holds the entry; the status that sets the bit)."""
    list_column, index_column, wanted = status_slot(purpose)
    status = await session.scalar(select(Badge.status).where(list_column == list_id, index_column == index))
    return status, wanted


async def ob2_status(session: AsyncSession, signed_id: Any) -> str | None:
    """The status of the badge whose OB 2.0 signed assertion has this id (None: not ours)."""
    return await session.scalar(select(Badge.status).where(Badge.ob2_signed_id == signed_id))
