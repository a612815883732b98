"""The gateway's HTTP/1.1 client against scripted services: framing, reuse, retries, limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.conftest import AppFactory
from tests.gateway.test_proxy import upstream_app
from tests.support import LiveServer

Script = Callable[[int, bytes], bytes]  # (connection number, request head) -> bytes to answer


class ScriptedService:
    """A raw TCP server answering each request with bytes a test chose, counting connections."""

    def __init__(self, script: Script, *, close_after_answer: bool = False) -> None:
        self.script = script
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                writer.write(self.script(number, head))
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@contextlib.asynccontextmanager
async def gateway(make_app: AppFactory, catalog_url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    live = await LiveServer(
        await make_app("gateway", catalog_url=catalog_url, routes={"/v1/echo": "catalog"}, **settings)
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            yield client
    finally:
        await live.stop()


def ok(body: bytes = b"hello", *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (len(body), extra, body)


async def test_keep_alive_connections_are_reused(make_app: AppFactory, backend: str) -> None:
    service = ScriptedService(lambda n, head: ok(b"conn %d" % n))
    async with service as url, gateway(make_app, url) as client:
        answers = [(await client.get("/v1/echo/x")).text for _ in range(5)]
    assert answers == ["conn 1"] * 5
    assert service.connections == 1
    assert all(b"\r\nhost: 127.0.0.1:" in head for head in service.requests)


async def test_a_connection_the_service_closed_is_retried_for_idempotent_requests(
    make_app: AppFactory, backend: str
) -> None:
    # The service answers and closes without saying so (no "Connection: close"): the pooled
    # connection is dead when the next request tries it.
    service = ScriptedService(lambda n, head: ok(b"conn %d" % n), close_after_answer=True)
    async with service as url, gateway(make_app, url) as client:
        first = await client.get("/v1/echo/x")
        await asyncio.sleep(0.05)
        second = await client.get("/v1/echo/x")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.text == "conn 2"


async def test_chunked_close_delimited_interim_and_empty_answers(make_app: AppFactory, backend: str) -> None:
    answers = {
        b"/v1/echo/chunked": (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        ),
        b"/v1/echo/interim": b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after interim"),
        b"/v1/echo/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    }

    def script(number: int, head: bytes) -> bytes:
        return answers[head.split(b" ")[1]]

    async with ScriptedService(script) as url, gateway(make_app, url) as client:
        chunked = await client.get("/v1/echo/chunked")
        interim = await client.get("/v1/echo/interim")
        empty = await client.get("/v1/echo/empty")
    assert chunked.text == "hello world"
    assert interim.text == "after interim"
    assert empty.status_code == 204
    assert empty.content == b""

    until_close = ScriptedService(lambda n, head: b"HTTP/1.1 200 OK\r\n\r\nread until EOF", close_after_answer=True)
    async with until_close as url, gateway(make_app, url) as client:
        response = await client.get("/v1/echo/eof")
    assert response.text == "read until EOF"


async def test_head_answers_carry_no_body(make_app: AppFactory, backend: str) -> None:
    service = ScriptedService(lambda n, head: b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    async with service as url, gateway(make_app, url) as client:
        head = await client.head("/v1/echo/x")
        again = await client.head("/v1/echo/x")
    assert head.status_code == 200
    assert head.headers["content-length"] == "1234"
    assert again.status_code == 200
    # The announced body of a HEAD answer never comes, so that connection is not reused.
    assert service.connections == 2


async def test_many_concurrent_requests_share_a_bounded_pool(make_app: AppFactory, backend: str) -> None:
    upstream = await LiveServer(upstream_app).start()  # type: ignore[arg-type]
    try:
        async with gateway(make_app, upstream.url, max_connections_per_upstream=4) as client:
            responses = await asyncio.gather(*(client.post(f"/v1/echo/{i}", content=b"x" * i) for i in range(60)))
    finally:
        await upstream.stop()
    assert [r.status_code for r in responses] == [200] * 60
    assert [r.json()["body_length"] for r in responses] == list(range(60))
    assert [r.json()["path"] for r in responses] == [f"/v1/echo/{i}" for i in range(60)]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_unsafe_methods_are_never_sent_twice(make_app: AppFactory, backend: str, method: str) -> None:
    service = ScriptedService(lambda n, head: b"", close_after_answer=True)  # closes without answering
    async with service as url, gateway(make_app, url) as client:
        response = await client.request(method, "/v1/echo/x", content=b"{}")
    assert response.status_code == 502
    assert len(service.requests) == 1
