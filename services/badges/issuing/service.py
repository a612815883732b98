"""Issuing a badge: one award signed once in every representation (OB 3.0 Data Integrity and
VC-JWT, OB 2.0 hosted and signed), with its status list indexes and idempotency.

``POST /v1/badges`` issues one (``issue_badge``); the bulk worker uses the same steps for a batch
(``load_award``, ``check_request``, ``open_lists``, ``sign_badge``, ``count_allocated``,
``idempotency_row``); a reissue (reissue.py) is an issue linked to the badge it replaces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.achievements.service import current_version, get_achievement
from services.badges.context import Context, check_text
from services.badges.errors import IdempotencyMismatch, StatusTransition
from services.badges.issuers.service import active_key
from services.badges.issuing.signing import Award, sign_badge
from services.badges.models import (
    AchievementVersion,
    Badge,
    IdempotencyKey,
    Issuer,
    StatusList,
)
from services.badges.openbadges import documents as docs
from services.badges.schemas import BadgeCreate
from shared.db import utcnow
from shared.paging import after_cursor, encode_cursor
from shared.problems import Conflict, FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

# Draws of a random status list index before giving up (each taken index is drawn again).
_ALLOCATION_TRIES = 20


def request_digest(body: BadgeCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay(session: AsyncSession, ctx: Context, key: str, body: BadgeCreate) -> Badge | None:
    """The badge an earlier request with this Idempotency-Key created, if any."""
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.tenant_id == ctx.tenant_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_digest != request_digest(body):
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request body; use a new key for a new badge",
            errors=[FieldError(pointer="/header/idempotency-key", detail="already used with another body")],
        )
    return await session.get(Badge, row.badge_id)


async def _open_list(session: AsyncSession, ctx: Context, issuer_id: str, purpose: str, size: int) -> StatusList:
    """The issuer's open list for this purpose, made when there is none.

    Concurrent first issues must share one new list (a list holding one badge tells whoever
    checks it which badge that is): the maker locks the issuer row and looks again. Only the
    rare creation pays for the lock; SQLite writers are serialized already.
    """
    query = (
        select(StatusList)
        .where(StatusList.issuer_id == issuer_id, StatusList.purpose == purpose, StatusList.closed.is_(False))
        .order_by(StatusList.created_at)
        .limit(1)
    )
    found = await session.scalar(query)
    if found is not None:
        return found
    await session.execute(select(Issuer.id).where(Issuer.id == issuer_id).with_for_update())
    found = await session.scalar(query.execution_options(populate_existing=True))
    if found is not None:
        return found
    created = StatusList(
        id=str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        issuer_id=issuer_id,
        purpose=purpose,
        size=size,
        allocated=0,
        closed=False,
        created_at=utcnow(),
    )
    session.add(created)
    await session.flush()
    return created


async def load_award(session: AsyncSession, ctx: Context, achievement_id: str) -> Award:
    """The achievement in the caller's tenant (404 otherwise) with what signing needs."""
    achievement = await get_achievement(session, ctx.tenant_id, achievement_id)
    version = await current_version(session, achievement)
    issuer = await session.get(Issuer, achievement.issuer_id)
    assert issuer is not None
    di_key = await active_key(session, issuer.id, "data_integrity")
    jose_key = await active_key(session, issuer.id, "jose")
    return Award(achievement=achievement, version=version, issuer=issuer, di_key=di_key, jose_key=jose_key)


def check_request(award: Award, body: BadgeCreate, *, now: dt.datetime) -> None:
    """Refuse (422) results outside the achievement's rubric, text no credential can carry, and
    a validity that has ended before ``now``, the time of issue.

    Checked when the badge is signed, after any replay: a request sent again with its
    Idempotency-Key (or a bulk row's external id) gets the badge it got then, even if that badge
    has expired since."""
    _check_results(body, award.version)
    check_text(body.model_dump(include={"narrative", "evidence", "recipient"}), "/body")
    if body.valid_until is not None and body.valid_until <= now:
        raise UnprocessableContent(
            f"valid_until ({docs.iso(body.valid_until)}) is in the past: the badge would be expired when issued",
            errors=[
                FieldError(pointer="/body/valid_until", detail=f"must be later than the time of issue, {docs.iso(now)}")
            ],
        )


