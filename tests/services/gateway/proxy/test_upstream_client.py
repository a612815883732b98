"""The gateway's HTTP/1.1 client against scripted services: framing, reuse, retries, limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.conftest import AppFactory
from tests.services.gateway.proxy.test_proxy import upstream_app
from tests.support import LiveServer, raw_server

Script = Callable[[int, bytes], bytes]  # (connection number, request head) -> bytes to answer


class ScriptedService:
    """A raw TCP server answering each request with bytes a test chose, counting connections."""

    def __init__(self, script: Script, *, close_after_answer: bool = False, close_after_empty: bool = False) -> None:
        self.script = script
        self.close_after_answer = close_after_answer
        self.close_after_empty = close_after_empty  # an empty answer means: hang up now
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: contextlib.AbstractAsyncContextManager[str] = raw_server(self.handle)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                answer = self.script(number, head)
                if not answer and self.close_after_empty:
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    async def __aenter__(self) -> str:
        return await self._server.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._server.__aexit__(None, None, None)


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
    open_now = 0
    most_open = 0

    async def slow_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most_open
        open_now += 1
        most_open = max(most_open, open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.01)
                writer.write(ok(head.split(b" ")[1]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            open_now -= 1

    async with raw_server(slow_answers) as url, gateway(make_app, url, max_connections_per_upstream=4) as client:
        responses = await asyncio.gather(*(client.get(f"/v1/echo/{i}") for i in range(60)))
    assert [r.text for r in responses] == [f"/v1/echo/{i}" for i in range(60)]
    assert 1 < most_open <= 4


def answer_once_then_hang_up(number: int, head: bytes) -> bytes:
    """Each connection answers its first request, then closes on the next without answering."""
    return ok(b"conn %d" % number) if head.startswith(b"GET /v1/echo/warm") else b""


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_unsafe_methods_are_never_sent_twice(make_app: AppFactory, backend: str, method: str) -> None:
    service = ScriptedService(answer_once_then_hang_up, close_after_empty=True)
    async with service as url, gateway(make_app, url) as client:
        warm = await client.get("/v1/echo/warm")
        response = await client.request(method, "/v1/echo/x", content=b"{}")
    assert warm.text == "conn 1"
    assert response.status_code == 502
    # The request reached the service once on the pooled connection and was not sent again.
    assert [head.split(b" ")[0].decode() for head in service.requests] == ["GET", method]
    assert service.connections == 1


async def test_idempotent_request_on_a_connection_closed_unanswered_is_retried(
    make_app: AppFactory, backend: str
) -> None:
    def script(number: int, head: bytes) -> bytes:
        return ok(b"conn %d" % number) if number > 1 or head.startswith(b"GET /v1/echo/warm") else b""

    service = ScriptedService(script, close_after_empty=True)
    async with service as url, gateway(make_app, url) as client:
        await client.get("/v1/echo/warm")
        retried = await client.get("/v1/echo/x")
    assert retried.status_code == 200
    assert retried.text == "conn 2"


async def test_sized_answer_above_the_streaming_watermark_and_reuse_after(make_app: AppFactory, backend: str) -> None:
    big = b"x" * 600_000  # above the 256 KiB read-pause mark, below the 1 MiB read-whole limit
    service = ScriptedService(lambda n, head: ok(big))
    async with service as url, gateway(make_app, url, catalog_timeout_s=1.0) as client:
        answers = [await client.get("/v1/echo/big") for _ in range(3)]
    assert [(a.status_code, len(a.content)) for a in answers] == [(200, 600_000)] * 3
    assert service.connections == 1


async def test_slow_upload_and_slow_reader_are_not_upstream_timeouts(make_app: AppFactory, backend: str) -> None:
    upstream = await LiveServer(upstream_app).start()  # type: ignore[arg-type]

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000
            await asyncio.sleep(0.3)

    try:
        async with gateway(make_app, upstream.url, catalog_timeout_s=0.5) as client:
            upload = await client.post("/v1/echo/upload", content=trickle())
            # A reader slower than the timeout: the gateway stops reading from the service, and
            # that silence is not the service's fault.
            async with client.stream("GET", "/v1/echo/stream") as streamed:
                received = 0
                async for chunk in streamed.aiter_raw():
                    if received == 0:
                        await asyncio.sleep(1.2)
                    received += len(chunk)
    finally:
        await upstream.stop()
    assert upload.status_code == 200
    assert upload.json()["body_length"] == 4000
    assert received == 64 * 16384


async def test_a_service_that_stops_reading_times_out_and_frees_its_slot(make_app: AppFactory, backend: str) -> None:
    async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with (
        raw_server(never_reads, limit=1024) as url,
        gateway(make_app, url, catalog_timeout_s=0.5, max_connections_per_upstream=1) as client,
    ):
        upload = await client.post("/v1/echo/upload", content=b"x" * 16_000_000)
        after = await client.get("/v1/echo/next")
    assert upload.status_code == 504
    assert after.status_code == 504, "the only pool slot must have been released"


async def test_client_leaving_mid_stream_drops_the_service_connection(make_app: AppFactory, backend: str) -> None:
    finished = asyncio.Event()
    reset = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(200):
                writer.write(b"4000\r\n" + b"y" * 16384 + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.02)
            finished.set()
        except ConnectionError:
            reset.set()

    async with raw_server(endless) as url, gateway(make_app, url) as client:
        async with client.stream("GET", "/v1/echo/feed") as streamed:
            async for _chunk in streamed.aiter_raw():
                break  # the client leaves after the first chunk
        await asyncio.wait_for(reset.wait(), timeout=3)
    assert reset.is_set()
    assert not finished.is_set()


async def test_early_answer_to_a_large_upload_is_relayed(make_app: AppFactory, backend: str) -> None:
    refusal = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large"
    service = ScriptedService(lambda n, head: refusal, close_after_answer=True)
    async with service as url, gateway(make_app, url) as client:
        response = await client.post("/v1/echo/upload", content=b"z" * 5_000_000)
    assert response.status_code == 413
    assert response.text == "too large"


async def test_not_modified_and_trailers(make_app: AppFactory, backend: str) -> None:
    answers = {
        b"/v1/echo/cached": b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 42\r\n\r\n',
        b"/v1/echo/trailers": (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
            b"5\r\nhello\r\n0\r\nx-checksum: abc\r\nset-cookie: session=forged\r\n\r\n"
        ),
    }
    service = ScriptedService(lambda n, head: answers[head.split(b" ")[1]])
    async with service as url, gateway(make_app, url) as client:
        cached = await client.get("/v1/echo/cached", headers={"if-none-match": '"v1"'})
        again = await client.get("/v1/echo/cached")
        trailed = await client.get("/v1/echo/trailers")
    assert (cached.status_code, again.status_code) == (304, 304)
    assert cached.headers["etag"] == '"v1"'
    assert "content-length" not in cached.headers
    assert trailed.text == "hello"
    assert "set-cookie" not in trailed.headers
    assert "x-checksum" not in trailed.headers


async def _raw_exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    return data


async def test_a_half_sent_upload_never_reuses_its_connection(make_app: AppFactory, backend: str) -> None:
    """The service refused an upload before reading it and the client left mid-body: that
    connection still expects the rest of the body, so reusing it would let the next request's
    bytes be read as a smuggled request."""

    def script(number: int, head: bytes) -> bytes:
        if head.startswith(b"POST /v1/echo/early"):
            return b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
        return ok(b"conn %d" % number)

    service = ScriptedService(script)
    async with service as url:
        live = await LiveServer(await make_app("gateway", catalog_url=url, routes={"/v1/echo": "catalog"})).start()
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
            writer.write(b"POST /v1/echo/early HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + b"a" * 1000)
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.transport.abort()  # the client leaves mid-upload
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=live.url) as client:
                after = await client.get("/v1/echo/next")
        finally:
            await live.stop()
    assert after.text == "conn 2", "the half-sent connection must not be reused"


async def test_answers_nobody_asked_for_close_the_connection(make_app: AppFactory, backend: str) -> None:
    async def noisy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = id(writer)
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1]
            if path == b"/v1/echo/two":  # two answers in one packet
                writer.write(ok(b"ok", extra=b"X-First: 1\r\n") + b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom")
            elif path == b"/v1/echo/late":  # a duplicate answer, later, on an idle connection
                writer.write(ok(b"first"))
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(ok(b"STRAY"))
            else:
                writer.write(ok(b"%d" % connection))
            await writer.drain()

    async with raw_server(noisy) as url, gateway(make_app, url) as client:
        two = await client.get("/v1/echo/two")
        after_two = await client.get("/v1/echo/next")
        late = await client.get("/v1/echo/late")
        await asyncio.sleep(0.3)
        after_late = await client.get("/v1/echo/next")
        again = await client.get("/v1/echo/next")
    assert (two.status_code, two.headers["x-first"], two.text) == (200, "1", "ok")
    assert late.text == "first"
    assert after_late.text != "STRAY"
    assert after_late.text == again.text, "a fresh connection, then reused"
    assert after_two.text != after_late.text


async def test_an_early_answer_reaches_the_client_while_the_upload_is_blocked(
    make_app: AppFactory, backend: str
) -> None:
    async def refuse_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.3)  # then answers without ever reading the body
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!")
        await writer.drain()
        await asyncio.sleep(5)

    async with raw_server(refuse_later, limit=1024) as url, gateway(make_app, url, catalog_timeout_s=3) as client:
        started = asyncio.get_running_loop().time()
        response = await client.post("/v1/echo/upload", content=b"u" * 16_000_000)
        elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 413
    assert elapsed < 2.5, "relayed when it came, not after the read timeout"


async def test_an_upgrade_answer_is_a_502(make_app: AppFactory, backend: str) -> None:
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    async with ScriptedService(lambda n, head: upgrade) as url, gateway(make_app, url) as client:
        response = await client.get("/v1/echo/ws")
    assert response.status_code == 502


async def test_transfer_codings_other_than_chunked_are_refused(make_app: AppFactory, backend: str) -> None:
    service = ScriptedService(lambda n, head: ok())
    async with service as url:
        live = await LiveServer(await make_app("gateway", catalog_url=url, routes={"/v1/echo": "catalog"})).start()
        try:
            answer = await _raw_exchange(
                live.port,
                b"POST /v1/echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            )
        finally:
            await live.stop()
    assert answer.startswith(b"HTTP/1.1 501 ")
    assert b"application/problem+json" in answer
    assert service.requests == []


async def test_a_client_that_stops_reading_loses_its_slot(
    make_app: AppFactory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.gateway.proxy import upstream

    monkeypatch.setattr(upstream, "CLIENT_STALL_LIMIT_S", 0.5)
    reset = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            while True:
                writer.write(b"4000\r\n" + b"s" * 16384 + b"\r\n")
                await writer.drain()
        except ConnectionError:
            reset.set()

    async with raw_server(endless) as url:
        live = await LiveServer(
            await make_app("gateway", catalog_url=url, routes={"/v1/echo": "catalog"}, catalog_timeout_s=0.3)
        ).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
            writer.write(b"GET /v1/echo/feed HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")  # then never reads again, and stays connected
            await asyncio.wait_for(reset.wait(), timeout=5)
            writer.transport.abort()
        finally:
            await live.stop()
    assert reset.is_set()
