"""OpenID Connect federation: a district's IdP vouches for its people; Practicum issues tokens.

The IdP's keys come from the tenant's configuration: an inline JWKS, or a JWKS URL fetched with
an SSRF guard (https only, public addresses only unless allowed in settings, size and time
limits) and cached by the app (:class:`JwksCache`, in its state). ID tokens are checked for
signature, ``iss``, ``aud``, ``exp`` and, when the caller sent one, ``nonce``. The email claim must name an
existing, enabled user of the tenant: federation does not create accounts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from services.gateway.models import IdentityProvider
from shared.auth import Unauthorized
from shared.safefetch import AnswerTooLarge, FetchRefused, check_url, fetch

ALGORITHMS = ["RS256", "ES256", "EdDSA"]
_JWKS_CACHE_S = 600
# An IdP rotating its key publishes the new one before signing with it; a token with a kid we do
# not know triggers one fetch, but not more often than this (a stream of made-up kids must not
# turn the gateway into a fetcher of the IdP's JWKS).
_JWKS_REFETCH_MIN_S = 30.0
_MAX_JWKS_BYTES = 256 * 1024
_FETCH_TIMEOUT_S = 5.0


class UnsafeJwksUri(ValueError):
    pass


async def check_jwks_uri(uri: str, *, allow_private: bool) -> None:
    """Refuse what a server-side fetch must never reach: other schemes, loopback, private nets.

    The host is resolved by the shared fetch guard, off the event loop's thread.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeJwksUri("the JWKS URL must be an http(s) URL")
    if allow_private:
        return
    if parts.scheme != "https":
        raise UnsafeJwksUri("the JWKS URL must use https")
    try:
        await check_url(uri, allow_private=False)
    except FetchRefused as exc:
        # The guard speaks of "the URL" / "the host"; here they are the JWKS URL and its host.
        raise UnsafeJwksUri(str(exc).replace("the URL", "the JWKS URL").replace("the host", "the JWKS host")) from exc


@dataclass
class JwksCache:
    """The JWKS fetched per URL, kept by one gateway app (in its state) for ``_JWKS_CACHE_S``.

    Each replica keeps its own: a miss costs one fetch from the IdP, never a wrong answer.
    """

    _entries: dict[str, tuple[float, float, dict[str, Any]]] = field(default_factory=dict)  # uri -> (at, until, JWKS)

    def clear(self) -> None:
        self._entries.clear()

    async def get(self, uri: str, *, allow_private: bool, kid: str | None = None) -> dict[str, Any]:
        """The JWKS at ``uri``, cached; fetched again early when ``kid`` is not in the cached set."""
        now = time.monotonic()
        cached = self._entries.get(uri)
        if cached is not None and cached[1] > now:
            fetched_at, _expires, document = cached
            known = kid is None or any(key.get("kid") == kid for key in document.get("keys", []))
            if known or now - fetched_at < _JWKS_REFETCH_MIN_S:
                return document
        if not allow_private and not uri.startswith("https://"):  # the fetch guard checks the addresses
            raise UnsafeJwksUri("the JWKS URL must use https")
        try:
            got = await fetch(uri, allow_private=allow_private, max_bytes=_MAX_JWKS_BYTES, timeout_s=_FETCH_TIMEOUT_S)
        except AnswerTooLarge as exc:
            raise Unauthorized("the identity provider's key set is too large") from exc
        if got.status != 200:
            raise Unauthorized("the identity provider's keys could not be loaded")
        document = json.loads(got.body)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise Unauthorized("the identity provider's key set is not a JWKS")
        self._entries[uri] = (now, now + _JWKS_CACHE_S, document)
        return document


async def verify_id_token(
    provider: IdentityProvider, id_token: str, *, nonce: str | None, allow_private: bool, jwks_cache: JwksCache
) -> str:
    """The verified email the ID token asserts, lower-cased; ``Unauthorized`` otherwise."""
    try:
        kid = jwt.get_unverified_header(id_token).get("kid")
        if provider.jwks is not None:
            jwks = provider.jwks
        elif provider.jwks_uri:
            jwks = await jwks_cache.get(provider.jwks_uri, allow_private=allow_private, kid=kid)
        else:
            raise Unauthorized("the identity provider has no keys configured")
        key_set = jwt.PyJWKSet.from_dict(jwks)
        candidates = [k for k in key_set.keys if kid is None or k.key_id == kid]
    except (jwt.PyJWTError, ValueError, UnsafeJwksUri) as exc:  # FetchRefused is a ValueError
        raise Unauthorized("the ID token cannot be checked against the identity provider's keys") from exc
    if not candidates:
        raise Unauthorized("the ID token is signed by a key the identity provider does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            candidates[0].key,
            algorithms=ALGORITHMS,
            audience=provider.audience,
            issuer=provider.issuer,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the ID token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("the ID token is not valid for this district") from exc
    if nonce is not None and claims.get("nonce") != nonce:
        raise Unauthorized("the ID token's nonce does not match")
    email = claims.get(provider.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise Unauthorized(f"the ID token carries no email in {provider.email_claim!r}")
    if claims.get("email_verified") is False:
        raise Unauthorized("the identity provider has not verified this email")
    return email.strip().lower()
