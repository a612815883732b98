"""Wire contract of the badges service; other services may import these models."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from shared.events import EventEnvelope, EventPayload, InboxReceipt
from shared.health import Liveness, Readiness
from shared.outbox_ops import OutboxEventRead, OutboxSummary

__all__ = [
    "EventEnvelope",
    "InboxReceipt",
    "Liveness",
    "OutboxEventRead",
    "OutboxSummary",
    "Readiness",
]

ACHIEVEMENT_TYPES = [
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
]

# An absolute http(s) URL without whitespace; JSON-LD would refuse anything else as an id.
URL_PATTERN = r"^https?://[^\s<>\"{}|\\^`]+$"
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- issuers and keys -------------------------------------------------------------------------


class Address(Strict):
    street_address: str | None = Field(default=None, max_length=200)
    address_locality: str | None = Field(default=None, max_length=100)
    address_region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    address_country: str | None = Field(default=None, max_length=100)

    def to_ob(self) -> dict[str, str]:
        names = {
            "street_address": "streetAddress",
            "address_locality": "addressLocality",
            "address_region": "addressRegion",
            "postal_code": "postalCode",
            "address_country": "addressCountry",
        }
        return {names[k]: v for k, v in self.model_dump().items() if v}


class IssuerWrite(Strict):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500, pattern=URL_PATTERN, description="the issuer's public web site")
    email: str = Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    description: str | None = Field(default=None, max_length=5000)
    image_url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ().-]{3,40}$")
    address: Address | None = None
    suspendable: StrictBool = Field(
        default=False,
        description="publish a suspension status entry besides the revocation one in new credentials, so "
        "they can be suspended and reinstated; their credentialStatus is then an array, which the official "
        "OB 3.0 JSON Schema refuses (see ADR 0010). Applies to badges issued afterwards.",
    )


class IssuerUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    description: str | None = Field(default=None, max_length=5000)
    image_url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ().-]{3,40}$")
    address: Address | None = None
    suspendable: StrictBool | None = Field(
        default=None,
        description="publish a suspension status entry besides the revocation one in new credentials, so "
        "they can be suspended and reinstated; their credentialStatus is then an array, which the official "
        "OB 3.0 JSON Schema refuses (see ADR 0010). Applies to badges issued afterwards.",
    )


class KeyRead(BaseModel):
    id: str
    purpose: Literal["data_integrity", "jose"]
    algorithm: str
    state: Literal["active", "retired", "revoked"]
    verification_method: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    revoked_at: dt.datetime | None


class IssuerRead(BaseModel):
    id: str
    did: str
    name: str
    url: str
    email: str
    description: str | None
    image_url: str | None
    phone: str | None
    address: dict[str, Any] | None
    suspendable: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    keys: list[KeyRead]
    links: dict[str, str]


class KeyRotation(Strict):
    purpose: Literal["data_integrity", "jose"]


class KeyRevocation(Strict):
    reason: str = Field(min_length=1, max_length=500)


# --- achievements -----------------------------------------------------------------------------


class Criteria(Strict):
    narrative: str | None = Field(default=None, max_length=20_000, description="Markdown")
    url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)

    @model_validator(mode="after")
    def _something(self) -> Criteria:
        if not self.narrative and not self.url:
            raise ValueError("criteria needs a narrative, a url, or both")
        return self


class Alignment(Strict):
    target_name: str = Field(min_length=1, max_length=500)
    target_url: str = Field(max_length=500, pattern=URL_PATTERN, description="the CASE CFItem URI")
    target_code: str | None = Field(default=None, max_length=100, description="the CFItem identifier (GUID)")
    target_framework: str | None = Field(default=None, max_length=500)
    target_description: str | None = Field(default=None, max_length=2000)


class RubricLevel(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    level: str | None = Field(default=None, max_length=50)
    points: str | None = Field(default=None, max_length=20)


class ResultDescription(Strict):
    key: str = Field(pattern=KEY_PATTERN, description="stable key of the rubric criterion")
    name: str = Field(min_length=1, max_length=200)
    levels: list[RubricLevel] = Field(min_length=1, max_length=10)
    required_level: str | None = Field(default=None, pattern=KEY_PATTERN, description="key of the passing level")

    @model_validator(mode="after")
    def _levels_known(self) -> ResultDescription:
        keys = [level.key for level in self.levels]
        if len(set(keys)) != len(keys):
            raise ValueError("level keys must be unique within a criterion")
        if self.required_level is not None and self.required_level not in keys:
            raise ValueError(f"required_level {self.required_level!r} is not one of the levels")
        return self


class AchievementWrite(Strict):
    issuer_id: str = Field(max_length=36)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    criteria: Criteria
    achievement_type: str | None = Field(default=None, max_length=60)
    alignments: list[Alignment] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=30)
    credits_available: float | None = Field(default=None, ge=0, le=1000, strict=True)
    field_of_study: str | None = Field(default=None, max_length=200)
    human_code: str | None = Field(default=None, max_length=50)
    result_descriptions: list[ResultDescription] = Field(default_factory=list, max_length=30)

    @field_validator("achievement_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is None or value in ACHIEVEMENT_TYPES:
            return value
        import re

        if re.fullmatch(r"ext:[A-Za-z0-9._-]+", value):
            return value
        raise ValueError("achievementType must be one of the OB 3.0 vocabulary or 'ext:<Name>'")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [tag.strip() for tag in value]
        if any(not tag or len(tag) > 60 for tag in cleaned):
            raise ValueError("tags are 1 to 60 characters")
        return cleaned

    @model_validator(mode="after")
    def _unique_criteria(self) -> AchievementWrite:
        keys = [rd.key for rd in self.result_descriptions]
        if len(set(keys)) != len(keys):
            raise ValueError("result description keys must be unique")
        return self


class AchievementUpdate(Strict):
    """Only the fields given change; the result is a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    criteria: Criteria | None = None
    achievement_type: str | None = Field(default=None, max_length=60)
    alignments: list[Alignment] | None = Field(default=None, max_length=50)
    tags: list[str] | None = Field(default=None, max_length=30)
    credits_available: float | None = Field(default=None, ge=0, le=1000, strict=True)
    field_of_study: str | None = Field(default=None, max_length=200)
    human_code: str | None = Field(default=None, max_length=50)
    result_descriptions: list[ResultDescription] | None = Field(default=None, max_length=30)


