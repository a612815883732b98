"""The combined OpenAPI document and the docs page, as a newcomer meets them through the gateway:
how to authenticate (OAuth 2.0 client credentials and bearer, on exactly the protected
operations), people's sign-in included, a docs page that renders OpenAPI 3.1 under a strict
Content-Security-Policy, ``Allow`` naming every method of a path, integers that are integers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.api import PUBLIC_ROUTES as GATEWAY_PUBLIC
from shared.app import STANDARD_PUBLIC_ROUTES
from shared.auth import IDENTITY_HEADER, SCOPES
from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer, bearer

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@dataclass
class Stack:
    gateway: httpx.AsyncClient  # through the gateway, no token
    token: dict[str, str]
    services: dict[str, LiveServer]


@pytest.fixture
async def stack(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Stack]:
    services: dict[str, LiveServer] = {}
    try:
        for name in DOMAIN_SERVICES:  # the catalog first: credentials asks it
            extra = {"catalog_url": services["catalog"].url} if name == "credentials" else {}
            services[name] = await LiveServer(await make_app(name, **extra)).start()
        urls = {f"{name}_url": server.url for name, server in services.items()}
        gateway = await LiveServer(await make_app("gateway", openapi_cache_s=0, **urls)).start()
        try:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
                yield Stack(gateway=client, token=bearer(keys_dir), services=services)
        finally:
            await gateway.stop()
    finally:
        for server in services.values():
            await server.stop()


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


async def test_the_document_says_how_to_authenticate_and_where(stack: Stack, backend: str) -> None:
    document = (await stack.gateway.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    ops = operations(document)
    public = {
        key
        for service in DOMAIN_SERVICES
        for key in STANDARD_PUBLIC_ROUTES | import_module(f"services.{service}.api").PUBLIC_ROUTES
    } | GATEWAY_PUBLIC
    secured = {key for key, op in ops.items() if op.get("security")}
    # Every operation the document calls protected refuses a call without a token; every one
    # it calls public answers one (whatever else it says about the made-up ids).
    refused = {}
    for method, path in sorted(ops):
        if method in {"GET", "DELETE", "POST", "PUT", "PATCH"}:
            response = await stack.gateway.request(method, concrete(path))
            refused[(method, path)] = response.status_code == 401

    assert schemes == {
        "oauth2": {
            "type": "oauth2",
            "description": schemes["oauth2"]["description"],
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPES}},
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["bearer"]["description"],
        },
    }
    assert secured == set(ops) - public
    assert {op["security"].__repr__() for key, op in ops.items() if key in secured} == {
        "[{'oauth2': []}, {'bearer': []}]"
    }
    assert len(secured) > 100
    assert {key for key, was in refused.items() if was} == secured & set(refused)
    assert IDENTITY_HEADER not in str(document), "the internal token is no part of the public contract"


async def test_each_service_documents_its_own_protected_operations(stack: Stack, backend: str) -> None:
    for name, server in stack.services.items():
        async with httpx.AsyncClient(base_url=server.url) as client:
            document = (await client.get("/openapi.json")).json()
        declared = STANDARD_PUBLIC_ROUTES | import_module(f"services.{name}.api").PUBLIC_ROUTES
        ops = operations(document)
        assert document["components"]["securitySchemes"]["internal"] == {
            "type": "apiKey",
            "in": "header",
            "name": IDENTITY_HEADER,
            "description": document["components"]["securitySchemes"]["internal"]["description"],
        }
        assert {key for key, op in ops.items() if "security" not in op} == declared & set(ops), name
        assert all(op["security"] == [{"internal": []}] for key, op in ops.items() if key not in declared)


async def test_sign_in_routes_are_documented(stack: Stack, backend: str) -> None:
    document = (await stack.gateway.get("/openapi.json")).json()
    ops = operations(document)
    login = ops[("POST", "/v1/auth/login")]
    schema = document["components"]["schemas"]["Login"]

    assert {("POST", f"/v1/auth/{name}") for name in ("login", "refresh", "logout", "oidc")} <= set(ops)
    assert login["tags"][0] == "gateway"
    assert "security" not in login
    assert login["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SessionTokens"
    }
    assert {"tenant", "email", "password"} <= set(schema["properties"])


async def test_the_docs_page_renders_3_1_offline_under_a_strict_policy(stack: Stack, backend: str) -> None:
    page = await stack.gateway.get("/docs")
    init = await stack.gateway.get("/docs/swagger-init.js")
    bundle = await stack.gateway.get("/docs/static/swagger-ui-bundle.js")
    css = await stack.gateway.get("/docs/static/swagger-ui.css")
    policy = page.headers["content-security-policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
    version = re.search(r'"(5\.\d+\.\d+)"', bundle.text)

    assert page.status_code == init.status_code == bundle.status_code == css.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert all(body.strip() == "" for _, body in scripts), "no inline script: the policy forbids it"
    assert [attrs.strip() for attrs, _ in scripts] == [
        'src="/docs/static/swagger-ui-bundle.js"',
        'src="/docs/swagger-init.js"',
    ]
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert init.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle(" in init.text
    assert "http" not in init.text + page.text.replace("http-equiv", ""), "nothing loads from elsewhere"
    assert version is not None, "Swagger UI 5 renders OpenAPI 3.1 (4 cannot)"


async def test_a_wrong_method_names_every_method_of_the_path(stack: Stack, backend: str) -> None:
    # /v1/badges/bulk is POSTed; GET /v1/badges/{badge_id} matches it as well.
    cases = {
        "/v1/offerings": {"GET", "POST"},
        "/v1/offerings/00000000-0000-0000-0000-000000000000": {"GET", "PATCH"},
        "/v1/badges/bulk": {"GET", "POST"},
        "/v1/org-units/00000000-0000-0000-0000-000000000000": {"DELETE", "GET", "PATCH"},  # the gateway's own
        "/v1/pathways/00000000-0000-0000-0000-000000000000": {"DELETE", "GET", "PUT"},
    }
    through: dict[str, set[str]] = {}
    for path in cases:
        response = await stack.gateway.request("TRACE", path, headers=stack.token)
        assert response.status_code == 405, (path, response.text)
        through[path] = {m.strip() for m in response.headers["allow"].split(",")}
    async with httpx.AsyncClient(base_url=stack.services["catalog"].url) as client:
        direct = await client.request("PUT", "/v1/offerings")

    assert through == cases
    assert direct.status_code == 405
    assert direct.headers["allow"] == "GET, POST"
    assert direct.headers["content-type"] == "application/problem+json"


async def test_integer_fields_refuse_booleans(stack: Stack, backend: str) -> None:
    cases = [
        ("POST", "/v1/offerings", {"duration_minutes": True, "cost_cents": False}, {"duration_minutes", "cost_cents"}),
        ("PUT", "/v1/reports/policy", {"licensure_cycle_years": True}, {"licensure_cycle_years"}),
        ("POST", "/v1/achievements", {"credits_available": True}, {"credits_available"}),
        ("POST", "/v1/badges", {"credits_earned": True}, {"credits_earned"}),
    ]
    for method, path, body, fields in cases:
        response = await stack.gateway.request(method, path, json=body, headers=stack.token)
        pointers = {error["pointer"] for error in response.json().get("errors", [])}
        assert response.status_code == 422, (path, response.text)
        assert {f"/body/{field}" for field in fields} <= pointers, (path, pointers)
    # A query's integer is text first: "true" never parses as one.
    query = await stack.gateway.get("/v1/offerings", params={"limit": "true"}, headers=stack.token)
    assert query.status_code == 422
    assert [error["pointer"] for error in query.json()["errors"]] == ["/query/limit"]
    fine = await stack.gateway.put("/v1/reports/policy", json={"licensure_cycle_years": 3}, headers=stack.token)
    assert fine.status_code == 200, fine.text
