"""Routes for the people of a tenant and their roles; its admin manages them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.gateway.deps import AdminDep, HasherDep
from services.gateway.models import User
from services.gateway.schemas import RoleGrant, UserCreate, UserRead, UserUpdate
from services.gateway.users import service
from shared.state import SessionDep

router = APIRouter(tags=["admin"])


async def _user_read(session: SessionDep, row: User) -> UserRead:
    return UserRead(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        display_name=row.display_name,
        org_unit_id=row.org_unit_id,
        sis_id=row.sis_id,
        state_educator_id=row.state_educator_id,
        roles=await service.roles_of(session, row.id),
        enabled=row.enabled,
        created_at=row.created_at,
    )


@router.get("/v1/users", response_model=list[UserRead], summary="People of the tenant")
async def list_users(who: AdminDep, session: SessionDep) -> list[UserRead]:
    return [await _user_read(session, row) for row in await service.list_users(session, who.tenant_id)]


@router.post("/v1/users", response_model=UserRead, status_code=201, summary="Add a person, with roles")
async def create_user(
    body: UserCreate, response: Response, who: AdminDep, session: SessionDep, hasher: HasherDep
) -> UserRead:
    user = await service.create(session, hasher, who, body)
    response.headers["Location"] = f"/v1/users/{user.id}"
    return await _user_read(session, user)


@router.get("/v1/users/{user_id}", response_model=UserRead, summary="One person")
async def get_user(user_id: str, who: AdminDep, session: SessionDep) -> UserRead:
    return await _user_read(session, await service.get(session, who.tenant_id, user_id))


@router.patch("/v1/users/{user_id}", response_model=UserRead, summary="Change a person's details, or disable them")
async def update_user(
    user_id: str, body: UserUpdate, who: AdminDep, session: SessionDep, hasher: HasherDep
) -> UserRead:
    return await _user_read(session, await service.update_user(session, hasher, who, user_id, body))


@router.post("/v1/users/{user_id}/roles", response_model=UserRead, summary="Grant a role")
async def grant_role(user_id: str, body: RoleGrant, who: AdminDep, session: SessionDep) -> UserRead:
    return await _user_read(session, await service.grant_role(session, who, user_id, body.role))


@router.delete("/v1/users/{user_id}/roles/{role}", response_model=UserRead, summary="Withdraw a role")
async def withdraw_role(user_id: str, role: str, who: AdminDep, session: SessionDep) -> UserRead:
    return await _user_read(session, await service.withdraw_role(session, who, user_id, role))
