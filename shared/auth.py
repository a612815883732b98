"""Verified identity inside every service: the gateway's internal token becomes a ``Principal``.

The gateway checks the caller's credentials once and forwards a short-lived internal JWT
(EdDSA, audience = the target service, at most 60 s) in ``X-Practicum-Identity``. Services never
trust anything else a client sends about identity. Routes are protected by default
(``build_service_app`` adds ``authenticated`` to every domain router); public routes are listed
explicitly per service.

Keys: the gateway writes ``<kid>.pem`` (private) and ``<kid>.pub.pem`` (public) into its keys
directory; services read the public ones from the same directory (a shared, read-only volume in
production) and rescan it when a token names a kid they do not know yet, so rotation needs no
restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from shared.problems import Problem
from shared.state import request_state

INTERNAL_ISSUER = "practicum-gateway"
INTERNAL_TYP = "practicum-internal+jwt"
IDENTITY_HEADER = "x-practicum-identity"
MAX_INTERNAL_TTL_S = 60

ROLES = frozenset({"educator", "assessor", "coordinator", "hr", "tenant_admin", "platform_admin"})


class Unauthorized(Problem):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self, detail: str, *, error: str = "invalid_token") -> None:
        super().__init__(detail)
        self.error = error

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="practicum", error="{self.error}"'}


class Forbidden(Problem):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the gateway vouched for it.

    ``email`` is the signed-in person's address from the directory (users only). ``audiences``
    are the services the gateway made this identity good for: the one called and any it may
    ask on the caller's behalf (``GATEWAY_DELEGATIONS``); ``token`` is the internal token
    itself, which ``shared.client`` forwards to those services and nothing else ever shows.
    """

    tenant_id: str
    subject: str
    kind: str  # "user" or "client"
    roles: frozenset[str]
    scopes: frozenset[str]
    request_id: str | None = None
    email: str | None = None
    audiences: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False, compare=False)


@dataclass
class PublicKeyRing:
    """Ed25519 public keys by kid, read from a directory of ``<kid>.pub.pem`` files."""

    directory: Path
    rescan_interval_s: float = 1.0
    _keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    _scanned_at: float = float("-inf")

    def get(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._scanned_at >= self.rescan_interval_s:
            self.scan()
            key = self._keys.get(kid)
        return key

    def scan(self) -> None:
        self._scanned_at = time.monotonic()
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.pub.pem"):
            kid = path.name.removesuffix(".pub.pem")
            if kid not in self._keys:
                key = load_pem_public_key(path.read_bytes())
                if isinstance(key, Ed25519PublicKey):
                    self._keys[kid] = key

    def all(self) -> dict[str, Ed25519PublicKey]:
        self.scan()
        return dict(self._keys)


_URLSAFE = bytes.maketrans(b"-_", b"+/")
_REQUIRED = ("exp", "iat", "sub", "aud", "iss", "tenant")


def _b64url(segment: str) -> bytes:
    raw = segment.encode("ascii")
    return base64.b64decode(raw.translate(_URLSAFE) + b"=" * (-len(raw) % 4), validate=True)


def decode_token(token: str, *, keys: PublicKeyRing, typ: str, audience: str, issuer: str, what: str) -> dict[str, Any]:
    """Verify an EdDSA JWS compact token from the gateway: header ``alg``/``typ``, a known
    ``kid``, the Ed25519 signature over the first two segments, then issuer, audience, expiry and
    the claims every Practicum token carries. ``Unauthorized`` names ``what`` and the reason.

    Written out rather than through PyJWT: this runs on every authenticated request of every
    service, and PyJWT's per-character segment checks cost more than the signature itself
    (docs/decisions/0008-identity.md). The checks are the same, in the same order of trust.
    """
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url(header_b64))
        signature = _b64url(signature_b64)
    except (ValueError, UnicodeEncodeError, binascii.Error) as exc:
        raise Unauthorized(f"the {what} is malformed") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != typ:
        raise Unauthorized(f"the {what} is not signed by a known gateway key")
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        raise Unauthorized(f"the {what} is not signed by a known gateway key")
    try:
        key.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature as exc:
        raise Unauthorized(f"the {what} is invalid") from exc
    try:
        claims = json.loads(_b64url(payload_b64))
    except (ValueError, binascii.Error) as exc:
        raise Unauthorized(f"the {what} is invalid") from exc
    if not isinstance(claims, dict) or any(name not in claims for name in _REQUIRED):
        raise Unauthorized(f"the {what} is invalid")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if claims["iss"] != issuer or audience not in audiences:
        raise Unauthorized(f"the {what} is invalid")
    expires, issued = claims["exp"], claims["iat"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (expires, issued)):
        raise Unauthorized(f"the {what} is invalid")  # NumericDate (RFC 7519 §2) or nothing
    if expires <= time.time():
        raise Unauthorized(f"the {what} has expired")
    if issued > time.time() + 60:
        raise Unauthorized(f"the {what} is invalid")  # issued in the future: a clock or a forgery
    return claims


