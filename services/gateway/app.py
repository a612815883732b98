"""Builds the gateway's ASGI app: the proxy in front, its own few routes behind."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.badges.client import BadgesClient
from services.catalog.client import CatalogClient
from services.credentials.client import CredentialsClient
from services.gateway.api import router
from services.gateway.models import InboxEvent, OutboxEvent
from services.gateway.proxy import ProxyMiddleware, RouteTable, close_upstreams, open_upstreams
from services.gateway.service import OpenAPICache
from services.gateway.settings import UPSTREAMS, GatewaySettings
from shared.app import ServiceSpec, build_service_app
from shared.docs import mount_docs
from shared.standard_client import StandardServiceClient

CLIENTS: dict[str, type[StandardServiceClient]] = {
    "catalog": CatalogClient,
    "credentials": CredentialsClient,
    "badges": BadgesClient,
}


def create_app(
    settings: GatewaySettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    settings = settings or GatewaySettings()
    routes = RouteTable(settings.routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.upstreams = open_upstreams(settings, UPSTREAMS)
        app.state.service_clients = {
            name: CLIENTS[name](settings.upstream_url(name), timeout=settings.readiness_probe_timeout_s)
            for name in UPSTREAMS
        }
        try:
            yield
        finally:
            await close_upstreams(app.state.upstreams)
            for client in app.state.service_clients.values():
                await client.aclose()

    spec = ServiceSpec(
        name="gateway",
        title="Practicum Gateway",
        description="The one public entry point of Practicum.",
        outbox_model=OutboxEvent,
        inbox_model=InboxEvent,
        routers=[router],
        standard_health=False,
        standard_openapi=False,
        event_inbox=False,
        middleware=[
            (
                ProxyMiddleware,
                {
                    "routes": routes,
                    "buffer_request_bytes": settings.buffer_request_bytes,
                    "buffer_response_bytes": settings.buffer_response_bytes,
                },
            )
        ],
        lifespan=lifespan,
    )
    app = build_service_app(spec, settings, sessionmaker=sessionmaker, engine=engine)
    app.state.routes = routes
    app.state.openapi_cache = OpenAPICache(ttl_s=settings.openapi_cache_s)
    mount_docs(app, title="Practicum API")
    return app
