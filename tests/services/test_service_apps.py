"""What every domain service promises from day one: health, readiness, problems, OpenAPI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, asgi_client, create_app, identity_headers, make_settings

pytestmark = pytest.mark.parametrize("service", DOMAIN_SERVICES)


async def test_healthz_says_alive(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": service}
    assert len(response.headers["x-request-id"]) == 32


async def test_readyz_ready_when_migrated(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "service": service,
        "checks": {"database": "ok", "migrations": "ok"},
    }


async def test_readyz_names_missing_migrations(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(service, make_settings(service, url, tmp_path))
    async with asgi_client(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert "not migrated" in body["detail"]
    assert "make migrate" in body["detail"]
    assert body["checks"]["database"] == "ok"


async def test_readyz_names_unreachable_database(service: str, tmp_path: Path) -> None:
    # Nothing listens on port 1: the driver fails to connect.
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
    app = create_app(service, make_settings(service, url, tmp_path, readiness_timeout_s=2.0))
    async with asgi_client(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"].startswith("unreachable")
    assert "database unreachable" in body["detail"]


async def test_unknown_route_is_a_problem(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.get("/v1/does-not-exist", headers={"x-request-id": "abc-123"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://practicum.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "no route for /v1/does-not-exist",
        "instance": "/v1/does-not-exist",
        "request_id": "abc-123",
    }
    assert response.headers["x-request-id"] == "abc-123"


async def test_wrong_method_is_a_problem(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["title"] == "Method Not Allowed"
    assert response.headers["content-type"] == "application/problem+json"


async def test_malformed_json_is_422_with_pointer(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.post(
            "/internal/events", content=b'{"id": "x",', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["errors"][0]["pointer"] == "/body"
    assert "not valid JSON" in body["errors"][0]["detail"]


async def test_wrong_types_are_422_with_a_pointer_each(make_app: AppFactory, service: str, keys_dir: Path) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.post(
            "/internal/events",
            json={"id": "not-a-uuid", "type": "x.y", "source": "test", "occurred_at": 12, "payload": []},
        )
        query = await client.get(
            f"/v1/ops/{service}/outbox", params={"limit": "many"}, headers=identity_headers(keys_dir, service)
        )
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/body/id", "/body/payload"}
    assert query.status_code == 422
    assert [e["pointer"] for e in query.json()["errors"]] == ["/query/limit"]


async def test_hostile_request_id_is_replaced(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        response = await client.get("/healthz", headers={"x-request-id": 'a"\nforged log line'})
    assert response.headers["x-request-id"] != 'a"\nforged log line'
    assert len(response.headers["x-request-id"]) == 32


async def test_openapi_documents_problems(make_app: AppFactory, service: str) -> None:
    async with asgi_client(await make_app(service)) as client:
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert document["openapi"].startswith("3.1")
    assert f"/v1/ops/{service}/outbox" in document["paths"]
    operation = document["paths"]["/internal/events"]["post"]
    assert "application/problem+json" in operation["responses"]["422"]["content"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    # The docs page uses the bundled Swagger UI, never a CDN.
    assert docs.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
