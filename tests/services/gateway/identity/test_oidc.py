"""OIDC federation with a test IdP key pair: no network, every check of the ID token exercised."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from services.gateway.deps import gateway_state
from services.gateway.seed import seed_demo
from shared.auth import scopes_for_roles
from tests.conftest import AppFactory
from tests.support import asgi_client

ISSUER = "https://idp.demo-usd.example"
AUDIENCE = "practicum-demo"


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str = "idp-1") -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def id_token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idp-user-1",
        "email": "Educator@Demo.Test",
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "idp-1"})


@pytest.fixture
async def gateway(make_app: AppFactory, idp_key: rsa.RSAPrivateKey) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = await make_app("gateway")
    async with gateway_state(app).sessionmaker() as session:
        demo = await seed_demo(session, hasher=gateway_state(app).hasher)
        demo_id = demo.id
        await session.commit()
    roles = frozenset({"tenant_admin"})
    admin = gateway_state(app).tokens.issue(
        subject="user:admin", tenant_id=demo_id, kind="user", scopes=scopes_for_roles(roles), roles=roles
    )
    async with asgi_client(app) as client:
        configured = await client.put(
            "/v1/identity-provider",
            json={"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks_of(idp_key)},
            headers={"authorization": f"Bearer {admin}"},
        )
        assert configured.status_code == 200, configured.text
        yield app, client


async def test_a_valid_id_token_signs_the_person_in(
    gateway: tuple[FastAPI, httpx.AsyncClient], idp_key: rsa.RSAPrivateKey, backend: str
) -> None:
    app, client = gateway
    response = await client.post(
        "/v1/auth/oidc", json={"tenant": "demo-usd", "id_token": id_token(idp_key, nonce="n-1"), "nonce": "n-1"}
    )
    assert response.status_code == 200, response.text
    claims = gateway_state(app).tokens.verify(response.json()["access_token"])
    assert claims.roles == ("educator",)
    assert response.json()["refresh_token"]


@pytest.mark.parametrize(
    ("claims", "nonce", "detail"),
    [
        ({"aud": "someone-else"}, None, "the ID token is not valid for this district"),
        ({"iss": "https://evil.example"}, None, "the ID token is not valid for this district"),
        ({"exp": 1, "iat": 0}, None, "the ID token has expired"),
        ({"nonce": "n-1"}, "n-2", "the ID token's nonce does not match"),
        ({"email": "stranger@demo.test"}, None, "invalid credentials"),
        ({"email_verified": False}, None, "the identity provider has not verified this email"),
    ],
    ids=["audience", "issuer", "expired", "nonce", "unknown-person", "unverified-email"],
)
async def test_id_tokens_that_must_not_sign_anyone_in(
    gateway: tuple[FastAPI, httpx.AsyncClient],
    idp_key: rsa.RSAPrivateKey,
    backend: str,
    claims: dict[str, Any],
    nonce: str | None,
    detail: str,
) -> None:
    _app, client = gateway
    body = {"tenant": "demo-usd", "id_token": id_token(idp_key, **claims), "nonce": nonce}
    response = await client.post("/v1/auth/oidc", json=body)
    assert response.status_code == 401
    assert response.json()["detail"] == detail


async def test_another_key_or_another_district_is_refused(
    gateway: tuple[FastAPI, httpx.AsyncClient], idp_key: rsa.RSAPrivateKey, backend: str
) -> None:
    _app, client = gateway
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = await client.post("/v1/auth/oidc", json={"tenant": "demo-usd", "id_token": id_token(impostor)})
    elsewhere = await client.post("/v1/auth/oidc", json={"tenant": "other-district", "id_token": id_token(idp_key)})
    assert forged.status_code == 401
    assert elsewhere.status_code == 401
    assert elsewhere.json()["detail"] == "this district does not sign in through an identity provider"


async def test_provider_configuration_is_validated(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    app, client = gateway
    headers = await _admin_headers(app, frozenset({"tenant_admin"}))
    current = (await client.get("/v1/identity-provider", headers=headers)).json()
    both = await client.put(
        "/v1/identity-provider",
        json={"issuer": ISSUER, "audience": AUDIENCE, "jwks": current["jwks"], "jwks_uri": "https://idp.example/jwks"},
        headers=headers,
    )
    loopback = await client.put(
        "/v1/identity-provider",
        json={"issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": "https://127.0.0.1/jwks"},
        headers=headers,
    )
    plain_http = await client.put(
        "/v1/identity-provider",
        json={"issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": "http://idp.example/jwks"},
        headers=headers,
    )
    junk = await client.put(
        "/v1/identity-provider",
        json={"issuer": ISSUER, "audience": AUDIENCE, "jwks": {"keys": [{"kty": "nope"}]}},
        headers=headers,
    )
    assert current["issuer"] == ISSUER
    assert [r.status_code for r in (both, loopback, plain_http, junk)] == [422, 422, 422, 422]
    assert loopback.json()["errors"][0]["pointer"] == "/body/jwks_uri"


async def _admin_headers(app: FastAPI, roles: frozenset[str]) -> dict[str, str]:
    token = gateway_state(app).tokens.issue(
        subject="user:admin", tenant_id=await _demo_id(app), kind="user", scopes=scopes_for_roles(roles), roles=roles
    )
    return {"authorization": f"Bearer {token}"}


async def _demo_id(app: FastAPI) -> str:
    from sqlalchemy import select

    from services.gateway.models import Tenant

    async with gateway_state(app).sessionmaker() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == "demo-usd"))
    assert tenant_id is not None
    return tenant_id


async def test_keys_are_fetched_from_the_jwks_url_cached_and_refetched_on_rotation(
    make_app: AppFactory, idp_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """A real HTTP JWKS endpoint on loopback (allowed by setting): fetch, cache, rotation, limits."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from services.gateway.identity import oidc
    from tests.support import LiveServer

    published: dict[str, Any] = {"jwks": jwks_of(idp_key), "status": 200, "hits": 0}

    async def jwks(_request: Request) -> Response:
        published["hits"] += 1
        if published["status"] != 200:
            return Response("down", status_code=published["status"])
        return JSONResponse(published["jwks"])

    idp = await LiveServer(Starlette(routes=[Route("/jwks", jwks)])).start()  # type: ignore[arg-type]
    app = await make_app("gateway", oidc_allow_private=True)
    async with gateway_state(app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(app).hasher)
        await session.commit()
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def signed(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "email": "educator@demo.test"} | {
            "iat": now,
            "exp": now + 60,
        }
        return {"tenant": "demo-usd", "id_token": jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})}

    try:
        async with asgi_client(app) as client:
            headers = await _admin_headers(app, frozenset({"tenant_admin"}))
            configured = await client.put(
                "/v1/identity-provider",
                json={"issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": f"{idp.url}/jwks"},
                headers=headers,
            )
            first = await client.post("/v1/auth/oidc", json=signed(idp_key, "idp-1"))
            second = await client.post("/v1/auth/oidc", json=signed(idp_key, "idp-1"))
            hits_cached = published["hits"]
            # The IdP rotates: the new kid is unknown to the cache, so the set is fetched again —
            # but not sooner than the refetch interval after the last fetch.
            published["jwks"] = jwks_of(rotated, kid="idp-2")
            too_soon = await client.post("/v1/auth/oidc", json=signed(rotated, "idp-2"))
            monkeypatch.setattr(oidc, "_JWKS_REFETCH_MIN_S", 0.0)
            after_rotation = await client.post("/v1/auth/oidc", json=signed(rotated, "idp-2"))
            hits_rotated = published["hits"]
            gateway_state(app).jwks_cache.clear()
            published["jwks"] = {"keys": [{"kty": "oct", "k": "x" * 300_000}]}
            oversized = await client.post("/v1/auth/oidc", json=signed(rotated, "idp-2"))
            published["status"] = 500
            down = await client.post("/v1/auth/oidc", json=signed(rotated, "idp-2"))
    finally:
        await idp.stop()
    assert configured.status_code == 200, configured.text
    assert (first.status_code, second.status_code) == (200, 200), first.text
    assert hits_cached == 1, "the second sign-in used the cached key set"
    assert too_soon.status_code == 401
    assert after_rotation.status_code == 200, after_rotation.text
    assert hits_rotated == 2
    assert oversized.json()["detail"] == "the identity provider's key set is too large"
    assert down.json()["detail"] == "the identity provider's keys could not be loaded"
