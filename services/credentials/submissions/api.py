"""HTTP routes of submissions, evidence, the review queue, scoring, coaching and the assessor pool."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials import pursuits, reviews, submissions
from services.credentials.deps import IdPath, Reader, Reviewer, SessionDep, Writer
from services.credentials.models import Assessor, EvidenceItem, Pursuit, ReviewAssignment, Submission
from services.credentials.schemas import (
    AssessorRead,
    AssessorWrite,
    AssignmentRead,
    CoachingRead,
    CoachingWrite,
    CriterionScore,
    EvidenceRead,
    GrantDecision,
    Reassignment,
    ScoreWrite,
    SubmissionCreate,
    SubmissionRead,
    SubmitRequest,
)
from services.credentials.storage import EvidenceNotFound, EvidenceStore, read_chunks
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.params import IsoDateTime
from shared.problems import NotFound

router = APIRouter()


def _store(request: Request) -> EvidenceStore:
    store: EvidenceStore = request.app.state.evidence_store
    return store


def _assignment_read(a: ReviewAssignment) -> AssignmentRead:
    return AssignmentRead(
        id=a.id,
        submission_id=a.submission_id,
        assessor_id=a.assessor_id,
        role=a.role,
        state=a.state,
        assigned_at=a.assigned_at,
        scores=[CriterionScore.model_validate(s) for s in a.scores] if a.scores else None,
        outcome=a.outcome,
        comment=a.comment,
        scored_at=a.scored_at,
    )


async def _blind(session: AsyncSession, who: Principal, submission: Submission) -> bool:
    """Assessors of a blind-review design do not see who submitted."""
    if pursuits.is_coordinator(who) or who.subject == submission.educator_id:
        return False
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    return (await pursuits.content_of(session, pursuit)).settings.blind_review


async def _submission_read(session: AsyncSession, who: Principal, submission: Submission) -> SubmissionRead:
    blind = await _blind(session, who, submission)
    coordinator = pursuits.is_coordinator(who)
    shown = []
    for a in await reviews.assignments(session, submission.id):
        # A second scorer works blind to the first, and the educator sees the deciding review.
        if (
            coordinator
            or a.assessor_id == who.subject
            or (who.subject == submission.educator_id and a.role == "primary")
        ):
            shown.append(_assignment_read(a))
    return SubmissionRead(
        id=submission.id,
        pursuit_id=submission.pursuit_id,
        educator_id=None if blind else submission.educator_id,
        design_id=submission.design_id,
        tier_key=submission.tier_key,
        attempt=submission.attempt,
        state=submission.state,
        evidence_public=submission.evidence_public,
        created_at=submission.created_at,
        submitted_at=submission.submitted_at,
        due_on=submission.due_on,
        overdue=bool(
            submission.due_on and submission.state in ("submitted", "in_review") and submission.due_on < utcnow().date()
        ),
        decided_at=submission.decided_at,
        evidence=[
            EvidenceRead.model_validate(i, from_attributes=True)
            for i in await submissions.items(session, submission.id)
        ],
        reviews=shown,
    )


@router.post(
    "/v1/pursuits/{pursuit_id}/submissions",
    response_model=SubmissionRead,
    status_code=201,
    summary="Open a draft submission for a tier (the next attempt)",
)
async def open_submission(
    pursuit_id: IdPath, body: SubmissionCreate, who: Writer, session: SessionDep
) -> SubmissionRead:
    submission = await submissions.open_submission(session, who, pursuit_id, body.tier)
    return await _submission_read(session, who, submission)


@router.get(
    "/v1/pursuits/{pursuit_id}/submissions", response_model=list[SubmissionRead], summary="A pursuit's submissions"
)
async def list_submissions(pursuit_id: IdPath, who: Reader, session: SessionDep) -> list[SubmissionRead]:
    pursuit = await pursuits.get_pursuit(session, who, pursuit_id)
    rows = await session.scalars(
        select(Submission)
        .where(Submission.pursuit_id == pursuit.id)
        .order_by(Submission.created_at, Submission.attempt)
    )
    return [await _submission_read(session, who, row) for row in rows]


@router.get("/v1/submissions/{submission_id}", response_model=SubmissionRead, summary="A submission with its evidence")
async def get_submission(submission_id: IdPath, who: Reader, session: SessionDep) -> SubmissionRead:
    return await _submission_read(session, who, await submissions.get_submission(session, who, submission_id))


@router.post(
    "/v1/submissions/{submission_id}/evidence",
    response_model=EvidenceRead,
    status_code=201,
    summary="Add evidence to a draft: `text` (reflection), `url` (link) or `file` (multipart)",
)
async def add_evidence(
    submission_id: IdPath,
    request: Request,
    who: Writer,
    session: SessionDep,
    requirement: Annotated[str, Form(min_length=1, max_length=40)],
    text: Annotated[str | None, Form(max_length=200_000)] = None,
    url: Annotated[str | None, Form(max_length=2000, pattern=r"^https?://[^\s]+$")] = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> EvidenceRead:
    upload = submissions.Upload(file_name=file.filename or "evidence", chunks=read_chunks(file)) if file else None
    item = await submissions.add_evidence(
        session, who, _store(request), submission_id, requirement_key=requirement, text=text, url=url, upload=upload
    )
    return EvidenceRead.model_validate(item, from_attributes=True)


@router.delete(
    "/v1/submissions/{submission_id}/evidence/{item_id}", status_code=204, summary="Remove evidence from a draft"
)
async def remove_evidence(
    submission_id: IdPath, item_id: IdPath, request: Request, tasks: BackgroundTasks, who: Writer, session: SessionDep
) -> None:
    key = await submissions.remove_evidence(session, who, submission_id, item_id)
    if key:
        # After the response, so after the commit: a rolled-back removal keeps its file.
        tasks.add_task(_store(request).delete, key)


@router.get(
    "/v1/submissions/{submission_id}/evidence/{item_id}/content",
    summary="Download an evidence file (its educator, assigned assessors, coordinators)",
    response_class=StreamingResponse,
)
async def download_evidence(
    submission_id: IdPath, item_id: IdPath, request: Request, who: Reader, session: SessionDep
) -> StreamingResponse:
    submission = await submissions.get_submission(session, who, submission_id)
    item = await session.get(EvidenceItem, item_id)
    if item is None or item.submission_id != submission.id or item.storage_key is None:
        raise NotFound(f"no file {item_id} in this submission")
    try:
        chunks = await _store(request).open(item.storage_key)
    except EvidenceNotFound as exc:
        raise NotFound("the file is no longer kept (retention)") from exc
    return StreamingResponse(
        chunks,
        media_type=item.media_type or "application/octet-stream",
        headers={
            "Content-Disposition": "attachment",  # never rendered inline by a browser
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Digest": f"sha-256={item.sha256}",
        },
    )


@router.post(
    "/v1/submissions/{submission_id}/submit",
    response_model=SubmissionRead,
    summary="Hand in the draft: it joins the review queue",
)
async def submit(
    submission_id: IdPath, who: Writer, session: SessionDep, body: SubmitRequest | None = None
) -> SubmissionRead:
    submission = await submissions.submit(
        session, who, submission_id, evidence_public=body.evidence_public if body else False
    )
    return await _submission_read(session, who, submission)


@router.post(
    "/v1/submissions/{submission_id}/decision",
    response_model=SubmissionRead,
    summary="Two-stage designs: a coordinator grants or denies the assessor's recommendation",
)
async def grant(submission_id: IdPath, body: GrantDecision, who: Writer, session: SessionDep) -> SubmissionRead:
    submission = await reviews.grant(session, who, submission_id, body.decision)
    return await _submission_read(session, who, submission)


# --- the review queue -------------------------------------------------------------------------


@router.get(
    "/v1/reviews",
    response_model=list[SubmissionRead],
    summary="The review queue: assessors see what is assigned to them, coordinators everything waiting",
)
async def review_queue(
    who: Reviewer,
    session: SessionDep,
    design_id: Annotated[str | None, Query(max_length=36)] = None,
    tier: Annotated[str | None, Query(max_length=40)] = None,
    due: Annotated[str | None, Query(pattern="^(overdue|this_week|later)$")] = None,
    submitted_before: Annotated[IsoDateTime | None, Query(description="older than (age filter)")] = None,
    unassigned: Annotated[bool, Query(description="coordinators: only those no assessor has")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SubmissionRead]:
    statement = select(Submission).where(
        Submission.tenant_id == who.tenant_id, Submission.state.in_(["submitted", "in_review", "recommended"])
    )
    if not pursuits.is_coordinator(who):
        mine = select(ReviewAssignment.submission_id).where(
            ReviewAssignment.assessor_id == who.subject, ReviewAssignment.state == "assigned"
        )
        statement = statement.where(Submission.id.in_(mine))
    elif unassigned:
        statement = statement.where(Submission.state == "submitted")
    if design_id:
        statement = statement.where(Submission.design_id == design_id)
    if tier:
        statement = statement.where(Submission.tier_key == tier)
    today = utcnow().date()
    if due == "overdue":
        statement = statement.where(Submission.due_on < today)
    elif due == "this_week":
        statement = statement.where(Submission.due_on >= today, Submission.due_on <= today + dt.timedelta(days=7))
    elif due == "later":
        statement = statement.where(Submission.due_on > today + dt.timedelta(days=7))
    if submitted_before is not None:
        if submitted_before.tzinfo is None:
            submitted_before = submitted_before.replace(tzinfo=dt.UTC)
        statement = statement.where(Submission.submitted_at < submitted_before)
    rows = await session.scalars(
        statement.order_by(Submission.due_on, Submission.submitted_at, Submission.id).limit(limit)
    )
    return [await _submission_read(session, who, row) for row in rows]


@router.post(
    "/v1/reviews/{assignment_id}/scores",
    response_model=SubmissionRead,
    summary="Score every rubric criterion; the rubric decides pass or return",
)
async def score(assignment_id: IdPath, body: ScoreWrite, who: Reviewer, session: SessionDep) -> SubmissionRead:
    assignment = await reviews.score(session, who, assignment_id, body)
    submission = await session.get(Submission, assignment.submission_id)
    assert submission is not None
    return await _submission_read(session, who, submission)


@router.put(
    "/v1/submissions/{submission_id}/assignments/{role}",
    response_model=AssignmentRead,
    summary="Coordinators: (re)assign the primary review or the second scoring",
)
async def reassign(
    submission_id: IdPath,
    role: Annotated[str, Path(pattern="^(primary|second)$")],
    body: Reassignment,
    who: Reviewer,
    session: SessionDep,
) -> AssignmentRead:
    return _assignment_read(await reviews.reassign(session, who, submission_id, role, body.assessor_id))


# --- coaching and the assessor pool -----------------------------------------------------------


@router.post(
    "/v1/pursuits/{pursuit_id}/coaching",
    response_model=CoachingRead,
    status_code=201,
    summary="Log a coaching conversation (notes stay with the coach and the educator)",
)
async def log_coaching(pursuit_id: IdPath, body: CoachingWrite, who: Reader, session: SessionDep) -> CoachingRead:
    row = await submissions.log_coaching(
        session, who, pursuit_id, tier_key=body.tier, held_on=body.held_on, notes=body.notes
    )
    return CoachingRead(
        id=row.id, tier_key=row.tier_key, coach_id=row.coach_id, held_on=row.held_on, logged_at=row.logged_at
    )


@router.put("/v1/assessors/{assessor_id}", response_model=AssessorRead, summary="Add or change an assessor")
async def put_assessor(
    assessor_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: AssessorWrite,
    who: Writer,
    session: SessionDep,
) -> AssessorRead:
    if not pursuits.is_coordinator(who):
        raise Forbidden("the assessor pool is managed by coordinators")
    row = await session.get(Assessor, (who.tenant_id, assessor_id))
    if row is None:
        row = Assessor(tenant_id=who.tenant_id, assessor_id=assessor_id)
        session.add(row)
    row.school_id, row.design_ids, row.active, row.updated_at = body.school_id, body.design_ids, body.active, utcnow()
    await session.flush()
    loads = await reviews.open_loads(session, who.tenant_id)
    return AssessorRead(
        assessor_id=assessor_id,
        school_id=row.school_id,
        design_ids=row.design_ids,
        active=row.active,
        open_reviews=loads.get(assessor_id, 0),
    )


@router.get("/v1/assessors", response_model=list[AssessorRead], summary="The assessor pool and its open reviews")
async def list_assessors(who: Reviewer, session: SessionDep) -> list[AssessorRead]:
    rows = await session.scalars(
        select(Assessor).where(Assessor.tenant_id == who.tenant_id).order_by(Assessor.assessor_id)
    )
    loads = await reviews.open_loads(session, who.tenant_id)
    return [
        AssessorRead(
            assessor_id=r.assessor_id,
            school_id=r.school_id,
            design_ids=r.design_ids,
            active=r.active,
            open_reviews=loads.get(r.assessor_id, 0),
        )
        for r in rows
    ]
