"""What the gateway computes itself: aggregated readiness and the combined OpenAPI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.gateway.proxy.openapi import combine
from services.gateway.proxy.proxy import RouteTable
from services.gateway.schemas import GatewayReadiness, ServiceReadiness
from shared.health import ReadinessCheck
from shared.problems import GatewayTimeout, Problem, ServiceUnavailable
from shared.standard_client import StandardServiceClient


async def _probe(name: str, client: StandardServiceClient) -> ServiceReadiness:
    started = time.perf_counter()
    status = "ready"
    detail: str | None = None
    try:
        await client.readiness()
    except ServiceUnavailable as exc:
        status = "unreachable" if exc.extensions.get("reason") == "unreachable" else "not_ready"
        detail = exc.detail
    except GatewayTimeout as exc:
        status, detail = "timeout", exc.detail
    except Problem as exc:
        status, detail = "error", exc.detail
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ServiceReadiness(name=name, status=status, latency_ms=latency, detail=detail)


async def _own(check: ReadinessCheck) -> ServiceReadiness:
    started = time.perf_counter()
    checks = await check()
    failing = [f"{name} {state}" for name, state in checks.items() if state != "ok"]
    return ServiceReadiness(
        name="gateway",
        status="not_ready" if failing else "ready",
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        detail="; ".join(failing) or None,
    )


async def readiness(*, clients: Mapping[str, StandardServiceClient], own_check: ReadinessCheck) -> GatewayReadiness:
    """Probe every service at once; ready only when the gateway and all services are."""
    results = await asyncio.gather(_own(own_check), *(_probe(name, client) for name, client in clients.items()))
    ready = all(result.status == "ready" for result in results)
    return GatewayReadiness(status="ready" if ready else "not_ready", services=list(results))


@dataclass
class OpenAPICache:
    """The combined document, rebuilt at most every ``ttl_s`` while every service answers."""

    ttl_s: float
    _document: dict[str, Any] | None = None
    _built_at: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(
        self, *, gateway_doc: dict[str, Any], clients: Mapping[str, StandardServiceClient], routes: RouteTable
    ) -> dict[str, Any]:
        async with self._lock:
            if self._document is not None and time.monotonic() - self._built_at < self.ttl_s:
                return self._document
            names = list(clients)
            answers = await asyncio.gather(*(clients[name].openapi() for name in names), return_exceptions=True)
            docs: dict[str, dict[str, Any]] = {}
            unavailable: list[str] = []
            for name, answer in zip(names, answers, strict=True):
                if isinstance(answer, Problem):
                    unavailable.append(name)
                elif isinstance(answer, BaseException):
                    raise answer
                else:
                    docs[name] = answer
            document = combine(gateway_doc=gateway_doc, service_docs=docs, routes=routes, unavailable=unavailable)
            if not unavailable:  # never keep an incomplete document
                self._document, self._built_at = document, time.monotonic()
            return document
