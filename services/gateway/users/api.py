"""Admin API served by the gateway itself: tenants, org units, users, roles, API clients, audit.

``tenant_admin`` manages its own tenant (scope ``admin``); ``platform_admin`` may act on any
tenant by passing ``tenant_id``. Every change is audited, with ids, never personal data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import identity
from services.gateway.denials import Denial, DenialLog
from services.gateway.hashing import hash_secret, new_client_secret
from services.gateway.models import (
    ApiClient,
    AuditEvent,
    IdentityProvider,
    OrgUnit,
    RefreshToken,
    RoleAssignment,
    Tenant,
    User,
)
from services.gateway.oidc import UnsafeJwksUri, check_jwks_uri
from services.gateway.tokens import AccessClaims, TokenService
from shared.state import get_session
from shared.auth import ROLES, SCOPES, Forbidden, Unauthorized
from shared.db import utcnow
from shared.paging import after_cursor, encode_cursor
from shared.problems import Conflict, FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

router = APIRouter(tags=["admin"])


@dataclass(frozen=True)
class Admin:
    """A verified caller allowed to administer ``tenant_id``."""

    claims: AccessClaims
    tenant_id: str

    @property
    def actor(self) -> str:
        return self.claims.subject

    async def record(
        self, session: AsyncSession, action: str, *, target: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        """Audit a change this administrator made in its tenant (ids only, never personal data)."""
        await identity.audit(
            session,
            action=action,
            outcome="success",
            actor=self.actor,
            tenant_id=self.tenant_id,
            target=target,
            detail=detail,
        )


def bearer_claims(request: Request) -> AccessClaims:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'", error="invalid_request")
    tokens: TokenService = request.app.state.tokens
    return tokens.verify(token.strip())


async def admin(
    request: Request,
    tenant_id: Annotated[
        str | None, Query(max_length=36, description="platform_admin only: act on this tenant")
    ] = None,
    session: AsyncSession = Depends(get_session, scope="function"),
) -> Admin:
    try:
        claims = bearer_claims(request)
    except Unauthorized as problem:
        await _record_denial(request, session, 401, None, problem.detail or "invalid token")
        raise
    platform = "platform_admin" in claims.roles
    if not platform and "admin" not in claims.scopes:
        await _record_denial(request, session, 403, claims, "requires the admin scope or platform_admin")
        raise Forbidden("requires the admin scope (tenant_admin) or the platform_admin role")
    target = tenant_id or claims.tenant_id
    if (target != claims.tenant_id and not platform) or await session.get(Tenant, target) is None:
        raise NotFound(f"no tenant {target}")
    return Admin(claims=claims, tenant_id=target)


async def _record_denial(
    request: Request, session: AsyncSession, status: int, claims: AccessClaims | None, reason: str
) -> None:
    denial = Denial.of(request.scope, status, claims, reason)
    denials: DenialLog = request.app.state.denials
    suppressed = denials.admit(denial)
    if suppressed is not None:
        await denials.write(session, denial, suppressed)
        await session.commit()  # the denial is recorded although the request fails


AdminDep = Annotated[Admin, Depends(admin)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# --- org units --------------------------------------------------------------------------------


class OrgUnitCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="school", pattern=r"^[a-z_]{1,32}$")


class OrgUnitRead(BaseModel):
    id: str
    tenant_id: str
    name: str
    kind: str
    created_at: dt.datetime


def _org_unit(row: OrgUnit) -> OrgUnitRead:
    return OrgUnitRead(id=row.id, tenant_id=row.tenant_id, name=row.name, kind=row.kind, created_at=row.created_at)


@router.get("/v1/org-units", response_model=list[OrgUnitRead], summary="Org units (schools) of the tenant")
async def list_org_units(who: AdminDep, session: SessionDep) -> list[OrgUnitRead]:
    rows = await session.scalars(in_tenant(select(OrgUnit), OrgUnit, who.tenant_id).order_by(OrgUnit.name))
    return [_org_unit(row) for row in rows]


@router.post("/v1/org-units", response_model=OrgUnitRead, status_code=201, summary="Add an org unit")
async def create_org_unit(body: OrgUnitCreate, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    exists = await session.scalar(
        in_tenant(select(OrgUnit.id), OrgUnit, who.tenant_id).where(OrgUnit.name == body.name)
    )
    if exists:
        raise Conflict(f"an org unit named {body.name!r} already exists")
    row = OrgUnit(id=str(uuid.uuid4()), tenant_id=who.tenant_id, name=body.name, kind=body.kind, created_at=utcnow())
    session.add(row)
    await session.flush()
    await who.record(session, "org_unit.create", target=row.id)
    return _org_unit(row)


@router.get("/v1/org-units/{org_unit_id}", response_model=OrgUnitRead, summary="One org unit")
async def get_org_unit(org_unit_id: str, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    return _org_unit(await get_in_tenant(session, OrgUnit, org_unit_id, who.tenant_id, noun="org unit"))


class OrgUnitUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")


@router.patch("/v1/org-units/{org_unit_id}", response_model=OrgUnitRead, summary="Rename or re-kind an org unit")
async def update_org_unit(org_unit_id: str, body: OrgUnitUpdate, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    row = await get_in_tenant(session, OrgUnit, org_unit_id, who.tenant_id, noun="org unit")
    if body.name is not None and body.name != row.name:
        taken = await session.scalar(
            in_tenant(select(OrgUnit.id), OrgUnit, who.tenant_id).where(OrgUnit.name == body.name)
        )
        if taken:
            raise Conflict(f"an org unit named {body.name!r} already exists")
        row.name = body.name
    if body.kind is not None:
        row.kind = body.kind
    await session.flush()
    await who.record(session, "org_unit.update", target=row.id, detail={"fields": sorted(body.model_fields_set)})
    return _org_unit(row)


@router.delete("/v1/org-units/{org_unit_id}", status_code=204, summary="Remove an org unit (its people stay)")
async def delete_org_unit(org_unit_id: str, who: AdminDep, session: SessionDep) -> None:
    row = await get_in_tenant(session, OrgUnit, org_unit_id, who.tenant_id, noun="org unit")
    # People of the unit stay in the tenant, without a unit; done here rather than trusting the
    # foreign key's ON DELETE, which SQLite honours only with foreign keys switched on.
    for user in await session.scalars(in_tenant(select(User), User, who.tenant_id).where(User.org_unit_id == row.id)):
        user.org_unit_id = None
    await session.flush()
    await session.delete(row)
    await session.flush()
    await who.record(session, "org_unit.delete", target=row.id)


# --- API clients ------------------------------------------------------------------------------


class ApiClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    client_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")
    scopes: list[str] = Field(min_length=1)


class ApiClientRead(BaseModel):
    id: str
    tenant_id: str
    client_id: str
    name: str
    scopes: list[str]
    enabled: bool
    created_at: dt.datetime
    secret_rotated_at: dt.datetime
    last_used_at: dt.datetime | None


class ApiClientWithSecret(ApiClientRead):
    client_secret: str = Field(description="shown once: only its hash is stored")


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
    rows = await session.scalars(in_tenant(select(ApiClient), ApiClient, who.tenant_id).order_by(ApiClient.client_id))
    return [ApiClientRead(**_client(row)) for row in rows]


@router.post(
    "/v1/api-clients",
    response_model=ApiClientWithSecret,
    status_code=201,
    summary="Register an API client; the secret is in this answer only",
)
async def create_api_client(body: ApiClientCreate, who: AdminDep, session: SessionDep) -> ApiClientWithSecret:
    _check_scopes(body.scopes, who)
    secret = new_client_secret()
    now = utcnow()
    row = ApiClient(
        id=str(uuid.uuid4()),
        tenant_id=who.tenant_id,
        client_id=body.client_id or f"client-{uuid.uuid4().hex[:12]}",
        name=body.name,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(body.scopes)),
        enabled=True,
        created_at=now,
        secret_rotated_at=now,
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"client_id {row.client_id!r} is taken") from exc
    await who.record(session, "api_client.create", target=row.client_id, detail={"scopes": row.scopes})
    return ApiClientWithSecret(**_client(row), client_secret=secret)


@router.post(
    "/v1/api-clients/{api_client_id}/rotate-secret",
    response_model=ApiClientWithSecret,
    summary="Replace the secret (the old one stops working at once); the new one is shown once",
)
async def rotate_api_client_secret(api_client_id: str, who: AdminDep, session: SessionDep) -> ApiClientWithSecret:
    row = await get_in_tenant(session, ApiClient, api_client_id, who.tenant_id, noun="API client")
    secret = new_client_secret()
    row.secret_hash = hash_secret(secret)
    row.secret_rotated_at = utcnow()
    await who.record(session, "api_client.rotate_secret", target=row.client_id)
    return ApiClientWithSecret(**_client(row), client_secret=secret)


class ApiClientUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[str] | None = Field(default=None, min_length=1)
    enabled: bool | None = None


def _refuse_unknown(given: list[str], known: Collection[str], noun: str) -> None:
    """422 naming each of ``given`` that is not one of ``known`` (pointer /body/<noun>s)."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UnprocessableContent(
            f"unknown {noun}s: {', '.join(unknown)}",
            errors=[FieldError(pointer=f"/body/{noun}s", detail=f"unknown {noun} {name!r}") for name in unknown],
        )