async def open_lists(session: AsyncSession, ctx: Context, award: Award, size: int) -> dict[str, StatusList]:
    """The issuer's open status list for each purpose its new credentials carry."""
    return {purpose: await _open_list(session, ctx, award.issuer.id, purpose, size) for purpose in award.purposes}


async def count_allocated(session: AsyncSession, lists: dict[str, StatusList], count: int, fill: float) -> None:
    """Add ``count`` new badges to each list; a list is closed for new ones once ``fill`` of it
    is taken (a bulk batch may pass that mark by its own size: random draws stay cheap)."""
    for row in lists.values():
        await session.execute(
            update(StatusList)
            .where(StatusList.id == row.id)
            .values(
                allocated=StatusList.allocated + count,
                closed=StatusList.allocated + count >= int(row.size * fill),
            )
        )


def idempotency_row(ctx: Context, key: str, body: BadgeCreate, badge_id: str, now: dt.datetime) -> IdempotencyKey:
    return IdempotencyKey(
        id=str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        key=key,
        request_digest=request_digest(body),
        badge_id=badge_id,
        created_at=now,
    )


async def issue_badge(
    session: AsyncSession,
    ctx: Context,
    body: BadgeCreate,
    *,
    list_size: int,
    list_fill: float,
    idempotency_key: str | None,
    max_bytes: int,
) -> Badge:
    award = await load_award(session, ctx, body.achievement_id)
    now = utcnow()
    check_request(award, body, now=now)
    lists = await open_lists(session, ctx, award, list_size)
    badge_id = str(uuid.uuid4())

    # Random indexes (herd privacy: an index says nothing about when or to whom it was given).
    # A taken index is refused by the unique constraints and another is drawn.
    for _attempt in range(_ALLOCATION_TRIES):
        indexes = {purpose: secrets.randbelow(lists[purpose].size) for purpose in award.purposes}
        badge = sign_badge(
            ctx, award, body, badge_id=badge_id, lists=lists, indexes=indexes, now=now, max_bytes=max_bytes
        )
        try:
            async with session.begin_nested():
                session.add(badge)
                await session.flush()
        except IntegrityError:
            # The savepoint's rollback already took the badge out of the session.
            continue
        break
    else:
        raise Conflict("no free status list index was found; try again")

    await count_allocated(session, lists, 1, list_fill)
    if idempotency_key is not None:
        try:
            async with session.begin_nested():
                session.add(idempotency_row(ctx, idempotency_key, body, badge.id, now))
                await session.flush()
        except IntegrityError as exc:
            # A concurrent request with the same key won the race; this one's badge is rolled
            # back with the request, and a retry gets the winner's answer.
            raise Conflict(
                "a request with this Idempotency-Key is being processed; retry to get its result",
                retryable=True,
            ) from exc
    return badge


def _check_results(body: BadgeCreate, version: AchievementVersion) -> None:
    rubric = {
        rd["key"]: {level["key"] for level in rd["levels"]} for rd in version.content.get("result_descriptions", [])
    }
    errors = []
    seen = set()
    for i, result in enumerate(body.results):
        if result.criterion not in rubric:
            errors.append(
                FieldError(pointer=f"/body/results/{i}/criterion", detail="not a criterion of the achievement")
            )
        elif result.level not in rubric[result.criterion]:
            errors.append(FieldError(pointer=f"/body/results/{i}/level", detail="not a level of this criterion"))
        if result.criterion in seen:
            errors.append(FieldError(pointer=f"/body/results/{i}/criterion", detail="given twice"))
        seen.add(result.criterion)
    if errors:
        raise UnprocessableContent("the results do not match the achievement's rubric", errors=errors)


