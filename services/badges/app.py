"""Builds the badges service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.badges.api import router
from services.badges.models import InboxEvent, OutboxEvent
from services.badges.service import EVENT_HANDLERS
from services.badges.settings import BadgesSettings
from shared.app import ServiceSpec, build_service_app

SPEC = ServiceSpec(
    name="badges",
    title="Practicum Badges",
    description=(
        "The source of truth for what anyone can verify: issuers and keys, achievements, signed "
        "Open Badges 2.0 and 3.0 credentials, status lists and the verifier."
    ),
    outbox_model=OutboxEvent,
    inbox_model=InboxEvent,
    routers=[router],
    event_handlers=EVENT_HANDLERS,
)


def create_app(
    settings: BadgesSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    return build_service_app(SPEC, settings or BadgesSettings(), sessionmaker=sessionmaker, engine=engine)