def _check_scopes(scopes: list[str], who: Admin) -> None:
    _refuse_unknown(scopes, SCOPES, "scope")
    if "admin" in scopes and "platform_admin" not in who.claims.roles and "admin" not in who.claims.scopes:
        raise Forbidden("only an administrator may grant the admin scope")


@router.patch(
    "/v1/api-clients/{api_client_id}",
    response_model=ApiClientRead,
    summary="Rename a client, change its scopes, or enable/disable it (tokens already issued run out)",
)
async def update_api_client(
    api_client_id: str, body: ApiClientUpdate, who: AdminDep, session: SessionDep
) -> ApiClientRead:
    row = await get_in_tenant(session, ApiClient, api_client_id, who.tenant_id, noun="API client")
    if body.scopes is not None:
        _check_scopes(body.scopes, who)
        row.scopes = sorted(set(body.scopes))
    if body.name is not None:
        row.name = body.name
    if body.enabled is not None:
        row.enabled = body.enabled
    await session.flush()
    await who.record(
        session,
        "api_client.update",
        target=row.client_id,
        detail={"fields": sorted(body.model_fields_set), "scopes": row.scopes, "enabled": row.enabled},
    )
    return ApiClientRead(**_client(row))


@router.post("/v1/api-clients/{api_client_id}/disable", response_model=ApiClientRead, summary="Disable a client")
async def disable_api_client(api_client_id: str, who: AdminDep, session: SessionDep) -> ApiClientRead:
    row = await get_in_tenant(session, ApiClient, api_client_id, who.tenant_id, noun="API client")
    row.enabled = False
    await who.record(session, "api_client.disable", target=row.client_id)
    return ApiClientRead(**_client(row))


