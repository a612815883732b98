"""Badges for the credentials service's awards, carried by events (see services/credentials/awards.py).

``award.granted`` → issue the tier's badge, with the award id as Idempotency-Key: a redelivered
event replays the same badge instead of issuing another; then ``badge.issued`` tells the
credentials service which badge it is. ``award.revoked`` → the badge is revoked.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges import issuing, service, sharing
from services.badges.models import Badge, IdempotencyKey, OutboxEvent
from services.badges.schemas import BadgeCreate, BadgeIssued, Evidence, Recipient, ResultGiven
from services.badges.settings import BadgesSettings
from services.credentials.schemas import AwardGranted, AwardRevoked
from shared.events import EventEnvelope
from shared.outbox import EventHandler, enqueue
from shared.problems import FieldError, UnprocessableContent

ISSUED = "badge.issued"


def _tenant(envelope: EventEnvelope) -> str:
    if not envelope.tenant_id:
        raise UnprocessableContent(
            "an award event must name its tenant", errors=[FieldError(pointer="/body/tenant_id", detail="required")]
        )
    return envelope.tenant_id


def handlers(app: FastAPI) -> Mapping[str, EventHandler]:
    """The handlers, bound to the app's keys, public base URL and settings."""

    def context(envelope: EventEnvelope) -> service.Context:
        return service.Context(tenant_id=_tenant(envelope), urls=app.state.urls, signer=app.state.signer)

    async def on_award_granted(session: AsyncSession, envelope: EventEnvelope) -> None:
        award = AwardGranted.model_validate(envelope.payload)
        ctx = context(envelope)
        settings: BadgesSettings = app.state.settings
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
        badge = await issuing.replay(session, ctx, award.award_id, body)
        if badge is None:
            badge = await issuing.issue_badge(
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
        await enqueue(
            session,
            OutboxEvent,
            event_type=ISSUED,
            source="badges",
            tenant_id=ctx.tenant_id,
            payload=issued.model_dump(),
        )

    async def on_award_revoked(session: AsyncSession, envelope: EventEnvelope) -> None:
        revoked = AwardRevoked.model_validate(envelope.payload)
        ctx = context(envelope)
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

    return {"award.granted": on_award_granted, "award.revoked": on_award_revoked}
