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
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges import documents as docs
from services.badges import proofs, service
from services.badges.errors import IdempotencyMismatch, NotRepresentable
from services.badges.models import (
    Achievement,
    AchievementVersion,
    Badge,
    IdempotencyKey,
    Issuer,
    IssuerKey,
    StatusList,
)
from services.badges.rdfc import CanonicalizationError
from services.badges.schemas import BadgeCreate
from services.badges.service import Context, active_key, current_version, issuer_facts, status_purposes
from shared.db import utcnow
from shared.problems import Conflict, FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant

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


@dataclass(frozen=True)
class Award:
    """What every badge of one achievement is issued with: its current version, its issuer and
    the issuer's active keys. A bulk job loads it once per achievement and batch."""

    achievement: Achievement
    version: AchievementVersion
    issuer: Issuer
    di_key: IssuerKey
    jose_key: IssuerKey

    @property
    def purposes(self) -> tuple[str, ...]:
        return status_purposes(self.issuer)


async def load_award(session: AsyncSession, ctx: Context, achievement_id: str) -> Award:
    """The achievement in the caller's tenant (404 otherwise) with what signing needs."""
    achievement = await get_in_tenant(session, Achievement, achievement_id, ctx.tenant_id, noun="achievement")
    version = await current_version(session, achievement)
    issuer = await session.get(Issuer, achievement.issuer_id)
    assert issuer is not None
    di_key = await active_key(session, issuer.id, "data_integrity")
    jose_key = await active_key(session, issuer.id, "jose")
    return Award(achievement=achievement, version=version, issuer=issuer, di_key=di_key, jose_key=jose_key)


def check_request(award: Award, body: BadgeCreate) -> None:
    """Refuse (422) results outside the achievement's rubric and text no credential can carry."""
    _check_results(body, award.version)
    service.check_text(body.model_dump(include={"narrative", "evidence", "recipient"}), "/body")


async def open_lists(session: AsyncSession, ctx: Context, award: Award, size: int) -> dict[str, StatusList]:
    """The issuer's open status list for each purpose its new credentials carry."""
    return {purpose: await _open_list(session, ctx, award.issuer.id, purpose, size) for purpose in award.purposes}


def sign_badge(
    ctx: Context,
    award: Award,
    body: BadgeCreate,
    *,
    badge_id: str,
    lists: dict[str, StatusList],
    indexes: dict[str, int],
    now: dt.datetime,
    max_bytes: int,
) -> Badge:
    """One award in every representation, signed: CPU work only, nothing touches the database.

    ``indexes`` are the badge's status list indexes (one per purpose of ``lists``); the caller
    draws them and makes sure they are free when the badge is written.
    """
    issuer, achievement, version = award.issuer, award.achievement, award.version
    salt = secrets.token_hex(16)
    email = body.recipient.email.strip().lower() if body.recipient.email else None
    valid_from = body.valid_from or now
    awarded = body.awarded_date or now
    credential = _ob3_credential(ctx, issuer, achievement, version, body, badge_id, salt, email, indexes, lists)
    credential["validFrom"] = docs.iso(valid_from)
    if body.valid_until:
        credential["validUntil"] = docs.iso(body.valid_until)
    credential["awardedDate"] = docs.iso(awarded)
    size = len(json.dumps(credential, ensure_ascii=False).encode())
    if size > max_bytes:
        raise NotRepresentable(
            f"the credential would be {size} bytes; the limit is {max_bytes}",
            errors=[FieldError(pointer="/body", detail="shorten the narrative, evidence or results")],
        )
    signed = _sign_ob3(ctx, issuer, award.di_key, credential, now)
    badge = Badge(
        id=badge_id,
        tenant_id=ctx.tenant_id,
        issuer_id=issuer.id,
        achievement_id=achievement.id,
        achievement_version=version.version,
        recipient_lookup=ctx.signer.vault.lookup_digest(email) if email else None,
        recipient_id=body.recipient.id,
        recipient_name=body.recipient.name,
        status="active",
        issued_at=now,
        valid_from=valid_from,
        valid_until=body.valid_until,
        revocation_list_id=lists["revocation"].id,
        revocation_index=indexes["revocation"],
        suspension_list_id=lists["suspension"].id if "suspension" in lists else None,
        suspension_index=indexes.get("suspension"),
        credential=signed,
        credential_jwt=_vc_jwt(ctx, award.jose_key, signed, body, valid_from, now),
    )
    _add_ob2(ctx, badge, issuer, achievement, version, body, salt, email, award.jose_key, awarded)
    return badge


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
    check_request(award, body)
    lists = await open_lists(session, ctx, award, list_size)
    now = utcnow()
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


