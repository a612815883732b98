"""People signing in: local passwords with lockout, rotating refresh tokens, logout.

For districts without SSO. Failures say only "invalid credentials" (never which part was
wrong); repeated failures lock the account with growing waits; a refresh token works once, and
presenting a spent one revokes its whole family (a stolen token is then worthless to both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import identity
from services.gateway.hashing import verify_secret
from services.gateway.models import IdentityProvider, RefreshToken, RoleAssignment, Tenant, User
from services.gateway.oidc import verify_id_token
from services.gateway.ratelimit import TooManyRequests, per_address
from services.gateway.tokens import TokenService
from shared.state import get_session
from shared.auth import Unauthorized, scopes_for_roles
from shared.db import utcnow

router = APIRouter(prefix="/v1/auth", tags=["auth"])

REFRESH_TTL = dt.timedelta(days=14)
LOCK_AFTER = 5  # failures in a row
LOCK_MAX = dt.timedelta(hours=1)

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


class Login(BaseModel):
    tenant: str = Field(min_length=1, max_length=64, description="the district's slug, e.g. demo-usd")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Refresh(BaseModel):
    refresh_token: str = Field(min_length=20, max_length=200)


class SessionTokens(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


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


_limit = per_address("sign-in attempts")


async def _tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()))


@router.post(
    "/login",
    response_model=SessionTokens,
    summary="Sign in with email and password (districts without SSO)",
    dependencies=[Depends(_limit)],
)
async def login(body: Login, request: Request, response: Response, session: SessionDep) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    email = body.email.strip().lower()
    tenant = await _tenant_by_slug(session, body.tenant)
    user = (
        await session.scalar(select(User).where(User.tenant_id == tenant.id, User.email == email)) if tenant else None
    )
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        verify_secret(None, body.password)  # same work as a real check: timing tells nothing
        await identity.audit(
            session,
            action="login",
            outcome="denied",
            actor=f"user:{user.id}",
            tenant_id=user.tenant_id,
            detail={"reason": "locked"},
        )
        await session.commit()
        raise TooManyRequests(
            "too many failed sign-ins; try again later", retry_after=(user.locked_until - now).total_seconds()
        )
    ok = verify_secret(user.password_hash if user else None, body.password)
    if user is None or not ok or not user.enabled:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + _lock_for(user.failed_logins)
        await identity.audit(
            session,
            action="login",
            outcome="failure",
            actor=f"user:{user.id}" if user else "anonymous",
            tenant_id=tenant.id if tenant else None,
            detail={"reason": "invalid_credentials"},
        )
        await session.commit()  # the failure counts even though the request fails
        raise Unauthorized("invalid credentials", error="invalid_request")
    user.failed_logins = 0
    user.locked_until = None
    await identity.audit(session, action="login", outcome="success", actor=f"user:{user.id}", tenant_id=user.tenant_id)
    return await _issue(session, request.app.state.tokens, user)


@router.post(
    "/refresh",
    response_model=SessionTokens,
    summary="Trade a refresh token for new tokens (each refresh token works once)",
    dependencies=[Depends(_limit)],
)
async def refresh(body: Refresh, request: Request, response: Response, session: SessionDep) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(body.refresh_token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("the refresh token is not valid")
    if row.used_at is not None:
        # Someone presents a token that was already exchanged: it was copied. Revoke the family.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await identity.audit(
            session,
            action="refresh.reuse",
            outcome="denied",
            actor=f"user:{row.user_id}",
            tenant_id=row.tenant_id,
            detail={"family": row.family_id},
        )
        await session.commit()
        raise Unauthorized("the refresh token was already used; every session of this sign-in is revoked")
    user = await session.get(User, row.user_id)
    if user is None or not user.enabled:
        raise Unauthorized("the refresh token is not valid")
    row.used_at = now
    return await _issue(session, request.app.state.tokens, user, family_id=row.family_id)


@router.post("/logout", status_code=204, summary="End the sign-in: its refresh tokens stop working")
async def logout(body: Refresh, session: SessionDep) -> Response:
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(body.refresh_token)))
    if row is not None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        await identity.audit(
            session, action="logout", outcome="success", actor=f"user:{row.user_id}", tenant_id=row.tenant_id
        )
    return Response(status_code=204)


class OidcExchange(BaseModel):
    tenant: str = Field(min_length=1, max_length=64)
    id_token: str = Field(min_length=10, max_length=16384)
    nonce: str | None = Field(default=None, max_length=256)


@router.post(
    "/oidc",
    response_model=SessionTokens,
    summary="Exchange an ID token from the district's own identity provider for Practicum tokens",
    dependencies=[Depends(_limit)],
)
async def oidc(body: OidcExchange, request: Request, response: Response, session: SessionDep) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    tenant = await _tenant_by_slug(session, body.tenant)
    provider = (
        await session.scalar(select(IdentityProvider).where(IdentityProvider.tenant_id == tenant.id))
        if tenant
        else None
    )
    if tenant is None or provider is None:
        raise Unauthorized("this district does not sign in through an identity provider")
    try:
        email = await verify_id_token(
            provider, body.id_token, nonce=body.nonce, allow_private=request.app.state.settings.oidc_allow_private
        )
    except Unauthorized as denied:
        await identity.audit(
            session,
            action="login.oidc",
            outcome="denied",
            actor="anonymous",
            tenant_id=tenant.id,
            detail={"reason": denied.detail},
        )
        await session.commit()
        raise
    user = await session.scalar(select(User).where(User.tenant_id == tenant.id, User.email == email))
    if user is None or not user.enabled:
        await identity.audit(
            session,
            action="login.oidc",
            outcome="denied",
            actor="anonymous",
            tenant_id=tenant.id,
            detail={"reason": "no such user"},
        )
        await session.commit()
        raise Unauthorized("invalid credentials", error="invalid_request")
    await identity.audit(session, action="login.oidc", outcome="success", actor=f"user:{user.id}", tenant_id=tenant.id)
    return await _issue(session, request.app.state.tokens, user)
