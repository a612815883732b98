"""The reverse proxy: route by resource prefix, stream both ways, fail as problem+json.

Pure ASGI on the server side and aiohttp on the client side: the hop must cost less than the
service behind it (see docs/decisions/0003-gateway-client-stack.md and
bench/gateway_overhead.py). Each upstream has its own connection pool and timeouts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from services.gateway.settings import GatewaySettings
from shared.problems import BadGateway, GatewayTimeout, Problem, ServiceUnavailable

logger = logging.getLogger("practicum.gateway.proxy")

# RFC 9110 §7.6.1 connection-specific headers, plus the ones the gateway sets itself.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROP = HOP_BY_HOP | {b"host", b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
# The ASGI server writes its own Date and Server; forwarding the upstream's would double them.
_RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Upstream:
    name: str
    base_url: str
    session: aiohttp.ClientSession
    timeout: aiohttp.ClientTimeout


class RouteTable:
    """Longest-prefix match on whole path segments: ``/v1/badges`` owns ``/v1/badges/x``, not
    ``/v1/badgesx``. Walks the path's own prefixes from the longest, one dict lookup each."""

    def __init__(self, routes: dict[str, str]) -> None:
        self._routes = dict(routes)

    def match(self, path: str) -> str | None:
        candidate = path
        while candidate:
            service = self._routes.get(candidate)
            if service is not None:
                return service
            cut = candidate.rfind("/")
            if cut <= 0:
                return None
            candidate = candidate[:cut]
        return None

    def owns(self, service: str, path: str) -> bool:
        return self.match(path) == service


def open_upstreams(settings: GatewaySettings, services: tuple[str, ...]) -> dict[str, Upstream]:
    upstreams = {}
    for name in services:
        connector = aiohttp.TCPConnector(
            limit=settings.max_connections_per_upstream,
            # Below uvicorn's keep-alive so the pool drops a connection before the service does.
            keepalive_timeout=4.0,
            enable_cleanup_closed=False,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # pass bytes through untouched; Content-Encoding stays valid
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        upstreams[name] = Upstream(
            name=name,
            base_url=settings.upstream_url(name),
            session=session,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=settings.connect_timeout_s, sock_read=settings.upstream_timeout(name)
            ),
        )
    return upstreams


async def close_upstreams(upstreams: dict[str, Upstream]) -> None:
    for upstream in upstreams.values():
        await upstream.session.close()


class Proxy:
    """ASGI app that forwards a request to the service owning its path (``scope["upstream"]``)."""

    def __init__(
        self, *, upstreams: dict[str, Upstream], buffer_request_bytes: int, buffer_response_bytes: int
    ) -> None:
        self.upstreams = upstreams  # filled and emptied by the gateway's lifespan
        self.buffer_request_bytes = buffer_request_bytes
        self.buffer_response_bytes = buffer_response_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = self.upstreams[scope["upstream"]]
        try:
            await self._forward(upstream, scope, receive, send)
        except Problem as problem:
            await _send_problem(send, problem, scope)
        except ClientDisconnected:
            return

    async def _forward(self, upstream: Upstream, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope["query_string"]
        target = upstream.base_url + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        url = URL(target, encoded=True)
        headers, content_length, chunked = _request_headers(scope)
        data: Any = None
        if chunked or (content_length is not None and content_length > self.buffer_request_bytes):
            data = _stream_body(receive)
        elif content_length:
            data = await _read_body(receive)

        attempts = 2 if method in _IDEMPOTENT and data is None else 1
        for attempt in range(attempts):
            try:
                async with upstream.session.request(
                    method, url, headers=headers, data=data, allow_redirects=False, timeout=upstream.timeout
                ) as response:
                    await _relay(response, send, buffer_bytes=self.buffer_response_bytes)
                    return
            except aiohttp.ClientConnectorError as exc:
                raise ServiceUnavailable(f"{upstream.name} is unreachable", service=upstream.name) from exc
            except TimeoutError as exc:
                raise GatewayTimeout(f"{upstream.name} did not answer in time", service=upstream.name) from exc
            except aiohttp.ServerDisconnectedError as exc:
                # A pooled keep-alive connection the service had just closed: safe to try again.
                if attempt + 1 < attempts:
                    continue
                raise BadGateway(f"{upstream.name} closed the connection", service=upstream.name) from exc
            except aiohttp.ClientError as exc:
                raise BadGateway(
                    f"{upstream.name} sent an invalid response: {type(exc).__name__}", service=upstream.name
                ) from exc


class ClientDisconnected(Exception):
    """The client went away before its request body arrived; there is no one to answer."""


async def _relay(response: aiohttp.ClientResponse, send: Send, *, buffer_bytes: int) -> None:
    drop = _RESPONSE_DROP | _connection_tokens(response.raw_headers)
    headers = [(k, v) for k, v in response.raw_headers if k.lower() not in drop]
    length = response.content_length
    if length is not None and length <= buffer_bytes:
        # Small answers (nearly all API calls) are read whole: one send, and a truncated body
        # still becomes a 502 because nothing has been answered yet.
        body = await response.read()
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    # Large or unsized answers stream. Read the first chunk before answering so an upstream
    # that dies at once still becomes a 502.
    first = await response.content.readany()
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        chunk = first
        while chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunk = await response.content.readany()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Headers are out; the only honest thing left is to cut the connection, which the
        # server does when the app returns without finishing the body.
        logger.warning("upstream failed mid-response", extra={"error": type(exc).__name__})


def _connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Headers the sender marked as hop-by-hop by naming them in ``Connection`` (RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in raw:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return frozenset(tokens)


def _request_headers(scope: Scope) -> tuple[list[tuple[str, str]], int | None, bool]:
    headers: list[tuple[str, str]] = []
    content_length: int | None = None
    chunked = False
    raw = scope["headers"]
    connection_tokens = _connection_tokens(raw)
    host = b""
    forwarded_for = b""
    for name, value in raw:
        if name == b"host":
            host = value
        elif name == b"x-forwarded-for":
            forwarded_for = value
        if name == b"content-length":
            try:
                content_length = int(value)
            except ValueError:
                content_length = None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        if name in _REQUEST_DROP or name in connection_tokens:
            continue
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    client = scope.get("client")
    client_host = client[0] if client else "unknown"
    headers.append(
        ("X-Forwarded-For", f"{forwarded_for.decode('latin-1')}, {client_host}" if forwarded_for else client_host)
    )
    headers.append(("X-Forwarded-Proto", scope.get("scheme", "http")))
    if host:
        headers.append(("X-Forwarded-Host", host.decode("latin-1")))
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers.append(("X-Request-ID", request_id))
    return headers, content_length, chunked


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _stream_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


async def _send_problem(send: Send, problem: Problem, scope: Scope) -> None:
    logger.warning("upstream failure", extra={"status": problem.status, "detail": problem.detail})
    body = json.dumps(
        problem.to_dict(instance=scope["path"], request_id=scope.get("state", {}).get("request_id"))
    ).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers().items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
