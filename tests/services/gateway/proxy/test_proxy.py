"""The gateway's hop: faithful forwarding, streaming, and honest failures (502/503/504)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.gateway.proxy.proxy import RouteTable
from tests.conftest import AppFactory
from tests.support import LiveServer, free_port, raw_server


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_length": len(body),
        },
        status_code=int(request.query_params.get("status", "200")),
        headers={"x-upstream": "yes", "connection": "keep-alive, x-secret-hop", "x-secret-hop": "1"},
    )


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(64):
            yield bytes([i % 256]) * 16384
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def slow(request: Request) -> Response:
    await asyncio.sleep(5)
    return Response("late")


upstream_app = Starlette(
    routes=[
        Route("/v1/echo/stream", stream),
        Route("/v1/echo/slow", slow),
        Route("/v1/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
)


@contextlib.asynccontextmanager
async def gateway_in_front_of(make_app: AppFactory, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    upstream = await LiveServer(upstream_app).start()  # type: ignore[arg-type]
    options = {
        "catalog_url": upstream.url,
        "routes": {"/v1/echo": "catalog", "/v1/ops/catalog": "catalog"},
        **settings,
    }
    gateway = await LiveServer(await make_app("gateway", **options)).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            yield client
    finally:
        await gateway.stop()
        await upstream.stop()


async def get_through_gateway(make_app: AppFactory, catalog_url: str, path: str) -> httpx.Response:
    """One request through a gateway whose catalog upstream is ``catalog_url``."""
    gateway = await LiveServer(
        await make_app("gateway", catalog_url=catalog_url, routes={"/v1/echo": "catalog"})
    ).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            return await client.get(path)
    finally:
        await gateway.stop()


def header(echoed: dict[str, object], name: str) -> list[str]:
    return [v for k, v in echoed["headers"] if k == name]  # type: ignore[attr-defined]


def test_route_table_matches_whole_segments_longest_first() -> None:
    table = RouteTable({"/v1/badges": "badges", "/v1/ops/catalog": "catalog", "/v1/ops": "credentials"})
    assert table.match("/v1/badges") == "badges"
    assert table.match("/v1/badges/123/sharing") == "badges"
    assert table.match("/v1/badgesx") is None
    assert table.match("/v1/ops/catalog/outbox") == "catalog"
    assert table.match("/v1/ops/other") == "credentials"
    assert table.match("/healthz") is None


async def test_forwards_method_path_query_headers_and_body(make_app: AppFactory, backend: str) -> None:
    payload = b'{"name": "Reading workshop"}'
    async with gateway_in_front_of(make_app) as client:
        response = await client.patch(
            "/v1/echo/a%2Fb/c?tag=x&tag=y%20z&empty=",
            content=payload,
            headers={
                "content-type": "application/json",
                "x-custom": "kept",
                "connection": "keep-alive, x-drop-me",
                "x-drop-me": "hop",
                "te": "trailers",
                "x-request-id": "req-42",
            },
        )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "PATCH"
    assert echoed["raw_query"] == "tag=x&tag=y%20z&empty="
    assert echoed["body_length"] == len(payload)
    assert echoed["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert header(echoed, "x-custom") == ["kept"]
    assert header(echoed, "x-drop-me") == []
    assert header(echoed, "te") == []
    assert header(echoed, "x-request-id") == ["req-42"]
    assert header(echoed, "x-forwarded-for") == ["127.0.0.1"]
    assert header(echoed, "x-forwarded-proto") == ["http"]
    # Upstream response headers come back, minus its hop-by-hop ones.
    assert response.headers["x-upstream"] == "yes"
    assert "x-secret-hop" not in response.headers
    assert response.headers["x-request-id"] == "req-42"


async def test_generates_request_id_and_preserves_status(make_app: AppFactory, backend: str) -> None:
    async with gateway_in_front_of(make_app) as client:
        response = await client.delete("/v1/echo/thing?status=418")
    assert response.status_code == 418
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert header(response.json(), "x-request-id") == [generated]


async def test_streams_large_bodies_both_ways(make_app: AppFactory, backend: str) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB: above the buffering threshold, so it streams

    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    async with gateway_in_front_of(make_app) as client:
        sized = await client.post("/v1/echo/upload", content=big)
        chunked = await client.post("/v1/echo/upload", content=body())
        async with client.stream("GET", "/v1/echo/stream") as streamed:
            received = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert sized.json()["body_sha256"] == hashlib.sha256(big).hexdigest()
    assert header(sized.json(), "content-length") == [str(len(big))]
    assert chunked.json()["body_sha256"] == hashlib.sha256(big).hexdigest()
    assert header(chunked.json(), "transfer-encoding") == ["chunked"]
    assert len(received) == 64 * 16384
    assert received[:16384] == b"\x00" * 16384
    assert received[-1:] == bytes([63])


async def test_upstream_down_is_503_problem(make_app: AppFactory, backend: str) -> None:
    # Another service being down does not disturb routes to this one...
    async with gateway_in_front_of(make_app, badges_url=f"http://127.0.0.1:{free_port()}") as client:
        assert (await client.get("/v1/echo/ok")).status_code == 200
    # ...and this one being down is a 503 problem.
    response = await get_through_gateway(make_app, f"http://127.0.0.1:{free_port()}", "/v1/echo/anything")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "catalog is unreachable"
    assert body["service"] == "catalog"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_upstream_timeout_is_504_problem(make_app: AppFactory, backend: str) -> None:
    async with gateway_in_front_of(make_app, catalog_timeout_s=0.3) as client:
        response = await client.get("/v1/echo/slow")
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "catalog did not answer in time"


@pytest.mark.parametrize(
    "garbage",
    [b"this is not http\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ntruncated", b""],
    ids=["not-http", "truncated-body", "closed"],
)
async def test_upstream_garbage_is_502_problem(make_app: AppFactory, backend: str, garbage: bytes) -> None:
    async def junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(garbage)
        await writer.drain()

    async with raw_server(junk) as url:
        response = await get_through_gateway(make_app, url, "/v1/echo/x")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "catalog"


async def test_gateway_own_unknown_route_and_internal_paths_are_404(make_app: AppFactory, backend: str) -> None:
    async with gateway_in_front_of(make_app) as client:
        unknown = await client.get("/v2/nothing")
        internal = await client.post("/internal/events", json={})
    for response in (unknown, internal):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
