"""Typed client other services use to reach the badges service."""

from __future__ import annotations

from services.badges.schemas import OutboxSummary
from shared.standard_client import StandardServiceClient


class BadgesClient(StandardServiceClient):
    service = "badges"

    async def outbox_summary(self) -> OutboxSummary:
        return await self.request("GET", "/v1/ops/badges/outbox", response_model=OutboxSummary)
