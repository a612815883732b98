"""The gateway's own routes, gathered from its areas (everything else is proxied, see app.py).

None of them takes the services' internal-token dependency: ``router`` holds the administration
routes, which verify the caller's bearer token themselves (deps.AdminDep); ``public_router``
holds what answers without a token. ``DOCUMENTED_ROUTERS`` are the ones the gateway's part of
the combined OpenAPI document describes.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.api_clients.api import router as api_clients_router
from services.gateway.audit.api import router as audit_router
from services.gateway.identity.api import router as identity_router
from services.gateway.org_units.api import router as org_units_router
from services.gateway.proxy.api import router as proxy_router
from services.gateway.signin.api import router as signin_router
from services.gateway.tenants.api import router as tenants_router
from services.gateway.users.api import router as users_router

router = APIRouter()
for _area in (org_units_router, api_clients_router, audit_router, users_router, tenants_router):
    router.include_router(_area)

public_router = APIRouter()
for _area in (proxy_router, identity_router, signin_router):
    public_router.include_router(_area)

# Reachable without a token (besides /docs): health, the combined document, OAuth and sign-in.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
        ("POST", "/oauth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/refresh"),
        ("POST", "/v1/auth/logout"),
        ("POST", "/v1/auth/oidc"),
    }
)

# Everything the gateway answers itself, people's sign-in (/v1/auth/*) included.
DOCUMENTED_ROUTERS = (proxy_router, identity_router, signin_router, router)