def _ob3_credential(
    ctx: Context,
    issuer: Issuer,
    achievement: Achievement,
    version: AchievementVersion,
    body: BadgeCreate,
    badge_id: str,
    salt: str,
    email: str | None,
    indexes: dict[str, int],
    lists: dict[str, StatusList],
) -> dict[str, Any]:
    urls = ctx.urls
    results = []
    for given in body.results:
        description, level = docs.result_ids(urls, achievement.id, version.version, given.criterion, given.level)
        results.append({"type": ["Result"], "resultDescription": description, "achievedLevel": level})
    subject = {
        "type": ["AchievementSubject"],
        "id": body.recipient.id,
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": docs.email_identity(email, salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }
        ]
        if email
        else None,
        "achievement": docs.ob3_achievement(urls, achievement.id, version.version, version.content),
        "result": results,
        "creditsEarned": body.credits_earned,
        "activityStartDate": docs.iso(body.activity_start) if body.activity_start else None,
        "activityEndDate": docs.iso(body.activity_end) if body.activity_end else None,
        "narrative": body.narrative,
    }
    evidence = [
        {
            "id": item.url,
            "type": ["Evidence"],
            "name": item.name,
            "description": item.description,
            "genre": item.genre,
            "narrative": item.narrative,
        }
        for item in body.evidence
    ]
    credential = {
        "@context": docs.OB3_CONTEXT,
        "id": urls.credential(badge_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": version.content["name"],
        "issuer": docs.ob3_profile(urls, issuer_facts(issuer), with_context=False),
        "credentialSubject": subject,
        "evidence": evidence,
        "credentialSchema": [{"id": docs.OB3_SCHEMA, "type": "JsonSchema"}],
        "credentialStatus": [docs.status_entry(urls, lists[p].id, indexes[p], p) for p in indexes],
    }
    # One entry is published as an object: the OB 3.0 schema types credentialStatus so.
    if len(indexes) == 1:
        credential["credentialStatus"] = credential["credentialStatus"][0]
    return docs.compact(credential)  # type: ignore[no-any-return]


def _sign_ob3(
    ctx: Context, issuer: Issuer, key: IssuerKey, credential: dict[str, Any], now: dt.datetime
) -> dict[str, Any]:
    private = ctx.signer.private(key)
    assert isinstance(private, Ed25519PrivateKey)
    try:
        return proofs.sign_data_integrity(
            credential,
            private,
            verification_method=ctx.urls.verification_method(issuer.id, key.id),
            created=docs.iso(now),
        )
    except CanonicalizationError as exc:
        raise NotRepresentable(str(exc), errors=[FieldError(pointer="/body", detail=str(exc)[:300])]) from exc


def _vc_jwt(
    ctx: Context,
    key: IssuerKey,
    signed: dict[str, Any],
    body: BadgeCreate,
    valid_from: dt.datetime,
    now: dt.datetime,
) -> str:
    """The credential as a VC-JWT (OB 3.0 §8.2): claims mirror the credential, ``vc`` carries it."""
    credential = {k: v for k, v in signed.items() if k != "proof"}
    payload: dict[str, Any] = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": int(valid_from.timestamp()),
        "iat": int(now.timestamp()),
        "vc": credential,
    }
    if body.recipient.id:
        payload["sub"] = body.recipient.id
    if body.valid_until:
        payload["exp"] = int(body.valid_until.timestamp())
    private = ctx.signer.private(key)
    assert isinstance(private, rsa.RSAPrivateKey)
    return proofs.sign_jws({"typ": "JWT", "kid": ctx.urls.jwk(key.id)}, payload, private)


def _add_ob2(
    ctx: Context,
    badge: Badge,
    issuer: Issuer,
    achievement: Achievement,
    version: AchievementVersion,
    body: BadgeCreate,
    salt: str,
    email: str | None,
    key: IssuerKey,
    awarded: dt.datetime,
) -> None:
    """OB 2.0 hosted and signed assertions. OB 2.0 identifies recipients by email or URL only;
    a recipient known only by a DID gets OB 3.0 credentials alone."""
    if email:
        recipient = {"type": "email", "hashed": True, "salt": salt, "identity": docs.email_identity(email, salt)}
    elif body.recipient.id and body.recipient.id.startswith(("https://", "http://")):
        recipient = {"type": "url", "hashed": False, "identity": body.recipient.id}
    else:
        return
    urls = ctx.urls
    common = docs.compact(
        {
            "@context": docs.OB2_CONTEXT,
            "type": "Assertion",
            "recipient": recipient,
            "badge": urls.ob2_badgeclass(achievement.id, version.version),
            "issuedOn": docs.iso(awarded),
            "expires": docs.iso(body.valid_until) if body.valid_until else None,
            "narrative": body.narrative,
            "evidence": [
                {"id": e.url, "narrative": e.narrative, "name": e.name, "description": e.description, "genre": e.genre}
                for e in body.evidence
            ],
        }
    )
    badge.ob2_assertion = {
        **common,
        "id": urls.ob2_assertion(badge.id),
        "verification": {"type": "HostedBadge"},
    }
    signed_id = f"urn:uuid:{uuid.uuid4()}"  # v4: the IMS validator refuses other versions
    private = ctx.signer.private(key)
    assert isinstance(private, rsa.RSAPrivateKey)
    badge.ob2_signed_id = signed_id
    badge.ob2_jws = proofs.sign_jws(
        {},
        {**common, "id": signed_id, "verification": {"type": "SignedBadge", "creator": urls.ob2_key(key.id)}},
        private,
    )
