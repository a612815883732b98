"""The catalog's routes: each area's router, gathered here (the routes live in the areas), and the
operations anyone may call without a token."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.frameworks import api as frameworks
from services.catalog.models import OutboxEvent
from services.catalog.offerings import api as offerings
from services.catalog.pathways import api as pathways
from services.catalog.references import api as references
from services.catalog.sessions import api as sessions
from shared.auth import whoami_router
from shared.outbox_ops import outbox_ops_router
from shared.state import get_session

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES): a tenant's public catalog, which
# answers 404 unless the tenant switched it on.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({("GET", "/v1/offerings-public/{tenant_id}")})

router = APIRouter()
router.include_router(outbox_ops_router(service="catalog", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("catalog"))
router.include_router(offerings.router)
router.include_router(sessions.router)
router.include_router(pathways.router)
router.include_router(references.router)
router.include_router(frameworks.router)
public_router = offerings.public_router
