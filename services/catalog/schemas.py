"""Wire contract of the catalog service; other services may import these models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainValidator, StrictBool, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.events import EventEnvelope, EventPayload, InboxReceipt
from shared.health import Liveness, Readiness
from shared.outbox_ops import OutboxEventRead, OutboxSummary

__all__ = ["EventEnvelope", "InboxReceipt", "Liveness", "OutboxEventRead", "OutboxSummary", "Readiness"]


# --- competency frameworks (CASE) -------------------------------------------------------------


class FrameworkSummary(BaseModel):
    id: str
    identifier: str = Field(description="the CFDocument GUID")
    uri: str
    title: str
    creator: str
    last_change: str
    items: int
    imported_at: dt.datetime
    updated_at: dt.datetime


class ImportReport(FrameworkSummary):
    created: bool = Field(description="false when an existing framework (same CFDocument) was updated")
    associations: int


class ItemRead(BaseModel):
    id: str
    identifier: str
    uri: str
    human_coding_scheme: str | None
    full_statement: str
    item_type: str | None
    last_change: str
    parent_id: str | None


class TreeNode(ItemRead):
    children: list[TreeNode]


class FrameworkRead(FrameworkSummary):
    document: dict[str, Any]
    tree: list[TreeNode]


class AssociationRead(BaseModel):
    identifier: str
    association_type: str
    origin_identifier: str
    destination_identifier: str


class ItemDetail(ItemRead):
    children: list[ItemRead]
    associations: list[AssociationRead]


class FrameworkFetch(BaseModel):
    url: str = Field(max_length=2000, pattern=r"^https?://", description="where to fetch the CFPackage from")


# --- offerings --------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


OfferingType = Literal[
    "workshop",
    "academy",
    "online_course",
    "micro_credential",
    "degree_program",
    "coaching_cycle",
    "plc",
    "conference",
    "self_directed",
]
Modality = Literal["in_person", "online_synchronous", "online_asynchronous", "blended"]
Pacing = Literal["self_paced", "cohort"]
GroupFormat = Literal["individual", "group", "either"]
Level = Literal["introductory", "intermediate", "advanced"]
ProviderKind = Literal["district", "external"]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Audience(Strict):
    roles: list[Label] = Field(default_factory=list, max_length=30, description="e.g. teacher, coach, principal")
    grade_bands: list[Label] = Field(default_factory=list, max_length=30, description="e.g. K-2, 3-5, 6-8, 9-12")
    subjects: list[Label] = Field(default_factory=list, max_length=50, description="e.g. mathematics, ELA")


class Prerequisites(Strict):
    offering_ids: list[str] = Field(default_factory=list, max_length=50, description="offerings of this tenant")
    competency_ids: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="framework items, by internal id or CASE identifier (CFItem GUID); kept as internal ids",
    )


class Provider(Strict):
    kind: ProviderKind = "district"
    name: str = Field(min_length=1, max_length=300)
    number: str | None = Field(default=None, max_length=100, description="the state's provider number, if any")


class OfferingFields(Strict):
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=50_000, description="Markdown")
    credits: float | None = Field(default=None, ge=0, le=1000, strict=True)
    level: Level | None = None
    audience: Audience = Field(default_factory=Audience)
    competency_ids: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="aligned framework items, by internal id or CASE identifier (CFItem GUID)",
    )
    prerequisites: Prerequisites = Field(default_factory=Prerequisites)
    cost_cents: int = Field(default=0, ge=0, le=100_000_000, strict=True)
    stipend_cents: int = Field(default=0, ge=0, le=100_000_000, strict=True)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    tags: list[Label] = Field(default_factory=list, max_length=30)
    credential_design_id: str | None = Field(
        default=None, max_length=36, description="micro-credentials: the credentials service's design id"
    )


class OfferingCreate(OfferingFields):
    offering_type: OfferingType
    title: str = Field(min_length=1, max_length=300)
    modality: Modality
    pacing: Pacing
    group_format: GroupFormat = "either"
    duration_minutes: int = Field(ge=1, le=100_000, strict=True)
    provider: Provider


class OfferingUpdate(Strict):
    """Only the fields sent change (JSON merge semantics); ``null`` clears an optional field."""

    offering_type: OfferingType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=50_000)
    modality: Modality | None = None
    pacing: Pacing | None = None
    group_format: GroupFormat | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    credits: float | None = Field(default=None, ge=0, le=1000, strict=True)
    level: Level | None = None
    audience: Audience | None = None
    competency_ids: list[str] | None = Field(default=None, max_length=100)
    prerequisites: Prerequisites | None = None
    provider: Provider | None = None
    cost_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    stipend_cents: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    tags: list[Label] | None = Field(default=None, max_length=30)
    credential_design_id: str | None = Field(default=None, max_length=36)


class CompetencyRef(BaseModel):
    id: str
    framework_id: str
    identifier: str = Field(description="the CFItem GUID")
    uri: str
    human_coding_scheme: str | None
    full_statement: str


class SessionSummary(BaseModel):
    id: str
    starts_at: dt.datetime
    seats_open: int


class OfferingRead(BaseModel):
    id: str
    status: Literal["draft", "published", "retired"]
    revision: int = Field(description="changes with every edit; the ETag")
    offering_type: str
    title: str
    summary: str | None
    description: str | None
    modality: str
    pacing: str
    group_format: str
    duration_minutes: int
    credits: float | None
    level: str | None
    audience: Audience
    competencies: list[CompetencyRef]
    prerequisites: Prerequisites
    provider: Provider
    cost_cents: int
    stipend_cents: int
    currency: str
    tags: list[str]
    credential_design_id: str | None
    next_session: SessionSummary | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None


class OfferingHit(OfferingRead):
    relevance: float | None = Field(default=None, description="with sort=relevance: higher matches better")


class OfferingPage(BaseModel):
    items: list[OfferingHit]
    total: int
    facets: dict[str, dict[str, int]] = Field(description="per facet, how many matching offerings have each value")
    next_cursor: str | None


class CatalogPreferencesRead(BaseModel):
    public_catalog: bool
    updated_at: dt.datetime | None


class CatalogPreferencesWrite(Strict):
    public_catalog: StrictBool


# --- sessions, registrations, attendance ------------------------------------------------------


class SessionCreate(Strict):
    title: str | None = Field(default=None, max_length=300)
    starts_at: dt.datetime = Field(description="with an offset, e.g. 2027-01-12T16:00:00-05:00")
    ends_at: dt.datetime
    time_zone: str = Field(min_length=1, max_length=64, description="IANA time zone, e.g. America/New_York")
    location: str | None = Field(default=None, max_length=500)
    online_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://[^\s]+$")
    capacity: int = Field(ge=1, le=100_000, strict=True)
    registration_opens_at: dt.datetime | None = None
    registration_closes_at: dt.datetime | None = None


class SessionAttended(EventPayload):
    """Payload of the ``session.attended`` event: what the credentials service needs to credit PD
    minutes and to report them to HR, copied so it never has to ask the catalog. Sent again with
    the same ``attendance_id`` when minutes are corrected; the newest ``recorded_at`` wins."""

    event_type: ClassVar[str] = "session.attended"

    attendance_id: str
    educator_id: str
    offering_id: str
    session_id: str
    minutes: int = Field(ge=0)
    date: dt.date
    recorded_at: dt.datetime
    offering_title: str
    provider_name: str
    provider_number: str | None = None
    credits: float | None = None


class SessionRead(BaseModel):
    id: str
    offering_id: str
    title: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    local_starts_at: str = Field(description="the start in the session's own time zone")
    time_zone: str
    location: str | None
    online_url: str | None
    capacity: int
    seats_taken: int
    seats_open: int
    waitlisted: int
    registration_opens_at: dt.datetime | None
    registration_closes_at: dt.datetime | None
    status: Literal["scheduled", "cancelled"]


class RegistrationCreate(Strict):
    educator_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="whom to register; defaults to the caller. Registering someone else needs catalog:write",
    )


class RegistrationRead(BaseModel):
    id: str
    session_id: str
    educator_id: str
    status: Literal["registered", "waitlisted", "cancelled"]
    waitlist_position: int | None
    requested_at: dt.datetime
    registered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    promoted_from_waitlist: bool


class RegistrationCancelled(BaseModel):
    cancelled: RegistrationRead
    promoted: RegistrationRead | None = Field(description="the waitlisted educator who got the seat, if any")


class AttendanceEntry(Strict):
    educator_id: str = Field(min_length=1, max_length=200)
    minutes: int = Field(ge=0, le=24 * 60 * 30, strict=True)
    attended_on: dt.date | None = Field(default=None, description="defaults to the session's local start date")


class AttendanceWrite(Strict):
    entries: list[AttendanceEntry] = Field(min_length=1, max_length=1000)


class AttendanceRead(BaseModel):
    id: str
    session_id: str
    offering_id: str
    educator_id: str
    minutes: int
    attended_on: dt.date
    recorded_at: dt.datetime


# --- recommendations --------------------------------------------------------------------------


class TargetCompetency(Strict):
    id: str = Field(
        min_length=1, max_length=36, description="a framework item: its internal id or CASE identifier (CFItem GUID)"
    )
    weight: float = Field(default=1.0, gt=0, le=100, strict=True)


class RecommendationPreferences(Strict):
    modalities: list[Modality] = Field(default_factory=list)
    max_minutes: int | None = Field(default=None, ge=1, strict=True)
    pacing: Pacing | None = None
    available_from: AwareDatetime | None = Field(default=None, description="with an offset")
    available_to: AwareDatetime | None = Field(default=None, description="with an offset")


class RecommendationRequest(Strict):
    targets: list[TargetCompetency] = Field(min_length=1, max_length=50)
    preferences: RecommendationPreferences = Field(default_factory=RecommendationPreferences)
    completed_offering_ids: list[str] = Field(default_factory=list, max_length=1000)
    limit: int = Field(default=10, ge=1, le=50, strict=True)


class Recommendation(BaseModel):
    offering: OfferingRead
    score: float
    covered_competency_ids: list[str]
    reason: str
    score_parts: dict[str, float] = Field(description="each term of the score (ADR 0011)")


class RecommendationList(BaseModel):
    items: list[Recommendation]


# --- pathways ---------------------------------------------------------------------------------

# A group may sit inside another at most this many levels deep (a step is level 1), and a chain
# of pathways containing pathways is at most this long.
PATHWAY_MAX_DEPTH = 10
# Steps, groups and references counted together, in one pathway's structure.
PATHWAY_MAX_ELEMENTS = 500
PathwayStatus = Literal["draft", "published", "retired"]
PathwayGroupKind = Literal["all_of", "n_of"]


class PathwayOfferingRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offering_id: str = Field(min_length=1, max_length=36, description="an offering of the same tenant")


class PathwayNestedRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str = Field(min_length=1, max_length=36, description="another pathway of the same tenant")


class PathwayGroup(BaseModel):
    """``all_of``: every element; ``n_of``: at least ``n`` of them (1 ≤ n ≤ number of elements)."""

    model_config = ConfigDict(extra="forbid")

    kind: PathwayGroupKind
    n: int | None = Field(default=None, description="n_of only: how many elements must be satisfied")
    title: str | None = Field(default=None, max_length=200)
    elements: list[PathwayOfferingRef | PathwayNestedRef | PathwayGroup] = Field(
        min_length=1, description="offerings, other pathways and nested groups, in order"
    )


class PathwayStructure(BaseModel):
    """Groups nest at most ``PATHWAY_MAX_DEPTH`` (10) levels deep and a structure holds at most
    ``PATHWAY_MAX_ELEMENTS`` (500) steps, groups and references; an offering or pathway appears
    at most once in the same group."""

    model_config = ConfigDict(extra="forbid")

    steps: list[PathwayGroup] = Field(
        min_length=1, description="in order; the pathway is complete when every step is satisfied"
    )


class _StructureCheck:
    """Every problem of a raw structure, each with its location (relative to the structure)."""

    def __init__(self) -> None:
        self.problems: list[tuple[tuple[str | int, ...], str]] = []
        self.nodes = 0

    def add(self, loc: tuple[str | int, ...], problem: str) -> None:
        self.problems.append((loc, problem))

    def structure(self, value: Any) -> None:
        if not isinstance(value, dict):
            self.add((), 'must be an object: {"steps": [...]}')
            return
        self.unknown_keys(value, (), {"steps"})
        steps = value.get("steps")
        if "steps" not in value:
            self.add(("steps",), "required: the list of steps")
        elif not isinstance(steps, list):
            self.add(("steps",), "must be a list of steps")
        elif not steps:
            self.add(("steps",), "a pathway needs at least one step")
        else:
            for index, step in enumerate(steps):
                if not self.counted():
                    return
                self.group(step, ("steps", index), depth=1, what="a step")

    def counted(self) -> bool:
        self.nodes += 1
        if self.nodes > PATHWAY_MAX_ELEMENTS:
            self.add((), f"too large: at most {PATHWAY_MAX_ELEMENTS} steps, groups and references in all")
            return False
        return True

    def unknown_keys(self, value: dict[str, Any], loc: tuple[str | int, ...], known: set[str]) -> None:
        for key in value:
            if key not in known:
                self.add((*loc, key), f"unknown field (expected {', '.join(sorted(known))})")

    def group(self, value: Any, loc: tuple[str | int, ...], *, depth: int, what: str) -> None:
        if not isinstance(value, dict):
            self.add(loc, f'{what} must be a group: {{"kind": "all_of" | "n_of", "elements": [...]}}')
            return
        if depth > PATHWAY_MAX_DEPTH:
            self.add(loc, f"groups nest at most {PATHWAY_MAX_DEPTH} levels deep")
            return
        self.unknown_keys(value, loc, {"kind", "n", "title", "elements"})
        kind = value.get("kind")
        if kind not in ("all_of", "n_of"):
            self.add((*loc, "kind"), 'must be "all_of" or "n_of"')
        title = value.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > 200):
            self.add((*loc, "title"), "must be text of at most 200 characters")
        elements = value.get("elements")
        if not isinstance(elements, list):
            self.add((*loc, "elements"), "required: a list of offerings, pathways and groups")
            elements = None
        elif not elements:
            self.add((*loc, "elements"), "a group needs at least one element")
        n = value.get("n")
        if kind == "n_of":
            if n is None:
                self.add((*loc, "n"), "required for n_of: how many elements must be satisfied")
            elif not isinstance(n, int) or isinstance(n, bool):
                self.add((*loc, "n"), "must be a whole number")
            elif elements and not 1 <= n <= len(elements):
                self.add((*loc, "n"), f"must be between 1 and {len(elements)} (the number of elements), not {n}")
        elif kind == "all_of" and n is not None:
            self.add((*loc, "n"), "only n_of groups take n")
        first_seen: dict[tuple[str, str], int] = {}
        for index, element in enumerate(elements or ()):
            if not self.counted():
                return
            where = (*loc, "elements", index)
            ref = self.element(element, where, depth=depth)
            if ref is None:
                continue
            if ref in first_seen:
                noun = "offering" if ref[0] == "offering_id" else "pathway"
                self.add((*where, ref[0]), f"{noun} {ref[1]} is already in this group (element {first_seen[ref]})")
            else:
                first_seen[ref] = index

    def element(self, value: Any, loc: tuple[str | int, ...], *, depth: int) -> tuple[str, str] | None:
        """Checks one element; answers ("offering_id" | "pathway_id", id) for a valid reference."""
        if isinstance(value, dict):
            for key in ("offering_id", "pathway_id"):
                if key in value:
                    self.unknown_keys(value, loc, {key})
                    ref = value[key]
                    if isinstance(ref, str) and 1 <= len(ref) <= 36:
                        return key, ref
                    self.add((*loc, key), "must be an id: text of 1 to 36 characters")
                    return None
            if "kind" in value or "elements" in value:
                self.group(value, loc, depth=depth + 1, what="a nested group")
                return None
        self.add(loc, 'an element is {"offering_id": …}, {"pathway_id": …} or a group {"kind": …, "elements": […]}')
        return None


def check_pathway_structure(value: Any) -> PathwayStructure:
    """Validates a structure as sent, reporting every problem at once with its own location.

    Generic union validation would report each wrong element three times (once per kind of
    element it is not); this names the one thing wrong with it. References to offerings and
    pathways are checked against the database by services/catalog/pathways/service.py.
    """
    if isinstance(value, PathwayStructure):
        value = value.model_dump()
    check = _StructureCheck()
    check.structure(value)
    if check.problems:
        raise ValidationError.from_exception_data(
            "PathwayStructure",
            [
                InitErrorDetails(
                    type=PydanticCustomError("pathway_structure", "{problem}", {"problem": problem}),
                    loc=loc,
                    input=value,
                )
                for loc, problem in check.problems
            ],
        )
    return PathwayStructure.model_validate(value)


class PathwayWrite(BaseModel):
    """A pathway as created or replaced (PUT sends the whole pathway again)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    credential_design_id: str | None = Field(
        default=None, min_length=1, max_length=36, description="the credential it leads to (credentials service)"
    )
    status: PathwayStatus = "draft"
    structure: Annotated[
        PathwayStructure, PlainValidator(check_pathway_structure, json_schema_input_type=PathwayStructure)
    ]