# --- audit log --------------------------------------------------------------------------------


class AuditEventRead(BaseModel):
    id: str
    occurred_at: dt.datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    request_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page")


@router.get("/v1/audit-events", response_model=AuditPage, summary="The tenant's audit log, newest first")
async def list_audit_events(
    who: AdminDep,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    unscoped: Annotated[
        bool, Query(description="platform_admin only: events tied to no tenant (e.g. requests with a bad token)")
    ] = False,
) -> AuditPage:
    if unscoped:
        _operator(who)
        statement = select(AuditEvent).where(AuditEvent.tenant_id.is_(None))
    else:
        statement = in_tenant(select(AuditEvent), AuditEvent, who.tenant_id)
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    for bound, name in ((since, "since"), (until, "until")):
        if bound is not None and bound.tzinfo is None:
            raise UnprocessableContent(
                f"{name} needs a time zone", errors=[FieldError(pointer=f"/query/{name}", detail="add a UTC offset")]
            )
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.occurred_at < until)
    statement = after_cursor(statement, cursor, AuditEvent.occurred_at, AuditEvent.id)
    rows = list(
        await session.scalars(statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit + 1))
    )
    page, more = rows[:limit], len(rows) > limit
    return AuditPage(
        items=[
            AuditEventRead(
                id=r.id,
                occurred_at=r.occurred_at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                request_id=r.request_id,
                detail=r.detail,
            )
            for r in page
        ],
        next_cursor=encode_cursor(page[-1].occurred_at, page[-1].id) if more and page else None,
    )


