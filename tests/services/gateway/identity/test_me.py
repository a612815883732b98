"""``GET /v1/me``: who a bearer token names, for a person and for an API client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from services.gateway.deps import gateway_state
from services.gateway.models import ApiClient, User
from services.gateway.seed import DEMO_PASSWORD, seed_demo
from shared.auth import SCOPES, scopes_for_roles
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


async def person_token(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/v1/auth/login", json={"tenant": "demo-usd", "email": email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def client_token(client: httpx.AsyncClient, scope: str | None = None) -> str:
    basic = base64.b64encode(b"demo-lms:demo-lms-secret").decode()
    response = await client.post(
        "/oauth/token",
        content="grant_type=client_credentials" + (f"&scope={scope}" if scope else ""),
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_a_person_sees_who_they_are_their_tenant_and_roles(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    app, client = gateway
    token = await person_token(client, "educator@demo.test")
    response = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    async with gateway_state(app).sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "educator@demo.test"))
    assert user is not None
    assert body["subject"] == f"user:{user.id}"
    assert body["kind"] == "user"
    assert body["email"] == "educator@demo.test"
    assert body["name"] == "Erin Educator"
    assert body["client_id"] is None
    assert body["tenant"] == {"id": user.tenant_id, "slug": "demo-usd", "name": "Demo Unified School District"}
    assert body["roles"] == ["educator"]
    assert body["scopes"] == sorted(scopes_for_roles(frozenset({"educator"})))


async def test_an_api_client_sees_its_client_id_and_the_scopes_of_this_token(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    _, client = gateway
    everything = await client.get("/v1/me", headers={"authorization": f"Bearer {await client_token(client)}"})
    narrowed = await client.get(
        "/v1/me", headers={"authorization": f"Bearer {await client_token(client, 'catalog:read')}"}
    )
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert body["subject"] == "client:demo-lms"
    assert (body["kind"], body["client_id"], body["email"]) == ("client", "demo-lms", None)
    assert body["name"] == "demo-lms (demo)"
    assert body["tenant"]["slug"] == "demo-usd"
    assert body["roles"] == []
    assert body["scopes"] == sorted(SCOPES)
    assert narrowed.json()["scopes"] == ["catalog:read"]


async def test_without_a_valid_token_me_is_a_401_problem(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    app, client = gateway
    missing = await client.get("/v1/me")
    forged = await client.get("/v1/me", headers={"authorization": "Bearer not.a.token"})
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    token = await client_token(client)
    async with gateway_state(app).sessionmaker() as session:
        await session.execute(update(ApiClient).where(ApiClient.client_id == "demo-lms").values(enabled=False))
        await session.commit()
    disabled = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert disabled.status_code == 401
    assert "disabled" in disabled.json()["detail"]


async def test_me_is_in_the_combined_document(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    _, client = gateway
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/v1/me"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Me")
