"""Helpers the tests share: settings per backend, apps on real sockets, request helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import ServiceSettings

SERVICES = ("catalog", "credentials", "badges", "gateway")
DOMAIN_SERVICES = ("catalog", "credentials", "badges")


def settings_class(service: str) -> type[ServiceSettings]:
    module = import_module(f"services.{service}.settings")
    cls: type[ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


# The least argon2id cost (ENVIRONMENT=test only): the suite hashes hundreds of secrets.
GATEWAY_TEST_HASH_COST = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8, "password_hash_parallelism": 1}


def make_settings(service: str, database_url: str, data_dir: Path, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "outbox_enabled": False,
        # Background workers share the test's one connection otherwise; tests drive them.
        "bulk_worker_enabled": False,
        # Production's 2 s readiness budget is for a database that answers; a CI machine loaded by
        # the suite itself once missed it, so tests give the database a budget a loaded machine meets.
        "readiness_timeout_s": 15.0,
        **(GATEWAY_TEST_HASH_COST if service == "gateway" else {}),
        **overrides,
    }
    return settings_class(service)(**values)


def create_app(service: str, settings: ServiceSettings, **kwargs: Any) -> FastAPI:
    module = import_module(f"services.{service}.app")
    app: FastAPI = module.create_app(settings, **kwargs)
    return app


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, with its lifespan running."""
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(free_socket()) as sock:
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """A real uvicorn server for an app, in the test's event loop, on a socket it owns."""

    def __init__(self, app: FastAPI, sock: socket.socket | None = None) -> None:
        self.sock = sock or free_socket()
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, timeout_keep_alive=75, lifespan="on")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> LiveServer:
        if self.sock.fileno() == -1:  # restarted after stop(): bind the same port again
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", self.port))
        self.server.should_exit = False
        self.server.started = False
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        for _ in range(500):
            if self.server.started:
                return self
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise RuntimeError("server did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
            self.task = None
        self.sock.close()


class StartingGate:
    """Holds the next ``runners`` HTTP requests to an app until all of them have arrived, then
    lets them in together: a race test's requests really overlap inside the app and its
    database instead of happening to run one after another.

    Made before the app starts (it adds a middleware). Requests pass straight through until
    ``arm(runners)``, and again once those runners are in, so setup and checks are not held.
    """

    def __init__(self, app: FastAPI, *, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self._barrier: asyncio.Barrier | None = None
        self._places = 0
        app.add_middleware(_Gated, gate=self)

    def arm(self, runners: int) -> None:
        self._barrier = asyncio.Barrier(runners)
        self._places = runners

    async def line_up(self) -> None:
        barrier = self._barrier
        if barrier is None:
            return
        self._places -= 1
        if self._places == 0:
            self._barrier = None
        try:
            async with asyncio.timeout(self.timeout_s):
                await barrier.wait()
        except TimeoutError:
            await barrier.abort()
            late = f"the {barrier.parties} racing requests did not all arrive in {self.timeout_s}s"
            raise RuntimeError(late) from None


class _Gated:
    def __init__(self, app: ASGIApp, gate: StartingGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.gate.line_up()
        await self.app(scope, receive, send)


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: RawHandler, *, limit: int = 2**16) -> AsyncIterator[str]:
    """A raw TCP server for scripted (mis)behaviour; its handlers are cancelled on exit so no
    task outlives the test."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, limit=limit)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def signing_key(keys_dir: Path) -> Any:
    from services.gateway.identity.keys import active_key, write_key

    return active_key(keys_dir) or write_key(keys_dir)


def token_service(keys_dir: Path, issuer: str = "http://127.0.0.1:8000") -> Any:
    from services.gateway.identity.tokens import TokenService
    from shared.auth import PublicKeyRing

    return TokenService(
        key=signing_key(keys_dir),
        key_ring=PublicKeyRing(keys_dir),
        issuer=issuer,
        access_ttl_s=900,
        internal_ttl_s=30,
    )


OPERATOR_ROLES = frozenset({"platform_admin"})


def identity_headers(
    keys_dir: Path,
    service: str,
    *,
    roles: frozenset[str] = OPERATOR_ROLES,
    scopes: frozenset[str] | None = None,
    tenant_id: str = "tenant-a",
    subject: str = "user:test",
    kind: str = "user",
    email: str | None = None,
    delegates: tuple[str, ...] = (),
) -> dict[str, str]:
    """The header the gateway would send ``service`` for such a caller (``delegates``: the
    services it may ask on the caller's behalf, as GATEWAY_DELEGATIONS would allow)."""
    from services.gateway.identity.tokens import AccessClaims
    from shared.auth import IDENTITY_HEADER, scopes_for_roles

    claims = AccessClaims(
        subject=subject,
        tenant_id=tenant_id,
        kind=kind,
        roles=tuple(sorted(roles)),
        scopes=tuple(sorted(scopes if scopes is not None else scopes_for_roles(roles))),
        client_id=None,
        expires_at=0,
        email=email,
    )
    token = token_service(keys_dir).internal(claims, audience=service, request_id=None, delegates=delegates)
    return {IDENTITY_HEADER: token}


def bearer(
    keys_dir: Path,
    *,
    roles: frozenset[str] = OPERATOR_ROLES,
    tenant_id: str = "tenant-a",
    subject: str = "user:test",
) -> dict[str, str]:
    """An access token as the gateway issues it (for tests through the gateway)."""
    from shared.auth import scopes_for_roles

    token = token_service(keys_dir).issue(
        subject=subject, tenant_id=tenant_id, kind="user", scopes=scopes_for_roles(roles), roles=roles
    )
    return {"authorization": f"Bearer {token}"}


# Published dev secrets, and the shape of any JWT: none of them may ever appear in a log line.
KNOWN_SECRETS = ("demo-lms-secret", "other-lms-secret", "practicum-demo")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


def secrets_in(lines: list[str]) -> list[str]:
    """The log lines that carry a password, a client secret or a token.

    The request path an access line records is the caller's own text, not something a service
    let out: the API fuzz draws strings from this project's source (Hypothesis mines code
    constants), so it sometimes asks for ``/v1/sessions/demo-lms-secret/…``. That field is left
    out of the search; every other field of every line is searched.
    """
    return [line for line in lines if _carries_secret(_without_request_path(line))]


def _carries_secret(text: str) -> bool:
    return bool(_JWT.search(text)) or any(secret in text for secret in KNOWN_SECRETS)


def _without_request_path(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if isinstance(record, dict) and record.get("logger") == "practicum.access" and "path" in record:
        record = {**record, "path": None}
        return json.dumps(record)
    return line
