"""Assessor review: who reviews what, scoring against the rubric, and the decision it implies.

- **Assignment** on submit: the least-loaded eligible assessor (active, allowed for the design,
  never the educator, and — when the design asks for it — from another school); a second one
  when the design double-scores. Coordinators can reassign.
- **Scoring**: every criterion gets a level; the outcome follows from the rubric (pass only when
  every criterion is at or above its passing level) and a stated outcome that contradicts it is
  refused. The primary assessor's scores decide; a second assessor's only feed the agreement
  figures.
- **Decision**: one conditional update of the submission's state, so of two decisions made at
  once exactly one stands and the other gets a 409. In two-stage designs a pass is a
  recommendation until a coordinator grants it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.awards import service as awards
from services.credentials.designs.content import tier_of
from services.credentials.errors import WrongState
from services.credentials.models import Pursuit, ReviewAssignment, Submission
from services.credentials.pursuits import service as pursuits
from services.credentials.roles import is_coordinator
from services.credentials.schemas import DesignContent, ScoreWrite, Tier
from services.credentials.submissions.assessors import OPEN_ASSIGNMENT, eligible
from shared.auth import Forbidden, Principal
from shared.db import changed_rows, utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent


async def is_assigned(session: AsyncSession, submission_id: str, assessor_id: str) -> bool:
    found = await session.scalar(
        select(func.count()).where(
            ReviewAssignment.submission_id == submission_id,
            ReviewAssignment.assessor_id == assessor_id,
            ReviewAssignment.state != "withdrawn",
        )
    )
    return bool(found)


async def queue(
    session: AsyncSession,
    who: Principal,
    *,
    design_id: str | None,
    tier: str | None,
    due: str | None,
    submitted_before: dt.datetime | None,
    unassigned: bool,
    limit: int,
) -> list[Submission]:
    """What waits for review: an assessor's own open assignments, or for coordinators everything
    waiting (``unassigned``: only what no assessor has); the earliest due first."""
    statement = select(Submission).where(
        Submission.tenant_id == who.tenant_id, Submission.state.in_(["submitted", "in_review", "recommended"])
    )
    if not is_coordinator(who):
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
    return list(rows)


async def _assign(session: AsyncSession, submission: Submission, assessor_id: str, role: str, by: str) -> None:
    session.add(
        ReviewAssignment(
            id=str(uuid.uuid4()),
            tenant_id=submission.tenant_id,
            submission_id=submission.id,
            assessor_id=assessor_id,
            role=role,
            state=OPEN_ASSIGNMENT,
            assigned_at=utcnow(),
            assigned_by=by,
        )
    )
    await session.flush()


async def assign_on_submit(
    session: AsyncSession, submission: Submission, pursuit: Pursuit, content: DesignContent
) -> None:
    """Automatic assignment; with nobody eligible the submission waits unassigned in the queue."""
    candidates = await eligible(session, submission)
    if not candidates:
        return
    await _assign(session, submission, candidates[0], "primary", "auto")
    if content.settings.double_scoring and len(candidates) > 1:
        await _assign(session, submission, candidates[1], "second", "auto")
    submission.state = "in_review"
    await session.flush()


async def assignments(session: AsyncSession, submission_id: str) -> list[ReviewAssignment]:
    rows = await session.scalars(
        select(ReviewAssignment)
        .where(ReviewAssignment.submission_id == submission_id, ReviewAssignment.state != "withdrawn")
        .order_by(ReviewAssignment.role, ReviewAssignment.assigned_at)  # "primary" sorts before "second"
    )
    return list(rows)


async def reassign(
    session: AsyncSession, who: Principal, submission_id: str, role: str, assessor_id: str
) -> ReviewAssignment:
    """A coordinator hands a submission (or its second scoring) to another assessor."""
    if not is_coordinator(who):
        raise Forbidden("assignments are made by coordinators")
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.tenant_id != who.tenant_id:
        raise NotFound(f"no submission {submission_id}")
    if submission.state not in ("submitted", "in_review"):
        raise WrongState(
            f"the submission is {submission.state}: there is nothing to review",
            current_state=submission.state,
            allowed_actions=[],
        )
    others = {a.assessor_id for a in await assignments(session, submission.id) if a.role != role}
    allowed = await eligible(session, submission, exclude=others)
    if assessor_id not in allowed:
        reason = "the educator themself" if assessor_id == submission.educator_id else "not an eligible assessor"
        raise UnprocessableContent(
            f"{assessor_id} cannot review this submission: {reason}",
            errors=[FieldError(pointer="/body/assessor_id", detail=reason)],
        )
    for current in await assignments(session, submission.id):
        if current.role == role:
            if current.state == "scored":
                raise WrongState("this review is already scored", current_state="scored", allowed_actions=[])
            current.state = "withdrawn"
    await session.flush()
    await _assign(session, submission, assessor_id, role, who.subject)
    submission.state = "in_review"
    await session.flush()
    found = next(a for a in await assignments(session, submission.id) if a.role == role)
    return found


def rubric_outcome(tier: Tier, body: ScoreWrite) -> tuple[list[dict[str, Any]], str]:
    """The scores checked against the rubric and the outcome the rubric gives."""
    criteria = {c.key: c for c in tier.rubric.criteria}
    errors: list[FieldError] = []
    given: dict[str, int] = {}
    for i, score in enumerate(body.scores):
        criterion = criteria.get(score.criterion)
        if criterion is None:
            errors.append(FieldError(pointer=f"/body/scores/{i}/criterion", detail="not a criterion of this rubric"))
            continue
        if score.criterion in given:
            errors.append(FieldError(pointer=f"/body/scores/{i}/criterion", detail="scored twice"))
        levels = [level.key for level in criterion.levels]
        if score.level not in levels:
            errors.append(FieldError(pointer=f"/body/scores/{i}/level", detail=f"one of: {', '.join(levels)}"))
            continue
        given[score.criterion] = i
    for key in criteria:
        if key not in given:
            errors.append(FieldError(pointer="/body/scores", detail=f"criterion {key!r} is not scored"))
    if errors:
        raise UnprocessableContent("every criterion needs one level of its own", errors=errors)
    met = all(
        [lv.key for lv in criteria[s.criterion].levels].index(s.level)
        >= [lv.key for lv in criteria[s.criterion].levels].index(criteria[s.criterion].passing_level)
        for s in body.scores
    )
    outcome = "pass" if met else "return"
    if body.outcome is not None and body.outcome != outcome:
        raise UnprocessableContent(
            f"the rubric says {outcome}: "
            + ("every criterion is at its passing level" if met else "a criterion is below its passing level"),
            errors=[FieldError(pointer="/body/outcome", detail=f"must be {outcome} for these scores")],
        )
    return [s.model_dump() for s in body.scores], outcome


async def score(session: AsyncSession, who: Principal, assignment_id: str, body: ScoreWrite) -> ReviewAssignment:
    assignment = await session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.tenant_id != who.tenant_id or assignment.state == "withdrawn":
        raise NotFound(f"no review {assignment_id}")
    if assignment.assessor_id != who.subject:
        raise Forbidden("this review is assigned to someone else")
    if assignment.state != OPEN_ASSIGNMENT:
        raise WrongState("this review is already scored", current_state=assignment.state, allowed_actions=[])
    submission = await session.get(Submission, assignment.submission_id)
    pursuit = await session.get(Pursuit, submission.pursuit_id) if submission else None
    assert submission is not None
    assert pursuit is not None
    content = await pursuits.content_of(session, pursuit)
    scores, outcome = rubric_outcome(tier_of(content, submission.tier_key), body)
    # Claim the assignment: a second request for the same review finds it scored.
    claimed = await session.execute(
        update(ReviewAssignment)
        .where(ReviewAssignment.id == assignment.id, ReviewAssignment.state == OPEN_ASSIGNMENT)
        .values(state="scored", scores=scores, outcome=outcome, comment=body.comment, scored_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(claimed):
        raise WrongState("this review was scored meanwhile", current_state="scored", allowed_actions=[])
    await session.refresh(assignment)
    if assignment.role == "primary":
        target = "returned" if outcome == "return" else ("recommended" if content.settings.two_stage else "passed")
        await decide(session, submission, target)
    return assignment


async def decide(session: AsyncSession, submission: Submission, target: str, *, from_state: str = "in_review") -> None:
    """Move the submission on, if nobody else did first (one decision stands)."""
    result = await session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.state == from_state)
        .values(state=target, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(result):
        await session.refresh(submission)
        raise WrongState(
            f"the submission was decided meanwhile: it is {submission.state}",
            current_state=submission.state,
            allowed_actions=[],
        )
    await session.refresh(submission)
    if target == "passed":
        await awards.grant(session, submission)


async def grant(session: AsyncSession, who: Principal, submission_id: str, decision: str) -> Submission:
    """Two-stage designs: a coordinator grants (passed) or denies (returned) a recommendation."""
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.tenant_id != who.tenant_id:
        raise NotFound(f"no submission {submission_id}")
    if not is_coordinator(who) or who.subject == submission.educator_id:
        raise Forbidden("a coordinator (other than the educator) grants or denies")
    if submission.state != "recommended":
        raise WrongState(
            f"the submission is {submission.state}: only a recommendation is granted or denied",
            current_state=submission.state,
            allowed_actions=[],
        )
    target = "passed" if decision == "grant" else "returned"
    await decide(session, submission, target, from_state="recommended")
    return submission
