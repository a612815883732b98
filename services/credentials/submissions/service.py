"""Tier submissions, who sees what of them, and the coaching conversations the resubmission
cap asks for.

A submission is a draft until the educator submits it; then it waits for review. The rules
that decide whether it may be opened, changed or submitted live here, each refusal naming the
current state and what is possible instead. Its evidence is added and removed in
``services/credentials/evidence``; reviews are in ``reviews.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.designs.content import tier_of
from services.credentials.errors import AlreadyAwarded, WrongState
from services.credentials.models import (
    CoachingConversation,
    EducatorProfile,
    EvidenceItem,
    Pursuit,
    ReviewAssignment,
    Submission,
)
from services.credentials.pursuits import service as pursuits
from services.credentials.roles import is_coordinator
from services.credentials.submissions import reviews
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent

OPEN = frozenset({"draft", "submitted", "in_review"})


def add_business_days(start: dt.date, days: int) -> dt.date:
    """``days`` working days (Monday to Friday) after ``start``."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


async def attempts(session: AsyncSession, pursuit_id: str, tier_key: str) -> list[Submission]:
    return list(
        await session.scalars(
            select(Submission)
            .where(Submission.pursuit_id == pursuit_id, Submission.tier_key == tier_key)
            .order_by(Submission.attempt)
        )
    )


async def coaching_needed(session: AsyncSession, pursuit: Pursuit, tier_key: str, cap: int) -> bool:
    """At the cap (``cap`` returned attempts), a coaching conversation must be logged after the
    last return before the next attempt."""
    tries = await attempts(session, pursuit.id, tier_key)
    returned = [s for s in tries if s.state == "returned"]
    if len(returned) < cap or len(returned) % cap != 0:
        return False
    last_return = max(s.decided_at or s.created_at for s in returned)
    coached = await session.scalar(
        select(func.count()).where(
            CoachingConversation.pursuit_id == pursuit.id,
            CoachingConversation.tier_key == tier_key,
            CoachingConversation.logged_at >= last_return,
        )
    )
    return not coached


async def open_submission(session: AsyncSession, who: Principal, pursuit_id: str, tier_key: str) -> Submission:
    """A new draft for the tier (attempt n+1), when the pursuit, the tier's prerequisites, the
    earlier attempts and the coaching rule allow it."""
    pursuit = await pursuits.get_pursuit(session, who, pursuit_id)
    if who.subject != pursuit.educator_id and not is_coordinator(who):
        raise Forbidden("only the educator (or a coordinator for them) opens a submission")
    content = await pursuits.content_of(session, pursuit)
    tier = tier_of(content, tier_key)
    if pursuit.state != "active":
        raise WrongState(
            f"the pursuit is {pursuit.state}: evidence is submitted once it is active",
            current_state=pursuit.state,
            allowed_actions=pursuits.allowed_actions(who, pursuit),
        )
    # A tier counts as passed while its award stands, from this pursuit or an earlier one; after a
    # revocation it may be tried again.
    held = await pursuits.standing_awards(session, pursuit.tenant_id, pursuit.educator_id, pursuit.design_id)
    passed = set(held)
    missing = [p for p in tier.prerequisite_tiers if p not in passed]
    if missing:
        raise WrongState(
            f"pass {', '.join(missing)} first: this tier builds on it",
            current_state=pursuit.state,
            allowed_actions=[f"submit:{m}" for m in missing],
        )
    tries = await attempts(session, pursuit.id, tier_key)
    if tier_key in held:
        raise AlreadyAwarded(
            f"this tier is already passed: award {held[tier_key].id} stands",
            award_id=held[tier_key].id,
            tier=tier_key,
        )
    current = next((s for s in tries if s.state in OPEN), None)
    if current is not None:
        raise WrongState(
            f"attempt {current.attempt} of this tier is {current.state}; continue with it",
            current_state=current.state,
            allowed_actions=["edit", "submit"] if current.state == "draft" else [],
            submission_id=current.id,
        )
    if await coaching_needed(session, pursuit, tier_key, content.settings.resubmission_cap):
        raise WrongState(
            f"after {content.settings.resubmission_cap} returned attempts a coaching conversation comes first",
            current_state="coaching_required",
            allowed_actions=["log_coaching"],
        )
    submission = Submission(
        id=str(uuid.uuid4()),
        tenant_id=pursuit.tenant_id,
        pursuit_id=pursuit.id,
        educator_id=pursuit.educator_id,
        design_id=pursuit.design_id,
        tier_key=tier_key,
        attempt=len(tries) + 1,
        state="draft",
        created_at=utcnow(),
    )
    session.add(submission)
    await session.flush()
    return submission


