"""Callers proving who they are: client authentication, the scopes a client may hold, and who a
token names (``GET /v1/me``).

Domain logic only (flush, never commit); the token endpoint is in identity/api.py.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.hashing import SecretHasher
from services.gateway.identity.tokens import AccessClaims
from services.gateway.models import ApiClient, Tenant, User
from services.gateway.schemas import CallerTenant, Me
from shared.auth import Unauthorized
from shared.db import utcnow


async def authenticate_client(
    session: AsyncSession, hasher: SecretHasher, *, client_id: str, secret: str
) -> ApiClient | None:
    """The enabled client with this id and secret, else None (timing does not tell which)."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    ok = hasher.verify(client.secret_hash if client else None, secret)
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


async def me(session: AsyncSession, claims: AccessClaims) -> Me:
    """The caller a verified access token names, with its tenant and its name in the directory.

    A token outlives a deletion by at most its lifetime: a tenant, person or client that is gone
    (or disabled) is a 401, as the token endpoint and sign-in would answer now.
    """
    tenant = await session.get(Tenant, claims.tenant_id)
    if tenant is None:
        raise Unauthorized("the token's tenant no longer exists", error="invalid_token")
    if claims.kind == "client":
        client = await session.scalar(
            select(ApiClient).where(ApiClient.client_id == claims.client_id, ApiClient.tenant_id == tenant.id)
        )
        if client is None or not client.enabled:
            raise Unauthorized("the token's API client no longer exists or is disabled", error="invalid_token")
        name, email, client_id = client.name, None, client.client_id
    else:
        user_id = claims.subject.removeprefix("user:")
        user = await session.get(User, user_id)
        if user is None or user.tenant_id != tenant.id or not user.enabled:
            raise Unauthorized("the token's person no longer exists or is disabled", error="invalid_token")
        name, email, client_id = user.display_name, user.email, None
    return Me(
        subject=claims.subject,
        kind="client" if claims.kind == "client" else "user",
        email=email,
        name=name,
        client_id=client_id,
        tenant=CallerTenant(id=tenant.id, slug=tenant.slug, name=tenant.name),
        roles=sorted(claims.roles),
        scopes=sorted(claims.scopes),
    )
