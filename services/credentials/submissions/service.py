"""Tier submissions and their evidence, and the coaching conversations the resubmission cap asks for.

A submission is a draft until the educator submits it; then it waits for review. The rules
that decide whether it may be opened, changed or submitted live here, each refusal naming the
current state and what is possible instead.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials import pursuits, reviews
from services.credentials.designs import MAX_EVIDENCE_BYTES, tier_of
from services.credentials.errors import WrongState
from services.credentials.models import CoachingConversation, EducatorProfile, EvidenceItem, Pursuit, Submission
from services.credentials.schemas import EvidenceRequirement
from services.credentials.sniff import ContentProbe
from services.credentials.storage import Chunks, EvidenceStore
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent

OPEN = frozenset({"draft", "submitted", "in_review"})
_WORD = re.compile(r"\b[\w'\u2019-]+\b")
# Files per requirement (e.g. "two artifacts"): enough for a portfolio, not a dumping ground.
MAX_FILES_PER_REQUIREMENT = 10


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def add_business_days(start: dt.date, days: int) -> dt.date:
    """``days`` working days (Monday to Friday) after ``start``."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


async def passed_tiers(session: AsyncSession, pursuit_id: str) -> set[str]:
    return set(
        await session.scalars(
            select(Submission.tier_key).where(Submission.pursuit_id == pursuit_id, Submission.state == "passed")
        )
    )


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
    if who.subject != pursuit.educator_id and not pursuits.is_coordinator(who):
        raise Forbidden("only the educator (or a coordinator for them) opens a submission")
    content = await pursuits.content_of(session, pursuit)
    tier = tier_of(content, tier_key)
    if pursuit.state != "active":
        raise WrongState(
            f"the pursuit is {pursuit.state}: evidence is submitted once it is active",
            current_state=pursuit.state,
            allowed_actions=pursuits.allowed_actions(who, pursuit),
        )
    passed = await passed_tiers(session, pursuit.id)
    missing = [p for p in tier.prerequisite_tiers if p not in passed]
    if missing:
        raise WrongState(
            f"pass {', '.join(missing)} first: this tier builds on it",
            current_state=pursuit.state,
            allowed_actions=[f"submit:{m}" for m in missing],
        )
    tries = await attempts(session, pursuit.id, tier_key)
    if tier_key in passed:
        raise WrongState("this tier is already passed", current_state="passed", allowed_actions=[])
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
    if pursuits.is_coordinator(who):
        return True
    return await reviews.is_assigned(session, submission.id, who.subject)


async def get_submission(session: AsyncSession, who: Principal, submission_id: str) -> Submission:
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.tenant_id != who.tenant_id or not await may_read(session, who, submission):
        raise NotFound(f"no submission {submission_id}")
    return submission


def _editable(who: Principal, submission: Submission) -> None:
    if who.subject != submission.educator_id and not pursuits.is_coordinator(who):
        raise Forbidden("only the educator changes their evidence")
    if submission.state != "draft":
        raise WrongState(
            f"the submission is {submission.state}: evidence can change only while it is a draft",
            current_state=submission.state,
            allowed_actions=[],
        )


async def requirement_of(session: AsyncSession, submission: Submission, key: str) -> EvidenceRequirement:
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    tier = tier_of(await pursuits.content_of(session, pursuit), submission.tier_key)
    for requirement in tier.evidence:
        if requirement.key == key:
            return requirement
    raise UnprocessableContent(
        f"tier {tier.key!r} asks for no evidence {key!r}",
        errors=[FieldError(pointer="/body/requirement", detail=f"one of: {', '.join(r.key for r in tier.evidence)}")],
    )


async def items(session: AsyncSession, submission_id: str) -> list[EvidenceItem]:
    return list(
        await session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.submission_id == submission_id)
            .order_by(EvidenceItem.created_at, EvidenceItem.id)
        )
    )


@dataclass(frozen=True)
class Upload:
    file_name: str
    chunks: Chunks


