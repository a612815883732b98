"""Awards: a passed tier becomes an award, its ledger entries and an ``award.granted`` event —
all in the transaction of the decision, so none exists without the others.

The badges service receives ``award.granted`` through the outbox (at least once; it issues
with the award id as Idempotency-Key, so once) and answers with ``badge.issued``, which stores
the badge's id and links here. Revoking an award sends ``award.revoked``; its badge is revoked.

A tier is awarded once per educator and design while its award stands: a pass when an award of
the tier stands already answers 409 naming it and writes nothing (the decision, the submission's
state and the ledger stay as they were). The check comes first; the partial unique index
``uq_awards_one_standing`` settles passes that race. An award earned after a revocation names
the revoked one (``replaces_award_id``); a renewal reissues the badge of the same award.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.schemas import BadgeIssued
from services.credentials.designs.content import tier_of
from services.credentials.errors import AlreadyAwarded, WrongState
from services.credentials.ledger import service as ledger
from services.credentials.models import (
    Award,
    EducatorProfile,
    EvidenceItem,
    LedgerEntry,
    OutboxEvent,
    Pursuit,
    ReviewAssignment,
    Submission,
)
from services.credentials.pursuits import service as pursuits
from services.credentials.roles import is_coordinator, own_records_only
from services.credentials.schemas import AwardedEvidence, AwardedResult, AwardGranted, AwardRevoked
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.events import EventEnvelope
from shared.outbox import enqueue
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


async def list_awards(
    session: AsyncSession, who: Principal, *, educator_id: str | None, design_id: str | None, limit: int
) -> list[Award]:
    """The caller's own awards, or the tenant's for those who read its records, newest first."""
    statement = in_tenant(select(Award), Award, who.tenant_id)
    if (only := own_records_only(who)) is not None:
        statement = statement.where(Award.educator_id == only)
    if educator_id:
        statement = statement.where(Award.educator_id == educator_id)
    if design_id:
        statement = statement.where(Award.design_id == design_id)
    return list(await session.scalars(statement.order_by(Award.granted_at.desc(), Award.id).limit(limit)))


async def get_award(session: AsyncSession, who: Principal, award_id: str) -> Award:
    award = await get_in_tenant(session, Award, award_id, who.tenant_id, noun="award")
    only = own_records_only(who)
    if only is not None and award.educator_id != only:
        raise NotFound(f"no award {award_id}")
    return award


def already_awarded(standing: Award) -> AlreadyAwarded:
    return AlreadyAwarded(
        f"tier {standing.tier_key} is already awarded to {standing.educator_id}: award {standing.id} stands"
        " (a tier is awarded again only after its award is revoked)",
        award_id=standing.id,
        tier=standing.tier_key,
    )


async def grant(session: AsyncSession, submission: Submission) -> Award:
    """The award of a submission that has just passed (409 if one of its tier stands)."""
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    content = await pursuits.content_of(session, pursuit)
    tier = tier_of(content, submission.tier_key)
    held = await pursuits.standing_awards(session, pursuit.tenant_id, pursuit.educator_id, pursuit.design_id)
    if tier.key in held:
        raise already_awarded(held[tier.key])
    replaced = await session.scalar(
        select(Award.id)
        .where(
            Award.tenant_id == pursuit.tenant_id,
            Award.educator_id == pursuit.educator_id,
            Award.design_id == pursuit.design_id,
            Award.tier_key == tier.key,
            Award.status == "revoked",
        )
        .order_by(Award.revoked_at.desc(), Award.id.desc())
        .limit(1)
    )
    primary = await session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.submission_id == submission.id,
            ReviewAssignment.role == "primary",
            ReviewAssignment.state == "scored",
        )
    )
    results = [
        AwardedResult(criterion=s["criterion"], level=s["level"]) for s in ((primary.scores if primary else None) or [])
    ]
    items = list(await session.scalars(select(EvidenceItem).where(EvidenceItem.submission_id == submission.id)))
    requirements = {r.key: r for r in tier.evidence}
    # References only; a public badge may link to the educator's own links, never to files
    # (they need a login) and never to student data.
    references = [
        {"id": i.id, "requirement": i.requirement_key, "kind": i.kind, "url": i.url, "sha256": i.sha256} for i in items
    ]
    public = [
        AwardedEvidence(
            url=i.url, name=requirements[i.requirement_key].prompt[:200] if i.requirement_key in requirements else None
        )
        for i in items
        if submission.evidence_public and i.url and not i.contains_student_information
    ]
    now = utcnow()
    validity = content.settings.validity_months
    award = Award(
        id=str(uuid.uuid4()),
        tenant_id=submission.tenant_id,
        submission_id=submission.id,
        pursuit_id=pursuit.id,
        educator_id=pursuit.educator_id,
        design_id=pursuit.design_id,
        design_version=pursuit.design_version,
        tier_key=tier.key,
        tier_title=tier.title,
        competency_ids=list(content.competency_ids),
        results=[r.model_dump() for r in results],
        evidence=references,
        pd_minutes=tier.pd_minutes,
        stipend_cents=tier.stipend_cents,
        achievement_id=tier.achievement_id,
        status="granted",
        granted_at=now,
        valid_until=add_months(now, validity) if validity else None,
        badge_status="pending" if (pursuit.recipient_email or pursuit.recipient_id) else "no_recipient",
        replaces_award_id=replaced,
    )
    try:
        async with session.begin_nested():
            session.add(award)
            await session.flush()
    except IntegrityError:
        # Another pass of the same tier won the race (uq_awards_one_standing).
        held = await pursuits.standing_awards(session, pursuit.tenant_id, pursuit.educator_id, pursuit.design_id)
        if tier.key not in held:
            raise
        raise already_awarded(held[tier.key]) from None
    for kind, amount, status in (
        ("pd_minutes", tier.pd_minutes, "recorded"),
        ("stipend", tier.stipend_cents, "pending"),
    ):
        if amount:
            await ledger.record(
                session,
                tenant_id=award.tenant_id,
                educator_id=award.educator_id,
                kind=kind,
                amount=amount,
                status=status,
                source="award",
                source_id=award.id,
                source_recorded_at=now,
                activity_title=f"{content.name} — {tier.title}",
                occurred_on=now.date(),
                # From the catalog offering the pursuit started from, copied then (the HR
                # export's provider columns; state licensure asks for the provider number).
                offering_id=pursuit.offering_id,
                provider_name=pursuit.provider_name,
                provider_number=pursuit.provider_number,
            )
    if award.badge_status == "pending" and tier.achievement_id:
        profile = await session.get(EducatorProfile, (award.tenant_id, award.educator_id))
        payload = AwardGranted(
            award_id=award.id,
            achievement_id=tier.achievement_id,
            recipient_email=pursuit.recipient_email,
            recipient_id=pursuit.recipient_id,
            results=results,
            evidence=public,
            awarded_at=now,
            valid_until=award.valid_until,
            educator_id=pursuit.educator_id,
            recipient_name=profile.display_name if profile else None,
            evidence_public=submission.evidence_public,
        )
        await enqueue(session, OutboxEvent, source="credentials", tenant_id=award.tenant_id, payload=payload)
    if tier.key == content.tiers[-1].key:
        await pursuits.complete(session, pursuit)
    return award


async def revoke(session: AsyncSession, who: Principal, award_id: str, reason: str) -> Award:
    """Take an award back (e.g. integrity): its badge is revoked and its unpaid stipend voided."""
    if not is_coordinator(who):
        raise Forbidden("awards are revoked by coordinators")
    award = await session.get(Award, award_id)
    if award is None or award.tenant_id != who.tenant_id:
        raise NotFound(f"no award {award_id}")
    if award.status == "revoked":
        raise WrongState("the award is already revoked", current_state="revoked", allowed_actions=[])
    award.status, award.revoked_at, award.revocation_reason = "revoked", utcnow(), reason
    for entry in await session.scalars(
        select(LedgerEntry).where(LedgerEntry.source == "award", LedgerEntry.source_id == award.id)
    ):
        if entry.status in ("pending", "approved", "recorded"):
            entry.status = "void"
            entry.updated_at = utcnow()
    await session.flush()
    await _ask_badge_revocation(session, award, reason)
    return award


async def _ask_badge_revocation(session: AsyncSession, award: Award, reason: str) -> None:
    """``award.revoked``, for the badges service to revoke the award's badge."""
    payload = AwardRevoked(award_id=award.id, reason=reason)
    await enqueue(session, OutboxEvent, source="credentials", tenant_id=award.tenant_id, payload=payload)


async def on_badge_issued(session: AsyncSession, issued: BadgeIssued, envelope: EventEnvelope) -> None:
    """``badge.issued`` from the badges service: the award learns its badge."""
    award = await session.get(Award, issued.award_id)
    if award is None or award.tenant_id != envelope.tenant_id:
        raise UnprocessableContent(
            f"badge.issued names an unknown award {issued.award_id}",
            errors=[FieldError(pointer="/body/payload/award_id", detail="no such award in this tenant")],
        )
    award.badge_status, award.badge_id, award.badge_links = "issued", issued.badge_id, issued.links
    await session.flush()
    if award.status == "revoked":
        # The revocation overtook the issue (events are not ordered): ask again, now that the
        # badge exists.
        await _ask_badge_revocation(session, award, award.revocation_reason or "revoked")
