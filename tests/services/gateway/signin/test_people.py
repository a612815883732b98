"""People: password sign-in with lockout, rotating refresh tokens with reuse detection, logout."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from services.gateway.deps import gateway_state
from services.gateway.models import User
from services.gateway.seed import DEMO_PASSWORD, seed_demo
from tests.conftest import AppFactory
from tests.support import asgi_client


@pytest.fixture
async def gateway(make_app: AppFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = await make_app("gateway", rate_limit_auth_burst=100)
    async with gateway_state(app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(app).hasher)
        await session.commit()
    async with asgi_client(app) as client:
        yield app, client


def login(email: str, password: str = DEMO_PASSWORD, tenant: str = "demo-usd") -> dict[str, str]:
    return {"tenant": tenant, "email": email, "password": password}


async def test_sign_in_gives_tokens_with_the_roles_scopes(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    app, client = gateway
    response = await client.post("/v1/auth/login", json=login("  Coordinator@Demo.Test "))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = gateway_state(app).tokens.verify(body["access_token"])
    assert claims.kind == "user"
    assert claims.roles == ("coordinator",)
    assert claims.email == "coordinator@demo.test", "services learn a person's address from the token"
    assert {"catalog:write", "reviews:write", "badges:issue"} <= set(claims.scopes)
    assert "admin" not in claims.scopes
    assert body["refresh_expires_in"] == 14 * 24 * 3600


@pytest.mark.parametrize(
    "attempt",
    [
        login("educator@demo.test", "wrong"),
        login("nobody@demo.test"),
        login("educator@demo.test", tenant="other-district"),
    ],
    ids=["wrong-password", "unknown-email", "other-tenant"],
)
async def test_failures_say_only_invalid_credentials(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str, attempt: dict[str, str]
) -> None:
    _app, client = gateway
    response = await client.post("/v1/auth/login", json=attempt)
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid credentials"
    assert DEMO_PASSWORD not in response.text


async def test_repeated_failures_lock_the_account(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    app, client = gateway
    failures = [await client.post("/v1/auth/login", json=login("hr@demo.test", "guess")) for _ in range(5)]
    locked = await client.post("/v1/auth/login", json=login("hr@demo.test"))
    assert [f.status_code for f in failures] == [401] * 5
    assert locked.status_code == 429, "even the right password waits out the lock"
    assert 60 <= int(locked.headers["retry-after"]) <= 120
    async with gateway_state(app).sessionmaker() as session:  # the lock runs out
        await session.execute(update(User).where(User.email == "hr@demo.test").values(locked_until=None))
        await session.commit()
    assert (await client.post("/v1/auth/login", json=login("hr@demo.test"))).status_code == 200
    async with gateway_state(app).sessionmaker() as session:
        user = (await session.scalars(select(User).where(User.email == "hr@demo.test"))).one()
    assert user.failed_logins == 0


async def test_refresh_rotates_and_reuse_revokes_the_family(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    _app, client = gateway
    first = (await client.post("/v1/auth/login", json=login("educator@demo.test"))).json()
    second = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reuse = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    after_reuse = await client.post("/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert reuse.status_code == 401
    assert "revoked" in reuse.json()["detail"]
    assert after_reuse.status_code == 401, "the thief's (or owner's) newer token died with the family"


async def test_logout_ends_the_sign_in(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    _app, client = gateway
    tokens = (await client.post("/v1/auth/login", json=login("assessor@demo.test"))).json()
    out = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    again = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    unknown = await client.post("/v1/auth/logout", json={"refresh_token": "x" * 43})
    assert out.status_code == 204
    assert again.status_code == 401
    assert unknown.status_code == 204, "logout does not reveal whether a token existed"
