"""People signing in: local passwords with lockout, rotating refresh tokens, OIDC federation.

For districts without SSO. Failures say only "invalid credentials" (never which part was
wrong); repeated failures lock the account with growing waits; a refresh token works once, and
presenting a spent one revokes its whole family (a stolen token is then worthless to both).

Queries and rules only (flush, never commit): a failure is audited (and counted) here and raised;
the route commits before answering, so the record stays although the request fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit import service as audit_log
from services.gateway.errors import TooManyRequests
from services.gateway.identity.hashing import SecretHasher
from services.gateway.identity.oidc import JwksCache, verify_id_token
from services.gateway.identity.tokens import TokenService
from services.gateway.models import RefreshToken, RoleAssignment, User
from services.gateway.schemas import SessionTokens
from services.gateway.tenants import service as tenants
from shared.auth import Unauthorized, scopes_for_roles
from shared.db import utcnow

REFRESH_TTL = dt.timedelta(days=14)
LOCK_AFTER = 5  # failures in a row
LOCK_MAX = dt.timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lock_for(failures: int) -> dt.timedelta:
    return min(LOCK_MAX, dt.timedelta(minutes=2 ** max(failures - LOCK_AFTER, 0)))


async def _issue(
    session: AsyncSession, tokens: TokenService, user: User, *, family_id: str | None = None
) -> SessionTokens:
    roles = frozenset(await session.scalars(select(RoleAssignment.role).where(RoleAssignment.user_id == user.id)))
    # The email rides along so that services need not ask the gateway who a person is (the
    # credentials service names the educator's badges with it).
    access = tokens.issue(
        subject=f"user:{user.id}",
        tenant_id=user.tenant_id,
        kind="user",
        scopes=scopes_for_roles(roles),
        roles=roles,
        email=user.email,
    )
    refresh = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            id=str(uuid.uuid4()),
            family_id=family_id or str(uuid.uuid4()),
            tenant_id=user.tenant_id,
            user_id=user.id,
            token_hash=_digest(refresh),
            created_at=now,
            expires_at=now + REFRESH_TTL,
        )
    )
    await session.flush()
    return SessionTokens(
        access_token=access,
        expires_in=tokens.access_ttl_s,
        refresh_token=refresh,
        refresh_expires_in=int(REFRESH_TTL.total_seconds()),
    )


async def _revoke_family(session: AsyncSession, family_id: str, now: dt.datetime) -> None:
    """Every refresh token of one sign-in stops working."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def log_in(
    session: AsyncSession, hasher: SecretHasher, tokens: TokenService, *, tenant_slug: str, email: str, password: str
) -> SessionTokens:
    """Tokens for the person with this email and password; ``Unauthorized`` (or, while the
    account is locked, ``TooManyRequests``) after auditing the failure."""
    email = email.strip().lower()
    tenant = await tenants.by_slug(session, tenant_slug)
    user = (
        await session.scalar(select(User).where(User.tenant_id == tenant.id, User.email == email)) if tenant else None
    )
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        hasher.verify(None, password)  # same work as a real check: timing tells nothing
        await audit_log.record(
            session,
            action="login",
            outcome="denied",
            actor=f"user:{user.id}",
            tenant_id=user.tenant_id,
            detail={"reason": "locked"},
        )
        raise TooManyRequests(
            "too many failed sign-ins; try again later", retry_after=(user.locked_until - now).total_seconds()
        )
    ok = hasher.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.enabled:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + _lock_for(user.failed_logins)
        await audit_log.record(
            session,
            action="login",
            outcome="failure",
            actor=f"user:{user.id}" if user else "anonymous",
            tenant_id=tenant.id if tenant else None,
            detail={"reason": "invalid_credentials"},
        )
        raise Unauthorized("invalid credentials", error="invalid_request")
    user.failed_logins = 0
    user.locked_until = None
    await audit_log.record(
        session, action="login", outcome="success", actor=f"user:{user.id}", tenant_id=user.tenant_id
    )
    return await _issue(session, tokens, user)


async def refresh(session: AsyncSession, tokens: TokenService, *, refresh_token: str) -> SessionTokens:
    """New tokens for a refresh token, which is spent; a spent one revokes its family."""
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("the refresh token is not valid")
    if row.used_at is not None:
        # Someone presents a token that was already exchanged: it was copied. Revoke the family.
        await _revoke_family(session, row.family_id, now)
        await audit_log.record(
            session,
            action="refresh.reuse",
            outcome="denied",
            actor=f"user:{row.user_id}",
            tenant_id=row.tenant_id,
            detail={"family": row.family_id},
        )
        raise Unauthorized("the refresh token was already used; every session of this sign-in is revoked")
    user = await session.get(User, row.user_id)
    if user is None or not user.enabled:
        raise Unauthorized("the refresh token is not valid")
    row.used_at = now
    return await _issue(session, tokens, user, family_id=row.family_id)


async def log_out(session: AsyncSession, *, refresh_token: str) -> None:
    """The sign-in of this refresh token ends (an unknown token is ignored)."""
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    if row is not None:
        await _revoke_family(session, row.family_id, utcnow())
        await audit_log.record(
            session, action="logout", outcome="success", actor=f"user:{row.user_id}", tenant_id=row.tenant_id
        )


async def exchange_id_token(
    session: AsyncSession,
    tokens: TokenService,
    jwks_cache: JwksCache,
    *,
    tenant_slug: str,
    id_token: str,
    nonce: str | None,
    allow_private: bool,
) -> SessionTokens:
    """Tokens for the existing, enabled person the district's IdP vouches for; ``Unauthorized``
    (audited) otherwise."""
    tenant = await tenants.by_slug(session, tenant_slug)
    provider = await tenants.identity_provider(session, tenant.id) if tenant else None
    if tenant is None or provider is None:
        raise Unauthorized("this district does not sign in through an identity provider")
    try:
        email = await verify_id_token(
            provider, id_token, nonce=nonce, allow_private=allow_private, jwks_cache=jwks_cache
        )
    except Unauthorized as denied:
        await audit_log.record(
            session,
            action="login.oidc",
            outcome="denied",
            actor="anonymous",
            tenant_id=tenant.id,
            detail={"reason": denied.detail},
        )
        raise
    user = await session.scalar(select(User).where(User.tenant_id == tenant.id, User.email == email))
    if user is None or not user.enabled:
        await audit_log.record(
            session,
            action="login.oidc",
            outcome="denied",
            actor="anonymous",
            tenant_id=tenant.id,
            detail={"reason": "no such user"},
        )
        raise Unauthorized("invalid credentials", error="invalid_request")
    await audit_log.record(
        session, action="login.oidc", outcome="success", actor=f"user:{user.id}", tenant_id=tenant.id
    )
    return await _issue(session, tokens, user)
