"""Wire contract of the credentials service; other services may import these models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.events import EventEnvelope, EventPayload, InboxReceipt
from shared.health import Liveness, Readiness
from shared.outbox_ops import OutboxEventRead, OutboxSummary

__all__ = ["EventEnvelope", "InboxReceipt", "Liveness", "OutboxEventRead", "OutboxSummary", "Readiness"]


# --- designs ----------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Key = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=300)]

# File types an evidence requirement may allow (media types the upload check recognises).
EVIDENCE_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "audio/mpeg",
        "audio/wav",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)


class EvidenceRequirement(Strict):
    """One piece of evidence a tier asks for."""

    key: Key
    kind: Literal["reflection", "file", "link", "student_data"]
    prompt: Text
    required: StrictBool = True
    min_words: int | None = Field(default=None, ge=1, le=20_000, description="reflection", strict=True)
    max_words: int | None = Field(default=None, ge=1, le=20_000, description="reflection", strict=True)
    allowed_types: list[str] = Field(default_factory=list, max_length=30, description="file, student_data")
    max_bytes: int | None = Field(default=None, ge=1024, le=2 * 1024**3, description="file, student_data", strict=True)
    contains_student_information: StrictBool = Field(
        default=False, description="student_data is always true: never public, never in events, deleted on schedule"
    )


class RubricLevel(Strict):
    key: Key
    name: Name
    description: Text


class RubricCriterion(Strict):
    """A criterion scored on ordered levels (lowest first); it is met at ``passing_level`` or above."""

    key: Key
    name: Name
    description: str | None = Field(default=None, max_length=10_000)
    levels: list[RubricLevel] = Field(min_length=2, max_length=10)
    passing_level: Key


class Rubric(Strict):
    criteria: list[RubricCriterion] = Field(min_length=1, max_length=30)


class Tier(Strict):
    key: Key
    title: Name
    description: Text
    evidence: list[EvidenceRequirement] = Field(min_length=1, max_length=30)
    rubric: Rubric
    pd_minutes: int = Field(default=0, ge=0, le=100_000, strict=True)
    stipend_cents: int = Field(default=0, ge=0, le=100_000_000, strict=True)
    achievement_id: str | None = Field(default=None, max_length=36, description="the badges achievement awarded")
    prerequisite_tiers: list[Key] = Field(default_factory=list, max_length=10, description="earlier tiers' keys")


class DesignSettings(Strict):
    learning_plan_required: StrictBool = False
    min_plan_resources: int = Field(default=2, ge=0, le=20, strict=True)
    resubmission_cap: int = Field(
        default=3, ge=1, le=20, description="submissions before coaching is required", strict=True
    )
    turnaround_business_days: int = Field(default=10, ge=1, le=90, strict=True)
    blind_review: StrictBool = False
    two_stage: StrictBool = Field(default=False, description="the assessor recommends, a coordinator grants")
    double_scoring: StrictBool = False
    assessor_from_other_school: StrictBool = Field(
        default=False, description="never assign an assessor of the educator's own school (from the profiles)"
    )
    validity_months: int | None = Field(
        default=None, ge=1, le=240, description="for renewal; none: no expiry", strict=True
    )


class DesignContent(Strict):
    """A whole design as coordinators write it; a version stores exactly this."""

    name: Name
    summary: str | None = Field(default=None, max_length=5000)
    competency_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(
        default_factory=list,
        max_length=50,
        description="catalog framework items, each by internal id or the district's CASE identifier (CFItem "
        "GUID); checked with the catalog and kept as internal ids",
    )
    tiers: list[Tier] = Field(min_length=1, max_length=12)
    settings: DesignSettings = Field(default_factory=DesignSettings)


class DesignVersionRead(BaseModel):
    version: int
    status: Literal["draft", "published"]
    content: DesignContent
    created_at: dt.datetime
    published_at: dt.datetime | None


class DesignRead(BaseModel):
    id: str
    name: str
    published_version: int | None
    retired: bool
    draft: DesignVersionRead | None = Field(description="the working copy, when there is one")
    published: DesignVersionRead | None = Field(description="the newest published version")
    created_at: dt.datetime
    updated_at: dt.datetime


class DesignSummary(BaseModel):
    id: str
    name: str
    published_version: int | None
    has_draft: bool
    retired: bool
    updated_at: dt.datetime


# --- pursuits and learning plans --------------------------------------------------------------


class PursuitCreate(Strict):
    design_id: str = Field(min_length=1, max_length=36)
    recipient_email: str | None = Field(
        default=None,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="whom the tier badges name; an educator signed in for themselves gets their sign-in "
        "address without giving it (API clients and coordinators acting for an educator give it here)",
    )
    recipient_id: str | None = Field(
        default=None, max_length=500, pattern=r"^(did:[a-z0-9]+:[^\s]+|https?://[^\s]+)$", description="or a DID or URL"
    )
    offering_id: str | None = Field(
        default=None,
        max_length=36,
        description="the catalog offering it came from: a published offering of the district, for this design",
    )
    educator_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="defaults to the caller; others need a coordinator"
    )


class PlanResource(Strict):
    title: Name
    kind: Literal["research_text", "course", "event", "video", "other"] = "other"
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^\s]+$")


class PlanWrite(Strict):
    topic: Name
    smart_goal: Text
    resources: list[PlanResource] = Field(default_factory=list, max_length=20)
    implementation_plan: Text


class PlanDecision(Strict):
    decision: Literal["approve", "return"]
    comments: str | None = Field(default=None, max_length=10_000, description="required when returning")


class PlanRead(BaseModel):
    topic: str
    smart_goal: str
    resources: list[PlanResource]
    implementation_plan: str
    status: Literal["draft", "submitted", "approved", "returned"]
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    comments: str | None


class PursuitEventRead(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    note: str | None


class PursuitRead(BaseModel):
    id: str
    educator_id: str
    design_id: str
    design_version: int
    design_name: str
    offering_id: str | None
    offering_title: str | None = Field(description="copied from the catalog offering when the pursuit started")
    provider_name: str | None = Field(description="the offering's provider, copied with it")
    provider_number: str | None
    recipient_email: str | None = Field(description="whom the tier badges name")
    recipient_id: str | None
    state: str
    allowed_actions: list[str] = Field(description="what the caller may do next")
    plan: PlanRead | None
    history: list[PursuitEventRead]
    started_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    duplicate_of: str | None = Field(
        default=None,
        description="set on a second open pursuit of one design found in data from before the one-pursuit rule:"
        " the pursuit kept",
    )


# --- ledger -----------------------------------------------------------------------------------


class LedgerEntryRead(BaseModel):
    id: str
    educator_id: str
    kind: Literal["pd_minutes", "stipend"]
    amount: int = Field(description="minutes, or cents for a stipend")
    status: Literal["recorded", "pending", "approved", "paid", "void"]
    source: Literal["attendance", "award"]
    source_id: str
    offering_id: str | None
    activity_title: str
    provider_name: str | None
    provider_number: str | None
    credits: float | None
    occurred_on: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    next_cursor: str | None


# --- submissions, evidence, reviews -----------------------------------------------------------


class SubmissionCreate(Strict):
    tier: Key


class SubmitRequest(Strict):
    evidence_public: StrictBool = Field(
        default=False, description="let the badge and its public page link to this evidence (never student data)"
    )


class EvidenceRead(BaseModel):
    id: str
    requirement_key: str
    kind: str
    text: str | None
    word_count: int | None
    url: str | None
    file_name: str | None
    media_type: str | None
    size: int | None
    sha256: str | None
    contains_student_information: bool
    created_at: dt.datetime


class CriterionScore(Strict):
    criterion: Key
    level: Key
    comment: str | None = Field(default=None, max_length=5000)


class ScoreWrite(Strict):
    scores: list[CriterionScore] = Field(min_length=1, max_length=30)
    outcome: Literal["pass", "return"] | None = Field(
        default=None, description="optional; when given it must agree with what the rubric says"
    )
    comment: str | None = Field(default=None, max_length=10_000, description="feedback to the educator")


class AssignmentRead(BaseModel):
    id: str
    submission_id: str
    assessor_id: str
    role: Literal["primary", "second"]
    state: Literal["assigned", "scored", "withdrawn"]
    assigned_at: dt.datetime
    scores: list[CriterionScore] | None
    outcome: Literal["pass", "return"] | None
    comment: str | None
    scored_at: dt.datetime | None


class SubmissionRead(BaseModel):
    id: str
    pursuit_id: str
    educator_id: str | None = Field(description="hidden from assessors when the design reviews blind")
    design_id: str
    tier_key: str
    attempt: int
    state: Literal["draft", "submitted", "in_review", "recommended", "passed", "returned", "withdrawn"]
    evidence_public: bool
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    due_on: dt.date | None
    overdue: bool
    decided_at: dt.datetime | None
    evidence: list[EvidenceRead]
    reviews: list[AssignmentRead] = Field(description="primary first; a second scorer's only to coordinators")


class AssessorWrite(Strict):
    school_id: str | None = Field(default=None, max_length=36)
    design_ids: list[str] = Field(default_factory=list, max_length=100, description="empty: every design")
    active: StrictBool = True


class AssessorRead(AssessorWrite):
    assessor_id: str
    open_reviews: int


class Reassignment(Strict):
    assessor_id: str = Field(min_length=1, max_length=200)


class GrantDecision(Strict):
    decision: Literal["grant", "deny"]
    comment: str | None = Field(default=None, max_length=10_000)


class CoachingWrite(Strict):
    tier: Key
    held_on: dt.date
    notes: str | None = Field(default=None, max_length=20_000, description="never shown to assessors")


class CoachingRead(BaseModel):
    id: str
    tier_key: str
    coach_id: str
    held_on: dt.date
    logged_at: dt.datetime


# --- awards (and the events that carry them to the badges service) ----------------------------


class AwardedResult(BaseModel):
    criterion: str
    level: str


class AwardedEvidence(BaseModel):
    url: str
    name: str | None = None
    description: str | None = None


class AwardGranted(EventPayload):
    """Payload of ``award.granted``: everything the badges service needs to issue the tier's
    badge (``award_id`` is its Idempotency-Key). Evidence appears only when the educator made it
    public, and never student data."""

    event_type: ClassVar[str] = "award.granted"

    award_id: str
    achievement_id: str
    recipient_email: str | None = None
    recipient_id: str | None = None
    results: list[AwardedResult]
    evidence: list[AwardedEvidence] = Field(default_factory=list)
    narrative: str | None = None
    awarded_at: dt.datetime
    valid_until: dt.datetime | None = None
    # For the badge's public page (ADR 0014); absent in events written before they existed.
    educator_id: str | None = Field(default=None, description="who earned it: they choose what the page shows")
    recipient_name: str | None = Field(default=None, description="display name; shown only if the educator allows")
    evidence_public: bool = Field(default=False, description="the educator chose to show the evidence links")


class AwardRevoked(EventPayload):
    """Payload of ``award.revoked``: the award's badge is revoked (permanently)."""

    event_type: ClassVar[str] = "award.revoked"

    award_id: str
    reason: str


