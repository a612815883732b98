"""Tables of the badges service, all in its own schema ``badges``.

Issued credentials are stored exactly as signed (JSON and compact JWT/JWS text): what a verifier
fetched once must be byte-for-byte what it fetches again. Status is not stored in the signed
documents: it lives in ``Badge.status`` and the status lists are derived from it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column

from shared.db import UTCDateTime, service_metadata
from shared.outbox import InboxMixin, OutboxMixin

SCHEMA = "badges"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class OutboxEvent(OutboxMixin, Base):
    """Events this service promised to deliver to others (see shared/outbox.py)."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has already processed, so redeliveries change nothing."""


class Issuer(Base):
    """An issuer profile of a tenant (the district, or one of its schools)."""

    __tablename__ = "issuers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    email: Mapped[str] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Whether new credentials carry a suspension status entry besides the revocation one. Off by
    # default: two entries make ``credentialStatus`` an array, which the OB 3.0 JSON Schema
    # refuses (ADR 0010).
    suspendable: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IssuerKey(Base):
    """A signing key of an issuer. ``purpose``: ``data_integrity`` (Ed25519) or ``jose`` (RSA).

    ``state``: ``active`` (signs new credentials; one per issuer and purpose), ``retired`` (still
    published so what it signed keeps verifying) or ``revoked`` (compromised: withdrawn from the
    issuer's documents, so nothing it signed verifies any more).
    """

    __tablename__ = "issuer_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)  # publicKeyMultibase (Ed25519) or PEM (RSA)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Achievement(Base):
    """An achievement (OB 3.0 Achievement / OB 2.0 BadgeClass); its content lives in versions."""

    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id", ondelete="RESTRICT"), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AchievementVersion(Base):
    """One immutable version of an achievement: what credentials issued under it embed."""

    __tablename__ = "achievement_versions"
    __table_args__ = (UniqueConstraint("achievement_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # the API's fields, as validated
    image: Mapped[bytes] = mapped_column(LargeBinary)
    image_type: Mapped[str] = mapped_column(String(32))  # image/png or image/svg+xml
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class StatusList(Base):
    """A Bitstring status list of one issuer and purpose (``revocation`` or ``suspension``).

    The bits are derived from the badges' status whenever the list is served; only the last
    signed credential is kept, keyed by a digest of its bits, so it is re-signed only on change.
    """

    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[bool] = mapped_column(default=False)
    signed_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_credential: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Badge(Base):
    """One award, in every representation, signed once at issue."""

    __tablename__ = "badges"
    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index"),
        UniqueConstraint("suspension_list_id", "suspension_index"),
        Index("ix_badges_tenant_issued", "tenant_id", "issued_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id", ondelete="RESTRICT"), index=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id", ondelete="RESTRICT"), index=True)
    achievement_version: Mapped[int] = mapped_column(Integer)
    # Personal data: a keyed digest finds a recipient's badges; the email itself is not stored.
    recipient_lookup: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    recipient_id: Mapped[str | None] = mapped_column(String(500), nullable=True)  # DID or URL
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | suspended | revoked
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"), index=True)
    revocation_index: Mapped[int] = mapped_column(Integer)
    # None when the issuer did not publish suspension for this badge: it cannot be suspended.
    suspension_list_id: Mapped[str | None] = mapped_column(ForeignKey("status_lists.id"), nullable=True, index=True)
    suspension_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    credential: Mapped[dict[str, Any]] = mapped_column(JSON)  # OB 3.0, Data Integrity proof
    credential_jwt: Mapped[str] = mapped_column(Text)  # the same credential as VC-JWT
    ob2_assertion: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # hosted
    ob2_jws: Mapped[str | None] = mapped_column(Text, nullable=True)  # signed
    ob2_signed_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)  # urn:uuid
    # Who earned it as the gateway names people (``Principal.subject``), when known: awards from
    # the credentials service carry their educator. The earner decides what the public page shows.
    earner_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Display name: never in the signed credential; on the public page only while ``show_name``.
    recipient_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # What the public badge page shows beyond the achievement (ADR 0014): nothing personal until
    # the earner says so.
    show_name: Mapped[bool] = mapped_column(default=False, server_default=false())
    show_results: Mapped[bool] = mapped_column(default=False, server_default=false())
    show_evidence: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Lineage (services/badges/issuing/reissue.py): a renewal or correction is a new badge that replaces
    # an old one, which is revoked or left valid but superseded. One successor per badge (unique).
    replaces_id: Mapped[str | None] = mapped_column(
        ForeignKey("badges.id", ondelete="RESTRICT"), nullable=True, unique=True
    )
    replaced_by_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reissue_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)  # renewal | correction
    reissue_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # What became of the badge this one replaces: revoked | superseded.
    predecessor_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)


def status_slot(
    purpose: str,
) -> tuple[InstrumentedAttribute[str] | InstrumentedAttribute[str | None], InstrumentedAttribute[Any], str]:
    """For a status purpose: the badge's list column, its index column, and the status that sets
    the bit (``revocation`` → revoked, ``suspension`` → suspended)."""
    if purpose == "revocation":
        return Badge.revocation_list_id, Badge.revocation_index, "revoked"
    return Badge.suspension_list_id, Badge.suspension_index, "suspended"


class IdempotencyKey(Base):
    """``Idempotency-Key`` of a POST /v1/badges: same key and body → the same badge."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(200))
    request_digest: Mapped[str] = mapped_column(String(64))
    badge_id: Mapped[str] = mapped_column(ForeignKey("badges.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BulkJob(Base):
    """A bulk issuance job: a file of rows, each to become one badge (services/badges/bulk/service.py).

    ``digest`` identifies the rows as submitted: the same file sent again by the same tenant is
    this job, not a second one. Progress is counted from the rows, never kept here, so it cannot
    drift from them.
    """

    __tablename__ = "bulk_jobs"
    __table_args__ = (UniqueConstraint("tenant_id", "digest"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))  # csv | json
    total: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BulkRow(Base):
    """One row of a bulk job. ``status``: ``pending`` (to issue), ``issued`` (``badge_id`` set;
    ``replayed`` when its external id had been issued before, by this or an earlier job) or
    ``failed`` (``error`` says why). Workers claim pending rows with a lease (``locked_by``,
    ``locked_until``); a row is marked in the transaction that writes its badge."""

    __tablename__ = "bulk_rows"
    __table_args__ = (
        UniqueConstraint("job_id", "row_number"),
        # The claim walks pending rows oldest first, each job in row order; the job's pages walk
        # one status in row order.
        Index("ix_bulk_rows_due", "status", "created_at", "job_id", "row_number"),
        Index("ix_bulk_rows_job_status", "job_id", "status", "row_number"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_jobs.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(36))
    row_number: Mapped[int] = mapped_column(Integer)  # 1 = the first record of the file
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # a BadgeCreate, as validated
    status: Mapped[str] = mapped_column(String(16))
    badge_id: Mapped[str | None] = mapped_column(ForeignKey("badges.id"), nullable=True)
    replayed: Mapped[bool] = mapped_column(default=False, server_default=false())
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # a problem: title, detail, errors
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
