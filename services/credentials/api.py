"""The credentials service's routes: the area routers, gathered, and what is public."""

from __future__ import annotations

from fastapi import APIRouter

from services.credentials.awards.api import router as awards
from services.credentials.designs.api import router as designs
from services.credentials.evidence.api import router as evidence
from services.credentials.ledger.api import router as ledger
from services.credentials.models import OutboxEvent
from services.credentials.pursuits.api import router as pursuits
from services.credentials.records.api import router as records
from services.credentials.submissions.api import router as submissions
from shared.auth import whoami_router
from shared.outbox_ops import outbox_ops_router
from shared.state import get_session

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES). None: evidence and records are private.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset()

router = APIRouter()
router.include_router(outbox_ops_router(service="credentials", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("credentials"))
for area in (submissions, evidence, records, designs, pursuits, ledger, awards):
    router.include_router(area)
