"""The administrator principal: a verified caller allowed to administer one tenant."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit import service as audit_log
from services.gateway.identity.tokens import AccessClaims
from shared.auth import ROLES, SCOPES, Forbidden
from shared.problems import FieldError, UnprocessableContent


def may_administer(claims: AccessClaims) -> bool:
    """A tenant_admin (scope ``admin``) or a platform_admin."""
    return "platform_admin" in claims.roles or "admin" in claims.scopes


def administered_tenant(claims: AccessClaims, asked: str | None) -> str | None:
    """The tenant the caller acts on: its own, or (platform_admin only) the one it asked for;
    None when it may not act on the one it asked for."""
    target = asked or claims.tenant_id
    if target != claims.tenant_id and "platform_admin" not in claims.roles:
        return None
    return target


@dataclass(frozen=True)
class Admin:
    """A verified caller allowed to administer ``tenant_id``."""

    claims: AccessClaims
    tenant_id: str

    @property
    def actor(self) -> str:
        return self.claims.subject

    @property
    def is_operator(self) -> bool:
        return "platform_admin" in self.claims.roles

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("requires the platform_admin role")

    def check_grantable_scopes(self, scopes: list[str]) -> None:
        """Only known scopes; the admin scope only from an administrator."""
        _refuse_unknown(scopes, SCOPES, "scope")
        if "admin" in scopes and "platform_admin" not in self.claims.roles and "admin" not in self.claims.scopes:
            raise Forbidden("only an administrator may grant the admin scope")

    def check_grantable_roles(self, roles: list[str]) -> None:
        """Only known roles; platform_admin only from a platform_admin."""
        _refuse_unknown(roles, ROLES, "role")
        if "platform_admin" in roles and "platform_admin" not in self.claims.roles:
            raise Forbidden("only a platform_admin may grant platform_admin")

    async def record(
        self, session: AsyncSession, action: str, *, target: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        """Audit a change this administrator made in its tenant (ids only, never personal data)."""
        await audit_log.record(
            session,
            action=action,
            outcome="success",
            actor=self.actor,
            tenant_id=self.tenant_id,
            target=target,
            detail=detail,
        )


def _refuse_unknown(given: list[str], known: Collection[str], noun: str) -> None:
    """422 naming each of ``given`` that is not one of ``known`` (pointer /body/<noun>s)."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UnprocessableContent(
            f"unknown {noun}s: {', '.join(unknown)}",
            errors=[FieldError(pointer=f"/body/{noun}s", detail=f"unknown {noun} {name!r}") for name in unknown],
        )
