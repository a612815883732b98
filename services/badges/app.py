"""Builds the badges service's ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.badges.api import public_router, router
from services.badges.crypto import KeyVault, load_kek
from services.badges.documents import Urls
from services.badges.models import InboxEvent, OutboxEvent
from services.badges.service import EVENT_HANDLERS, Signer
from services.badges.settings import BadgesSettings
from services.badges.verifier import Verifier
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
    public_routers=[public_router],
    event_handlers=EVENT_HANDLERS,
)


def create_app(
    settings: BadgesSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    settings = settings or BadgesSettings()
    app = build_service_app(SPEC, settings, sessionmaker=sessionmaker, engine=engine)
    app.state.urls = Urls(settings.public_base_url)
    app.state.signer = Signer(KeyVault(load_kek(settings)))
    app.state.verifier = Verifier(
        urls=app.state.urls,
        allow_private=settings.verify_allow_private,
        max_bytes=settings.verify_max_bytes,
        timeout_s=settings.verify_fetch_timeout_s,
    )
    return app
