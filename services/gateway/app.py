"""Builds the gateway's ASGI app: the proxy in front, its own few routes behind."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from services.badges.client import BadgesClient
from services.catalog.client import CatalogClient
from services.credentials.client import CredentialsClient
from services.gateway.api import DOCUMENTED_ROUTERS, PUBLIC_ROUTES, public_router, router
from services.gateway.deps import GatewayState, gateway_state
from services.gateway.identity.denials import DenialLog
from services.gateway.identity.hashing import SecretHasher
from services.gateway.identity.keys import load_signing_key
from services.gateway.identity.oidc import JwksCache
from services.gateway.identity.tokens import TokenService
from services.gateway.models import InboxEvent, OutboxEvent
from services.gateway.proxy.proxy import Proxy, RouteTable, close_upstreams, open_upstreams
from services.gateway.proxy.ratelimit import Rate, buckets_for
from services.gateway.proxy.service import OpenAPICache
from services.gateway.seed import seed_demo
from services.gateway.settings import UPSTREAMS, GatewaySettings
from shared.app import ServiceSpec, build_service_app
from shared.auth import PublicKeyRing
from shared.docs import mount_docs
from shared.middleware import RequestContextMiddleware
from shared.settings import Environment
from shared.standard_client import StandardServiceClient
from shared.state import ServiceState, attach_state, state_of

CLIENTS: dict[str, type[StandardServiceClient]] = {
    "catalog": CatalogClient,
    "credentials": CredentialsClient,
    "badges": BadgesClient,
}


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own routes; a request a service owns goes around the framework.

    Routing, dependency injection and Starlette's middleware stack cost more than the proxy hop
    itself, so a proxied request meets only the request-id layer and the proxy
    (docs/decisions/0003-gateway-client-stack.md).
    """

    route_table: RouteTable
    proxy_entry: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            service = self.route_table.match(scope["path"])
            if service is not None:
                scope["app"] = self
                scope["upstream"] = service
                await self.proxy_entry(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    settings = settings or GatewaySettings()

    tokens = TokenService(
        key=load_signing_key(settings),
        key_ring=PublicKeyRing(settings.keys_dir),
        issuer=settings.public_base_url.rstrip("/"),
        access_ttl_s=settings.access_token_ttl_s,
        internal_ttl_s=settings.internal_token_ttl_s,
    )
    buckets = buckets_for(settings.redis_url)
    denials = DenialLog(window_s=settings.denial_audit_window_s)
    proxy = Proxy(
        upstreams={},
        tokens=tokens,
        buckets=buckets,
        client_rate=Rate(per_second=settings.rate_limit_client_per_s, burst=settings.rate_limit_client_burst),
        buffer_request_bytes=settings.buffer_request_bytes,
        buffer_response_bytes=settings.buffer_response_bytes,
        denials=denials,
        delegations=settings.delegations,
        address_limits={
            ("POST", "/v1/verify"): Rate(
                per_second=settings.rate_limit_verify_per_min / 60, burst=settings.rate_limit_verify_burst
            )
        },
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = gateway_state(app)
        if settings.dev_seed and settings.environment is Environment.dev:
            async with state.sessionmaker() as session, session.begin():
                await seed_demo(session, hasher=state.hasher)
        proxy.upstreams.update(open_upstreams(settings, UPSTREAMS))
        state.service_clients = {
            name: CLIENTS[name](settings.upstream_url(name), timeout=settings.readiness_probe_timeout_s)
            for name in UPSTREAMS
        }
        try:
            yield
        finally:
            await close_upstreams(proxy.upstreams)
            proxy.upstreams.clear()
            for client in state.service_clients.values():
                await client.aclose()
            await buckets.aclose()

    spec = ServiceSpec(
        name="gateway",
        title="Practicum Gateway",
        description="The one public entry point of Practicum.",
        outbox_model=OutboxEvent,
        inbox_model=InboxEvent,
        # The gateway authenticates its own routes itself (bearer tokens, deps.AdminDep), so
        # none of them takes the services' internal-token dependency.
        public_routers=[public_router, router],
        standard_health=False,
        standard_openapi=False,
        event_inbox=False,
        app_class=GatewayApp,
        lifespan=lifespan,
    )
    app = build_service_app(spec, settings, sessionmaker=sessionmaker, engine=engine)
    assert isinstance(app, GatewayApp)
    app.route_table = RouteTable(settings.routes)
    app.proxy_entry = RequestContextMiddleware(proxy)
    kernel = state_of(app, ServiceState)
    proxy.sessionmaker = kernel.sessionmaker
    attach_state(
        app,
        GatewayState(
            # The settings narrowed to GatewaySettings; the kernel counts every gateway route as
            # public (each authenticates itself), PUBLIC_ROUTES says which need no token.
            **{**kernel.fields(), "settings": settings, "public_routes": PUBLIC_ROUTES},
            tokens=tokens,
            hasher=SecretHasher(
                time_cost=settings.password_hash_time_cost,
                memory_cost_kib=settings.password_hash_memory_kib,
                parallelism=settings.password_hash_parallelism,
            ),
            denials=denials,
            buckets=buckets,
            auth_rate=Rate(per_second=settings.rate_limit_auth_per_min / 60, burst=settings.rate_limit_auth_burst),
            routes=app.route_table,
            openapi_cache=OpenAPICache(ttl_s=settings.openapi_cache_s),
            jwks_cache=JwksCache(),
            documented_routes=[route for area in DOCUMENTED_ROUTERS for route in area.routes],
        ),
    )
    mount_docs(app, title="Practicum API")
    return app