class EvidenceReference(BaseModel):
    """Which evidence an award rests on (its contents stay with the submission)."""

    id: str
    requirement: str
    kind: str
    url: str | None
    sha256: str | None


class AwardRead(BaseModel):
    id: str
    pursuit_id: str
    submission_id: str
    educator_id: str
    design_id: str
    design_version: int
    tier_key: str
    tier_title: str
    competency_ids: list[str]
    results: list[AwardedResult]
    evidence: list[EvidenceReference]
    pd_minutes: int
    stipend_cents: int
    status: Literal["granted", "revoked"]
    granted_at: dt.datetime
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    badge_status: Literal["pending", "issued", "no_recipient"]
    badge_id: str | None
    badge_links: dict[str, str] | None
    replaces_award_id: str | None = Field(
        default=None, description="the revoked award of the same tier this one was earned after"
    )
    duplicate_of: str | None = Field(
        default=None,
        description="set on a second standing award of one tier found in data from before the one-award rule:"
        " the award kept; both stay (with their ledger entries) for coordinators to settle",
    )


class AwardRevocation(Strict):
    reason: str = Field(min_length=1, max_length=500)


class StipendChange(Strict):
    status: Literal["approved", "paid"]


# --- educator profiles, tenant policy, reports ------------------------------------------------