async def may_read(session: AsyncSession, who: Principal, submission: Submission) -> bool:
    """Its educator, coordinators, and the assessors assigned to it (see reviews)."""
    if who.kind == "user" and who.subject == submission.educator_id:
        return True
    if is_coordinator(who):
        return True
    return await reviews.is_assigned(session, submission.id, who.subject)


async def get_submission(session: AsyncSession, who: Principal, submission_id: str) -> Submission:
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.tenant_id != who.tenant_id or not await may_read(session, who, submission):
        raise NotFound(f"no submission {submission_id}")
    return submission


async def list_for_pursuit(session: AsyncSession, who: Principal, pursuit_id: str) -> list[Submission]:
    pursuit = await pursuits.get_pursuit(session, who, pursuit_id)
    rows = await session.scalars(
        select(Submission)
        .where(Submission.pursuit_id == pursuit.id)
        .order_by(Submission.created_at, Submission.attempt)
    )
    return list(rows)


async def of_assignment(session: AsyncSession, assignment: ReviewAssignment) -> Submission:
    submission = await session.get(Submission, assignment.submission_id)
    assert submission is not None
    return submission


async def is_blind(session: AsyncSession, who: Principal, submission: Submission) -> bool:
    """Assessors of a blind-review design do not see who submitted."""
    if is_coordinator(who) or who.subject == submission.educator_id:
        return False
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    return (await pursuits.content_of(session, pursuit)).settings.blind_review


async def visible_reviews(session: AsyncSession, who: Principal, submission: Submission) -> list[ReviewAssignment]:
    """The reviews of a submission the caller sees: coordinators all of them, an assessor their
    own (a second scorer works blind to the first), the educator the deciding (primary) one."""
    coordinator = is_coordinator(who)
    return [
        a
        for a in await reviews.assignments(session, submission.id)
        if coordinator
        or a.assessor_id == who.subject
        or (who.subject == submission.educator_id and a.role == "primary")
    ]


def editable(who: Principal, submission: Submission) -> None:
    if who.subject != submission.educator_id and not is_coordinator(who):
        raise Forbidden("only the educator changes their evidence")
    if submission.state != "draft":
        raise WrongState(
            f"the submission is {submission.state}: evidence can change only while it is a draft",
            current_state=submission.state,
            allowed_actions=[],
        )


async def items(session: AsyncSession, submission_id: str) -> list[EvidenceItem]:
    return list(
        await session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.submission_id == submission_id)
            .order_by(EvidenceItem.created_at, EvidenceItem.id)
        )
    )


async def submit(session: AsyncSession, who: Principal, submission_id: str, *, evidence_public: bool) -> Submission:
    """Hand the draft in: every required piece must be there; it joins the review queue with a
    due date ``turnaround_business_days`` working days away."""
    submission = await get_submission(session, who, submission_id)
    editable(who, submission)
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    content = await pursuits.content_of(session, pursuit)
    tier = tier_of(content, submission.tier_key)
    present = {i.requirement_key for i in await items(session, submission.id)}
    missing = [r for r in tier.evidence if r.required and r.key not in present]
    if missing:
        raise UnprocessableContent(
            "required evidence is missing",
            errors=[FieldError(pointer=f"/evidence/{r.key}", detail=r.prompt[:200]) for r in missing],
        )
    now = utcnow()
    submission.state = "submitted"
    submission.submitted_at = now
    submission.evidence_public = evidence_public
    submission.due_on = add_business_days(now.date(), content.settings.turnaround_business_days)
    if content.settings.assessor_from_other_school:
        # The school as the SIS says today: assessment stays apart from the educator's own school.
        profile = await session.get(EducatorProfile, (submission.tenant_id, submission.educator_id))
        submission.school_id = profile.school_id if profile else None
    await session.flush()
    await reviews.assign_on_submit(session, submission, pursuit, content)
    return submission


async def log_coaching(
    session: AsyncSession, who: Principal, pursuit_id: str, *, tier_key: str, held_on: dt.date, notes: str | None
) -> CoachingConversation:
    pursuit = await pursuits.get_pursuit(session, who, pursuit_id)
    if not is_coordinator(who) and "reviews:write" not in who.scopes:
        raise Forbidden("coaching conversations are logged by coaches and coordinators")
    if who.subject == pursuit.educator_id:
        raise Forbidden("an educator does not log their own coaching")
    tier_of(await pursuits.content_of(session, pursuit), tier_key)
    row = CoachingConversation(
        id=str(uuid.uuid4()),
        tenant_id=pursuit.tenant_id,
        pursuit_id=pursuit.id,
        tier_key=tier_key,
        coach_id=who.subject,
        held_on=held_on,
        notes=notes,
        logged_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row
