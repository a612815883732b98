"""Builds the credentials service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.credentials.api import router
from services.credentials.models import InboxEvent, OutboxEvent
from services.credentials.service import EVENT_HANDLERS
from services.credentials.settings import CredentialsSettings
from shared.app import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="credentials",
    title="Practicum Credentials",
    description=(
        "The source of truth for what an educator has shown: micro-credential designs, pursuits, "
        "evidence, reviews, awards and the PD-hours and stipend ledger."
    ),
    outbox_model=OutboxEvent,
    inbox_model=InboxEvent,
    routers=[router],
    event_handlers=EVENT_HANDLERS,
)


def create_app(
    settings: CredentialsSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    return build_service_app(SPEC, settings or CredentialsSettings(), sessionmaker=sessionmaker, engine=engine)
