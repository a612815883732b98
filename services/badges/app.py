"""Builds the badges service's ASGI app."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.badges import events
from services.badges.achievements.service import create_achievement
from services.badges.api import public_router, router
from services.badges.bulk import runner
from services.badges.context import Context
from services.badges.deps import BadgesState, badges_state
from services.badges.issuers.service import create_issuer
from services.badges.models import InboxEvent, Issuer, OutboxEvent
from services.badges.openbadges.documents import Urls
from services.badges.schemas import AchievementWrite, IssuerWrite
from services.badges.seed import DEMO_ACHIEVEMENT_IDS, DEMO_ACHIEVEMENTS, DEMO_ISSUER_ID, DEMO_TENANT_ID
from services.badges.settings import BadgesSettings
from services.badges.vault import KeyVault, Signer, load_kek
from services.badges.verify.verifier import Verifier
from shared.app import ServiceSpec, build_service_app
from shared.settings import Environment
from shared.state import ServiceState, attach_state, state_of


@contextlib.asynccontextmanager
async def _dev_seed(app: FastAPI) -> AsyncIterator[None]:
    """Dev only: the demo district's issuer and the achievements its demo design awards (once)."""
    state = badges_state(app)
    settings = state.settings
    if settings.dev_seed and settings.environment is Environment.dev:
        seed = json.loads(DEMO_ACHIEVEMENTS.read_text())
        ctx = Context(tenant_id=DEMO_TENANT_ID, urls=state.urls, signer=state.signer)
        async with state.sessionmaker() as session, session.begin():
            if await session.get(Issuer, DEMO_ISSUER_ID) is None:
                await create_issuer(session, ctx, IssuerWrite.model_validate(seed["issuer"]), issuer_id=DEMO_ISSUER_ID)
                for item in seed["achievements"]:
                    fields = {name: value for name, value in item.items() if name != "key"}
                    body = AchievementWrite.model_validate({**fields, "issuer_id": DEMO_ISSUER_ID})
                    await create_achievement(session, ctx, body, achievement_id=DEMO_ACHIEVEMENT_IDS[item["key"]])
    yield


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with _dev_seed(app), runner.running(app):
        yield


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
    event_handlers=events.EVENT_HANDLERS,
    event_handler_factory=events.handlers,
    lifespan=_lifespan,
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
    urls = Urls(settings.public_base_url)
    signer = Signer(KeyVault(load_kek(settings)))
    verifier = Verifier(
        urls=urls,
        allow_private=settings.verify_allow_private,
        max_bytes=settings.verify_max_bytes,
        timeout_s=settings.verify_fetch_timeout_s,
    )
    base = state_of(app, ServiceState).fields()
    attach_state(app, BadgesState(**{**base, "settings": settings}, urls=urls, signer=signer, verifier=verifier))
    return app
