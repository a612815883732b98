"""Tables of the catalog service, all in its own schema ``catalog``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "catalog"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events this service promised to deliver to others (see shared/outbox.py)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has already processed, so redeliveries change nothing."""


class Framework(Base):
    """A competency framework imported from a CASE CFDocument, per tenant.

    ``document`` keeps the CFDocument as imported (every property, including ones Practicum does
    not use), so an export gives back what came in.
    """

    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("tenant_id", "identifier"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    identifier: Mapped[str] = mapped_column(String(36))  # CFDocument GUID
    uri: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(500))
    creator: Mapped[str] = mapped_column(String(500))
    last_change: Mapped[str] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    definitions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class FrameworkItem(Base):
    """A CFItem. ``parent_id`` and ``position`` come from the package's isChildOf associations."""

    __tablename__ = "framework_items"
    __table_args__ = (UniqueConstraint("framework_id", "identifier"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    framework_id: Mapped[str] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(36), index=True)  # CFItem GUID
    uri: Mapped[str] = mapped_column(String(1000))
    human_coding_scheme: Mapped[str | None] = mapped_column(String(100), nullable=True)
    full_statement: Mapped[str] = mapped_column(Text)
    item_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_change: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)


class FrameworkAssociation(Base):
    """A CFAssociation, as imported (origin and destination may be outside the framework)."""

    __tablename__ = "framework_associations"
    __table_args__ = (UniqueConstraint("framework_id", "identifier"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    framework_id: Mapped[str] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(36))
    association_type: Mapped[str] = mapped_column(String(100))
    origin_identifier: Mapped[str] = mapped_column(String(200), index=True)
    destination_identifier: Mapped[str] = mapped_column(String(200), index=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