class AchievementRead(BaseModel):
    id: str
    issuer_id: str
    version: int
    content: dict[str, Any]
    image_type: str
    achievement: dict[str, Any] = Field(description="the OB 3.0 Achievement of this version")
    created_at: dt.datetime
    updated_at: dt.datetime
    links: dict[str, str]


# --- badges -----------------------------------------------------------------------------------


class Recipient(Strict):
    email: str | None = Field(default=None, max_length=320, pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")
    id: str | None = Field(
        default=None, max_length=500, pattern=r"^(did:[a-z0-9]+:[^\s]+|https?://[^\s]+)$", description="a DID or URL"
    )
    name: str | None = Field(default=None, max_length=200, description="display name (not in the credential)")

    @model_validator(mode="after")
    def _identified(self) -> Recipient:
        if not self.email and not self.id:
            raise ValueError("a recipient needs an email, a DID/URL id, or both")
        return self


class Evidence(Strict):
    url: str | None = Field(default=None, max_length=1000, pattern=URL_PATTERN)
    name: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    genre: str | None = Field(default=None, max_length=100)
    narrative: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _something(self) -> Evidence:
        if not (self.url or self.name or self.description or self.narrative):
            raise ValueError("evidence needs at least a url, name, description or narrative")
        return self


class ResultGiven(Strict):
    criterion: str = Field(pattern=KEY_PATTERN, description="key of the achievement's rubric criterion")
    level: str = Field(pattern=KEY_PATTERN, description="key of the level achieved")


class BadgeContent(Strict):
    """What a badge says about its recipient's achievement: given to issue and to reissue."""

    recipient: Recipient
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)
    narrative: str | None = Field(default=None, max_length=10_000)
    results: list[ResultGiven] = Field(default_factory=list, max_length=30)
    # Not strict: a bulk CSV gives it as text. A boolean is still no number.
    credits_earned: float | None = Field(default=None, ge=0, le=1000)
    activity_start: dt.datetime | None = None
    activity_end: dt.datetime | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    awarded_date: dt.datetime | None = None

    @field_validator("credits_earned", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        return value

    @model_validator(mode="after")
    def _times(self) -> BadgeContent:
        for name in ("activity_start", "activity_end", "valid_from", "valid_until", "awarded_date"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. Z or +00:00)")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.activity_start and self.activity_end and self.activity_end < self.activity_start:
            raise ValueError("activity_end must not be before activity_start")
        return self


class BadgeCreate(BadgeContent):
    achievement_id: str = Field(max_length=36)


class BadgeSharing(BaseModel):
    """What the badge's public page shows besides the achievement, its issuer and its status."""

    show_name: bool = Field(description="the recipient's display name is on the page")
    recipient_name: str | None = Field(description="the display name (never in the signed credential)")
    show_results: bool = Field(description="the rubric results are on the page")
    show_evidence: bool = Field(description="the evidence links are on the page")
    earner_id: str | None = Field(description="the person who earned it, when known: they may change these choices")


class SharingUpdate(Strict):
    """Only the fields given change. Nothing personal is public until the earner says so."""

    show_name: StrictBool | None = None
    recipient_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="the display name to show; null removes it"
    )
    show_results: StrictBool | None = None
    show_evidence: StrictBool | None = None

    @model_validator(mode="after")
    def _something(self) -> SharingUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of show_name, recipient_name, show_results, show_evidence")
        return self


