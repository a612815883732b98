"""Routes for people signing in: password login, refresh, logout and the OIDC exchange.

Every failure is audited (and counted towards the lockout) by the service; the route commits it
before answering, since the request's own transaction is rolled back when it fails.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from services.gateway.deps import HasherDep, JwksCacheDep, SettingsDep, TokensDep, per_address
from services.gateway.errors import TooManyRequests
from services.gateway.schemas import Login, OidcExchange, Refresh, SessionTokens
from services.gateway.signin import service
from shared.auth import Unauthorized
from shared.state import SessionDep

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_limit = per_address("sign-in attempts")


@router.post(
    "/login",
    response_model=SessionTokens,
    summary="Sign in with email and password (districts without SSO)",
    dependencies=[Depends(_limit)],
)
async def login(
    body: Login, response: Response, session: SessionDep, hasher: HasherDep, tokens: TokensDep
) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    try:
        return await service.log_in(
            session, hasher, tokens, tenant_slug=body.tenant, email=body.email, password=body.password
        )
    except (Unauthorized, TooManyRequests):
        await session.commit()  # the failure counts even though the request fails
        raise


@router.post(
    "/refresh",
    response_model=SessionTokens,
    summary="Trade a refresh token for new tokens (each refresh token works once)",
    dependencies=[Depends(_limit)],
)
async def refresh(body: Refresh, response: Response, session: SessionDep, tokens: TokensDep) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    try:
        return await service.refresh(session, tokens, refresh_token=body.refresh_token)
    except Unauthorized:
        await session.commit()  # a reused token's family stays revoked
        raise


@router.post("/logout", status_code=204, summary="End the sign-in: its refresh tokens stop working")
async def logout(body: Refresh, session: SessionDep) -> Response:
    await service.log_out(session, refresh_token=body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/oidc",
    response_model=SessionTokens,
    summary="Exchange an ID token from the district's own identity provider for Practicum tokens",
    dependencies=[Depends(_limit)],
)
async def oidc(
    body: OidcExchange,
    response: Response,
    session: SessionDep,
    tokens: TokensDep,
    jwks_cache: JwksCacheDep,
    settings: SettingsDep,
) -> SessionTokens:
    response.headers["Cache-Control"] = "no-store"
    try:
        return await service.exchange_id_token(
            session,
            tokens,
            jwks_cache,
            tenant_slug=body.tenant,
            id_token=body.id_token,
            nonce=body.nonce,
            allow_private=settings.oidc_allow_private,
        )
    except Unauthorized:
        await session.commit()  # the denial stays in the audit log
        raise