# --- users and roles --------------------------------------------------------------------------


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str = Field(min_length=1, max_length=200)
    org_unit_id: str | None = Field(default=None, max_length=36)
    sis_id: str | None = Field(default=None, max_length=64)
    state_educator_id: str | None = Field(default=None, max_length=64)
    roles: list[str] = Field(default_factory=list, max_length=6)
    password: str | None = Field(default=None, min_length=12, max_length=1024)

    @field_validator("email", mode="before")
    @classmethod
    def _normalise_email(cls, value: object) -> object:
        # Unique per tenant, case-insensitively: stored trimmed and lower-cased.
        return value.strip().lower() if isinstance(value, str) else value


class UserRead(BaseModel):
    id: str
    tenant_id: str
    email: str
    display_name: str
    org_unit_id: str | None
    sis_id: str | None
    state_educator_id: str | None
    roles: list[str]
    enabled: bool
    created_at: dt.datetime


class RoleGrant(BaseModel):
    role: str = Field(min_length=1, max_length=32)


async def _user_read(session: AsyncSession, row: User) -> UserRead:
    roles = sorted(await session.scalars(select(RoleAssignment.role).where(RoleAssignment.user_id == row.id)))
    return UserRead(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        display_name=row.display_name,
        org_unit_id=row.org_unit_id,
        sis_id=row.sis_id,
        state_educator_id=row.state_educator_id,
        roles=roles,
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _check_roles(roles: list[str], who: Admin) -> None:
    _refuse_unknown(roles, ROLES, "role")
    if "platform_admin" in roles and "platform_admin" not in who.claims.roles:
        raise Forbidden("only a platform_admin may grant platform_admin")


@router.get("/v1/users", response_model=list[UserRead], summary="People of the tenant")
async def list_users(who: AdminDep, session: SessionDep) -> list[UserRead]:
    rows = await session.scalars(in_tenant(select(User), User, who.tenant_id).order_by(User.email))
    return [await _user_read(session, row) for row in rows]


@router.post("/v1/users", response_model=UserRead, status_code=201, summary="Add a person, with roles")
async def create_user(body: UserCreate, who: AdminDep, session: SessionDep) -> UserRead:
    _check_roles(body.roles, who)
    email = body.email
    if await session.scalar(in_tenant(select(User.id), User, who.tenant_id).where(User.email == email)):
        raise Conflict("a user with this email already exists in the tenant")
    if body.org_unit_id is not None:
        await get_in_tenant(session, OrgUnit, body.org_unit_id, who.tenant_id, noun="org unit")
    now = utcnow()
    row = User(
        id=str(uuid.uuid4()),
        tenant_id=who.tenant_id,
        email=email,
        display_name=body.display_name,
        org_unit_id=body.org_unit_id,
        sis_id=body.sis_id,
        state_educator_id=body.state_educator_id,
        password_hash=hash_secret(body.password) if body.password else None,
        failed_logins=0,
        enabled=True,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    for role in sorted(set(body.roles)):
        identity.assign_role(session, tenant_id=who.tenant_id, user_id=row.id, role=role)
    await session.flush()
    # Personal data stays out of the audit detail: the user id is the reference.
    await who.record(session, "user.create", target=row.id, detail={"roles": sorted(set(body.roles))})
    return await _user_read(session, row)


@router.get("/v1/users/{user_id}", response_model=UserRead, summary="One person")
async def get_user(user_id: str, who: AdminDep, session: SessionDep) -> UserRead:
    return await _user_read(session, await get_in_tenant(session, User, user_id, who.tenant_id, noun="user"))


class UserUpdate(BaseModel):
    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    org_unit_id: str | None = Field(default=None, max_length=36, description="null removes the unit")
    sis_id: str | None = Field(default=None, max_length=64)
    state_educator_id: str | None = Field(default=None, max_length=64)
    enabled: bool | None = Field(default=None, description="false signs the person out everywhere")
    password: str | None = Field(default=None, min_length=12, max_length=1024)

    @field_validator("email", mode="before")
    @classmethod
    def _normalise_email(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


@router.patch("/v1/users/{user_id}", response_model=UserRead, summary="Change a person's details, or disable them")
async def update_user(user_id: str, body: UserUpdate, who: AdminDep, session: SessionDep) -> UserRead:
    user = await get_in_tenant(session, User, user_id, who.tenant_id, noun="user")
    given = body.model_fields_set
    for name in ("email", "display_name", "enabled"):
        if name in given and getattr(body, name) is None:
            raise UnprocessableContent(
                f"{name} cannot be null", errors=[FieldError(pointer=f"/body/{name}", detail="may not be null")]
            )
    if body.email is not None and body.email != user.email:
        taken = await session.scalar(in_tenant(select(User.id), User, who.tenant_id).where(User.email == body.email))
        if taken:
            raise Conflict("a user with this email already exists in the tenant")
        user.email = body.email
    if "org_unit_id" in given and body.org_unit_id is not None:
        await get_in_tenant(session, OrgUnit, body.org_unit_id, who.tenant_id, noun="org unit")
    for name in ("display_name", "org_unit_id", "sis_id", "state_educator_id"):
        if name in given:  # a null display_name was refused above
            setattr(user, name, getattr(body, name))
    if body.password is not None:
        user.password_hash = hash_secret(body.password)
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
    return await _user_read(session, user)


@router.post("/v1/users/{user_id}/roles", response_model=UserRead, summary="Grant a role")
async def grant_role(user_id: str, body: RoleGrant, who: AdminDep, session: SessionDep) -> UserRead:
    user = await get_in_tenant(session, User, user_id, who.tenant_id, noun="user")
    _check_roles([body.role], who)
    held = await session.scalar(
        select(RoleAssignment.id).where(RoleAssignment.user_id == user.id, RoleAssignment.role == body.role)
    )
    if not held:
        identity.assign_role(session, tenant_id=who.tenant_id, user_id=user.id, role=body.role)
        await session.flush()
        await who.record(session, "role.grant", target=user.id, detail={"role": body.role})
    return await _user_read(session, user)


@router.delete("/v1/users/{user_id}/roles/{role}", response_model=UserRead, summary="Withdraw a role")
async def withdraw_role(user_id: str, role: str, who: AdminDep, session: SessionDep) -> UserRead:
    user = await get_in_tenant(session, User, user_id, who.tenant_id, noun="user")
    assignment = await session.scalar(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id, RoleAssignment.role == role)
    )
    if assignment is None:
        raise NotFound(f"the user does not hold the role {role!r}")
    await session.delete(assignment)
    await session.flush()
    await who.record(session, "role.withdraw", target=user.id, detail={"role": role})
    return await _user_read(session, user)


# --- tenants (operators) ----------------------------------------------------------------------


class TenantCreate(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    name: str = Field(min_length=1, max_length=200)


class TenantRead(BaseModel):
    id: str
    slug: str
    name: str
    created_at: dt.datetime


def _operator(who: Admin) -> None:
    if "platform_admin" not in who.claims.roles:
        raise Forbidden("requires the platform_admin role")


@router.get("/v1/tenants", response_model=list[TenantRead], summary="All districts (platform_admin)")
async def list_tenants(who: AdminDep, session: SessionDep) -> list[TenantRead]:
    _operator(who)
    rows = await session.scalars(select(Tenant).order_by(Tenant.slug))
    return [TenantRead(id=r.id, slug=r.slug, name=r.name, created_at=r.created_at) for r in rows]


@router.post("/v1/tenants", response_model=TenantRead, status_code=201, summary="Add a district (platform_admin)")
async def create_tenant(body: TenantCreate, who: AdminDep, session: SessionDep) -> TenantRead:
    _operator(who)
    if await session.scalar(select(Tenant.id).where(Tenant.slug == body.slug)):
        raise Conflict(f"the slug {body.slug!r} is taken")
    row = Tenant(id=str(uuid.uuid4()), slug=body.slug, name=body.name, created_at=utcnow())
    session.add(row)
    await session.flush()
    await identity.audit(
        session, action="tenant.create", outcome="success", actor=who.actor, tenant_id=row.id, target=row.id
    )
    return TenantRead(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at)


class TenantUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


@router.patch("/v1/tenants/{tenant_ref}", response_model=TenantRead, summary="Rename a district (platform_admin)")
async def update_tenant(tenant_ref: str, body: TenantUpdate, who: AdminDep, session: SessionDep) -> TenantRead:
    _operator(who)
    row = await session.get(Tenant, tenant_ref)
    if row is None:
        raise NotFound(f"no tenant {tenant_ref}")
    row.name = body.name
    await session.flush()
    await identity.audit(
        session, action="tenant.update", outcome="success", actor=who.actor, tenant_id=row.id, target=row.id
    )
    return TenantRead(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at)


# --- identity provider (OIDC) -----------------------------------------------------------------


class IdentityProviderWrite(BaseModel):
    issuer: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    audience: str = Field(min_length=1, max_length=500)
    jwks_uri: str | None = Field(default=None, max_length=1000)
    jwks: dict[str, Any] | None = Field(default=None, description="inline JWKS, instead of jwks_uri")
    email_claim: str = Field(default="email", min_length=1, max_length=64)


class IdentityProviderRead(IdentityProviderWrite):
    tenant_id: str
    updated_at: dt.datetime


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
    body: IdentityProviderWrite, request: Request, who: AdminDep, session: SessionDep
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
            check_jwks_uri(body.jwks_uri, allow_private=request.app.state.settings.oidc_allow_private)
        except UnsafeJwksUri as exc:
            raise UnprocessableContent(
                str(exc), errors=[FieldError(pointer="/body/jwks_uri", detail=str(exc))]
            ) from exc
    row = await session.scalar(select(IdentityProvider).where(IdentityProvider.tenant_id == who.tenant_id))
    now = utcnow()
    if row is None:
        row = IdentityProvider(id=str(uuid.uuid4()), tenant_id=who.tenant_id, created_at=now)
        session.add(row)
    row.issuer, row.audience, row.jwks_uri, row.jwks = body.issuer, body.audience, body.jwks_uri, body.jwks
    row.email_claim, row.updated_at = body.email_claim, now
    await session.flush()
    await who.record(session, "identity_provider.put", detail={"issuer": body.issuer})
    return _provider(row)


@router.get("/v1/identity-provider", response_model=IdentityProviderRead, summary="The tenant's OIDC IdP")
async def get_identity_provider(who: AdminDep, session: SessionDep) -> IdentityProviderRead:
    row = await session.scalar(select(IdentityProvider).where(IdentityProvider.tenant_id == who.tenant_id))
    if row is None:
        raise NotFound("this tenant has no identity provider")
    return _provider(row)
