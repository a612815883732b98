"""Tenants and their identity provider: queries and rules (flush, never commit)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit import service as audit_log
from services.gateway.identity.principals import Admin
from services.gateway.models import IdentityProvider, Tenant
from services.gateway.schemas import IdentityProviderWrite
from shared.db import utcnow
from shared.problems import Conflict, NotFound


async def exists(session: AsyncSession, tenant_id: str) -> bool:
    return await session.get(Tenant, tenant_id) is not None


async def by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant a person names at sign-in (slugs are compared trimmed and lower-cased)."""
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()))


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    return list(await session.scalars(select(Tenant).order_by(Tenant.slug)))


async def create_tenant(session: AsyncSession, who: Admin, *, slug: str, name: str) -> Tenant:
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise Conflict(f"the slug {slug!r} is taken")
    row = Tenant(id=str(uuid.uuid4()), slug=slug, name=name, created_at=utcnow())
    session.add(row)
    await session.flush()
    await audit_log.record(
        session, action="tenant.create", outcome="success", actor=who.actor, tenant_id=row.id, target=row.id
    )
    return row


async def rename_tenant(session: AsyncSession, who: Admin, tenant_id: str, *, name: str) -> Tenant:
    row = await session.get(Tenant, tenant_id)
    if row is None:
        raise NotFound(f"no tenant {tenant_id}")
    row.name = name
    await session.flush()
    await audit_log.record(
        session, action="tenant.update", outcome="success", actor=who.actor, tenant_id=row.id, target=row.id
    )
    return row


async def identity_provider(session: AsyncSession, tenant_id: str) -> IdentityProvider | None:
    return await session.scalar(select(IdentityProvider).where(IdentityProvider.tenant_id == tenant_id))


async def put_identity_provider(session: AsyncSession, who: Admin, body: IdentityProviderWrite) -> IdentityProvider:
    """Configure (or replace) the tenant's IdP; the caller has checked the keys' source."""
    row = await identity_provider(session, who.tenant_id)
    now = utcnow()
    if row is None:
        row = IdentityProvider(id=str(uuid.uuid4()), tenant_id=who.tenant_id, created_at=now)
        session.add(row)
    row.issuer, row.audience, row.jwks_uri, row.jwks = body.issuer, body.audience, body.jwks_uri, body.jwks
    row.email_claim, row.updated_at = body.email_claim, now
    await session.flush()
    await who.record(session, "identity_provider.put", detail={"issuer": body.issuer})
    return row
