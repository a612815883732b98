"""The catalog ids other services keep, looked up in the caller's tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.frameworks.service import Competencies, resolve_competencies
from services.catalog.models import Offering
from shared.tenancy import in_tenant


async def resolve_references(
    session: AsyncSession, tenant_id: str, *, item_ids: list[str], offering_ids: list[str]
) -> tuple[Competencies, list[Offering]]:
    """The tenant's framework items named among these references (internal ids or CASE
    identifiers) and its offerings among these ids, whatever their status (the caller decides
    what a draft or retired offering means to it). Another tenant's ids and identifiers are
    simply not found, exactly like ids that never existed."""
    items = await resolve_competencies(session, tenant_id, item_ids)
    found = list(
        await session.scalars(
            in_tenant(select(Offering), Offering, tenant_id).where(Offering.id.in_(offering_ids or ["-"]))
        )
    )
    return items, found
