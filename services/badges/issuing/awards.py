"""Badges for the credentials service's awards, carried by events (see services/credentials/awards/service.py);
registered in ``services/badges/events.py``.

``award.granted`` → issue the tier's badge, with the award id as Idempotency-Key: a redelivered
event replays the same badge instead of issuing another; then ``badge.issued`` tells the
credentials service which badge it is. ``award.revoked`` → the badge is revoked.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.context import Context
from services.badges.deps import badges_state
from services.badges.issuing import service
from services.badges.models import Badge, IdempotencyKey, OutboxEvent
from services.badges.public import sharing
from services.badges.schemas import BadgeCreate, BadgeIssued
from services.credentials.schemas import AwardGranted, AwardRevoked
from shared.events import EventEnvelope
from shared.outbox import enqueue
from shared.problems import FieldError, UnprocessableContent, json_pointer


def _tenant(envelope: EventEnvelope) -> str:
    if not envelope.tenant_id:
        raise UnprocessableContent(
            "an award event must name its tenant", errors=[FieldError(pointer="/body/tenant_id", detail="required")]
        )
    return envelope.tenant_id


def _context(app: FastAPI, envelope: EventEnvelope) -> Context:
    state = badges_state(app)
    return Context(tenant_id=_tenant(envelope), urls=state.urls, signer=state.signer)


# Where a field of the badge request comes from in the event: a refusal names the event's field.
_FROM_PAYLOAD = {
    "/body/recipient/email": "/body/payload/recipient_email",
    "/body/recipient/id": "/body/payload/recipient_id",
    "/body/recipient": "/body/payload/recipient_email",
    "/body/awarded_date": "/body/payload/awarded_at",
    "/body/valid_from": "/body/payload/awarded_at",
    "/body/achievement_id": "/body/payload/achievement_id",
}


def _in_payload(pointer: str) -> str:
    """A pointer into the badge request, as a pointer into the ``award.granted`` envelope."""
    for prefix, replacement in _FROM_PAYLOAD.items():
        if pointer == prefix or pointer.startswith(prefix + "/"):
            return replacement + pointer[len(prefix) :]
    return "/body/payload" + pointer.removeprefix("/body") if pointer.startswith("/body/") else "/body/payload"


def _in_event(problem: UnprocessableContent) -> UnprocessableContent:
    """An award the badges service cannot issue: 422 (of its own type), so the event goes dead
    instead of being retried (shared/outbox.py), its pointers naming the event's fields."""
    problem.extensions["errors"] = [
        {"pointer": _in_payload(str(e["pointer"])), "detail": e["detail"]}
        for e in problem.extensions.get("errors") or []
    ]
    problem.detail = f"the award.granted event cannot be issued as a badge: {problem.detail or problem.title}"
    return problem


def _request(award: AwardGranted) -> BadgeCreate:
    """The badge request an award amounts to; one the badges service would refuse is a 422."""
    request = {
        "achievement_id": award.achievement_id,
        "recipient": {"email": award.recipient_email, "id": award.recipient_id},
        "evidence": [{"url": e.url, "name": e.name, "description": e.description} for e in award.evidence],
        "narrative": award.narrative,
        "results": [{"criterion": r.criterion, "level": r.level} for r in award.results],
        "awarded_date": award.awarded_at,
        "valid_from": award.awarded_at,
        "valid_until": award.valid_until,
    }
    try:
        return BadgeCreate.model_validate(request)
    except ValidationError as exc:
        errors = [
            FieldError(pointer=json_pointer(["body", *e["loc"]]), detail=e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise _in_event(UnprocessableContent("; ".join(e.detail for e in errors), errors=errors)) from exc


async def on_award_granted(app: FastAPI, session: AsyncSession, award: AwardGranted, envelope: EventEnvelope) -> None:
    """Issue the tier's badge (or replay it), then tell the credentials service which it is."""
    ctx = _context(app, envelope)
    settings = badges_state(app).settings
    body = _request(award)
    badge = await service.replay(session, ctx, award.award_id, body)
    if badge is None:
        try:
            badge = await service.issue_badge(
                session,
                ctx,
                body,
                list_size=settings.status_list_size,
                list_fill=settings.status_list_fill,
                idempotency_key=award.award_id,
                max_bytes=settings.max_credential_bytes,
            )
        except UnprocessableContent as exc:
            _in_event(exc)
            raise
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
