"""API fuzzing: every operation of every service's OpenAPI, and of the combined document through
the gateway, driven with generated valid and invalid input. No 5xx, and every answer must match
what the document promises (status, content type, schema). New endpoints are covered as they
appear, because the operations are read from the live documents.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

# Domain rules beyond the schema may refuse schema-valid input with a 4xx problem (an unknown
# event type, a state that forbids the action); every other check stays on.
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer, bearer, identity_headers

# Examples per operation and mode; raise it locally for a deeper search (FUZZ_EXAMPLES=500).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


def fuzz_document(base_url: str, headers: dict[str, str], openapi_path: str = "/openapi.json") -> list[str]:
    """Runs in a worker thread (schemathesis calls are blocking); returns the operations covered."""
    schema = schemathesis.openapi.from_url(base_url + openapi_path)
    covered = []
    for result in schema.get_all_operations():
        operation = result.ok()
        has_input = any(
            len(part) for part in (operation.path_parameters, operation.query, operation.headers, operation.body)
        )
        # Invalid input needs somewhere to put it; an operation without inputs gets valid calls only.
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,)
        for mode in modes:
            run = _fuzz_operation(operation, mode, base_url, headers)
            try:
                run()
            except Unsatisfiable as exc:  # name the operation: hypothesis alone does not
                raise AssertionError(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}") from exc
        covered.append(f"{operation.method.upper()} {operation.path}")
    return covered


def _fuzz_operation(
    operation: object, mode: GenerationMode, base_url: str, headers: dict[str, str]
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES,
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


# What a service asks on its caller's behalf (GATEWAY_DELEGATIONS): the real callee runs too.
CALLEES = {"credentials": "catalog"}


@pytest.mark.parametrize("service", DOMAIN_SERVICES)
async def test_fuzz_each_service(make_app: AppFactory, backend: str, service: str, keys_dir: Path) -> None:
    callee = CALLEES.get(service)
    helper = await LiveServer(await make_app(callee)).start() if callee else None
    server = await LiveServer(await make_app(service, **({f"{callee}_url": helper.url} if helper else {}))).start()
    # As an operator, so that protected operations are exercised beyond their 401.
    headers = identity_headers(keys_dir, service, delegates=(callee,) if callee else ())
    try:
        covered = await asyncio.to_thread(fuzz_document, server.url, headers)
    finally:
        await server.stop()
        if helper is not None:
            await helper.stop()
    assert "POST /internal/events" in covered
    assert f"GET /v1/ops/{service}/outbox" in covered
    if service == "catalog":
        assert "POST /internal/catalog/references" in covered, "what other services ask is fuzzed too"


async def test_fuzz_combined_api_through_gateway(make_app: AppFactory, backend: str, keys_dir: Path) -> None:
    services: dict[str, LiveServer] = {}
    for name in DOMAIN_SERVICES:  # the catalog first: credentials asks it
        callee = CALLEES.get(name)
        services[name] = await LiveServer(
            await make_app(name, **({f"{callee}_url": services[callee].url} if callee else {}))
        ).start()
    gateway = await LiveServer(
        await make_app("gateway", **{f"{name}_url": server.url for name, server in services.items()})
    ).start()
    try:
        covered = await asyncio.to_thread(fuzz_document, gateway.url, bearer(keys_dir))
    finally:
        await gateway.stop()
        for server in services.values():
            await server.stop()
    assert {"GET /readyz", "GET /healthz"} <= set(covered)
    assert {f"GET /v1/ops/{name}/outbox" for name in DOMAIN_SERVICES} <= set(covered)
