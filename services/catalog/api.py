"""HTTP routes of the catalog service: parse, authorise, call ``service``, return a schema."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.models import OutboxEvent
from shared.app import get_session
from shared.auth import whoami_router
from shared.outbox_ops import outbox_ops_router

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES). Nothing yet: badge pages, the
# verifier and status lists join the badges service's list with their issues.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset()

router = APIRouter()
router.include_router(outbox_ops_router(service="catalog", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("catalog"))
