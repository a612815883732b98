"""Typed client other services use to reach the credentials service."""

from __future__ import annotations

from collections.abc import Sequence

from services.credentials.schemas import DesignLookup, DesignReferences, OutboxSummary
from shared.auth import Principal
from shared.standard_client import StandardServiceClient


class CredentialsClient(StandardServiceClient):
    service = "credentials"

    async def outbox_summary(self) -> OutboxSummary:
        return await self.request("GET", "/v1/ops/credentials/outbox", response_model=OutboxSummary)

    async def design_references(self, who: Principal, design_ids: Sequence[str]) -> DesignReferences:
        """Which of these credential designs exist in ``who``'s tenant, asked as ``who`` (the
        credentials service checks that caller's tenant and ``credentials:read``)."""
        lookup = DesignLookup(design_ids=list(design_ids))
        return await self.request(
            "POST",
            "/internal/credentials/references",
            json=lookup.model_dump(mode="json"),
            response_model=DesignReferences,
            on_behalf_of=who,
        )