class PathwayRead(BaseModel):
    id: str
    name: str
    description: str
    credential_design_id: str | None
    status: PathwayStatus
    structure: PathwayStructure
    created_at: dt.datetime
    updated_at: dt.datetime


class PathwayProgressRequest(BaseModel):
    completed_offering_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(
        max_length=10_000, description="offerings the educator has completed"
    )


class PathwayOfferingProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offering_id: str
    satisfied: bool = Field(description="completed")


class PathwayNestedProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str
    name: str
    satisfied: bool = Field(description="every step of that pathway is satisfied")
    remaining_offering_ids: list[str]


class PathwayGroupProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PathwayGroupKind
    title: str | None
    required: int = Field(description="how many elements must be satisfied: all of them, or n")
    satisfied_count: int
    satisfied: bool
    remaining_offering_ids: list[str] = Field(
        description="uncompleted offerings that would still count here (empty once satisfied)"
    )
    elements: list[PathwayOfferingProgress | PathwayNestedProgress | PathwayGroupProgress]


class PathwayProgress(BaseModel):
    pathway_id: str
    name: str
    complete: bool
    steps: list[PathwayGroupProgress]
    remaining_offering_ids: list[str] = Field(description="uncompleted offerings that would still count, in order")


# --- references: other services checking the catalog ids they keep ----------------------------

