"""Reissuing a badge: a renewal (new validity) or a correction (what the badge says was wrong).

A signed credential cannot change, so a reissue is a new badge of the same achievement for the
same person, linked both ways to the one it replaces. The caller chooses what becomes of the old
badge: ``revoke`` (its credential stops verifying: a correction of something that must not stand)
or ``supersede`` (it stays valid until it expires, marked on its page as replaced: a renewal).

Only an active badge can be reissued (a revoked one is over; a suspended one is under review and
is reinstated or revoked first), and only once: the unique ``replaces_id`` makes a second
reissue of the same badge, even a concurrent one, a 409 naming the successor.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.context import Context
from services.badges.errors import StatusTransition
from services.badges.issuing import service
from services.badges.models import Badge
from services.badges.schemas import BadgeLineage, BadgeReissue
from shared.problems import Conflict, FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant


def lineage(badge: Badge) -> BadgeLineage:
    return BadgeLineage(
        replaces=badge.replaces_id,
        replaced_by=badge.replaced_by_id,
        kind=badge.reissue_kind,
        reason=badge.reissue_reason,
        predecessor_outcome=badge.predecessor_outcome,
    )


def _check_same_recipient(ctx: Context, old: Badge, body: BadgeReissue) -> None:
    """The new badge must name the person the old one named (its email is kept only as a keyed
    digest, so the caller gives it again and the digests are compared)."""
    errors = []
    email = body.recipient.email.strip().lower() if body.recipient.email else None
    if old.recipient_lookup is not None and (
        email is None or ctx.signer.vault.lookup_digest(email) != old.recipient_lookup
    ):
        errors.append(FieldError(pointer="/body/recipient/email", detail="not the email the badge was issued to"))
    if old.recipient_lookup is None and email is not None:
        errors.append(FieldError(pointer="/body/recipient/email", detail="the badge was issued without an email"))
    if old.recipient_id != body.recipient.id:
        errors.append(FieldError(pointer="/body/recipient/id", detail="not the DID/URL the badge was issued to"))
    if errors:
        raise UnprocessableContent("a reissued badge must name the same recipient as the old one", errors=errors)


async def reissue(
    session: AsyncSession,
    ctx: Context,
    badge_id: str,
    body: BadgeReissue,
    *,
    list_size: int,
    list_fill: float,
    max_bytes: int,
) -> tuple[Badge, Badge]:
    """Issue the replacement and settle the old badge, in the caller's transaction: the new badge
    and the old one's new state are written together or not at all. Returns (new, old)."""
    old = await get_in_tenant(session, Badge, badge_id, ctx.tenant_id, noun="badge")
    if old.replaced_by_id is not None:
        raise Conflict(f"badge {old.id} was already reissued as {old.replaced_by_id}")
    if old.status != "active":
        raise StatusTransition(
            f"reissue is not possible: the badge is {old.status}"
            + ("" if old.status == "revoked" else "; reinstate or revoke it first"),
            current_status=old.status,
            allowed_actions=["reinstate", "revoke"] if old.status == "suspended" else [],
        )
    _check_same_recipient(ctx, old, body)
    new = await service.issue_badge(
        session,
        ctx,
        body.as_create(old.achievement_id),
        list_size=list_size,
        list_fill=list_fill,
        idempotency_key=None,
        max_bytes=max_bytes,
    )
    new.replaces_id = old.id
    new.reissue_kind = body.kind
    new.reissue_reason = body.reason
    new.predecessor_outcome = "revoked" if body.old_badge == "revoke" else "superseded"
    # The earner and what they chose to show carry over: it is still their badge.
    new.earner_id = old.earner_id
    new.recipient_name = body.recipient.name or old.recipient_name
    new.show_name, new.show_results, new.show_evidence = old.show_name, old.show_results, old.show_evidence
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        # Another reissue of the same badge committed first (unique replaces_id).
        winner = await session.scalar(select(Badge.id).where(Badge.replaces_id == old.id))
        raise Conflict(f"badge {old.id} was already reissued" + (f" as {winner}" if winner else "")) from exc
    old.replaced_by_id = new.id
    if body.old_badge == "revoke":
        why = f"replaced by badge {new.id} ({body.kind})" + (f": {body.reason}" if body.reason else "")
        await service.change_status(session, ctx, old.id, "revoke", why[:500])
    await session.flush()
    return new, old
