"""The gateway's typed state and what its route modules ask FastAPI for: the administrator
principal, the token service, the secret hasher, the JWKS cache and the per-address limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from starlette.routing import BaseRoute

from services.gateway.identity.denials import Denial, DenialLog
from services.gateway.identity.hashing import SecretHasher
from services.gateway.identity.oidc import JwksCache
from services.gateway.identity.principals import Admin, administered_tenant, may_administer
from services.gateway.identity.tokens import AccessClaims, TokenService
from services.gateway.proxy.proxy import RouteTable
from services.gateway.proxy.ratelimit import Buckets, Rate, enforce
from services.gateway.proxy.service import OpenAPICache
from services.gateway.settings import GatewaySettings
from services.gateway.tenants import service as tenants
from shared.auth import Forbidden, Unauthorized
from shared.problems import NotFound
from shared.standard_client import StandardServiceClient
from shared.state import ServiceState, SessionDep, state_of


@dataclass(eq=False, kw_only=True)
class GatewayState(ServiceState):
    settings: GatewaySettings
    tokens: TokenService
    hasher: SecretHasher
    denials: DenialLog
    buckets: Buckets
    auth_rate: Rate  # per address, on every sign-in and token endpoint
    routes: RouteTable
    openapi_cache: OpenAPICache
    jwks_cache: JwksCache
    # The gateway's own routes that its part of the combined OpenAPI document describes.
    documented_routes: Sequence[BaseRoute] = ()
    # One readiness/OpenAPI client per service, opened by the lifespan.
    service_clients: dict[str, StandardServiceClient] = field(default_factory=dict)


def gateway_state(app: FastAPI) -> GatewayState:
    return state_of(app, GatewayState)


def _state(request: Request) -> GatewayState:
    return gateway_state(request.app)


State = Annotated[GatewayState, Depends(_state)]


def _tokens(request: Request) -> TokenService:
    return gateway_state(request.app).tokens


def _hasher(request: Request) -> SecretHasher:
    return gateway_state(request.app).hasher


def _settings(request: Request) -> GatewaySettings:
    return gateway_state(request.app).settings


def _jwks_cache(request: Request) -> JwksCache:
    return gateway_state(request.app).jwks_cache


TokensDep = Annotated[TokenService, Depends(_tokens)]
HasherDep = Annotated[SecretHasher, Depends(_hasher)]
SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
JwksCacheDep = Annotated[JwksCache, Depends(_jwks_cache)]


def per_address(what: str) -> Callable[[Request], Awaitable[None]]:
    """Dependency: the per-IP token bucket every sign-in and token endpoint shares."""

    async def limit(request: Request) -> None:
        state = gateway_state(request.app)
        peer = request.client.host if request.client else "unknown"
        await enforce(state.buckets, f"auth-ip:{peer}", state.auth_rate, what=what)

    return limit


def bearer_claims(request: Request) -> AccessClaims:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'", error="invalid_request")
    return gateway_state(request.app).tokens.verify(token.strip())


async def _admin(
    request: Request,
    session: SessionDep,
    tenant_id: Annotated[
        str | None, Query(max_length=36, description="platform_admin only: act on this tenant")
    ] = None,
) -> Admin:
    try:
        claims = bearer_claims(request)
    except Unauthorized as problem:
        await _record_denial(request, session, 401, None, problem.detail or "invalid token")
        raise
    if not may_administer(claims):
        await _record_denial(request, session, 403, claims, "requires the admin scope or platform_admin")
        raise Forbidden("requires the admin scope (tenant_admin) or the platform_admin role")
    target = administered_tenant(claims, tenant_id)
    if target is None or not await tenants.exists(session, target):
        raise NotFound(f"no tenant {tenant_id or claims.tenant_id}")
    return Admin(claims=claims, tenant_id=target)


async def _record_denial(
    request: Request, session: SessionDep, status: int, claims: AccessClaims | None, reason: str
) -> None:
    denial = Denial.of(request.scope, status, claims, reason)
    denials = gateway_state(request.app).denials
    suppressed = denials.admit(denial)
    if suppressed is not None:
        await denials.write(session, denial, suppressed)
        await session.commit()  # the denial is recorded although the request fails


AdminDep = Annotated[Admin, Depends(_admin)]