def badge_links(urls: docs.Urls, badge: Badge) -> dict[str, str]:
    """Every representation and document of a badge, by name."""
    links = {
        "credential": urls.credential(badge.id),
        "jwt": urls.credential_jwt(badge.id),
        "baked_png": urls.baked(badge.id, "png"),
        "baked_svg": urls.baked(badge.id, "svg"),
        "achievement": urls.achievement(badge.achievement_id, badge.achievement_version),
        "issuer": urls.profile(badge.issuer_id),
        "did_document": urls.did_document(badge.issuer_id),
        "revocation_list": urls.status_list(badge.revocation_list_id),
        "page": urls.page(badge.id),
    }
    if badge.suspension_list_id is not None:
        links["suspension_list"] = urls.status_list(badge.suspension_list_id)
    if badge.ob2_assertion is not None:
        links |= {
            "ob2_assertion": urls.ob2_assertion(badge.id),
            "ob2_jws": urls.ob2_jws(badge.id),
            "ob2_baked_png": urls.ob2_baked(badge.id, "png"),
            "ob2_baked_svg": urls.ob2_baked(badge.id, "svg"),
            "ob2_badgeclass": urls.ob2_badgeclass(badge.achievement_id, badge.achievement_version),
            "ob2_issuer": urls.ob2_issuer(badge.issuer_id),
        }
    return links


_TRANSITIONS = {
    "revoke": ({"active", "suspended"}, "revoked"),
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
}


async def change_status(session: AsyncSession, ctx: Context, badge_id: str, action: str, reason: str | None) -> Badge:
    """Revocation is permanent; suspension is reversible (reinstate), and possible only for a
    badge whose credential carries a suspension entry: verifiers could not see it otherwise."""
    badge = await get_in_tenant(session, Badge, badge_id, ctx.tenant_id, noun="badge")
    allowed = [
        name
        for name, (sources, _) in _TRANSITIONS.items()
        if badge.status in sources and (name != "suspend" or badge.suspension_list_id is not None)
    ]
    if action not in allowed:
        if action == "suspend" and badge.suspension_list_id is None:
            why = "its credential has no suspension status entry (the issuer was not suspendable when it was issued)"
        elif badge.status == "revoked":
            why = "revocation is permanent"
        else:
            why = f"the badge is {badge.status}"
        raise StatusTransition(
            f"{action} is not possible: {why}" + (f"; possible: {', '.join(allowed)}" if allowed else ""),
            current_status=badge.status,
            allowed_actions=allowed,
        )
    badge.status = _TRANSITIONS[action][1]
    badge.status_reason = reason if badge.status != "active" else None
    badge.status_changed_at = utcnow()
    await session.flush()
    return badge


async def get_badge(session: AsyncSession, tenant_id: str, badge_id: str) -> Badge:
    """The badge in the caller's tenant (404 otherwise)."""
    return await get_in_tenant(session, Badge, badge_id, tenant_id, noun="badge")


async def list_badges(
    session: AsyncSession,
    ctx: Context,
    *,
    achievement_id: str | None,
    recipient: str | None,
    status: str | None,
    issued_after: dt.datetime | None,
    issued_before: dt.datetime | None,
    expiring_within: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Badge], str | None]:
    """One page of the tenant's badges, newest first, and the cursor of the next page (if any).

    ``recipient``: an email is matched through its keyed lookup digest (the address itself is not
    stored); a DID or URL as it is. ``expiring_within`` (``30d``): active badges, not replaced,
    whose validity ends within that many days.
    """
    statement = in_tenant(select(Badge), Badge, ctx.tenant_id)
    if achievement_id:
        statement = statement.where(Badge.achievement_id == achievement_id)
    if recipient:
        if "@" in recipient and ":" not in recipient:
            lookup = ctx.signer.vault.lookup_digest(recipient.strip().lower())
            statement = statement.where(Badge.recipient_lookup == lookup)
        else:
            statement = statement.where(Badge.recipient_id == recipient)
    if status:
        statement = statement.where(Badge.status == status)
    if issued_after is not None:
        statement = statement.where(Badge.issued_at >= issued_after)
    if issued_before is not None:
        statement = statement.where(Badge.issued_at < issued_before)
    if expiring_within is not None:
        start, end = expiring_window(expiring_within, utcnow())
        statement = statement.where(
            Badge.status == "active",
            Badge.valid_until > start,
            Badge.valid_until <= end,
            Badge.replaced_by_id.is_(None),
        )
    statement = after_cursor(statement, cursor, Badge.issued_at, Badge.id)
    rows = list(await session.scalars(statement.order_by(Badge.issued_at.desc(), Badge.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].issued_at, page[-1].id) if len(rows) > limit and page else None
    return page, next_cursor


def expiring_window(spec: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``30d`` → (now, now + 30 days): the badges whose validity ends in that window."""
    return now, now + dt.timedelta(days=int(spec.removesuffix("d")))
