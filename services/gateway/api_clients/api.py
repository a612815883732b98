"""Routes for a tenant's API clients; its admin registers them and rotates their secrets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.gateway.api_clients import service
from services.gateway.deps import AdminDep, HasherDep
from services.gateway.models import ApiClient
from services.gateway.schemas import ApiClientCreate, ApiClientRead, ApiClientUpdate, ApiClientWithSecret
from shared.state import SessionDep

router = APIRouter(tags=["admin"])


def _client(row: ApiClient) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "client_id": row.client_id,
        "name": row.name,
        "scopes": list(row.scopes),
        "enabled": row.enabled,
        "created_at": row.created_at,
        "secret_rotated_at": row.secret_rotated_at,
        "last_used_at": row.last_used_at,
    }


@router.get("/v1/api-clients", response_model=list[ApiClientRead], summary="API clients of the tenant")
async def list_api_clients(who: AdminDep, session: SessionDep) -> list[ApiClientRead]:
    return [ApiClientRead(**_client(row)) for row in await service.list_api_clients(session, who.tenant_id)]


@router.post(
    "/v1/api-clients",
    response_model=ApiClientWithSecret,
    status_code=201,
    summary="Register an API client; the secret is in this answer only",
)
async def create_api_client(
    body: ApiClientCreate, response: Response, who: AdminDep, session: SessionDep, hasher: HasherDep
) -> ApiClientWithSecret:
    row, secret = await service.create(session, hasher, who, body)
    # Its address in the API (PATCH there; rotate-secret and disable hang below it).
    response.headers["Location"] = f"/v1/api-clients/{row.id}"
    return ApiClientWithSecret(**_client(row), client_secret=secret)


@router.post(
    "/v1/api-clients/{api_client_id}/rotate-secret",
    response_model=ApiClientWithSecret,
    summary="Replace the secret (the old one stops working at once); the new one is shown once",
)
async def rotate_api_client_secret(
    api_client_id: str, who: AdminDep, session: SessionDep, hasher: HasherDep
) -> ApiClientWithSecret:
    row, secret = await service.rotate_secret(session, hasher, who, api_client_id)
    return ApiClientWithSecret(**_client(row), client_secret=secret)


@router.patch(
    "/v1/api-clients/{api_client_id}",
    response_model=ApiClientRead,
    summary="Rename a client, change its scopes, or enable/disable it (tokens already issued run out)",
)
async def update_api_client(
    api_client_id: str, body: ApiClientUpdate, who: AdminDep, session: SessionDep
) -> ApiClientRead:
    return ApiClientRead(**_client(await service.update(session, who, api_client_id, body)))


@router.post("/v1/api-clients/{api_client_id}/disable", response_model=ApiClientRead, summary="Disable a client")
async def disable_api_client(api_client_id: str, who: AdminDep, session: SessionDep) -> ApiClientRead:
    return ApiClientRead(**_client(await service.disable(session, who, api_client_id)))