# Every catalog id is a lower-case UUID (``str(uuid.uuid4())``): anything else cannot name a
# catalog object, so callers may call it unknown without asking.
CATALOG_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CatalogId = Annotated[str, Field(pattern=CATALOG_ID_PATTERN, description="a catalog id (lower-case UUID)")]


class ReferenceLookup(Strict):
    """Ids another service is about to keep (a design's alignments, a pursuit's offering)."""

    item_ids: list[CatalogId] = Field(
        default_factory=list,
        max_length=100,
        description="framework items, each by internal id or CASE identifier (CFItem GUID, lower case)",
    )
    offering_ids: list[CatalogId] = Field(default_factory=list, max_length=20)


class ReferencedOffering(BaseModel):
    """The few facts of an offering that other services may copy (for exports and display)."""

    id: str
    status: Literal["draft", "published", "retired"]
    offering_type: str
    title: str
    provider_name: str
    provider_number: str | None
    credential_design_id: str | None


class References(BaseModel):
    """Which of the ids exist in the caller's tenant — published or not; unknown ones listed."""

    items: list[CompetencyRef]
    offerings: list[ReferencedOffering]
    unknown_item_ids: list[str]
    unknown_offering_ids: list[str]
    item_ids_by_reference: dict[str, str] = Field(
        default_factory=dict,
        description="each asked item reference that names one item → that item's internal id (what to keep)",
    )
    ambiguous_item_ids: list[str] = Field(
        default_factory=list,
        description="CASE identifiers naming items in more than one of the tenant's frameworks: ask by internal id",
    )
