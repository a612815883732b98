"""Tables of the catalog service, all in its own schema ``catalog``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "catalog"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


# Made by migrations 0003 and 0007, not by the ORM: the PostgreSQL generated tsvector column of
# ``offering_search`` and its GIN index, and SQLite's FTS5 table (with its shadow tables).
# Alembic's comparison skips them.
Base.metadata.info["unmanaged"] = (
    "search_vector",
    "ix_offering_search_vector",
    *("offering_fts" + suffix for suffix in ("", "_data", "_idx", "_content", "_docsize", "_config")),
)


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


class CatalogPreferences(Base):
    """A tenant's catalog-wide choices (one row per tenant, created on first change)."""

    __tablename__ = "catalog_preferences"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Anyone may browse the tenant's published offerings without a token.
    public_catalog: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Offering(Base):
    """Something an educator can learn from: a workshop, an academy, a micro-credential …

    ``revision`` counts changes and is the ETag: an update naming an older one (If-Match) is
    refused with 412. What search reads of it lives in ``OfferingSearch``.
    """

    __tablename__ = "offerings"
    __table_args__ = (
        Index("ix_offerings_tenant_status_created", "tenant_id", "status", "created_at"),
        Index("ix_offerings_tenant_status_duration", "tenant_id", "status", "duration_minutes"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    revision: Mapped[int] = mapped_column(Integer)
    offering_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)  # Markdown
    modality: Mapped[str] = mapped_column(String(32))
    pacing: Mapped[str] = mapped_column(String(16))
    group_format: Mapped[str] = mapped_column(String(16))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    credits: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)  # roles, grade_bands, subjects
    prerequisites: Mapped[dict[str, Any]] = mapped_column(JSON)  # offering_ids, competency_ids
    provider_kind: Mapped[str] = mapped_column(String(16))  # district | external
    provider_name: Mapped[str] = mapped_column(String(300))
    provider_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    stipend_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    tags: Mapped[list[str]] = mapped_column(JSON)
    credential_design_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OfferingSearch(Base):
    """What search reads of an offering, one narrow row per offering (ADR 0012).

    A projection, rewritten by ``services/catalog/search/indexing.py: write_index`` in the same
    transaction as every change to the offering, its status or its aligned statements. Searches
    filter, count and sort here, never on ``offerings``: a search for a common word matches tens
    of thousands of offerings, and reading that many wide offering rows (descriptions, JSON) is
    what made large searches slow. ``facet_key`` packs the five facet values into one integer
    (``search.facet_key``), so facet counts group one small column and facet filters are one
    ``IN``. ``search_body`` is kept out of line on PostgreSQL (migration 0007); its words are
    only read through the full-text index: the generated ``search_vector`` with a GIN index on
    PostgreSQL, the FTS5 table ``offering_fts`` (keyed by ``search_rowid``) on SQLite.
    """

    __tablename__ = "offering_search"
    __table_args__ = (
        Index("ix_offering_search_facets", "tenant_id", "status", "facet_key", "duration_minutes", "created_at"),
        Index("ix_offering_search_newest", "tenant_id", "status", "created_at", "offering_id", "facet_key"),
        Index("ix_offering_search_shortest", "tenant_id", "status", "duration_minutes", "offering_id", "facet_key"),
        # Duration before facet key: SQLite 3.40 returned rows outside a duration range when a
        # join's inner loop searched an index by equality, then facet_key IN (…), then that range
        # (seen in bench/catalog_search.py: a soonest page with 240-minute limit listed 990).
        Index("ix_offering_search_by_id", "tenant_id", "status", "offering_id", "duration_minutes", "facet_key"),
        # What changed since a search index snapshot was read (services/catalog/search/memory.py).
        Index("ix_offering_search_changes", "tenant_id", "search_version"),
    )

    offering_id: Mapped[str] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    facet_key: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    search_rowid: Mapped[int] = mapped_column(BigInteger, unique=True)
    search_title: Mapped[str] = mapped_column(Text)
    search_body: Mapped[str] = mapped_column(Text)
    # The tenant's search version (``SearchVersion``) of the last transaction that changed
    # anything a search reads of this offering: this row, its audience, alignments or sessions.
    search_version: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchVersion(Base):
    """A tenant's catalog search version, raised once by every committed transaction that
    changed what a search of the tenant could answer (``search.touch``), which also stamps the
    offerings it changed with the new value (``OfferingSearch.search_version``).

    The in-memory search index (services/catalog/search/memory.py, ADR 0016) compares it with the
    version of its snapshot before each search and reads only the offerings stamped later. The
    row is locked from the raise to the commit, so versions commit in order: once a version is
    visible, every offering stamped with it or an earlier one is too.
    """

    __tablename__ = "search_versions"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class OfferingAlignment(Base):
    """An offering's alignment to a competency (a framework item of the same tenant)."""

    __tablename__ = "offering_alignments"
    __table_args__ = (
        UniqueConstraint("offering_id", "item_id"),
        Index("ix_offering_alignments_item", "item_id", "offering_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    offering_id: Mapped[str] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("framework_items.id", ondelete="CASCADE"))


class OfferingAudience(Base):
    """One audience value of an offering (``kind``: role, grade_band or subject), for filtering."""

    __tablename__ = "offering_audiences"
    __table_args__ = (
        UniqueConstraint("offering_id", "kind", "value"),
        Index("ix_offering_audiences_value", "kind", "value", "offering_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    offering_id: Mapped[str] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(100))


class OfferingSession(Base):
    """A scheduled instance of an offering. ``seats_taken`` is the count of registered seats,
    changed only by conditional UPDATEs so that the last seat goes to exactly one request."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_offering_starts", "offering_id", "starts_at"),
        Index(
            "ix_sessions_upcoming",
            "status",
            "starts_at",
            "offering_id",
            "capacity",
            "seats_taken",
            "registration_opens_at",
            "registration_closes_at",
        ),
        Index(
            "ix_sessions_offering_upcoming",
            "offering_id",
            "status",
            "starts_at",
            "capacity",
            "seats_taken",
            "registration_opens_at",
            "registration_closes_at",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    offering_id: Mapped[str] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA name, for showing local times
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    online_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    registration_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    registration_closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # scheduled | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Registration(Base):
    """An educator's place in a session: ``registered``, ``waitlisted`` (in ``requested_at``
    order) or ``cancelled``. One row per educator and session; registering again reuses it."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("session_id", "educator_id"),
        Index("ix_registrations_waitlist", "session_id", "status", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    educator_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    promoted_from_waitlist: Mapped[bool] = mapped_column(default=False)


class Attendance(Base):
    """Minutes an educator attended a session; recording it emits ``session.attended``."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "educator_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    offering_id: Mapped[str] = mapped_column(String(36), index=True)
    educator_id: Mapped[str] = mapped_column(String(200), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    attended_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))


class Pathway(Base):
    """A named structure of offerings (and other pathways) leading to a credential.

    ``structure`` keeps the steps as written (``schemas.PathwayStructure``). Offerings are named
    by id only, checked against the tenant's offerings whenever the pathway is written;
    ``offering_ids`` and ``pathway_ids`` list every id the structure names, so references are
    found without walking each structure.
    """

    __tablename__ = "pathways"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    credential_design_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    structure: Mapped[dict[str, Any]] = mapped_column(JSON)
    offering_ids: Mapped[list[str]] = mapped_column(JSON)
    pathway_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
