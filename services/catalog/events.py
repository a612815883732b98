"""The events the catalog receives from other services' outboxes: event type → handler.

None yet: the catalog only sends (``session.attended``, from sessions/service.py). A handler
lives in its area and is listed here."""

from __future__ import annotations

from shared.outbox import EventHandler

EVENT_HANDLERS: dict[str, EventHandler] = {}
