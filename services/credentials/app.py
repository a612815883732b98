"""Builds the credentials service's ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.catalog.client import CatalogClient
from services.credentials.api import router
from services.credentials.deps import CredentialsState, credentials_state
from services.credentials.designs import service as designs
from services.credentials.events import EVENT_HANDLERS
from services.credentials.evidence import retention
from services.credentials.evidence.storage import LocalEvidenceStore
from services.credentials.models import CredentialDesign, InboxEvent, OutboxEvent
from services.credentials.schemas import DesignContent
from services.credentials.seed import DEMO_ACHIEVEMENT_IDS, DEMO_DESIGN, DEMO_DESIGN_ID, DEMO_TENANT_ID
from services.credentials.settings import CredentialsSettings
from shared.app import ServiceSpec, build_service_app
from shared.settings import Environment
from shared.state import ServiceState, attach_state, state_of


def demo_design() -> DesignContent:
    """The demo design, its tiers awarding the achievements the badges dev seed creates."""
    content = DesignContent.model_validate(json.loads(DEMO_DESIGN.read_text()))
    for tier in content.tiers:
        tier.achievement_id = DEMO_ACHIEVEMENT_IDS[tier.key]
    return content


def _catalog_client(settings: CredentialsSettings) -> CatalogClient:
    return CatalogClient(settings.catalog_url, timeout=settings.catalog_timeout_s)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Dev only: the demo district's published 4-tier design (once). Always: the student-data
    retention task, unless its interval is 0; at the end, the client of the catalog
    (services/credentials/references.py) is closed."""
    state = credentials_state(app)
    settings = state.settings
    if settings.dev_seed and settings.environment is Environment.dev:
        async with state.sessionmaker() as session, session.begin():
            if await session.get(CredentialDesign, DEMO_DESIGN_ID) is None:
                await designs.create_design(session, DEMO_TENANT_ID, demo_design(), design_id=DEMO_DESIGN_ID)
                await designs.publish(session, DEMO_TENANT_ID, DEMO_DESIGN_ID, "dev-seed")
    task: asyncio.Task[None] | None = None
    if settings.retention_interval_s > 0:
        task = asyncio.create_task(
            retention.run_periodically(state.sessionmaker, state.evidence_store, settings.retention_interval_s),
            name="credentials-retention",
        )
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await state.catalog.aclose()
        # The same app may start again (tests stop and restart a service): it gets a new client,
        # as it did when the lifespan made it; one that has sent nothing holds no connection.
        state.catalog = _catalog_client(settings)


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
    lifespan=_lifespan,
)


def create_app(
    settings: CredentialsSettings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    engine: AsyncEngine | None = None,
) -> FastAPI:
    """Tests pass an ``engine`` and a ``sessionmaker`` bound to a transaction they roll back."""
    settings = settings or CredentialsSettings()
    app = build_service_app(SPEC, settings, sessionmaker=sessionmaker, engine=engine)
    attach_state(
        app,
        CredentialsState(
            **state_of(app, ServiceState).fields(),
            catalog=_catalog_client(settings),
            evidence_store=LocalEvidenceStore(settings.evidence_dir()),
        ),
    )
    return app
