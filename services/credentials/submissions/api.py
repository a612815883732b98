"""HTTP routes of submissions, the review queue, scoring, coaching and the assessor pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.credentials.deps import IdPath, Reader, Reviewer, Writer
from services.credentials.models import ReviewAssignment, Submission
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
from services.credentials.submissions import assessors, reviews, service
from shared.auth import Principal
from shared.db import utcnow
from shared.params import IsoDateTime
from shared.state import SessionDep

router = APIRouter()


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


async def _submission_read(session: SessionDep, who: Principal, submission: Submission) -> SubmissionRead:
    blind = await service.is_blind(session, who, submission)
    shown = [_assignment_read(a) for a in await service.visible_reviews(session, who, submission)]
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
            EvidenceRead.model_validate(i, from_attributes=True) for i in await service.items(session, submission.id)
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
    pursuit_id: IdPath, body: SubmissionCreate, response: Response, who: Writer, session: SessionDep
) -> SubmissionRead:
    submission = await service.open_submission(session, who, pursuit_id, body.tier)
    response.headers["Location"] = f"/v1/submissions/{submission.id}"
    return await _submission_read(session, who, submission)


@router.get(
    "/v1/pursuits/{pursuit_id}/submissions", response_model=list[SubmissionRead], summary="A pursuit's submissions"
)
async def list_submissions(pursuit_id: IdPath, who: Reader, session: SessionDep) -> list[SubmissionRead]:
    rows = await service.list_for_pursuit(session, who, pursuit_id)
    return [await _submission_read(session, who, row) for row in rows]


@router.get("/v1/submissions/{submission_id}", response_model=SubmissionRead, summary="A submission with its evidence")
async def get_submission(submission_id: IdPath, who: Reader, session: SessionDep) -> SubmissionRead:
    return await _submission_read(session, who, await service.get_submission(session, who, submission_id))


@router.post(
    "/v1/submissions/{submission_id}/submit",
    response_model=SubmissionRead,
    summary="Hand in the draft: it joins the review queue",
)
async def submit(
    submission_id: IdPath, who: Writer, session: SessionDep, body: SubmitRequest | None = None
) -> SubmissionRead:
    submission = await service.submit(
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
    rows = await reviews.queue(
        session,
        who,
        design_id=design_id,
        tier=tier,
        due=due,
        submitted_before=submitted_before,
        unassigned=unassigned,
        limit=limit,
    )
    return [await _submission_read(session, who, row) for row in rows]


@router.post(
    "/v1/reviews/{assignment_id}/scores",
    response_model=SubmissionRead,
    summary="Score every rubric criterion; the rubric decides pass or return",
)
async def score(assignment_id: IdPath, body: ScoreWrite, who: Reviewer, session: SessionDep) -> SubmissionRead:
    assignment = await reviews.score(session, who, assignment_id, body)
    return await _submission_read(session, who, await service.of_assignment(session, assignment))


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
async def log_coaching(
    pursuit_id: IdPath, body: CoachingWrite, response: Response, who: Reader, session: SessionDep
) -> CoachingRead:
    row = await service.log_coaching(
        session, who, pursuit_id, tier_key=body.tier, held_on=body.held_on, notes=body.notes
    )
    response.headers["Location"] = f"/v1/pursuits/{pursuit_id}/coaching/{row.id}"
    return CoachingRead(
        id=row.id, tier_key=row.tier_key, coach_id=row.coach_id, held_on=row.held_on, logged_at=row.logged_at
    )


def _assessor_read(member: assessors.PoolMember) -> AssessorRead:
    row = member.assessor
    return AssessorRead(
        assessor_id=row.assessor_id,
        school_id=row.school_id,
        design_ids=row.design_ids,
        active=row.active,
        open_reviews=member.open_reviews,
    )


@router.put("/v1/assessors/{assessor_id}", response_model=AssessorRead, summary="Add or change an assessor")
async def put_assessor(
    assessor_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: AssessorWrite,
    who: Writer,
    session: SessionDep,
) -> AssessorRead:
    return _assessor_read(await assessors.save_assessor(session, who, assessor_id, body))


@router.get("/v1/assessors", response_model=list[AssessorRead], summary="The assessor pool and its open reviews")
async def list_assessors(who: Reviewer, session: SessionDep) -> list[AssessorRead]:
    return [_assessor_read(member) for member in await assessors.pool(session, who.tenant_id)]
