"""Tables of the credentials service, all in its own schema ``credentials``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "credentials"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events this service promised to deliver to others (see shared/outbox.py)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has already processed, so redeliveries change nothing."""


class CredentialDesign(Base):
    """A micro-credential design of a tenant. Its content lives in versions: at most one draft
    (the working copy coordinators edit) and any number of published, frozen versions."""

    __tablename__ = "credential_designs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(300))  # of the newest version, for lists
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # newest published
    retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DesignVersion(Base):
    """One version of a design. ``content`` is the whole design as validated (``DesignContent``);
    a published version never changes: pursuits started on it stay on it."""

    __tablename__ = "design_versions"
    __table_args__ = (UniqueConstraint("design_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    design_id: Mapped[str] = mapped_column(ForeignKey("credential_designs.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft | published
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Pursuit(Base):
    """An educator working toward a design's tiers, on the design version it started under."""

    __tablename__ = "pursuits"
    __table_args__ = (Index("ix_pursuits_tenant_educator", "tenant_id", "educator_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    educator_id: Mapped[str] = mapped_column(String(200))
    design_id: Mapped[str] = mapped_column(ForeignKey("credential_designs.id", ondelete="RESTRICT"), index=True)
    design_version: Mapped[int] = mapped_column(Integer)
    offering_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # a catalog offering
    state: Mapped[str] = mapped_column(String(24))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LearningPlan(Base):
    """A pursuit's learning plan; a coordinator approves it or returns it with comments."""

    __tablename__ = "learning_plans"

    pursuit_id: Mapped[str] = mapped_column(ForeignKey("pursuits.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(300))
    smart_goal: Mapped[str] = mapped_column(Text)
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    implementation_plan: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # draft | submitted | approved | returned
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    comments: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PursuitEvent(Base):
    """What happened to a pursuit, in order: the trail coordinators and educators read."""

    __tablename__ = "pursuit_events"
    __table_args__ = (Index("ix_pursuit_events_pursuit", "pursuit_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pursuit_id: Mapped[str] = mapped_column(ForeignKey("pursuits.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class LedgerEntry(Base):
    """PD minutes and stipends owed to an educator, one row per source (an attendance record or
    an award) and kind. The activity's title and provider are copied in: HR exports read them
    without asking the catalog."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "source_id", "kind"),
        Index("ix_ledger_entries_educator", "tenant_id", "educator_id", "occurred_on"),
        Index("ix_ledger_entries_occurred", "tenant_id", "occurred_on", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    educator_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # pd_minutes | stipend
    amount: Mapped[int] = mapped_column(Integer)  # minutes, or cents
    status: Mapped[str] = mapped_column(String(16))  # recorded (minutes) | pending | approved | paid
    source: Mapped[str] = mapped_column(String(16))  # attendance | award
    source_id: Mapped[str] = mapped_column(String(36))
    source_recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # newest version applied
    offering_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    activity_title: Mapped[str] = mapped_column(String(300))
    provider_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    provider_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    credits: Mapped[float | None] = mapped_column(Float, nullable=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
