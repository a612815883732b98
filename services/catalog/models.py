"""Tables of the catalog service, all in its own schema ``catalog``."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "catalog"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events this service promised to deliver to others (see shared/outbox.py)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has already processed, so redeliveries change nothing."""