class EducatorProfileWrite(Strict):
    """What the district's LMS/SIS syncs about an educator (identity itself is the gateway's)."""

    external_id: str | None = Field(default=None, max_length=200, description="the SIS id")
    state_id: str | None = Field(default=None, max_length=100, description="the state educator id")
    school_id: str | None = Field(default=None, max_length=36)
    school_name: str | None = Field(default=None, max_length=300)
    display_name: str | None = Field(default=None, max_length=300)


class EducatorProfileRead(EducatorProfileWrite):
    educator_id: str
    updated_at: dt.datetime


class TenantPolicyWrite(Strict):
    licensure_cycle_start_month: int = Field(default=7, ge=1, le=12, strict=True)
    licensure_cycle_start_day: int = Field(default=1, ge=1, le=31, strict=True)
    licensure_cycle_years: int = Field(default=5, ge=1, le=10, strict=True)
    student_data_retention_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="student-data files are deleted this long after the decision",
        strict=True,
    )


class TenantPolicyRead(TenantPolicyWrite):
    updated_at: dt.datetime | None = Field(description="none: the defaults, never changed")


class TierCompletion(BaseModel):
    tier_key: str
    tier_title: str
    completed: int = Field(description="educators holding a granted (not revoked) award of this tier")
    completion_rate: float | None = Field(description="completed / educators who started; none when nobody started")


