"""API clients: queries and rules (flush, never commit); every query stays in the admin's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.hashing import SecretHasher, new_client_secret
from services.gateway.identity.principals import Admin
from services.gateway.models import ApiClient
from services.gateway.schemas import ApiClientCreate, ApiClientUpdate
from shared.db import utcnow
from shared.problems import Conflict
from shared.tenancy import get_in_tenant, in_tenant


async def get(session: AsyncSession, tenant_id: str, api_client_id: str) -> ApiClient:
    """The API client in this tenant, else 404."""
    return await get_in_tenant(session, ApiClient, api_client_id, tenant_id, noun="API client")


async def list_api_clients(session: AsyncSession, tenant_id: str) -> list[ApiClient]:
    return list(await session.scalars(in_tenant(select(ApiClient), ApiClient, tenant_id).order_by(ApiClient.client_id)))


async def create(
    session: AsyncSession, hasher: SecretHasher, who: Admin, body: ApiClientCreate
) -> tuple[ApiClient, str]:
    """The new client and its secret (the only time the secret exists outside its hash)."""
    who.check_grantable_scopes(body.scopes)
    secret = new_client_secret()
    now = utcnow()
    row = ApiClient(
        id=str(uuid.uuid4()),
        tenant_id=who.tenant_id,
        client_id=body.client_id or f"client-{uuid.uuid4().hex[:12]}",
        name=body.name,
        secret_hash=hasher.hash(secret),
        scopes=sorted(set(body.scopes)),
        enabled=True,
        created_at=now,
        secret_rotated_at=now,
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"client_id {row.client_id!r} is taken") from exc
    await who.record(session, "api_client.create", target=row.client_id, detail={"scopes": row.scopes})
    return row, secret


async def rotate_secret(
    session: AsyncSession, hasher: SecretHasher, who: Admin, api_client_id: str
) -> tuple[ApiClient, str]:
    row = await get(session, who.tenant_id, api_client_id)
    secret = new_client_secret()
    row.secret_hash = hasher.hash(secret)
    row.secret_rotated_at = utcnow()
    await who.record(session, "api_client.rotate_secret", target=row.client_id)
    return row, secret


async def update(session: AsyncSession, who: Admin, api_client_id: str, body: ApiClientUpdate) -> ApiClient:
    row = await get(session, who.tenant_id, api_client_id)
    if body.scopes is not None:
        who.check_grantable_scopes(body.scopes)
        row.scopes = sorted(set(body.scopes))
    if body.name is not None:
        row.name = body.name
    if body.enabled is not None:
        row.enabled = body.enabled
    await session.flush()
    await who.record(
        session,
        "api_client.update",
        target=row.client_id,
        detail={"fields": sorted(body.model_fields_set), "scopes": row.scopes, "enabled": row.enabled},
    )
    return row


async def disable(session: AsyncSession, who: Admin, api_client_id: str) -> ApiClient:
    row = await get(session, who.tenant_id, api_client_id)
    row.enabled = False
    await who.record(session, "api_client.disable", target=row.client_id)
    return row
