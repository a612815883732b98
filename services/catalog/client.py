"""Typed client other services use to reach the catalog service."""

from __future__ import annotations

from collections.abc import Sequence

from services.catalog.schemas import OutboxSummary, ReferenceLookup, References
from shared.auth import Principal
from shared.standard_client import StandardServiceClient


class CatalogClient(StandardServiceClient):
    service = "catalog"

    async def outbox_summary(self) -> OutboxSummary:
        return await self.request("GET", "/v1/ops/catalog/outbox", response_model=OutboxSummary)

    async def references(
        self, who: Principal, *, item_ids: Sequence[str] = (), offering_ids: Sequence[str] = ()
    ) -> References:
        """Which of these framework items and offerings exist in ``who``'s tenant, asked as
        ``who`` (the catalog checks that caller's tenant and ``catalog:read``)."""
        lookup = ReferenceLookup(item_ids=list(item_ids), offering_ids=list(offering_ids))
        return await self.request(
            "POST",
            "/internal/catalog/references",
            json=lookup.model_dump(mode="json"),
            response_model=References,
            on_behalf_of=who,
        )
