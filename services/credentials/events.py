"""The events this service receives from other services' outboxes: event type → handler (the
handlers live in their areas). Each type is the sender's declared payload (``EventPayload``), so
the type string and the payload's shape come from one place."""

from __future__ import annotations

from services.badges.schemas import BadgeIssued
from services.catalog.schemas import SessionAttended
from services.credentials.awards.service import on_badge_issued
from services.credentials.ledger.service import on_session_attended
from shared.events import EventHandler, handle

EVENT_HANDLERS: dict[str, EventHandler] = dict(
    [
        handle(SessionAttended, on_session_attended),
        handle(BadgeIssued, on_badge_issued),
    ]
)