class BadgeLineage(BaseModel):
    """Where a reissued badge comes from and what replaced it (renewals and corrections)."""

    replaces: str | None = Field(description="the badge this one replaces")
    replaced_by: str | None = Field(description="the badge that replaces this one")
    kind: Literal["renewal", "correction"] | None = Field(description="why this badge was issued again")
    reason: str | None
    predecessor_outcome: Literal["revoked", "superseded"] | None = Field(
        description="what became of the replaced badge: revoked, or left valid and superseded"
    )


class BadgeReissue(BadgeContent):
    """A new badge of the same achievement for the same recipient, replacing this one.

    The content is given afresh, as for a new badge (a correction says what is right; a renewal
    gives the new validity); the achievement's current version is used. The recipient must be
    the same person: the email (or DID/URL) is checked against the old badge, which keeps only
    a keyed digest of it.
    """

    kind: Literal["renewal", "correction"]
    old_badge: Literal["revoke", "supersede"] = Field(
        description="revoke: the old credential stops verifying; supersede: it stays valid, marked as replaced"
    )
    reason: str | None = Field(default=None, max_length=500)

    def as_create(self, achievement_id: str) -> BadgeCreate:
        """The issue request this reissue amounts to (its checks run there)."""
        fields = self.model_dump(exclude={"kind", "old_badge", "reason"})
        return BadgeCreate.model_validate({"achievement_id": achievement_id, **fields})


class BadgeRead(BaseModel):
    id: str
    achievement_id: str
    achievement_version: int
    issuer_id: str
    status: Literal["active", "suspended", "revoked"]
    status_reason: str | None
    issued_at: dt.datetime
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    credential: dict[str, Any]
    sharing: BadgeSharing
    lineage: BadgeLineage
    links: dict[str, str]


class BadgePage(BaseModel):
    items: list[BadgeRead]
    next_cursor: str | None


class StatusChange(Strict):
    reason: str | None = Field(default=None, max_length=500)


# --- bulk issuance ----------------------------------------------------------------------------


