"""Typed client other services use to reach the catalog service."""

from __future__ import annotations

from services.catalog.schemas import OutboxSummary
from shared.standard_client import StandardServiceClient


class CatalogClient(StandardServiceClient):
    service = "catalog"

    async def outbox_summary(self) -> OutboxSummary:
        return await self.request("GET", "/v1/ops/catalog/outbox", response_model=OutboxSummary)
