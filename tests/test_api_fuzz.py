"""API fuzzing: every operation of every service's OpenAPI, and of the combined document through
the gateway, driven with generated valid and invalid input. No 5xx, and every answer must match
what the document promises (status, content type, schema). New endpoints are covered as they
appear, because the operations are read from the live documents.

Each domain service's operations are fuzzed in depth against that service, on every backend. The
gateway's own operations (tokens, administration, people, health) are fuzzed in depth through
the gateway, on every backend. What the gateway adds to a proxied operation (routing, the
combined document, authentication at the edge) is the same for every input, so the proxied
operations are driven through it with a few examples each, on one backend: re-fuzzing them in
depth there repeated the per-service passes and took half of the suite's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

# Domain rules beyond the schema may refuse schema-valid input with a 4xx problem (an unknown
# event type, a state that forbids the action); every other check stays on.
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shared.app import STANDARD_PUBLIC_ROUTES
from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer, bearer, free_socket, identity_headers

# Examples per operation and mode; raise it locally for a deeper search (FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
# Examples per proxied operation and mode through the gateway (its routing, not the service's rules).
ROUTED_EXAMPLES = int(os.environ.get("FUZZ_ROUTED_EXAMPLES", "3"))

Examples = Callable[[str], int]  # "METHOD /path" -> examples per mode; 0 leaves the operation out


def fuzz_document(
    base_url: str, headers: dict[str, str], openapi_path: str = "/openapi.json", examples: Examples | None = None
) -> list[str]:
    """Runs in a worker thread (schemathesis calls are blocking); returns the operations covered."""
    schema = schemathesis.openapi.from_url(base_url + openapi_path)
    # The documents declare their security schemes; the credentials are the caller's (headers),
    # so schemathesis must not generate or mutate them (a "missing" header it then sees filled in
    # reads as invalid input accepted). Its probes still check that each protected operation
    # refuses a call without them.
    schema.config.generation.update(with_security_parameters=False)
    # Those probes strip a credential by the scheme's header name, as spelled: "Authorization".
    headers = {("Authorization" if name.lower() == "authorization" else name): value for name, value in headers.items()}
    covered = []
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        count = EXAMPLES if examples is None else examples(name)
        if count == 0:
            continue
        has_input = any(
            len(part) for part in (operation.path_parameters, operation.query, operation.headers, operation.body)
        )
        # Invalid input needs somewhere to put it; an operation without inputs gets valid calls only.
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,)
        for mode in modes:
            run = _fuzz_operation(operation, mode, base_url, headers, count)
            try:
                run()
            except Unsatisfiable as exc:  # name the operation: hypothesis alone does not
                raise AssertionError(f"{name} ({mode.value}): {exc}") from exc
        covered.append(name)
    return covered


def operations(base_url: str, openapi_path: str = "/openapi.json") -> set[str]:
    """Every operation a live document declares, as "METHOD /path"."""
    document = httpx.get(base_url + openapi_path, timeout=30).json()
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


def _fuzz_operation(
    operation: object, mode: GenerationMode, base_url: str, headers: dict[str, str], examples: int
) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url, headers=headers, timeout=10, excluded_checks=[positive_data_acceptance]
        )

    return check


# What a service asks on its caller's behalf (GATEWAY_DELEGATIONS): the real callees run too.
CALLEES: dict[str, tuple[str, ...]] = {"credentials": ("catalog",), "catalog": ("credentials",)}


@pytest.mark.parametrize("service", DOMAIN_SERVICES)
async def test_fuzz_each_service(make_app: AppFactory, backend: str, service: str, keys_dir: Path) -> None:
    callees = CALLEES.get(service, ())
    helpers = {callee: await LiveServer(await make_app(callee)).start() for callee in callees}
    server = await LiveServer(
        await make_app(service, **{f"{callee}_url": helper.url for callee, helper in helpers.items()})
    ).start()
    # As an operator, so that protected operations are exercised beyond their 401.
    headers = identity_headers(keys_dir, service, delegates=callees)
    try:
        covered = await asyncio.to_thread(fuzz_document, server.url, headers)
    finally:
        await server.stop()
        for helper in helpers.values():
            await helper.stop()
    assert "POST /internal/events" in covered
    assert f"GET /v1/ops/{service}/outbox" in covered
    if service in ("catalog", "credentials"):
        assert f"POST /internal/{service}/references" in covered, "what other services ask is fuzzed too"


@contextlib.asynccontextmanager
async def whole_system(make_app: AppFactory) -> AsyncIterator[tuple[LiveServer, dict[str, LiveServer]]]:
    """The gateway in front of the three domain services, each on a real socket (its socket is
    taken first, so that services that ask each other know each other's address)."""
    sockets = {name: free_socket() for name in DOMAIN_SERVICES}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    services: dict[str, LiveServer] = {}
    gateway: LiveServer | None = None
    try:
        for name in DOMAIN_SERVICES:
            callees = CALLEES.get(name, ())
            services[name] = await LiveServer(
                await make_app(name, **{f"{callee}_url": urls[callee] for callee in callees}), sockets[name]
            ).start()
        gateway = await LiveServer(
            await make_app("gateway", **{f"{name}_url": server.url for name, server in services.items()})
        ).start()
        yield gateway, services
    finally:
        if gateway is not None:
            await gateway.stop()
        for server in services.values():
            await server.stop()


async def _proxied(services: dict[str, LiveServer]) -> set[str]:
    """The operations the gateway forwards: those the domain services' own documents declare,
    but for health and the internal inbox, which each process answers itself."""
    found: set[str] = set()
    for server in services.values():
        found |= await asyncio.to_thread(operations, server.url)
    return found - {f"{method} {path}" for method, path in STANDARD_PUBLIC_ROUTES}


async def test_fuzz_gateway_own_operations(make_app: AppFactory, backend: str, keys_dir: Path) -> None:
    """In depth, on every backend: what the gateway answers itself (tokens, admin, people, health)."""
    async with whole_system(make_app) as (gateway, services):
        proxied = await _proxied(services)
        covered = await asyncio.to_thread(
            fuzz_document, gateway.url, bearer(keys_dir), examples=lambda op: 0 if op in proxied else EXAMPLES
        )
    assert {"GET /readyz", "GET /healthz", "POST /oauth/token"} <= set(covered)
    assert not set(covered) & proxied


# Routing through the gateway does not depend on the database: one backend suffices.
@pytest.mark.one_backend
async def test_fuzz_combined_api_through_gateway(make_app: AppFactory, backend: str, keys_dir: Path) -> None:
    """Every proxied operation of the combined document, through the gateway, a few examples each."""
    async with whole_system(make_app) as (gateway, services):
        proxied = await _proxied(services)
        covered = await asyncio.to_thread(
            fuzz_document, gateway.url, bearer(keys_dir), examples=lambda op: ROUTED_EXAMPLES if op in proxied else 0
        )
        combined = await asyncio.to_thread(operations, gateway.url)
    # Every operation the gateway publishes from a service was driven through it.
    assert combined & proxied <= set(covered)
    assert {f"GET /v1/ops/{name}/outbox" for name in DOMAIN_SERVICES} <= set(covered)
