"""HTTP routes of the credentials service: parse, authorise, call the domain module, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials import awards, designs, pursuits, records_api, references, reports_api, submissions_api
from services.credentials.deps import Catalog, IdPath, Reader, SessionDep, Writer
from services.credentials.errors import WrongState
from services.credentials.models import (
    Award,
    CredentialDesign,
    DesignVersion,
    LearningPlan,
    LedgerEntry,
    OutboxEvent,
    Pursuit,
)
from services.credentials.schemas import (
    AwardRead,
    AwardRevocation,
    DesignContent,
    DesignRead,
    DesignSummary,
    DesignVersionRead,
    LedgerEntryRead,
    LedgerPage,
    PlanDecision,
    PlanRead,
    PlanWrite,
    PursuitCreate,
    PursuitEventRead,
    PursuitRead,
    StipendChange,
)
from shared.auth import Forbidden, Principal, whoami_router
from shared.db import utcnow
from shared.outbox_ops import outbox_ops_router
from shared.paging import after_cursor, encode_cursor
from shared.params import IsoDate
from shared.problems import NotFound
from shared.state import get_session
from shared.tenancy import get_in_tenant, in_tenant

# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES). None: evidence and records are private.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset()

router = APIRouter()
router.include_router(outbox_ops_router(service="credentials", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("credentials"))
router.include_router(submissions_api.router)
router.include_router(records_api.router)
router.include_router(reports_api.router)


def _coordinator(who: Principal) -> Principal:
    if not pursuits.is_coordinator(who):
        raise Forbidden("designs are managed by coordinators")
    return who


def _alignments(catalog: Catalog, who: Principal) -> designs.ContentCheck:
    """The catalog's word on a design's competency ids, asked as the caller."""

    async def check(content: DesignContent) -> None:
        await references.check_alignments(catalog, who, content.competency_ids)

    return check


# --- designs ----------------------------------------------------------------------------------


def _version_read(row: DesignVersion) -> DesignVersionRead:
    return DesignVersionRead(
        version=row.version,
        status=row.status,
        content=DesignContent.model_validate(row.content),
        created_at=row.created_at,
        published_at=row.published_at,
    )


async def _design_read(session: AsyncSession, design: CredentialDesign, who: Principal) -> DesignRead:
    draft, published = await designs.draft_and_published(session, design)
    return DesignRead(
        id=design.id,
        name=design.name,
        published_version=design.published_version,
        retired=design.retired,
        # The working copy is the coordinators' business; educators see what was published.
        draft=_version_read(draft) if draft and pursuits.is_coordinator(who) else None,
        published=_version_read(published) if published else None,
        created_at=design.created_at,
        updated_at=design.updated_at,
    )


async def _visible_design(session: AsyncSession, who: Principal, design_id: str) -> CredentialDesign:
    design = await get_in_tenant(session, CredentialDesign, design_id, who.tenant_id, noun="credential design")
    if design.published_version is None and not pursuits.is_coordinator(who):
        raise NotFound(f"no credential design {design_id}")
    return design


@router.post(
    "/v1/credential-designs", response_model=DesignRead, status_code=201, summary="Create a design (its first draft)"
)
async def create_design(
    body: DesignContent, response: Response, who: Writer, session: SessionDep, catalog: Catalog
) -> DesignRead:
    design = await designs.create_design(session, _coordinator(who).tenant_id, body, check=_alignments(catalog, who))
    response.headers["Location"] = f"/v1/credential-designs/{design.id}"
    return await _design_read(session, design, who)


@router.get("/v1/credential-designs", response_model=list[DesignSummary], summary="The tenant's designs")
async def list_designs(
    who: Reader,
    session: SessionDep,
    include_retired: Annotated[bool, Query()] = False,
) -> list[DesignSummary]:
    statement = in_tenant(select(CredentialDesign), CredentialDesign, who.tenant_id)
    if not include_retired:
        statement = statement.where(CredentialDesign.retired.is_(False))
    if not pursuits.is_coordinator(who):
        statement = statement.where(CredentialDesign.published_version.is_not(None))
    rows = list(await session.scalars(statement.order_by(CredentialDesign.name, CredentialDesign.id)))
    drafts = set(
        await session.scalars(
            select(DesignVersion.design_id).where(
                DesignVersion.design_id.in_([r.id for r in rows] or ["-"]), DesignVersion.status == "draft"
            )
        )
    )
    return [
        DesignSummary(
            id=r.id,
            name=r.name,
            published_version=r.published_version,
            has_draft=r.id in drafts and pursuits.is_coordinator(who),
            retired=r.retired,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


@router.get("/v1/credential-designs/{design_id}", response_model=DesignRead, summary="A design: draft and published")
async def get_design(design_id: IdPath, who: Reader, session: SessionDep) -> DesignRead:
    return await _design_read(session, await _visible_design(session, who, design_id), who)


@router.put(
    "/v1/credential-designs/{design_id}",
    response_model=DesignRead,
    summary="Save the draft (after a publish, this starts the next version)",
)
async def save_design(
    design_id: IdPath, body: DesignContent, who: Writer, session: SessionDep, catalog: Catalog
) -> DesignRead:
    design = await designs.save_draft(
        session, _coordinator(who).tenant_id, design_id, body, check=_alignments(catalog, who)
    )
    return await _design_read(session, design, who)


@router.post(
    "/v1/credential-designs/{design_id}/publish",
    response_model=DesignRead,
    summary="Publish the draft as a frozen version; new pursuits use it",
)
async def publish_design(design_id: IdPath, who: Writer, session: SessionDep, catalog: Catalog) -> DesignRead:
    design = await designs.publish(
        session, _coordinator(who).tenant_id, design_id, who.subject, check=_alignments(catalog, who)
    )
    return await _design_read(session, design, who)


@router.post(
    "/v1/credential-designs/{design_id}/retire",
    response_model=DesignRead,
    summary="Retire a design: no new pursuits; those under way continue",
)
async def retire_design(design_id: IdPath, who: Writer, session: SessionDep) -> DesignRead:
    design = await designs.retire(session, _coordinator(who).tenant_id, design_id)
    return await _design_read(session, design, who)


@router.get(
    "/v1/credential-designs/{design_id}/versions",
    response_model=list[DesignVersionRead],
    summary="Every version of a design (educators: the published ones)",
)
async def list_versions(design_id: IdPath, who: Reader, session: SessionDep) -> list[DesignVersionRead]:
    design = await _visible_design(session, who, design_id)
    rows = await designs.versions(session, design.id)
    return [_version_read(r) for r in rows if r.status == "published" or pursuits.is_coordinator(who)]


@router.get(
    "/v1/credential-designs/{design_id}/versions/{version}",
    response_model=DesignVersionRead,
    summary="One version of a design",
)
async def get_version(
    design_id: IdPath, version: Annotated[int, Path(ge=1)], who: Reader, session: SessionDep
) -> DesignVersionRead:
    design = await _visible_design(session, who, design_id)
    for row in await designs.versions(session, design.id):
        if row.version == version and (row.status == "published" or pursuits.is_coordinator(who)):
            return _version_read(row)
    raise NotFound(f"no version {version} of this design")


# --- pursuits ---------------------------------------------------------------------------------


async def _pursuit_read(session: AsyncSession, who: Principal, pursuit: Pursuit) -> PursuitRead:
    design = await session.get(CredentialDesign, pursuit.design_id)
    plan = await session.get(LearningPlan, pursuit.id)
    content = await pursuits.content_of(session, pursuit)
    return PursuitRead(
        id=pursuit.id,
        educator_id=pursuit.educator_id,
        design_id=pursuit.design_id,
        design_version=pursuit.design_version,
        design_name=content.name if design else "",
        offering_id=pursuit.offering_id,
        offering_title=pursuit.offering_title,
        provider_name=pursuit.provider_name,
        provider_number=pursuit.provider_number,
        recipient_email=pursuit.recipient_email,
        recipient_id=pursuit.recipient_id,
        state=pursuit.state,
        allowed_actions=pursuits.allowed_actions(who, pursuit),
        plan=PlanRead(
            topic=plan.topic,
            smart_goal=plan.smart_goal,
            resources=plan.resources,
            implementation_plan=plan.implementation_plan,
            status=plan.status,
            submitted_at=plan.submitted_at,
            decided_at=plan.decided_at,
            comments=plan.comments,
        )
        if plan
        else None,
        history=[
            PursuitEventRead(
                at=e.at, actor=e.actor, action=e.action, from_state=e.from_state, to_state=e.to_state, note=e.note
            )
            for e in await pursuits.history(session, pursuit.id)
        ],
        started_at=pursuit.started_at,
        updated_at=pursuit.updated_at,
        ended_at=pursuit.ended_at,
    )


@router.post("/v1/pursuits", response_model=PursuitRead, status_code=201, summary="Start pursuing a design")
async def start_pursuit(
    body: PursuitCreate, response: Response, who: Writer, session: SessionDep, catalog: Catalog
) -> PursuitRead:
    pursuit, _design = await pursuits.start(session, who, body, catalog=catalog)
    response.headers["Location"] = f"/v1/pursuits/{pursuit.id}"
    return await _pursuit_read(session, who, pursuit)


@router.get("/v1/pursuits", response_model=list[PursuitRead], summary="Pursuits: your own, or the tenant's")
async def list_pursuits(
    who: Reader,
    session: SessionDep,
    design_id: Annotated[str | None, Query(max_length=36)] = None,
    state: Annotated[str | None, Query(pattern="^(planning|plan_review|active|completed|withdrawn)$")] = None,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PursuitRead]:
    statement = in_tenant(select(Pursuit), Pursuit, who.tenant_id)
    if not pursuits.sees_tenant_records(who):
        statement = statement.where(Pursuit.educator_id == who.subject)
    if design_id:
        statement = statement.where(Pursuit.design_id == design_id)
    if state:
        statement = statement.where(Pursuit.state == state)
    if educator_id:
        statement = statement.where(Pursuit.educator_id == educator_id)
    rows = await session.scalars(statement.order_by(Pursuit.started_at.desc(), Pursuit.id).limit(limit))
    return [await _pursuit_read(session, who, row) for row in rows]


@router.get("/v1/pursuits/{pursuit_id}", response_model=PursuitRead, summary="A pursuit with its plan and history")
async def get_pursuit(pursuit_id: IdPath, who: Reader, session: SessionDep) -> PursuitRead:
    return await _pursuit_read(session, who, await pursuits.get_pursuit(session, who, pursuit_id))


@router.put("/v1/pursuits/{pursuit_id}/plan", response_model=PursuitRead, summary="Write or revise the learning plan")
async def save_plan(pursuit_id: IdPath, body: PlanWrite, who: Writer, session: SessionDep) -> PursuitRead:
    return await _pursuit_read(session, who, await pursuits.save_plan(session, who, pursuit_id, body))


@router.post(
    "/v1/pursuits/{pursuit_id}/plan/submit", response_model=PursuitRead, summary="Submit the plan for approval"
)
async def submit_plan(pursuit_id: IdPath, who: Writer, session: SessionDep) -> PursuitRead:
    return await _pursuit_read(session, who, await pursuits.submit_plan(session, who, pursuit_id))


@router.post(
    "/v1/pursuits/{pursuit_id}/plan/decision",
    response_model=PursuitRead,
    summary="Approve the plan, or return it with comments (coordinators; never one's own)",
)
async def decide_plan(pursuit_id: IdPath, body: PlanDecision, who: Writer, session: SessionDep) -> PursuitRead:
    return await _pursuit_read(session, who, await pursuits.decide_plan(session, who, pursuit_id, body))


@router.post("/v1/pursuits/{pursuit_id}/withdraw", response_model=PursuitRead, summary="Stop pursuing")
async def withdraw(
    pursuit_id: IdPath,
    who: Writer,
    session: SessionDep,
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> PursuitRead:
    return await _pursuit_read(session, who, await pursuits.withdraw(session, who, pursuit_id, note))


# --- ledger -----------------------------------------------------------------------------------


@router.get("/v1/ledger", response_model=LedgerPage, summary="PD minutes and stipends: your own, or the tenant's")
async def list_ledger(
    who: Reader,
    session: SessionDep,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(pattern="^(pd_minutes|stipend)$")] = None,
    occurred_from: Annotated[IsoDate | None, Query(description="on or after")] = None,
    occurred_to: Annotated[IsoDate | None, Query(description="on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> LedgerPage:
    statement = in_tenant(select(LedgerEntry), LedgerEntry, who.tenant_id)
    if not pursuits.sees_tenant_records(who):
        statement = statement.where(LedgerEntry.educator_id == who.subject)
    if educator_id:
        statement = statement.where(LedgerEntry.educator_id == educator_id)
    if kind:
        statement = statement.where(LedgerEntry.kind == kind)
    if occurred_from:
        statement = statement.where(LedgerEntry.occurred_on >= occurred_from)
    if occurred_to:
        statement = statement.where(LedgerEntry.occurred_on <= occurred_to)
    statement = after_cursor(statement, cursor, LedgerEntry.created_at, LedgerEntry.id)
    rows = list(
        await session.scalars(statement.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return LedgerPage(
        items=[LedgerEntryRead.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None,
    )


@router.post(
    "/v1/ledger/{entry_id}/status",
    response_model=LedgerEntryRead,
    summary="Move a stipend on: pending → approved → paid (coordinators and HR)",
)
async def change_stipend(entry_id: IdPath, body: StipendChange, who: Reader, session: SessionDep) -> LedgerEntryRead:
    # HR pays stipends without managing designs (no credentials:write): the role decides here.
    if not pursuits.sees_tenant_records(who):
        raise Forbidden("stipends are approved and paid by coordinators and HR")
    entry = await get_in_tenant(session, LedgerEntry, entry_id, who.tenant_id, noun="ledger entry")
    order = {"pending": "approved", "approved": "paid"}
    if entry.kind != "stipend" or order.get(entry.status) != body.status:
        allowed = [order[entry.status]] if entry.kind == "stipend" and entry.status in order else []
        raise WrongState(
            f"the entry is a {entry.kind} that is {entry.status}: it cannot become {body.status}",
            current_state=entry.status,
            allowed_actions=allowed,
        )
    entry.status, entry.updated_at = body.status, utcnow()
    await session.flush()
    return LedgerEntryRead.model_validate(entry, from_attributes=True)


# --- awards -----------------------------------------------------------------------------------


@router.get("/v1/awards", response_model=list[AwardRead], summary="Awards: your own, or the tenant's")
async def list_awards(
    who: Reader,
    session: SessionDep,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    design_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AwardRead]:
    statement = in_tenant(select(Award), Award, who.tenant_id)
    if not pursuits.sees_tenant_records(who):
        statement = statement.where(Award.educator_id == who.subject)
    if educator_id:
        statement = statement.where(Award.educator_id == educator_id)
    if design_id:
        statement = statement.where(Award.design_id == design_id)
    rows = await session.scalars(statement.order_by(Award.granted_at.desc(), Award.id).limit(limit))
    return [AwardRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/v1/awards/{award_id}", response_model=AwardRead, summary="An award and its badge")
async def get_award(award_id: IdPath, who: Reader, session: SessionDep) -> AwardRead:
    award = await get_in_tenant(session, Award, award_id, who.tenant_id, noun="award")
    if award.educator_id != who.subject and not pursuits.sees_tenant_records(who):
        raise NotFound(f"no award {award_id}")
    return AwardRead.model_validate(award, from_attributes=True)


@router.post(
    "/v1/awards/{award_id}/revoke",
    response_model=AwardRead,
    summary="Revoke an award (e.g. integrity): its badge is revoked, its unpaid stipend voided",
)
async def revoke_award(award_id: IdPath, body: AwardRevocation, who: Writer, session: SessionDep) -> AwardRead:
    award = await awards.revoke(session, who, award_id, body.reason)
    return AwardRead.model_validate(award, from_attributes=True)
