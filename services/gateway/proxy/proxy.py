"""The reverse proxy: route by resource prefix, stream both ways, fail as problem+json.

Pure ASGI on the server side (the gateway app hands routed requests straight here) and a small
keep-alive HTTP/1.1 client on the service side (services/gateway/proxy/upstream.py): the hop must cost
less than the service behind it (docs/decisions/0003-gateway-client-stack.md,
bench/gateway_overhead.py). Each upstream has its own connection pool and timeouts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from services.gateway.identity.denials import Denial, DenialLog
from services.gateway.identity.tokens import AccessClaims, TokenService
from services.gateway.proxy.ratelimit import Buckets, Rate, enforce
from services.gateway.proxy.upstream import (
    BadResponse,
    ClientGone,
    ClientStalled,
    ClosedBeforeAnswer,
    ConnectFailed,
    Connection,
    Headers,
    PoolExhausted,
    UpstreamError,
    UpstreamPool,
    UpstreamTimeout,
)
from services.gateway.settings import GatewaySettings
from shared.auth import Unauthorized
from shared.problems import BadGateway, GatewayTimeout, Problem, ServiceUnavailable

logger = logging.getLogger("practicum.gateway.proxy")

# RFC 9110 §7.6.1 connection-specific headers, plus the ones the gateway sets itself. ``expect``
# goes too: the gateway sends the body at once, so it never waits for 100 Continue.
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
_REQUEST_DROP = HOP_BY_HOP | {
    b"host",
    b"expect",
    b"content-length",
    b"x-request-id",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    # Identity: the client's token stays at the gateway; services get the gateway's word for it.
    b"authorization",
    b"x-practicum-identity",
}
# The ASGI server writes its own Date and Server; forwarding the upstream's would double them.
_RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Upstream:
    name: str
    host_header: bytes
    pool: UpstreamPool


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
        url = urlsplit(settings.upstream_url(name))
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"upstream {name} must be an http:// URL, got {settings.upstream_url(name)!r}")
        port = url.port or 80
        upstreams[name] = Upstream(
            name=name,
            host_header=url.netloc.encode(),
            pool=UpstreamPool(
                url.hostname,
                port,
                limit=settings.max_connections_per_upstream,
                connect_timeout=settings.connect_timeout_s,
                read_timeout=settings.upstream_timeout(name),
            ),
        )
    return upstreams


async def close_upstreams(upstreams: dict[str, Upstream]) -> None:
    for upstream in upstreams.values():
        upstream.pool.close()


class Proxy:
    """ASGI app that forwards a request to the service owning its path (``scope["upstream"]``).

    A bearer token, when present, is verified here (401 if it is not valid) and replaced by an
    internal token for the one service the request goes to; without one the request goes on
    anonymous and the service decides (public route, or 401).
    """

    def __init__(
        self,
        *,
        upstreams: dict[str, Upstream],
        tokens: TokenService,
        buckets: Buckets,
        client_rate: Rate,
        buffer_request_bytes: int,
        buffer_response_bytes: int,
        denials: DenialLog,
        address_limits: dict[tuple[str, str], Rate] | None = None,
        delegations: dict[str, list[str]] | None = None,
    ) -> None:
        self.upstreams = upstreams  # filled and emptied by the gateway's lifespan
        # Service → services it may ask on the caller's behalf (the internal token's extra audiences).
        self.delegations = {name: tuple(callees) for name, callees in (delegations or {}).items()}
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None  # set once the app is built
        self.denials = denials
        # Public, token-less operations limited per client address: (method, path) → rate.
        self.address_limits = address_limits or {}
        self.tokens = tokens
        self.buckets = buckets
        self.client_rate = client_rate
        self.buffer_request_bytes = buffer_request_bytes
        self.buffer_response_bytes = buffer_response_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = self.upstreams[scope["upstream"]]
        try:
            await self._forward(upstream, scope, receive, send)
        except Unauthorized as problem:
            await self._denied(scope, 401, None, problem.detail or "invalid token", service=None)
            await _send_problem(send, problem, scope)
        except Problem as problem:
            await _send_problem(send, problem, scope)
        except ClientDisconnected:
            return

    async def _denied(
        self, scope: Scope, status: int, claims: AccessClaims | None, reason: str, service: str | None
    ) -> None:
        if self.sessionmaker is None:
            return
        await self.denials.record(self.sessionmaker, Denial.of(scope, status, claims, reason, service))

    async def _identity(self, scope: Scope, service: str) -> tuple[AccessClaims, bytes] | None:
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if authorization is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the access token as 'Authorization: Bearer <token>'", error="invalid_request")
        claims = self.tokens.verify(token.strip())
        if claims.client_id:
            await enforce(self.buckets, f"client:{claims.client_id}", self.client_rate, what="this API client")
        request_id = scope.get("state", {}).get("request_id")
        internal: str = self.tokens.internal(
            claims, audience=service, request_id=request_id, delegates=self.delegations.get(service, ())
        )
        return claims, internal.encode()

    async def _forward(self, upstream: Upstream, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        if self.address_limits:
            rate = self.address_limits.get((method, scope["path"]))
            if rate is not None:
                peer = scope.get("client")
                key = f"address:{method}:{scope['path']}:{peer[0] if peer else 'unknown'}"
                await enforce(self.buckets, key, rate, what="this address")
        headers, content_length, chunked = _request_headers(scope, upstream.host_header)
        identity = await self._identity(scope, upstream.name)
        claims = identity[0] if identity is not None else None
        if identity is not None:
            headers.append((b"x-practicum-identity", identity[1]))
        streamed = chunked or (content_length is not None and content_length > self.buffer_request_bytes)
        body = b""
        if streamed:
            if content_length is not None and not chunked:
                headers.append((b"content-length", str(content_length).encode()))
            else:
                headers.append((b"transfer-encoding", b"chunked"))
        elif content_length:
            body = await _read_body(receive)
            headers.append((b"content-length", str(len(body)).encode()))
        elif method not in _IDEMPOTENT and method != "DELETE":
            headers.append((b"content-length", b"0"))
        head = _request_head(method, scope, headers)

        # A reused connection the service closed while idle fails before any answer: an
        # idempotent request without a body is safe to send again on a fresh connection.
        attempts = 2 if method in _IDEMPOTENT and not streamed and not body else 1
        for attempt in range(attempts):
            conn = await _acquire(upstream, fresh=attempt > 0)
            try:
                conn.start(head, body, head_only=method == "HEAD", more_body=streamed)
                if streamed:
                    await _send_body(conn, receive, chunked=chunked or content_length is None)
                    conn.body_sent()
                status, answer_headers = await conn.read_head()
                if status in (401, 403):
                    # A denial decided by the service itself (no token, missing scope or role).
                    await self._denied(scope, status, claims, "refused by the service", upstream.name)
                await _relay(conn, status, answer_headers, receive, send, buffer_bytes=self.buffer_response_bytes)
                return
            except ClosedBeforeAnswer as exc:
                if attempt + 1 < attempts and conn.reused:
                    continue
                raise BadGateway(f"{upstream.name} closed the connection", service=upstream.name) from exc
            except UpstreamTimeout as exc:
                raise GatewayTimeout(f"{upstream.name} did not answer in time", service=upstream.name) from exc
            except BadResponse as exc:
                raise BadGateway(f"{upstream.name} sent an invalid response: {exc}", service=upstream.name) from exc
            finally:
                upstream.pool.release(conn)


async def _acquire(upstream: Upstream, *, fresh: bool) -> Connection:
    try:
        return await upstream.pool.acquire(fresh=fresh)
    except ConnectFailed as exc:
        raise ServiceUnavailable(f"{upstream.name} is unreachable", service=upstream.name) from exc
    except PoolExhausted as exc:
        raise ServiceUnavailable(f"{upstream.name} is saturated", service=upstream.name, retry_after=1) from exc
    except UpstreamTimeout as exc:
        raise GatewayTimeout(f"{upstream.name} did not answer in time", service=upstream.name) from exc


class NotImplementedTransferCoding(Problem):
    status = 501
    title = "Not Implemented"
    slug = "gateway/transfer-coding"


class ClientDisconnected(Exception):
    """The client went away before its request body arrived; there is no one to answer."""


def _request_head(method: str, scope: Scope, headers: Headers) -> bytes:
    target: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope["query_string"]
    parts = [method.encode(), b" ", target]
    if query:
        parts += [b"?", query]
    parts.append(b" HTTP/1.1\r\n")
    for name, value in headers:
        parts += [name, b": ", value, b"\r\n"]
    parts.append(b"\r\n")
    return b"".join(parts)


async def _send_body(conn: Connection, receive: Receive, *, chunked: bool) -> None:
    """Stream the client's body to the service; stop early if the service already answered
    (a 413 or 401 before the upload ended is relayed, not turned into a 502)."""
    async for part in _stream_body(receive):
        if not await conn.write(b"%x\r\n%b\r\n" % (len(part), part) if chunked else part):
            return
    if chunked:
        await conn.write(b"0\r\n\r\n")


async def _relay(
    conn: Connection, status: int, raw_headers: Headers, receive: Receive, send: Send, *, buffer_bytes: int
) -> None:
    drop = _RESPONSE_DROP | _connection_tokens(raw_headers) if b"connection" in _names(raw_headers) else _RESPONSE_DROP
    if status in (204, 304):
        drop = drop | {b"content-length"}  # no body follows; the server must not expect one
    headers = [(k, v) for k, v in raw_headers if k.lower() not in drop]
    length = _content_length(raw_headers)
    if conn.complete or (length is not None and length <= buffer_bytes):
        # Small answers (nearly all API calls) are read whole: one send, and a truncated body
        # still becomes a 502 because nothing has been answered yet.
        body = await conn.read_all()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    # Large or unsized answers stream. Read the first chunk before answering so a service that
    # dies at once still becomes a 502.
    chunks = conn.iter_body()
    first = await anext(chunks, b"")
    await send({"type": "http.response.start", "status": status, "headers": headers})

    # The server does not tell a sender that its client left; watch for it, and drop the
    # service's connection then instead of pulling a long answer to the end for no one.
    finished = False

    def client_left(_task: asyncio.Task[None]) -> None:
        # The callback may run after the relay finished and the connection went back to the
        # pool (possibly to another request): only abort while this exchange still owns it.
        if not finished:
            conn.abort(ClientGone("client disconnected"))

    watcher = asyncio.create_task(_until_disconnect(receive))
    watcher.add_done_callback(client_left)
    try:
        if first:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except (ClientGone, ClientStalled) as exc:
        logger.info("client went away mid-response", extra={"error": str(exc)})
    except UpstreamError as exc:
        # Headers are out; the only honest thing left is to cut the connection, which the
        # server does when the app returns without finishing the body.
        logger.warning("upstream failed mid-response", extra={"error": str(exc)})
    finally:
        finished = True
        watcher.remove_done_callback(client_left)
        watcher.cancel()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _names(raw: Headers) -> set[bytes]:
    return {name.lower() for name, _ in raw}


def _content_length(raw: Headers) -> int | None:
    for name, value in raw:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Headers the sender marked as hop-by-hop by naming them in ``Connection`` (RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in raw:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return frozenset(tokens)


def _request_headers(scope: Scope, host: bytes) -> tuple[Headers, int | None, bool]:
    """Headers to send upstream, the client's Content-Length, and whether it sent chunked."""
    raw: Headers = scope["headers"]
    connection_tokens = _connection_tokens(raw)
    headers: Headers = [(b"host", host)]
    content_length: int | None = None
    chunked = False
    client_host = b""
    forwarded_for = b""
    for name, value in raw:
        if name == b"content-length":
            try:
                content_length = int(value)
            except ValueError:
                content_length = None
        elif name == b"transfer-encoding":
            codings = [c.strip() for c in value.lower().split(b",")]
            if codings != [b"chunked"]:
                raise NotImplementedTransferCoding(
                    f"transfer coding {value.decode('latin-1')!r} is not supported; send chunked or Content-Length"
                )
            chunked = True
        elif name == b"host":
            client_host = value
        elif name == b"x-forwarded-for":
            forwarded_for = value
        if name in _REQUEST_DROP or name in connection_tokens:
            continue
        headers.append((name, value))
    client = scope.get("client")
    peer = client[0].encode() if client else b"unknown"
    headers.append((b"x-forwarded-for", forwarded_for + b", " + peer if forwarded_for else peer))
    headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
    if client_host:
        headers.append((b"x-forwarded-host", client_host))
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
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
            raise ClientDisconnected  # the service would wait for the rest of the body forever
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