def verify_internal_token(token: str, *, keys: PublicKeyRing, audience: str) -> Principal:
    """Check signature, issuer, audience, expiry and lifetime; raise ``Unauthorized`` otherwise."""
    claims = decode_token(
        token, keys=keys, typ=INTERNAL_TYP, audience=audience, issuer=INTERNAL_ISSUER, what="internal identity token"
    )
    if int(claims["exp"]) - int(claims["iat"]) > MAX_INTERNAL_TTL_S:
        raise Unauthorized("the internal identity token lives too long")
    email = claims.get("email")
    return Principal(
        tenant_id=str(claims["tenant"]),
        subject=str(claims["sub"]),
        kind=str(claims.get("kind", "client")),
        roles=frozenset(claims.get("roles", [])),
        scopes=frozenset(claims.get("scopes", [])),
        request_id=claims.get("rid"),
        email=email if isinstance(email, str) and email else None,
        audiences=frozenset(str(a) for a in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])),
        token=token,
    )


async def authenticated(request: Request) -> Principal:
    """The dependency every protected route has: a verified Principal, or 401."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        raise Unauthorized("authentication required: send a bearer token through the gateway", error="invalid_request")
    state = request_state(request)
    principal = verify_internal_token(token, keys=state.key_ring, audience=state.settings.service_name)
    request.state.principal = principal
    return principal


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller holds every one of ``scopes`` (else 403 naming the missing ones)."""
    wanted = frozenset(scopes)

    async def check(principal: Principal = Depends(authenticated)) -> Principal:
        missing = wanted - principal.scopes
        if missing:
            raise Forbidden(f"missing scope: {' '.join(sorted(missing))}", required_scopes=sorted(wanted))
        return principal

    return check


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller holds at least one of ``roles`` (else 403)."""
    allowed = frozenset(roles)
    unknown = allowed - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def check(principal: Principal = Depends(authenticated)) -> Principal:
        if not principal.roles & allowed:
            raise Forbidden(f"requires one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return check


# Scopes an access token may carry, and what each allows. Services check them with
# ``require_scopes``; the gateway grants them to API clients (chosen per client) and to people
# (from their roles, below).
SCOPES: dict[str, str] = {
    "catalog:read": "read frameworks, offerings, sessions, pathways",
    "catalog:write": "manage frameworks, offerings, sessions, registrations and attendance",
    "credentials:read": "read designs, pursuits, submissions and awards",
    "credentials:write": "manage designs and pursuits, submit evidence",
    "reviews:write": "score submissions as an assessor",
    "badges:read": "read issuers, achievements and issued badges",
    "badges:issue": "issue, revoke and suspend badges",
    "records:read": "read learning records and HR/licensure exports",
    "admin": "manage the tenant: org units, users, roles, API clients, audit log",
}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "educator": frozenset({"catalog:read", "credentials:read", "credentials:write", "badges:read", "records:read"}),
    "assessor": frozenset({"catalog:read", "credentials:read", "reviews:write", "badges:read"}),
    "coordinator": frozenset(
        {
            "catalog:read",
            "catalog:write",
            "credentials:read",
            "credentials:write",
            "reviews:write",
            "badges:read",
            "badges:issue",
            "records:read",
        }
    ),
    "hr": frozenset({"catalog:read", "credentials:read", "badges:read", "records:read"}),
    "tenant_admin": frozenset({"admin", "catalog:read", "credentials:read", "badges:read", "records:read"}),
    "platform_admin": frozenset(SCOPES),
}


def scopes_for_roles(roles: frozenset[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


class PrincipalRead(BaseModel):
    tenant_id: str
    subject: str
    kind: str
    roles: list[str]
    scopes: list[str]
    email: str | None = None


def whoami_router(service: str) -> APIRouter:
    """``GET /v1/ops/<service>/whoami``: the caller as this service sees it (any valid token).

    What an integrator checks first when a call is refused, and the cheapest authenticated
    route of every service (the gateway benchmark measures authentication with it).
    """
    router = APIRouter(prefix=f"/v1/ops/{service}", tags=["operations"])

    @router.get("/whoami", response_model=PrincipalRead, summary="The verified caller, as this service sees it")
    async def whoami(principal: Principal = Depends(authenticated)) -> PrincipalRead:
        return PrincipalRead(
            tenant_id=principal.tenant_id,
            subject=principal.subject,
            kind=principal.kind,
            roles=sorted(principal.roles),
            scopes=sorted(principal.scopes),
            email=principal.email,
        )

    return router
