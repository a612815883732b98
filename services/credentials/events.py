"""The events this service receives from other services' outboxes: event type → handler (the
handlers live in their areas)."""

from __future__ import annotations

from services.credentials.awards.service import on_badge_issued
from services.credentials.ledger.service import on_session_attended
from shared.outbox import EventHandler

EVENT_HANDLERS: dict[str, EventHandler] = {
    "session.attended": on_session_attended,
    "badge.issued": on_badge_issued,
}
