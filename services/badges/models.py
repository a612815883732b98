"""Tables of the badges service, all in its own schema ``badges``."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "badges"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events this service promised to deliver to others (see shared/outbox.py)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has already processed, so redeliveries change nothing."""
