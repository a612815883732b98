"""A small HTTP/1.1 keep-alive client for the gateway's hop to its own services.

Why not a general client: on this hop aiohttp spent ~44% of the gateway's CPU building request
and response objects the proxy never needs; this client keeps headers as the bytes the server
parsed, writes a request head in one call, and parses answers with httptools (the parser uvicorn
itself uses). It only talks to Practicum's services, which answer with Content-Length or chunked
framing; close-delimited bodies are handled too. See docs/decisions/0003-gateway-client-stack.md.

What it does: a pool of keep-alive connections per upstream (idle ones dropped after
``idle_timeout`` so the gateway, not the service, closes them), a cap on requests in flight,
connect and read timeouts (the read timeout is the longest silence while answering), request
bodies whole or streamed (re-chunked when the client sent chunked), answers read whole or
streamed with back-pressure, 1xx answers skipped, HEAD answered without a body.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import cast

import httptools

Headers = list[tuple[bytes, bytes]]

_HIGH_WATER = 256 * 1024  # buffered answer bytes before reading from the service pauses
# A client may stall a streamed answer this long before its pool slot is taken back.
CLIENT_STALL_LIMIT_S = 60.0


class UpstreamError(Exception):
    """Base of everything that can go wrong talking to a service."""


class ConnectFailed(UpstreamError):
    """Nothing accepted the connection (refused, unreachable)."""


class PoolExhausted(UpstreamError):
    """Every connection to the service stayed busy for longer than the connect timeout."""


class ClientStalled(UpstreamError):
    """The client stopped reading a streamed answer for too long (not the service's fault)."""


class ClientGone(UpstreamError):
    """The client disconnected; the service's answer has no one to go to."""


class UpstreamTimeout(UpstreamError):
    """Connecting, or waiting for the next bytes of the answer, took too long."""


class BadResponse(UpstreamError):
    """The service answered something that is not valid HTTP, or closed mid-answer."""


class ClosedBeforeAnswer(BadResponse):
    """A reused keep-alive connection was closed before any byte of the answer: safe to retry
    an idempotent request on a new connection."""


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time.

    The read timeout measures the service's silence only: it starts once the request is fully
    sent, and time while the gateway itself stopped reading (a slow client) does not count.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: Headers = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = True
        self._framed = False  # Content-Length or chunked: the end is known without EOF
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._received_any = False
        self._head_only = False
        self._streaming = False  # only a streamed answer is read with back-pressure
        self._in_flight = False  # a request was sent and its answer is not complete yet
        self._body_pending = False  # part of a streamed request body is still unsent
        self._paused_since = 0.0
        self._exc: UpstreamError | None = None
        self._resume_reading()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._in_flight:
            # Bytes nobody asked for (a late or duplicate answer): the stream is out of step and
            # the next request would be answered with them.
            self.abort(BadResponse("upstream sent bytes outside an exchange"))
            return
        self._last_activity = self.loop.time()
        self._received_any = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.abort(BadResponse(f"invalid HTTP from upstream: {type(exc).__name__}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self._release_writer()
        if self.complete or self._exc is not None:
            self._wake()
            return
        if self.headers_done and not self._framed:
            self._finish()  # a close-delimited body ends with the connection
        elif not self._received_any:
            self._fail(ClosedBeforeAnswer("upstream closed the connection before answering"))
        else:
            self._fail(BadResponse("upstream closed the connection mid-answer"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._release_writer()

    # --- httptools callbacks ---------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headers_done:
            return  # trailer fields of a chunked body are not response headers
        lower = name.lower()
        if lower == b"content-length" or (lower == b"transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True
        self.headers.append((name, value))

    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request, even within the same packet.
            raise httptools.HttpParserError("more than one answer to one request")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            self.headers = []  # an interim answer (100 Continue…): the real one follows
            self._framed = False
            return
        self.status = status
        self.keep_alive = self._parser.should_keep_alive()
        self.headers_done = True
        self._release_writer()  # an early answer ends the upload at once
        if self._head_only or status in (204, 304):
            self._framed = True
            self._finish()
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self._body.append(body)
        self._buffered += len(body)
        if self._streaming and self._buffered > _HIGH_WATER and not self._read_paused and self.transport:
            self._read_paused = True
            self._paused_since = self.loop.time()
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status:  # not the end of an interim answer
            self._finish()

    # --- state ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        if not self.complete:
            self.complete = True
            self._in_flight = False
            self._cancel_timer()
            if self._head_only:
                self.keep_alive = False  # a HEAD answer's announced body never comes; do not reuse
            self._wake()

    def _fail(self, exc: UpstreamError) -> None:
        if self._exc is None and not self.complete:
            self._exc = exc
            self._cancel_timer()
            self._wake()
            self._release_writer()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _release_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _resume_reading(self) -> None:
        if self._read_paused:
            self._read_paused = False
            if self.transport is not None and not self.closed:
                self.transport.resume_reading()

    async def _wait(self) -> None:
        if self._exc is not None:
            raise self._exc
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._exc is not None:
            raise self._exc

    def _check_timeout(self) -> None:
        # One timer per request, re-armed only when it fires: cheaper than rescheduling on
        # every chunk of data. While reading is paused the silence is the client's, not the
        # service's, so it does not count.
        now = self.loop.time()
        if self._read_paused:
            if now - self._paused_since > CLIENT_STALL_LIMIT_S:
                self._timer = None
                self.abort(ClientStalled("the client stopped reading the answer"))
                return
            self._last_activity = now
        idle = now - self._last_activity
        if idle >= self.read_timeout:
            self._timer = None
            self.abort(UpstreamTimeout("upstream did not answer in time"))
        else:
            self._timer = self.loop.call_later(self.read_timeout - idle, self._check_timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- used by the proxy -------------------------------------------------------------------

    @property
    def reusable(self) -> bool:
        # A connection whose request body was not fully sent must never carry another request:
        # the service would read the next request as the rest of the old body (smuggling).
        return (
            self.complete
            and self.keep_alive
            and not self._body_pending
            and not self.closed
            and self._exc is None
            and not self._body
        )

    def start(self, head: bytes, body: bytes = b"", *, head_only: bool = False, more_body: bool = False) -> None:
        """Send a request head (and a body already in hand). Unless more body follows (then call
        ``body_sent`` after the last ``write``), the read timeout starts now."""
        assert self.transport is not None
        self._reset()
        self._head_only = head_only
        if self.closed:
            self._fail(ClosedBeforeAnswer("pooled connection already closed"))
            return
        self._in_flight = True
        self._body_pending = more_body
        self.transport.write(head + body if body else head)
        if not more_body:
            self.body_sent()

    def body_sent(self) -> None:
        """The whole request body is out: only now may the connection be reused afterwards."""
        self._body_pending = False
        if self._timer is None and not self.complete and self._exc is None:
            self._last_activity = self.loop.time()
            self._timer = self.loop.call_later(self.read_timeout, self._check_timeout)

    async def write(self, data: bytes) -> bool:
        """Send more of a streamed request body, waiting (at most the read timeout) while the
        socket's buffer is full. False when the service already answered: stop sending."""
        if self.headers_done:
            self.keep_alive = False  # the rest of the request body will never be sent
            return False
        if self._exc is not None:
            raise self._exc
        if self.closed or self.transport is None:
            raise BadResponse("upstream closed the connection while the request was sent")
        self.transport.write(data)
        if self._write_paused:
            self._drain_waiter = self.loop.create_future()
            try:
                async with asyncio.timeout(self.read_timeout):
                    await self._drain_waiter
            except TimeoutError:
                self.abort(UpstreamTimeout("upstream stopped reading the request body"))
            finally:
                self._drain_waiter = None
            if self.headers_done:
                self.keep_alive = False
                return False
            if self._exc is not None:
                raise self._exc
        return True

    async def read_head(self) -> tuple[int, Headers]:
        while not self.headers_done:
            await self._wait()
        return self.status, self.headers

    async def read_all(self) -> bytes:
        self._resume_reading()
        while not self.complete:
            await self._wait()
        body = b"".join(self._body)
        self._body.clear()
        self._buffered = 0
        return body

    async def iter_body(self) -> AsyncIterator[bytes]:
        self._streaming = True
        while True:
            if self._body:
                chunk = self._body.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= _HIGH_WATER // 2:
                    self._resume_reading()
                yield chunk
            elif self.complete:
                return
            else:
                await self._wait()

    def abort(self, exc: UpstreamError) -> None:
        """Fail the exchange and drop the connection at once, unsent bytes and all."""
        self._fail(exc)
        self._cancel_timer()
        if self.transport is not None and not self.closed:
            self.transport.abort()
        self.closed = True

    def close(self) -> None:
        self._cancel_timer()
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True


class UpstreamPool:
    """Keep-alive connections to one service, with a cap on requests in flight."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        idle_timeout: float = 4.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[Connection] = []

    async def acquire(self, *, fresh: bool = False) -> Connection:
        """A pooled connection, or a new one (always new when ``fresh``). Waits for a free slot
        at most the connect timeout: a service saturated that long is treated as unavailable."""
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise PoolExhausted(f"all {self.limit} connections to {self.host}:{self.port} are busy") from exc
        try:
            return await self._connection(fresh)
        except BaseException:
            self._slots.release()
            raise

    async def _connection(self, fresh: bool) -> Connection:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle and not fresh:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_timeout:
                conn.reused = True
                return conn
            conn.close()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _transport, conn = await loop.create_connection(
                    lambda: Connection(loop, self.read_timeout), self.host, self.port
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no connection to {self.host}:{self.port} within {self.connect_timeout:g}s") from exc
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from exc
        return conn

    def release(self, conn: Connection) -> None:
        """Return a connection after its answer was read to the end, or drop it."""
        if conn.reusable and len(self._idle) < self.limit:
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.append(conn)
        else:
            conn.close()
        self._slots.release()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
