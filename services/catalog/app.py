"""Builds the catalog service's ASGI app."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.catalog import case
from services.catalog.api import public_router, router
from services.catalog.models import InboxEvent, OutboxEvent
from services.catalog.search_index import SearchIndex
from services.catalog.service import EVENT_HANDLERS, import_package
from services.catalog.settings import CatalogSettings
from shared.app import ServiceSpec, build_service_app
from shared.demo import DEMO_TENANT_ID
from shared.settings import Environment

DEMO_FRAMEWORK = Path(__file__).parent / "seed" / "educator-competencies.case.json"


@contextlib.asynccontextmanager
async def _dev_seed(app: FastAPI) -> AsyncIterator[None]:
    """Dev only: the demo district gets the demo competency framework (idempotent)."""
    settings: CatalogSettings = app.state.settings
    if settings.dev_seed and settings.environment is Environment.dev:
        package = case.parse(json.loads(DEMO_FRAMEWORK.read_text()))
        async with app.state.sessionmaker() as session, session.begin():
            await import_package(session, DEMO_TENANT_ID, package)
    yield


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
    lifespan=_dev_seed,
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
    # One per app (so per process in production): each tenant's snapshot is read on its first
    # search here and kept in step with the database from then on (ADR 0016).
    app.state.search_index = SearchIndex() if settings.search_engine == "memory" else None
    return app
