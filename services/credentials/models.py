"""Tables of the credentials service, all in its own schema ``credentials``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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


# The states of a pursuit that is still going (pursuits/service.py holds the state machine).
OPEN_PURSUIT = "state IN ('planning', 'plan_review', 'active') AND duplicate_of IS NULL"
# An award that stands: not revoked (a renewal reissues the badge of the same award).
STANDING_AWARD = "status != 'revoked' AND duplicate_of IS NULL"


class Pursuit(Base):
    """An educator working toward a design's tiers, on the design version it started under.
    At most one open pursuit per educator and design (a partial unique index)."""

    __tablename__ = "pursuits"
    __table_args__ = (
        Index("ix_pursuits_tenant_educator", "tenant_id", "educator_id"),
        Index(
            "uq_pursuits_one_open",
            "tenant_id",
            "educator_id",
            "design_id",
            unique=True,
            sqlite_where=text(OPEN_PURSUIT),
            postgresql_where=text(OPEN_PURSUIT),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    educator_id: Mapped[str] = mapped_column(String(200))
    design_id: Mapped[str] = mapped_column(ForeignKey("credential_designs.id", ondelete="RESTRICT"), index=True)
    design_version: Mapped[int] = mapped_column(Integer)
    offering_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # a catalog offering
    # Copied from that offering when the pursuit starts (checked with the catalog then): what
    # awards put in the ledger for the HR export, so the export never has to ask the catalog.
    offering_title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    provider_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    provider_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Who the tier badges name (the badges service hashes the email into each credential).
    recipient_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    recipient_id: Mapped[str | None] = mapped_column(String(500), nullable=True)  # a DID or URL
    state: Mapped[str] = mapped_column(String(24))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set only by migration 0008 on open pursuits that duplicated an earlier one (kept, reported,
    # and left out of the one-open-pursuit index): the id of the pursuit that was kept.
    duplicate_of: Mapped[str | None] = mapped_column(String(36), nullable=True)


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


class Submission(Base):
    """One attempt at a tier's evidence. ``state``: draft → submitted → (in review) → passed or
    returned (a returned tier is tried again as a new attempt); ``withdrawn`` when abandoned."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("pursuit_id", "tier_key", "attempt"),
        Index("ix_submissions_queue", "tenant_id", "state", "submitted_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    pursuit_id: Mapped[str] = mapped_column(ForeignKey("pursuits.id", ondelete="CASCADE"), index=True)
    educator_id: Mapped[str] = mapped_column(String(200))
    design_id: Mapped[str] = mapped_column(String(36))
    tier_key: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    evidence_public: Mapped[bool] = mapped_column(default=False)  # links may go on the badge
    school_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # the educator's, if known
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EvidenceItem(Base):
    """A piece of evidence for one requirement: a reflection's text, a link, or a stored file
    (``storage_key``; its type sniffed from content, its SHA-256 recorded)."""

    __tablename__ = "evidence_items"
    __table_args__ = (Index("ix_evidence_items_submission", "submission_id", "requirement_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    requirement_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    word_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    media_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contains_student_information: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # file deleted (retention)


class CoachingConversation(Base):
    """A logged coaching conversation. Coaching is non-evaluative: notes are for the educator
    and the coach, never shown to assessors. At the resubmission cap one must follow the last
    return before the tier can be submitted again."""

    __tablename__ = "coaching_conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    pursuit_id: Mapped[str] = mapped_column(ForeignKey("pursuits.id", ondelete="CASCADE"), index=True)
    tier_key: Mapped[str] = mapped_column(String(40))
    coach_id: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    logged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Assessor(Base):
    """Someone who may score submissions in a tenant: optionally only for some designs, and with
    the school they belong to (so that, if the district wishes, nobody scores their own school)."""

    __tablename__ = "assessors"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assessor_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    school_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    design_ids: Mapped[list[str]] = mapped_column(JSON)  # empty: every design
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ReviewAssignment(Base):
    """An assessor's review of one submission. ``role``: ``primary`` decides; ``second`` scores
    blind for the agreement figures (double scoring). ``scores``: one per rubric criterion."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        # One live assignment per role; withdrawn ones stay as history.
        Index(
            "uq_review_assignments_live_role",
            "submission_id",
            "role",
            unique=True,
            sqlite_where=text("state != 'withdrawn'"),
            postgresql_where=text("state != 'withdrawn'"),
        ),
        Index("ix_review_assignments_assessor", "tenant_id", "assessor_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    assessor_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))  # assigned | scored | withdrawn
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    assigned_by: Mapped[str] = mapped_column(String(200))
    scores: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)  # pass | return
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    scored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Award(Base):
    """A passed tier: what was earned (rubric results, minutes, stipend) under which design
    version, and the badge the badges service issued for it (filled in by ``badge.issued``).
    At most one standing (not revoked) award per educator, design and tier (a partial unique
    index); one earned after a revocation names the award it replaces."""

    __tablename__ = "awards"
    __table_args__ = (
        Index(
            "uq_awards_one_standing",
            "tenant_id",
            "educator_id",
            "design_id",
            "tier_key",
            unique=True,
            sqlite_where=text(STANDING_AWARD),
            postgresql_where=text(STANDING_AWARD),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id", ondelete="RESTRICT"), unique=True)
    pursuit_id: Mapped[str] = mapped_column(ForeignKey("pursuits.id", ondelete="RESTRICT"), index=True)
    educator_id: Mapped[str] = mapped_column(String(200), index=True)
    design_id: Mapped[str] = mapped_column(String(36))
    design_version: Mapped[int] = mapped_column(Integer)
    tier_key: Mapped[str] = mapped_column(String(40))
    tier_title: Mapped[str] = mapped_column(String(300))
    competency_ids: Mapped[list[str]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{criterion, level}]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # references, never contents
    pd_minutes: Mapped[int] = mapped_column(Integer)
    stipend_cents: Mapped[int] = mapped_column(Integer)
    achievement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # granted | revoked
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # pending (asked) | issued | no_recipient (nobody to name) ; then the badge's id and links
    badge_status: Mapped[str] = mapped_column(String(16))
    badge_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    badge_links: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    # The revoked award of the same educator, design and tier that this one was earned after.
    replaces_award_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Set only by migration 0008 on standing awards that duplicated an earlier one (kept with
    # their ledger entries, reported, left out of the one-standing-award index).
    duplicate_of: Mapped[str | None] = mapped_column(String(36), nullable=True)


class EducatorProfile(Base):
    """The few facts about an educator that HR exports and reports need, synced by the district's
    LMS/SIS (identity itself lives in the gateway)."""

    __tablename__ = "educator_profiles"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    educator_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the SIS id
    state_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the state educator id
    school_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    school_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TenantPolicy(Base):
    """A district's record-keeping policy: when its licensure cycles start and how long it keeps
    student data. A tenant without a row has the defaults."""

    __tablename__ = "tenant_policies"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    licensure_cycle_start_month: Mapped[int] = mapped_column(Integer, default=7)
    licensure_cycle_start_day: Mapped[int] = mapped_column(Integer, default=1)
    licensure_cycle_years: Mapped[int] = mapped_column(Integer, default=5)
    student_data_retention_days: Mapped[int] = mapped_column(Integer, default=365)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
