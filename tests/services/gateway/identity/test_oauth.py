"""The token endpoint (RFC 6749 §4.4), JWKS, metadata, key rotation, the audit log, the seed."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from services.gateway.deps import gateway_state
from services.gateway.identity.keys import write_key
from services.gateway.models import ApiClient, AuditEvent, RoleAssignment, Tenant, User
from services.gateway.seed import seed_demo
from shared.auth import SCOPES
from tests.conftest import AppFactory
from tests.support import asgi_client

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def gateway(make_app: AppFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = await make_app("gateway")
    async with gateway_state(app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(app).hasher)
        await session.commit()
    async with asgi_client(app) as client:
        yield app, client


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(), **FORM}


async def test_client_credentials_with_basic_and_post(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    app, client = gateway
    by_basic = await client.post(
        "/oauth/token", content="grant_type=client_credentials", headers=basic("demo-lms", "demo-lms-secret")
    )
    by_post = await client.post(
        "/oauth/token",
        content="grant_type=client_credentials&client_id=demo-lms&client_secret=demo-lms-secret&scope=catalog:read",
        headers=FORM,
    )
    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.headers["cache-control"] == "no-store"
    body = by_basic.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == set(SCOPES)
    assert by_post.json()["scope"] == "catalog:read"
    header = jwt.get_unverified_header(body["access_token"])
    assert (header["alg"], header["typ"]) == ("EdDSA", "at+jwt")
    claims = gateway_state(app).tokens.verify(body["access_token"])
    assert claims.subject == "client:demo-lms"
    assert claims.kind == "client"
    async with gateway_state(app).sessionmaker() as session:
        client_row = await session.scalar(select(ApiClient).where(ApiClient.client_id == "demo-lms"))
        assert client_row is not None
        assert client_row.last_used_at is not None
        issued = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "token.issue", AuditEvent.outcome == "success")
        )
    assert issued == 2


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ("grant_type=client_credentials", basic("demo-lms", "wrong"), 401, "invalid_client"),
        ("grant_type=client_credentials", basic("nobody", "demo-lms-secret"), 401, "invalid_client"),
        ("grant_type=client_credentials&client_id=demo-lms", FORM, 401, "invalid_client"),
        ("grant_type=password&username=a&password=b", FORM, 400, "unsupported_grant_type"),
        ("scope=catalog:read", basic("demo-lms", "demo-lms-secret"), 400, "invalid_request"),
        (
            "grant_type=client_credentials&scope=catalog:read+nuclear:launch",
            basic("demo-lms", "demo-lms-secret"),
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&client_id=demo-lms&client_secret=demo-lms-secret",
            basic("demo-lms", "demo-lms-secret"),
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            basic("demo-lms", "demo-lms-secret"),
            400,
            "invalid_request",
        ),
        ('{"grant_type": "client_credentials"}', {"content-type": "application/json"}, 400, "invalid_request"),
        ("grant_type=client_credentials", {"authorization": "Basic !!!", **FORM}, 401, "invalid_client"),
    ],
    ids=[
        "wrong-secret",
        "unknown-client",
        "no-secret",
        "grant",
        "no-grant",
        "scope",
        "two-methods",
        "repeated",
        "json",
        "bad-basic",
    ],
)
async def test_token_errors_follow_rfc6749(
    gateway: tuple[FastAPI, httpx.AsyncClient],
    backend: str,
    body: str,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    _app, client = gateway
    response = await client.post("/oauth/token", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")
    assert "demo-lms-secret" not in response.text


async def test_disabled_client_gets_no_token_and_denials_are_audited(
    gateway: tuple[FastAPI, httpx.AsyncClient], backend: str
) -> None:
    app, client = gateway
    async with gateway_state(app).sessionmaker() as session:
        await session.execute(update(ApiClient).where(ApiClient.client_id == "other-lms").values(enabled=False))
        await session.commit()
    response = await client.post(
        "/oauth/token", content="grant_type=client_credentials", headers=basic("other-lms", "other-lms-secret")
    )
    assert response.status_code == 401
    async with gateway_state(app).sessionmaker() as session:
        denied = (await session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied"))).all()
    assert [(e.actor, e.detail["reason"]) for e in denied] == [("client:other-lms", "invalid_client")]
    assert all("secret" not in str(e.detail) for e in denied)


async def test_jwks_and_metadata_publish_every_key_across_rotation(
    gateway: tuple[FastAPI, httpx.AsyncClient], keys_dir: Path, backend: str
) -> None:
    app, client = gateway
    old_token = (
        await client.post(
            "/oauth/token", content="grant_type=client_credentials", headers=basic("demo-lms", "demo-lms-secret")
        )
    ).json()["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new_key = write_key(keys_dir)  # rotation: a newer key joins the directory
    gateway_state(app).tokens.key = new_key
    new_token = gateway_state(app).tokens.issue(subject="client:x", tenant_id="t", kind="client", scopes=frozenset())
    jwks = (await client.get("/.well-known/jwks.json")).json()
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_key.kid}
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in jwks["keys"])
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid
    gateway_state(app).tokens._verified.clear()
    assert gateway_state(app).tokens.verify(old_token).subject == "client:demo-lms", (
        "tokens from before the rotation still verify"
    )
    assert metadata["token_endpoint"] == f"{metadata['issuer']}/oauth/token"
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert set(metadata["scopes_supported"]) == set(SCOPES)


async def test_audit_log_is_append_only(gateway: tuple[FastAPI, httpx.AsyncClient], backend: str) -> None:
    app, client = gateway
    await client.post(
        "/oauth/token", content="grant_type=client_credentials", headers=basic("demo-lms", "demo-lms-secret")
    )
    async with gateway_state(app).sessionmaker() as session:
        for statement in ("UPDATE {t} SET outcome = 'success'", "DELETE FROM {t}"):
            table = "gateway.audit_events" if backend == "postgresql" else "audit_events"
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin_nested():
                    await session.execute(text(statement.format(t=table)))


async def test_dev_seed_is_idempotent(make_app: AppFactory, backend: str) -> None:
    app = await make_app("gateway")
    async with gateway_state(app).sessionmaker() as session:
        await seed_demo(session, hasher=gateway_state(app).hasher)
        await seed_demo(session, hasher=gateway_state(app).hasher)
        tenants = (await session.scalars(select(Tenant.name).order_by(Tenant.name))).all()
        users = (await session.scalars(select(User.email).order_by(User.email))).all()
        roles = (await session.scalars(select(RoleAssignment.role).order_by(RoleAssignment.role))).all()
        clients = (await session.scalars(select(ApiClient.client_id).order_by(ApiClient.client_id))).all()
        hashes = (await session.scalars(select(User.password_hash))).all()
    assert tenants == ["Demo Unified School District", "Other District"]
    assert users == [f"{r}@demo.test" for r in ("admin", "assessor", "coordinator", "educator", "hr")]
    assert roles == ["assessor", "coordinator", "educator", "hr", "tenant_admin"]
    assert clients == ["demo-lms", "other-lms"]
    assert all(h and h.startswith("$argon2id$") for h in hashes)


def test_production_never_seeds() -> None:
    from services.gateway.settings import GatewaySettings

    assert GatewaySettings(environment="production", dev_seed=True).dev_seed is False
