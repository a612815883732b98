"""Builds the catalog service's ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.catalog.api import public_router, router
from services.catalog.deps import CatalogState, catalog_state
from services.catalog.events import EVENT_HANDLERS
from services.catalog.frameworks import case
from services.catalog.frameworks.service import import_package
from services.catalog.models import InboxEvent, OutboxEvent
from services.catalog.search import memory
from services.catalog.search.indexing import install_search_hooks
from services.catalog.seed import DEMO_FRAMEWORK, DEMO_TENANT_ID
from services.catalog.settings import CatalogSettings
from services.credentials.client import CredentialsClient
from shared.app import ServiceSpec, build_service_app
from shared.settings import Environment
from shared.state import ServiceState, attach_state, state_of


def _credentials_client(settings: CatalogSettings) -> CredentialsClient:
    return CredentialsClient(settings.credentials_url, timeout=settings.credentials_timeout_s)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Dev only: the demo district gets the demo competency framework (idempotent). Then, when
    searches are answered in memory, every tenant's index is read in the background (ADR 0016).
    At the end, the client of the credentials service is closed."""
    state = catalog_state(app)
    settings = state.settings
    if settings.dev_seed and settings.environment is Environment.dev:
        package = case.parse(json.loads(DEMO_FRAMEWORK.read_text()))
        async with state.sessionmaker() as session, session.begin():
            await import_package(session, DEMO_TENANT_ID, package)
    warming = None
    if state.search_index is not None and state.search_warm:
        warming = asyncio.create_task(memory.warm(state.search_index, state.sessionmaker))
    try:
        yield
    finally:
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        await state.credentials.aclose()
        # The same app may start again (tests stop and restart a service): it gets a new client.
        state.credentials = _credentials_client(settings)


SPEC = ServiceSpec(
    name="catalog",
    title="Practicum Catalog",
    description=(
        "The source of truth for what can be learned: competency frameworks (CASE), offerings, "
        "sessions, registrations, attendance, pathways, search and recommendations."
    ),
    outbox_model=OutboxEvent,
    inbox_model=InboxEvent,
    routers=[router],
    public_routers=[public_router],
    event_handlers=EVENT_HANDLERS,
    lifespan=_lifespan,
)


def create_app(
    settings: CatalogSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    settings = settings or CatalogSettings()
    app = build_service_app(SPEC, settings, sessionmaker=sessionmaker, engine=engine)
    kernel = state_of(app, ServiceState)
    # Every session of this app (requests, the seed, the index's readers) raises the search
    # versions at commit; no other sessionmaker's sessions are touched.
    install_search_hooks(kernel.sessionmaker)
    state = CatalogState(
        **{**kernel.fields(), "settings": settings},
        search_index=memory.SearchIndex() if settings.search_engine == "memory" else None,
        # Not with a sessionmaker a test passes: it shares one connection, which a background
        # reader would use at the same time as the test's requests.
        search_warm=settings.search_warm_on_start and sessionmaker is None,
        credentials=_credentials_client(settings),
    )
    attach_state(app, state)
    return app
