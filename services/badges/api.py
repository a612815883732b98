"""The badges service's routes, gathered from its areas.

``router``: a verified principal with a badges scope, tenant-scoped (issuers, achievements, badges,
bulk jobs, plus the outbox operations and whoami every service has). ``public_router``: what anyone
must be able to fetch or call without a token (the ``/ob`` documents, baked images, the badge
page, and the verifier).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.badges.achievements.api import router as achievements_router
from services.badges.bulk.api import router as bulk_router
from services.badges.issuers.api import router as issuers_router
from services.badges.issuing.api import router as issuing_router
from services.badges.models import OutboxEvent
from services.badges.public.api import router as documents_router
from services.badges.public.baked_api import router as baked_router
from services.badges.verify.api import router as verify_router
from shared.auth import whoami_router
from shared.outbox_ops import outbox_ops_router
from shared.state import get_session

router = APIRouter()
router.include_router(outbox_ops_router(service="badges", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("badges"))
router.include_router(issuers_router)
router.include_router(achievements_router)
router.include_router(issuing_router)
router.include_router(bulk_router)

# The public routes themselves, not included routers: the kernel lists what a public router
# serves (``ServiceState.public_routes``) from its own routes, one level deep.
public_router = APIRouter(routes=[*documents_router.routes, *verify_router.routes, *baked_router.routes])

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES): what a verifier must fetch, and the
# verifier itself. tests/test_auth.py holds this list equal to what the app serves unauthenticated.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/ob/issuers/{issuer_id}"),
        ("GET", "/ob/issuers/{issuer_id}/did.json"),
        ("GET", "/ob/issuers/{issuer_id}/jwks.json"),
        ("GET", "/ob/keys/{key_id}"),
        ("GET", "/ob/achievements/{achievement_id}/versions/{version}"),
        ("GET", "/ob/achievements/{achievement_id}/versions/{version}/image"),
        ("GET", "/ob/credentials/{badge_id}"),
        ("GET", "/ob/badges/{badge_id}"),
        ("GET", "/ob/credentials/{badge_id}/jwt"),
        ("GET", "/ob/credentials/{badge_id}/baked.png"),
        ("GET", "/ob/credentials/{badge_id}/baked.svg"),
        ("GET", "/ob/status-lists/{list_id}"),
        ("GET", "/ob/v2/issuers/{issuer_id}"),
        ("GET", "/ob/v2/issuers/{issuer_id}/revocations"),
        ("GET", "/ob/v2/keys/{key_id}"),
        ("GET", "/ob/v2/badgeclasses/{achievement_id}/versions/{version}"),
        ("GET", "/ob/v2/assertions/{badge_id}"),
        ("GET", "/ob/v2/assertions/{badge_id}/jws"),
        ("GET", "/ob/v2/assertions/{badge_id}/baked.png"),
        ("GET", "/ob/v2/assertions/{badge_id}/baked.svg"),
        ("POST", "/v1/verify"),
        ("OPTIONS", "/v1/verify"),
    }
)
