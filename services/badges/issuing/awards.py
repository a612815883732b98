"""Badges for the credentials service's awards, carried by events (see services/credentials/awards/service.py);
registered in ``services/badges/events.py``.

``award.granted`` → issue the tier's badge, with the award id as Idempotency-Key: a redelivered
event replays the same badge instead of issuing another; then ``badge.issued`` tells the
credentials service which badge it is. ``award.revoked`` → the badge is revoked.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.context import Context
from services.badges.deps import badges_state
from services.badges.issuing import service
from services.badges.models import Badge, IdempotencyKey, OutboxEvent
from services.badges.public import sharing
from services.badges.schemas import BadgeCreate, BadgeIssued, Evidence, Recipient, ResultGiven
from services.credentials.schemas import AwardGranted, AwardRevoked
from shared.events import EventEnvelope
from shared.outbox import enqueue
from shared.problems import FieldError, UnprocessableContent


def _tenant(envelope: EventEnvelope) -> str:
    if not envelope.tenant_id:
        raise UnprocessableContent(
            "an award event must name its tenant", errors=[FieldError(pointer="/body/tenant_id", detail="required")]
        )
    return envelope.tenant_id


def _context(app: FastAPI, envelope: EventEnvelope) -> Context:
    state = badges_state(app)
    return Context(tenant_id=_tenant(envelope), urls=state.urls, signer=state.signer)


async def on_award_granted(app: FastAPI, session: AsyncSession, award: AwardGranted, envelope: EventEnvelope) -> None:
    """Issue the tier's badge (or replay it), then tell the credentials service which it is."""
    ctx = _context(app, envelope)
    settings = badges_state(app).settings
    body = BadgeCreate(
        achievement_id=award.achievement_id,
        recipient=Recipient(email=award.recipient_email, id=award.recipient_id),
        evidence=[Evidence(url=e.url, name=e.name, description=e.description) for e in award.evidence],
        narrative=award.narrative,
        results=[ResultGiven(criterion=r.criterion, level=r.level) for r in award.results],
        awarded_date=award.awarded_at,
        valid_from=award.awarded_at,
        valid_until=award.valid_until,
    )
    badge = await service.replay(session, ctx, award.award_id, body)
    if badge is None:
        badge = await service.issue_badge(
            session,
            ctx,
            body,
            list_size=settings.status_list_size,
            list_fill=settings.status_list_fill,
            idempotency_key=award.award_id,
            max_bytes=settings.max_credential_bytes,
        )
        # The page's starting choices (ADR 0014); a replay keeps what the earner chose since.
        badge.earner_id = award.educator_id
        badge.recipient_name = sharing.display_name(award.recipient_name)
        badge.show_evidence = award.evidence_public or bool(award.evidence)
        await session.flush()
    issued = BadgeIssued(award_id=award.award_id, badge_id=badge.id, links=service.badge_links(ctx.urls, badge))
    await enqueue(session, OutboxEvent, source="badges", tenant_id=ctx.tenant_id, payload=issued)


async def on_award_revoked(app: FastAPI, session: AsyncSession, revoked: AwardRevoked, envelope: EventEnvelope) -> None:
    """Revoke the award's badge, if it was issued."""
    ctx = _context(app, envelope)
    badge_id = await session.scalar(
        select(IdempotencyKey.badge_id).where(
            IdempotencyKey.tenant_id == ctx.tenant_id, IdempotencyKey.key == revoked.award_id
        )
    )
    if badge_id is None:
        # Revoked before its badge was issued: nothing to revoke here. The credentials
        # service refuses badge.issued for a revoked award by revoking it again (see there).
        return
    badge = await session.get(Badge, badge_id)
    if badge is not None and badge.status != "revoked":
        await service.change_status(session, ctx, badge.id, "revoke", revoked.reason)