class ParticipationRow(BaseModel):
    school_id: str | None = Field(description="none: educators without a profile or school")
    school_name: str = Field(description='"unknown" when no profile names a school')
    design_id: str
    design_name: str
    educators_started: int
    pursuits_by_state: dict[str, int]
    tiers: list[TierCompletion]


class ParticipationReport(BaseModel):
    started_from: dt.date | None
    started_to: dt.date | None
    rows: list[ParticipationRow] = Field(description="one per school and design")
    designs: list[ParticipationRow] = Field(description="one per design, every school together")


class TurnaroundFigures(BaseModel):
    decided: int
    median_hours: float | None
    p90_hours: float | None
    median_days: float | None
    p90_days: float | None
    on_time_share: float | None = Field(description="decided on or before the due date")
    overdue: int = Field(description="waiting now, past the due date")


class TurnaroundDesign(TurnaroundFigures):
    design_id: str


class TurnaroundReport(TurnaroundFigures):
    decided_from: dt.date | None
    decided_to: dt.date | None
    designs: list[TurnaroundDesign]


class StipendTotals(BaseModel):
    pending: int = 0
    approved: int = 0
    paid: int = 0
    void: int = 0


class StipendDesignTotals(StipendTotals):
    design_id: str | None = Field(description="none: stipends not from an award")


class StipendReport(BaseModel):
    currency_unit: Literal["cents"] = "cents"
    totals: StipendTotals
    designs: list[StipendDesignTotals]


class CriterionAgreement(BaseModel):
    tier_key: str
    criterion: str
    pairs: int
    exact: float | None
    adjacent: float | None = Field(description="levels at most one step apart (exact included)")


class AgreementReport(BaseModel):
    design_id: str
    submissions: int = Field(description="scored by both a primary and a second assessor")
    pairs: int
    exact: float | None
    adjacent: float | None
    criteria: list[CriterionAgreement]


# --- the learning record ----------------------------------------------------------------------


class RecordTier(BaseModel):
    key: str
    title: str
    status: str = Field(description="the latest attempt's state, or not_started")
    attempts: int


class RecordPursuit(BaseModel):
    id: str
    design_id: str
    design_name: str
    design_version: int
    state: str
    started_at: dt.datetime
    tiers: list[RecordTier]


class RecordAward(BaseModel):
    id: str
    design_id: str
    tier_key: str
    tier_title: str
    status: Literal["granted", "revoked"]
    granted_at: dt.datetime
    valid_until: dt.datetime | None
    pd_minutes: int
    stipend_cents: int
    badge_status: str
    badge_links: dict[str, str] | None
    replaces_award_id: str | None = Field(default=None, description="the revoked award this one was earned after")
    duplicate_of: str | None = Field(
        default=None, description="a duplicate found in data from before the one-award rule: the award kept"
    )


class LicensureYear(BaseModel):
    starts_on: dt.date
    ends_on: dt.date
    minutes: int
    hours: float


class RecordMinutes(BaseModel):
    by_licensure_year: list[LicensureYear]
    current_cycle: LicensureYear = Field(description="the tenant's cycle: its last N licensure years")
    total_minutes: int


class RecordGoal(BaseModel):
    pursuit_id: str
    topic: str
    smart_goal: str
    status: str


class LearningRecord(BaseModel):
    educator_id: str
    pursuits: list[RecordPursuit]
    awards: list[RecordAward]
    pd_minutes: RecordMinutes
    stipends_cents: dict[str, int] = Field(description="pending, approved and paid")
    competency_ids: list[str] = Field(description="catalog framework items shown by granted awards")
    goals: list[RecordGoal]


# --- references: other services checking the credential ids they keep -------------------------

# Every design id is a lower-case UUID: anything else names no design, without asking.
DESIGN_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class DesignLookup(Strict):
    """Design ids another service is about to keep (a catalog offering's credential design)."""

    design_ids: list[Annotated[str, Field(pattern=DESIGN_ID_PATTERN)]] = Field(max_length=20)


class ReferencedDesign(BaseModel):
    """The facts of a design another service may check: whether it can be pursued today."""

    id: str
    name: str
    published_version: int | None = Field(description="null: never published")
    retired: bool


class DesignReferences(BaseModel):
    """Which of the designs exist in the caller's tenant — published or not; unknown ones listed."""

    designs: list[ReferencedDesign]
    unknown_design_ids: list[str]
