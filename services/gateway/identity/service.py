"""API clients proving who they are: client authentication and the scopes they may hold.

Domain logic only (flush, never commit); the token endpoint is in identity/api.py.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.hashing import SecretHasher
from services.gateway.models import ApiClient
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
