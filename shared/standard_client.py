"""The endpoints every Practicum service has, as a client: health, readiness, event inbox.

Each service's ``client.py`` subclasses this and adds its own typed operations.
"""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from shared.client import ServiceClient
from shared.events import EventEnvelope, InboxReceipt
from shared.health import Liveness, Readiness


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """A service's OpenAPI document, kept as plain JSON (the gateway merges them)."""


class StandardServiceClient(ServiceClient):
    async def liveness(self) -> Liveness:
        return await self.request("GET", "/healthz", response_model=Liveness)

    async def readiness(self) -> Readiness:
        return await self.request("GET", "/readyz", response_model=Readiness)

    async def deliver_event(self, envelope: EventEnvelope) -> InboxReceipt:
        """Hand an event to the service's inbox; the event id doubles as the idempotency key."""
        return await self.request(
            "POST",
            "/internal/events",
            json=envelope.model_dump(mode="json"),
            headers={"idempotency-key": str(envelope.id)},
            response_model=InboxReceipt,
        )

    async def openapi(self) -> dict[str, Any]:
        return (await self.request("GET", "/openapi.json", response_model=OpenAPIDocument)).root
