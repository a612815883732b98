"""Tables of the gateway, in its own schema ``gateway`` (tenants, users and clients come next)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "gateway"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events the gateway promised to deliver (audit and identity events from the next issue)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events the gateway has already processed."""
