"""Org units: queries and rules (flush, never commit); every query stays in the admin's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.principals import Admin
from services.gateway.models import OrgUnit, User
from services.gateway.schemas import OrgUnitCreate, OrgUnitUpdate
from shared.db import utcnow
from shared.problems import Conflict
from shared.tenancy import get_in_tenant, in_tenant


async def get(session: AsyncSession, tenant_id: str, org_unit_id: str) -> OrgUnit:
    """The org unit in this tenant, else 404."""
    return await get_in_tenant(session, OrgUnit, org_unit_id, tenant_id, noun="org unit")


async def list_org_units(session: AsyncSession, tenant_id: str) -> list[OrgUnit]:
    return list(await session.scalars(in_tenant(select(OrgUnit), OrgUnit, tenant_id).order_by(OrgUnit.name)))


async def _refuse_taken(session: AsyncSession, tenant_id: str, name: str) -> None:
    if await session.scalar(in_tenant(select(OrgUnit.id), OrgUnit, tenant_id).where(OrgUnit.name == name)):
        raise Conflict(f"an org unit named {name!r} already exists")


async def create(session: AsyncSession, who: Admin, body: OrgUnitCreate) -> OrgUnit:
    await _refuse_taken(session, who.tenant_id, body.name)
    row = OrgUnit(id=str(uuid.uuid4()), tenant_id=who.tenant_id, name=body.name, kind=body.kind, created_at=utcnow())
    session.add(row)
    await session.flush()
    await who.record(session, "org_unit.create", target=row.id)
    return row


async def update(session: AsyncSession, who: Admin, org_unit_id: str, body: OrgUnitUpdate) -> OrgUnit:
    row = await get(session, who.tenant_id, org_unit_id)
    if body.name is not None and body.name != row.name:
        await _refuse_taken(session, who.tenant_id, body.name)
        row.name = body.name
    if body.kind is not None:
        row.kind = body.kind
    await session.flush()
    await who.record(session, "org_unit.update", target=row.id, detail={"fields": sorted(body.model_fields_set)})
    return row


async def delete(session: AsyncSession, who: Admin, org_unit_id: str) -> None:
    row = await get(session, who.tenant_id, org_unit_id)
    # People of the unit stay in the tenant, without a unit; done here rather than trusting the
    # foreign key's ON DELETE, which SQLite honours only with foreign keys switched on.
    for user in await session.scalars(in_tenant(select(User), User, who.tenant_id).where(User.org_unit_id == row.id)):
        user.org_unit_id = None
    await session.flush()
    await session.delete(row)
    await session.flush()
    await who.record(session, "org_unit.delete", target=row.id)
