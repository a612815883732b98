"""Typed client other services use to reach the credentials service."""

from __future__ import annotations

from services.credentials.schemas import OutboxSummary
from shared.standard_client import StandardServiceClient


class CredentialsClient(StandardServiceClient):
    service = "credentials"

    async def outbox_summary(self) -> OutboxSummary:
        return await self.request("GET", "/v1/ops/credentials/outbox", response_model=OutboxSummary)