class BulkRowIn(BadgeCreate):
    """One row of a bulk job sent as JSON: a badge as ``POST /v1/badges`` takes it, with the
    row's id in the caller's system. The id is the row's Idempotency-Key: one badge per
    external id and tenant, however often it is sent."""

    external_id: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", description="the row's id in your system"
    )


class RowProblem(BaseModel):
    """Why one row of a bulk job issued no badge (a problem, as RFC 9457, for one row)."""

    row: int = Field(description="1 = the first record of the file (a CSV's header is not counted)")
    external_id: str | None
    type: str
    title: str
    detail: str | None
    errors: list[dict[str, str]] = Field(
        description="pointer (into the row: a JSON pointer, or /<CSV column>) and detail"
    )


class RowBadge(BaseModel):
    """The badge one row of a bulk job issued."""

    row: int
    external_id: str
    badge_id: str
    replayed: bool = Field(description="the external id was issued before: this is that badge, nothing new was signed")
    links: dict[str, str]


class RowProblemPage(BaseModel):
    items: list[RowProblem]
    next: str | None = Field(description="the next page, or null")


class RowBadgePage(BaseModel):
    items: list[RowBadge]
    next: str | None = Field(description="the next page, or null")


class JobRead(BaseModel):
    id: str
    status: Literal["queued", "running", "done"]
    source: Literal["csv", "json"]
    total: int
    done: int = Field(description="rows that have their badge")
    failed: int = Field(description="rows that issued no badge; errors says why")
    pending: int
    replayed: int = Field(description="of done: rows whose external id had been issued before")
    created_at: dt.datetime
    finished_at: dt.datetime | None
    errors: RowProblemPage = Field(description="the first page of row errors, in row order")
    badges: RowBadgePage = Field(description="the first page of issued badges, in row order")
    links: dict[str, str]


# --- verifier ---------------------------------------------------------------------------------


class VerifyRequest(Strict):
    credential: dict[str, Any] | str | None = Field(
        default=None, description="an OB 3.0 credential (JSON-LD object or VC-JWT) or OB 2.0 assertion (JSON or JWS)"
    )
    url: str | None = Field(default=None, max_length=2000, pattern=URL_PATTERN, description="a hosted OB 2.0 assertion")
    recipient: str | None = Field(default=None, max_length=500, description="email, DID or URL to match")

    @model_validator(mode="after")
    def _one(self) -> VerifyRequest:
        if (self.credential is None) == (self.url is None):
            raise ValueError("give exactly one of credential and url")
        return self


class SchemaFinding(BaseModel):
    """What a JSON Schema says of a document at one place: the schema (its ``$id``), the JSON
    pointer into the document and the validator's message."""

    schema_id: str = Field(description="the $id of the JSON Schema that rejects the document")
    path: str = Field(description="JSON pointer into the credential: where the schema rejects it")
    message: str


class Check(BaseModel):
    name: str
    passed: bool
    message: str
    severity: Literal["error", "warning"] = Field(
        default="error",
        description=(
            "error: a failed check makes the credential unverified; warning: the check failed and says so, "
            "but the credential still verifies (e.g. the official OB 3.0 schema's refusal of a credentialStatus "
            "array, ADR 0010)"
        ),
    )
    findings: list[SchemaFinding] = Field(
        default_factory=list, description="the schema check's findings, each naming the schema and the failing path"
    )


class VerifyReport(BaseModel):
    verified: bool = Field(description="every check of severity error passed (and the recipient, if given, matched)")
    format: str
    issuer: str | None
    status: str | None = Field(description="active, revoked, suspended or expired, when known")
    checks: list[Check]
    recipient_matched: bool | None = Field(
        default=None, description="whether the recipient given matched (also reported as the check 'recipient')"
    )


class BadgeIssued(EventPayload):
    """Payload of ``badge.issued``: the badge issued for an award of the credentials service."""

    event_type: ClassVar[str] = "badge.issued"

    award_id: str
    badge_id: str
    links: dict[str, str]
