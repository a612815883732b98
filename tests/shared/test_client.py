"""The service-client base maps every way a call can fail to a typed problem."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Header
from pydantic import BaseModel

from shared.auth import Principal, Unauthorized
from shared.client import ServiceClient, UpstreamProblem
from shared.logging import request_id_var
from shared.problems import BadGateway, GatewayTimeout, NotFound, ServiceUnavailable, install_problem_handlers
from tests.support import LiveServer, free_port


class Echo(BaseModel):
    request_id: str | None
    count: int


def callee() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/echo")
    async def echo(x_request_id: str | None = Header(default=None)) -> dict[str, object]:
        return {"request_id": x_request_id, "count": 1}

    @app.get("/wrong-shape")
    async def wrong_shape() -> dict[str, object]:
        return {"count": "many"}

    @app.get("/slow")
    async def slow() -> dict[str, object]:
        await asyncio.sleep(1)
        return {}

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no offering 7")

    @app.get("/identity")
    async def identity(x_practicum_identity: str | None = Header(default=None)) -> dict[str, object]:
        if x_practicum_identity != "the-callers-token":
            raise Unauthorized("the internal identity token is invalid")
        return {"request_id": x_practicum_identity, "count": 2}

    return app


@pytest.fixture
async def server() -> LiveServer:
    live = await LiveServer(callee()).start()
    yield live  # type: ignore[misc]
    await live.stop()


async def test_typed_answer_and_request_id_forwarding(server: LiveServer) -> None:
    token = request_id_var.set("rid-77")
    try:
        async with ServiceClient(server.url) as client:
            answer = await client.request("GET", "/echo", response_model=Echo)
    finally:
        request_id_var.reset(token)
    assert answer == Echo(request_id="rid-77", count=1)


async def test_failures_map_to_502_503_504_and_upstream_problems(server: LiveServer) -> None:
    async with ServiceClient(server.url, timeout=0.3) as client:
        with pytest.raises(BadGateway, match="does not match its schema"):
            await client.request("GET", "/wrong-shape", response_model=Echo)
        with pytest.raises(GatewayTimeout):
            await client.request("GET", "/slow", response_model=Echo)
        with pytest.raises(UpstreamProblem) as missing:
            await client.request("GET", "/missing", response_model=Echo)
    assert missing.value.upstream_status == 404
    assert missing.value.detail == "no offering 7"
    async with ServiceClient(f"http://127.0.0.1:{free_port()}") as down:
        with pytest.raises(ServiceUnavailable) as unreachable:
            await down.request("GET", "/echo", response_model=Echo)
    assert unreachable.value.extensions["reason"] == "unreachable"


def caller(*audiences: str, token: str | None = "the-callers-token") -> Principal:
    return Principal(
        tenant_id="t",
        subject="user:1",
        kind="user",
        roles=frozenset(),
        scopes=frozenset(),
        audiences=frozenset(audiences),
        token=token,
    )


async def test_a_call_on_a_callers_behalf_forwards_their_token_only_where_it_was_delegated(server: LiveServer) -> None:
    async with ServiceClient(server.url) as client:  # its service name is "service"
        answer = await client.request("GET", "/identity", response_model=Echo, on_behalf_of=caller("x", "service"))
        with pytest.raises(ServiceUnavailable) as not_delegated:
            await client.request("GET", "/identity", response_model=Echo, on_behalf_of=caller("x"))
        with pytest.raises(ServiceUnavailable):
            await client.request("GET", "/identity", response_model=Echo, on_behalf_of=caller("service", token=None))
        # The callee refusing the forwarded identity is the deployment's fault, not the caller's.
        with pytest.raises(BadGateway, match="did not accept the forwarded identity"):
            await client.request("GET", "/identity", response_model=Echo)
    assert answer == Echo(request_id="the-callers-token", count=2)
    assert not_delegated.value.extensions["reason"] == "not_delegated"
    assert "the-callers-token" not in repr(caller("service")), "a principal never shows its token"
