"""Routes for districts (platform_admin) and a district's OIDC identity provider (its admin)."""

from __future__ import annotations

import jwt
from fastapi import APIRouter, Response

from services.gateway.deps import AdminDep, SettingsDep
from services.gateway.identity.oidc import UnsafeJwksUri, check_jwks_uri
from services.gateway.models import IdentityProvider, Tenant
from services.gateway.schemas import (
    IdentityProviderRead,
    IdentityProviderWrite,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)
from services.gateway.tenants import service
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.state import SessionDep

router = APIRouter(tags=["admin"])


def _tenant(row: Tenant) -> TenantRead:
    return TenantRead(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at)


@router.get("/v1/tenants", response_model=list[TenantRead], summary="All districts (platform_admin)")
async def list_tenants(who: AdminDep, session: SessionDep) -> list[TenantRead]:
    who.require_operator()
    return [_tenant(row) for row in await service.list_tenants(session)]


@router.post("/v1/tenants", response_model=TenantRead, status_code=201, summary="Add a district (platform_admin)")
async def create_tenant(body: TenantCreate, response: Response, who: AdminDep, session: SessionDep) -> TenantRead:
    who.require_operator()
    tenant = await service.create_tenant(session, who, slug=body.slug, name=body.name)
    # Its address in the API (PATCH there renames it).
    response.headers["Location"] = f"/v1/tenants/{tenant.id}"
    return _tenant(tenant)


@router.patch("/v1/tenants/{tenant_ref}", response_model=TenantRead, summary="Rename a district (platform_admin)")
async def update_tenant(tenant_ref: str, body: TenantUpdate, who: AdminDep, session: SessionDep) -> TenantRead:
    who.require_operator()
    return _tenant(await service.rename_tenant(session, who, tenant_ref, name=body.name))


# --- identity provider (OIDC) -----------------------------------------------------------------


def _provider(row: IdentityProvider) -> IdentityProviderRead:
    return IdentityProviderRead(
        tenant_id=row.tenant_id,
        issuer=row.issuer,
        audience=row.audience,
        jwks_uri=row.jwks_uri,
        jwks=row.jwks,
        email_claim=row.email_claim,
        updated_at=row.updated_at,
    )


@router.put("/v1/identity-provider", response_model=IdentityProviderRead, summary="Configure the tenant's OIDC IdP")
async def put_identity_provider(
    body: IdentityProviderWrite, settings: SettingsDep, who: AdminDep, session: SessionDep
) -> IdentityProviderRead:
    if (body.jwks is None) == (body.jwks_uri is None):
        raise UnprocessableContent(
            "give either jwks_uri or an inline jwks",
            errors=[FieldError(pointer="/body/jwks_uri", detail="exactly one of jwks_uri and jwks")],
        )
    if body.jwks is not None:
        try:
            jwt.PyJWKSet.from_dict(body.jwks)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise UnprocessableContent(
                "the JWKS holds no usable key", errors=[FieldError(pointer="/body/jwks", detail=str(exc)[:200])]
            ) from exc
    if body.jwks_uri is not None:
        try:
            await check_jwks_uri(body.jwks_uri, allow_private=settings.oidc_allow_private)
        except UnsafeJwksUri as exc:
            raise UnprocessableContent(
                str(exc), errors=[FieldError(pointer="/body/jwks_uri", detail=str(exc))]
            ) from exc
    return _provider(await service.put_identity_provider(session, who, body))


@router.get("/v1/identity-provider", response_model=IdentityProviderRead, summary="The tenant's OIDC IdP")
async def get_identity_provider(who: AdminDep, session: SessionDep) -> IdentityProviderRead:
    row = await service.identity_provider(session, who.tenant_id)
    if row is None:
        raise NotFound("this tenant has no identity provider")
    return _provider(row)
