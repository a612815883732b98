"""Typed client for the gateway's own endpoints (used by tools, benchmarks and tests)."""

from __future__ import annotations

from services.gateway.schemas import GatewayReadiness
from shared.client import ServiceClient


class GatewayClient(ServiceClient):
    service = "gateway"

    async def readiness(self) -> GatewayReadiness:
        return await self.request("GET", "/readyz", response_model=GatewayReadiness)
