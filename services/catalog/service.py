"""Domain logic of the catalog service: async functions that flush and never commit.

The events this service consumes from other services' outboxes are handled here;
``EVENT_HANDLERS`` maps an event type to its handler. Domain issues fill it in.
"""

from __future__ import annotations

from shared.outbox import EventHandler

EVENT_HANDLERS: dict[str, EventHandler] = {}
