"""Builds the catalog service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.catalog.api import router
from services.catalog.models import InboxEvent, OutboxEvent
from services.catalog.service import EVENT_HANDLERS
from services.catalog.settings import CatalogSettings
from shared.app import ServiceSpec, build_service_app

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
    event_handlers=EVENT_HANDLERS,
)


def create_app(
    settings: CatalogSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    return build_service_app(SPEC, settings or CatalogSettings(), sessionmaker=sessionmaker, engine=engine)
