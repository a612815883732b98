"""Access tokens (what clients hold) and internal tokens (what services receive).

Access tokens follow the JWT profile of RFC 9068 (``typ: at+jwt``), signed EdDSA with the
gateway's active key, 15 minutes by default. The gateway verifies a presented token once and
caches the result until it expires (decoding costs ~0.35 ms; the cache hit costs a dict lookup),
then mints a short internal token for the one service the request goes to.
"""

from __future__ import annotations

import collections
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from services.gateway.identity.keys import SigningKey
from shared.auth import INTERNAL_ISSUER, INTERNAL_TYP, PublicKeyRing, Unauthorized, decode_token

ACCESS_TYP = "at+jwt"
AUDIENCE = "practicum-api"
_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class AccessClaims:
    subject: str
    tenant_id: str
    kind: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    client_id: str | None
    expires_at: int
    email: str | None = None  # people only: the directory's address, for services that need it


class TokenService:
    def __init__(
        self,
        *,
        key: SigningKey,
        key_ring: PublicKeyRing,
        issuer: str,
        access_ttl_s: int,
        internal_ttl_s: int,
    ) -> None:
        self.key = key
        self.key_ring = key_ring
        self.issuer = issuer
        self.access_ttl_s = access_ttl_s
        self.internal_ttl_s = internal_ttl_s
        self._verified: collections.OrderedDict[str, AccessClaims] = collections.OrderedDict()

    def issue(
        self,
        *,
        subject: str,
        tenant_id: str,
        kind: str,
        scopes: frozenset[str],
        roles: frozenset[str] = frozenset(),
        client_id: str | None = None,
        email: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "tenant": tenant_id,
            "kind": kind,
            "scope": " ".join(sorted(scopes)),
            "roles": sorted(roles),
            "iat": now,
            "exp": now + self.access_ttl_s,
            "jti": uuid.uuid4().hex,
        }
        if client_id:
            claims["client_id"] = client_id
        if email:
            claims["email"] = email
        return jwt.encode(claims, self.key.private, algorithm="EdDSA", headers={"kid": self.key.kid, "typ": ACCESS_TYP})

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid access token, or ``Unauthorized``; verified tokens are cached."""
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._verified[token]
            raise Unauthorized("the access token has expired")
        claims = self._decode(token)
        verified = AccessClaims(
            subject=str(claims["sub"]),
            tenant_id=str(claims["tenant"]),
            kind=str(claims.get("kind", "client")),
            roles=tuple(claims.get("roles", ())),
            scopes=tuple(str(claims.get("scope", "")).split()),
            client_id=claims.get("client_id"),
            expires_at=int(claims["exp"]),
            email=claims["email"] if isinstance(claims.get("email"), str) else None,
        )
        self._verified[token] = verified
        if len(self._verified) > _CACHE_SIZE:
            self._verified.popitem(last=False)
        return verified

    def _decode(self, token: str) -> dict[str, Any]:
        return decode_token(
            token, keys=self.key_ring, typ=ACCESS_TYP, audience=AUDIENCE, issuer=self.issuer, what="access token"
        )

    def internal(
        self, claims: AccessClaims, *, audience: str, request_id: str | None, delegates: tuple[str, ...] = ()
    ) -> str:
        """A token for one service, living seconds: what the service's ``Principal`` is made of.

        ``delegates`` are the services the called one may ask on the caller's behalf with this
        same token (docs/decisions/0013-service-to-service-calls.md): one signature covers the
        whole request, and delegation runs one way only, as configured.
        """
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": INTERNAL_ISSUER,
            "aud": [audience, *delegates] if delegates else audience,
            "sub": claims.subject,
            "tenant": claims.tenant_id,
            "kind": claims.kind,
            "roles": list(claims.roles),
            "scopes": list(claims.scopes),
            "iat": now,
            "exp": now + self.internal_ttl_s,
        }
        if request_id:
            payload["rid"] = request_id
        if claims.email:
            payload["email"] = claims.email
        return jwt.encode(
            payload, self.key.private, algorithm="EdDSA", headers={"kid": self.key.kid, "typ": INTERNAL_TYP}
        )

    def jwks(self) -> dict[str, Any]:
        """Every published public key: tokens signed before a rotation keep verifying."""
        keys = []
        for kid, public in sorted(self.key_ring.all().items()):
            jwk = jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
        return {"keys": keys}