async def add_evidence(
    session: AsyncSession,
    who: Principal,
    store: EvidenceStore,
    submission_id: str,
    *,
    requirement_key: str,
    text: str | None,
    url: str | None,
    upload: Upload | None,
) -> EvidenceItem:
    """Add (or, for a reflection or link, replace) a piece of evidence. A file is stored before
    the row is written, and removed again if the row cannot be."""
    submission = await get_submission(session, who, submission_id)
    _editable(who, submission)
    requirement = await requirement_of(session, submission, requirement_key)
    given = {"text": text is not None, "url": url is not None, "file": upload is not None}
    wanted = {"reflection": "text", "link": "url", "file": "file", "student_data": "file"}[requirement.kind]
    extra = [name for name, present in given.items() if present and name != wanted]
    if not given[wanted] or extra:
        raise UnprocessableContent(
            f"a {requirement.kind} requirement takes `{wanted}`",
            errors=[FieldError(pointer=f"/body/{name}", detail="not for this requirement") for name in extra]
            or [FieldError(pointer=f"/body/{wanted}", detail="required for this requirement")],
        )
    now = utcnow()
    item = EvidenceItem(
        id=str(uuid.uuid4()),
        submission_id=submission.id,
        requirement_key=requirement.key,
        kind=requirement.kind,
        contains_student_information=requirement.kind == "student_data" or requirement.contains_student_information,
        created_at=now,
    )
    existing = [i for i in await items(session, submission.id) if i.requirement_key == requirement.key]
    if requirement.kind == "reflection":
        assert text is not None
        words = count_words(text)
        low, high = requirement.min_words, requirement.max_words
        if (low and words < low) or (high and words > high):
            bounds = f"{low or 0} to {high}" if high else f"at least {low}"
            raise UnprocessableContent(
                f"the reflection has {words} words; this prompt asks for {bounds}",
                errors=[FieldError(pointer="/body/text", detail=f"{words} words, {bounds} wanted")],
                word_count=words,
            )
        item.text, item.word_count = text, words
    elif requirement.kind == "link":
        assert url is not None
        item.url = url
    else:
        assert upload is not None
        if len(existing) >= MAX_FILES_PER_REQUIREMENT:
            raise UnprocessableContent(
                f"at most {MAX_FILES_PER_REQUIREMENT} files per requirement",
                errors=[FieldError(pointer="/body/file", detail="remove one first")],
            )
        key = f"{submission.tenant_id}/{submission.id}/{item.id}"
        probe = ContentProbe(upload.chunks, allowed=set(requirement.allowed_types))
        stored = await store.put(key, probe, max_bytes=requirement.max_bytes or MAX_EVIDENCE_BYTES)
        assert probe.detected is not None
        item.storage_key, item.size, item.sha256 = stored.key, stored.size, stored.sha256
        item.media_type, item.file_name = probe.detected.media_type, upload.file_name[:255]
    if requirement.kind in ("reflection", "link"):
        for old in existing:
            await session.delete(old)
    try:
        session.add(item)
        await session.flush()
    except BaseException:
        if item.storage_key:
            await store.delete(item.storage_key)
        raise
    return item


async def remove_evidence(session: AsyncSession, who: Principal, submission_id: str, item_id: str) -> str | None:
    """Remove an item from a draft; returns the storage key to delete after commit."""
    submission = await get_submission(session, who, submission_id)
    _editable(who, submission)
    item = await session.get(EvidenceItem, item_id)
    if item is None or item.submission_id != submission.id:
        raise NotFound(f"no evidence {item_id} in this submission")
    key = item.storage_key
    await session.delete(item)
    await session.flush()
    return key


async def submit(session: AsyncSession, who: Principal, submission_id: str, *, evidence_public: bool) -> Submission:
    """Hand the draft in: every required piece must be there; it joins the review queue with a
    due date ``turnaround_business_days`` working days away."""
    submission = await get_submission(session, who, submission_id)
    _editable(who, submission)
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
    if not pursuits.is_coordinator(who) and "reviews:write" not in who.scopes:
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
