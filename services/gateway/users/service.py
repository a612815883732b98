"""Users and roles: queries and rules (flush, never commit); every query stays in the admin's tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.hashing import SecretHasher
from services.gateway.identity.principals import Admin
from services.gateway.models import RefreshToken, RoleAssignment, User
from services.gateway.org_units import service as org_units
from services.gateway.schemas import UserCreate, UserUpdate
from shared.db import utcnow
from shared.problems import Conflict, FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant


async def get(session: AsyncSession, tenant_id: str, user_id: str) -> User:
    """The user in this tenant, else 404."""
    return await get_in_tenant(session, User, user_id, tenant_id, noun="user")


async def roles_of(session: AsyncSession, user_id: str) -> list[str]:
    return sorted(await session.scalars(select(RoleAssignment.role).where(RoleAssignment.user_id == user_id)))


async def list_users(session: AsyncSession, tenant_id: str) -> list[User]:
    return list(await session.scalars(in_tenant(select(User), User, tenant_id).order_by(User.email)))


def assign_role(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    """Add a role assignment to the session (the caller checks that the role is allowed)."""
    session.add(
        RoleAssignment(id=str(uuid.uuid4()), tenant_id=tenant_id, user_id=user_id, role=role, created_at=utcnow())
    )


async def _email_taken(session: AsyncSession, tenant_id: str, email: str) -> bool:
    return bool(await session.scalar(in_tenant(select(User.id), User, tenant_id).where(User.email == email)))


async def create(session: AsyncSession, hasher: SecretHasher, who: Admin, body: UserCreate) -> User:
    who.check_grantable_roles(body.roles)
    email = body.email
    if await _email_taken(session, who.tenant_id, email):
        raise Conflict("a user with this email already exists in the tenant")
    if body.org_unit_id is not None:
        await org_units.get(session, who.tenant_id, body.org_unit_id)
    now = utcnow()
    row = User(
        id=str(uuid.uuid4()),
        tenant_id=who.tenant_id,
        email=email,
        display_name=body.display_name,
        org_unit_id=body.org_unit_id,
        sis_id=body.sis_id,
        state_educator_id=body.state_educator_id,
        password_hash=hasher.hash(body.password) if body.password else None,
        failed_logins=0,
        enabled=True,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    for role in sorted(set(body.roles)):
        assign_role(session, tenant_id=who.tenant_id, user_id=row.id, role=role)
    await session.flush()
    # Personal data stays out of the audit detail: the user id is the reference.
    await who.record(session, "user.create", target=row.id, detail={"roles": sorted(set(body.roles))})
    return row


async def update_user(session: AsyncSession, hasher: SecretHasher, who: Admin, user_id: str, body: UserUpdate) -> User:
    user = await get(session, who.tenant_id, user_id)
    given = body.model_fields_set
    for name in ("email", "display_name", "enabled"):
        if name in given and getattr(body, name) is None:
            raise UnprocessableContent(
                f"{name} cannot be null", errors=[FieldError(pointer=f"/body/{name}", detail="may not be null")]
            )
    if body.email is not None and body.email != user.email:
        if await _email_taken(session, who.tenant_id, body.email):
            raise Conflict("a user with this email already exists in the tenant")
        user.email = body.email
    if "org_unit_id" in given and body.org_unit_id is not None:
        await org_units.get(session, who.tenant_id, body.org_unit_id)
    for name in ("display_name", "org_unit_id", "sis_id", "state_educator_id"):
        if name in given:  # a null display_name was refused above
            setattr(user, name, getattr(body, name))
    if body.password is not None:
        user.password_hash = hasher.hash(body.password)
        user.failed_logins, user.locked_until = 0, None
    if body.enabled is not None:
        user.enabled = body.enabled
    if body.enabled is False or body.password is not None:
        # Disabling or resetting a password ends every session: refresh tokens stop working now,
        # access tokens already out run out within their lifetime.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    await session.flush()
    # Which fields changed, never their (personal) values.
    await who.record(session, "user.update", target=user.id, detail={"fields": sorted(given)})
    return user


async def grant_role(session: AsyncSession, who: Admin, user_id: str, role: str) -> User:
    user = await get(session, who.tenant_id, user_id)
    who.check_grantable_roles([role])
    held = await session.scalar(
        select(RoleAssignment.id).where(RoleAssignment.user_id == user.id, RoleAssignment.role == role)
    )
    if not held:
        assign_role(session, tenant_id=who.tenant_id, user_id=user.id, role=role)
        await session.flush()
        await who.record(session, "role.grant", target=user.id, detail={"role": role})
    return user


async def withdraw_role(session: AsyncSession, who: Admin, user_id: str, role: str) -> User:
    user = await get(session, who.tenant_id, user_id)
    assignment = await session.scalar(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id, RoleAssignment.role == role)
    )
    if assignment is None:
        raise NotFound(f"the user does not hold the role {role!r}")
    await session.delete(assignment)
    await session.flush()
    await who.record(session, "role.withdraw", target=user.id, detail={"role": role})
    return user
