"""Admin API served by the gateway itself: org units, API clients, the audit log.

``tenant_admin`` manages its own tenant (scope ``admin``); ``platform_admin`` may act on any
tenant by passing ``tenant_id``. Every change is audited. Users, role assignments and tenants
follow in the identity issue's next step.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import identity
from services.gateway.hashing import hash_secret, new_client_secret
from services.gateway.models import ApiClient, AuditEvent, OrgUnit, Tenant
from services.gateway.tokens import AccessClaims, TokenService
from shared.app import get_session
from shared.auth import SCOPES, Forbidden, Unauthorized
from shared.db import utcnow
from shared.problems import BadRequest, Conflict, FieldError, NotFound, UnprocessableContent
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
    claims = bearer_claims(request)
    platform = "platform_admin" in claims.roles
    if not platform and "admin" not in claims.scopes:
        await identity.audit(
            session, action="admin.access", outcome="denied", actor=claims.subject, tenant_id=claims.tenant_id
        )
        await session.commit()  # the denial is recorded although the request fails
        raise Forbidden("requires the admin scope (tenant_admin) or the platform_admin role")
    target = tenant_id or claims.tenant_id
    if (target != claims.tenant_id and not platform) or await session.get(Tenant, target) is None:
        raise NotFound(f"no tenant {target}")
    return Admin(claims=claims, tenant_id=target)


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
    await identity.audit(
        session, action="org_unit.create", outcome="success", actor=who.actor, tenant_id=who.tenant_id, target=row.id
    )
    return _org_unit(row)


@router.get("/v1/org-units/{org_unit_id}", response_model=OrgUnitRead, summary="One org unit")
async def get_org_unit(org_unit_id: str, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    return _org_unit(await get_in_tenant(session, OrgUnit, org_unit_id, who.tenant_id, noun="org unit"))


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
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise UnprocessableContent(
            f"unknown scopes: {', '.join(unknown)}",
            errors=[FieldError(pointer="/body/scopes", detail=f"unknown scope {scope!r}") for scope in unknown],
        )
    if "admin" in body.scopes and "platform_admin" not in who.claims.roles and "admin" not in who.claims.scopes:
        raise Forbidden("only an administrator may grant the admin scope")
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
    await identity.audit(
        session,
        action="api_client.create",
        outcome="success",
        actor=who.actor,
        tenant_id=who.tenant_id,
        target=row.client_id,
        detail={"scopes": row.scopes},
    )
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
    await identity.audit(
        session,
        action="api_client.rotate_secret",
        outcome="success",
        actor=who.actor,
        tenant_id=who.tenant_id,
        target=row.client_id,
    )
    return ApiClientWithSecret(**_client(row), client_secret=secret)


@router.post("/v1/api-clients/{api_client_id}/disable", response_model=ApiClientRead, summary="Disable a client")
async def disable_api_client(api_client_id: str, who: AdminDep, session: SessionDep) -> ApiClientRead:
    row = await get_in_tenant(session, ApiClient, api_client_id, who.tenant_id, noun="API client")
    row.enabled = False
    await identity.audit(
        session,
        action="api_client.disable",
        outcome="success",
        actor=who.actor,
        tenant_id=who.tenant_id,
        target=row.client_id,
    )
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


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        occurred, event_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(occurred), str(event_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor") from exc


def _encode_cursor(row: AuditEvent) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.occurred_at.isoformat(), row.id]).encode()).decode()


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
) -> AuditPage:
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
    if cursor:
        occurred, event_id = _decode_cursor(cursor)
        if occurred.tzinfo is None:
            raise BadRequest("the cursor is not one this API gave out", pointer="/query/cursor")
        statement = statement.where(
            (AuditEvent.occurred_at < occurred) | ((AuditEvent.occurred_at == occurred) & (AuditEvent.id < event_id))
        )
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
        next_cursor=_encode_cursor(page[-1]) if more and page else None,
    )
