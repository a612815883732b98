"""End to end: real service apps on real sockets, reached only through a real gateway."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.logging import JsonFormatter
from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer, bearer


@dataclass
class Stack:
    client: httpx.AsyncClient
    services: dict[str, LiveServer]


@pytest.fixture
async def stack(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Stack]:
    services = {name: await LiveServer(await make_app(name)).start() for name in DOMAIN_SERVICES}
    urls = {f"{name}_url": server.url for name, server in services.items()}
    gateway = await LiveServer(await make_app("gateway", openapi_cache_s=0, **urls)).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10, headers=bearer(keys_dir)) as client:
            yield Stack(client=client, services=services)
    finally:
        await gateway.stop()
        for server in services.values():
            await server.stop()


async def test_readyz_lists_every_service_and_names_the_one_down(stack: Stack) -> None:
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    report = ready.json()
    assert report["status"] == "ready"
    assert [s["name"] for s in report["services"]] == ["gateway", "catalog", "credentials", "badges"]
    assert all(s["status"] == "ready" and s["latency_ms"] >= 0 for s in report["services"])

    await stack.services["credentials"].stop()
    down = await stack.client.get("/readyz")
    proxied = await stack.client.get("/v1/ops/credentials/outbox")
    still_up = await stack.client.get("/v1/ops/catalog/outbox")
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["detail"] == "not ready: credentials"
    states = {s["name"]: s["status"] for s in down.json()["services"]}
    assert states == {"gateway": "ready", "catalog": "ready", "credentials": "unreachable", "badges": "ready"}
    assert proxied.status_code == 503
    assert proxied.headers["content-type"] == "application/problem+json"
    assert proxied.json()["service"] == "credentials"
    assert still_up.status_code == 200

    await stack.services["credentials"].start()
    again = await stack.client.get("/readyz")
    assert again.status_code == 200
    assert (await stack.client.get("/v1/ops/credentials/outbox")).status_code == 200


async def test_openapi_combines_every_service_as_clients_see_it(stack: Stack) -> None:
    response = await stack.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    for service in DOMAIN_SERVICES:
        assert f"/v1/ops/{service}/outbox" in paths
        assert paths[f"/v1/ops/{service}/outbox"]["get"]["tags"][0] == service
    # The gateway's own public paths are there; services' internal ones are not.
    assert "/readyz" in paths
    assert "/healthz" in paths
    assert "/internal/events" not in paths
    assert "EventEnvelope" not in document["components"]["schemas"]
    refs = {ref for ref in json.dumps(paths).split('"') if ref.startswith("#/components/schemas/")}
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(document["components"]["schemas"])
    docs = await stack.client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


async def test_validation_and_unknown_routes_through_the_gateway(stack: Stack) -> None:
    wrong_type = await stack.client.get("/v1/ops/catalog/outbox", params={"limit": "lots"})
    bad_id = await stack.client.post("/v1/ops/badges/outbox/not-a-uuid/retry")
    unknown_in_service = await stack.client.get("/v1/offerings/nothing-here-yet")
    for response in (wrong_type, bad_id):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    assert wrong_type.json()["errors"][0]["pointer"] == "/query/limit"
    assert bad_id.json()["errors"][0]["pointer"] == "/path/event_id"
    assert unknown_in_service.status_code == 404
    assert unknown_in_service.json()["title"] == "Not Found"
    assert "Traceback" not in wrong_type.text + bad_id.text + unknown_in_service.text


@contextlib.contextmanager
def json_log_lines(service: str) -> AsyncIterator[io.StringIO]:  # type: ignore[misc]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter(service))
    access = logging.getLogger("practicum.access")
    access.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)


async def test_request_id_reaches_the_service_and_its_log_lines(stack: Stack) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:8]}"
    with json_log_lines("any") as buffer:
        response = await stack.client.get("/v1/ops/badges/outbox", headers={"x-request-id": request_id})
    assert response.headers["x-request-id"] == request_id
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    paths = [(line["path"], line["request_id"]) for line in lines]
    # One access line from the badges service and one from the gateway, both with the id.
    assert paths.count(("/v1/ops/badges/outbox", request_id)) == 2
