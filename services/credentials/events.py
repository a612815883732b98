"""Domain logic of the credentials service: async functions that flush and never commit.

The events this service consumes from other services' outboxes are handled here;
``EVENT_HANDLERS`` maps an event type to its handler. Domain issues fill it in.
"""

from __future__ import annotations

from services.credentials import awards, ledger
from shared.outbox import EventHandler

EVENT_HANDLERS: dict[str, EventHandler] = {
    "session.attended": ledger.on_session_attended,
    "badge.issued": awards.on_badge_issued,
}
