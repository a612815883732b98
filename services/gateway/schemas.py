"""Wire contract of the gateway's own endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shared.health import Liveness

__all__ = ["GatewayReadiness", "Liveness", "ServiceReadiness"]


class ServiceReadiness(BaseModel):
    name: str
    status: Literal["ready", "not_ready", "unreachable", "timeout", "error"]
    latency_ms: float
    detail: str | None = None


class GatewayReadiness(BaseModel):
    status: Literal["ready", "not_ready"]
    services: list[ServiceReadiness]
