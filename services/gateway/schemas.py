"""Wire contract of the gateway's own endpoints: health, OAuth, sign-in and administration."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from shared.health import Liveness

__all__ = [
    "ApiClientCreate",
    "ApiClientRead",
    "ApiClientUpdate",
    "ApiClientWithSecret",
    "AuditEventRead",
    "AuditPage",
    "GatewayReadiness",
    "IdentityProviderRead",
    "IdentityProviderWrite",
    "JWKSet",
    "Liveness",
    "Login",
    "OAuthError",
    "OidcExchange",
    "OrgUnitCreate",
    "OrgUnitRead",
    "OrgUnitUpdate",
    "Refresh",
    "RoleGrant",
    "ServiceReadiness",
    "SessionTokens",
    "TenantCreate",
    "TenantRead",
    "TenantUpdate",
    "TokenResponse",
    "UserCreate",
    "UserRead",
    "UserUpdate",
]


# --- health -----------------------------------------------------------------------------------


class ServiceReadiness(BaseModel):
    name: str
    status: Literal["ready", "not_ready", "unreachable", "timeout", "error"]
    latency_ms: float
    detail: str | None = None


class GatewayReadiness(BaseModel):
    status: Literal["ready", "not_ready"]
    services: list[ServiceReadiness]


# --- OAuth (identity) -------------------------------------------------------------------------


class CallerTenant(BaseModel):
    id: str
    slug: str
    name: str


class Me(BaseModel):
    """``GET /v1/me``: the caller a bearer token names, as the gateway knows it."""

    subject: str = Field(description="what every service calls the caller: `user:<id>` or `client:<client_id>`")
    kind: Literal["user", "client"]
    email: str | None = Field(description="a person's address in the directory; null for an API client")
    name: str = Field(description="a person's display name, or an API client's name")
    client_id: str | None = Field(description="an API client's OAuth client_id; null for a person")
    tenant: CallerTenant
    roles: list[str]
    scopes: list[str]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


# --- people signing in ------------------------------------------------------------------------


class Login(BaseModel):
    tenant: str = Field(min_length=1, max_length=64, description="the district's slug, e.g. demo-usd")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Refresh(BaseModel):
    refresh_token: str = Field(min_length=20, max_length=200)


class SessionTokens(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class OidcExchange(BaseModel):
    tenant: str = Field(min_length=1, max_length=64)
    id_token: str = Field(min_length=10, max_length=16384)
    nonce: str | None = Field(default=None, max_length=256)


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


class OrgUnitUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")


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


class ApiClientUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[str] | None = Field(default=None, min_length=1)
    enabled: bool | None = None


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


# --- tenants and their identity provider ------------------------------------------------------


class TenantCreate(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    name: str = Field(min_length=1, max_length=200)


class TenantRead(BaseModel):
    id: str
    slug: str
    name: str
    created_at: dt.datetime


class TenantUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class IdentityProviderWrite(BaseModel):
    issuer: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    audience: str = Field(min_length=1, max_length=500)
    jwks_uri: str | None = Field(default=None, max_length=1000)
    jwks: dict[str, Any] | None = Field(default=None, description="inline JWKS, instead of jwks_uri")
    email_claim: str = Field(default="email", min_length=1, max_length=64)


class IdentityProviderRead(IdentityProviderWrite):
    tenant_id: str
    updated_at: dt.datetime
