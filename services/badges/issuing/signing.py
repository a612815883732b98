"""A badge signed once in every representation: the OB 3.0 credential with its Data Integrity
proof, its VC-JWT, and the OB 2.0 hosted and signed assertions. CPU work only: nothing here
touches the database (``service.py`` loads what is signed and writes what comes out).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.badges.context import Context
from services.badges.errors import NotRepresentable
from services.badges.issuers.service import issuer_facts
from services.badges.models import Achievement, AchievementVersion, Badge, Issuer, IssuerKey, StatusList
from services.badges.openbadges import documents as docs
from services.badges.openbadges import proofs
from services.badges.openbadges.rdfc import CanonicalizationError
from services.badges.schemas import BadgeCreate
from shared.problems import FieldError

PURPOSES = ("revocation", "suspension")


def status_purposes(issuer: Issuer) -> tuple[str, ...]:
    """The status entries a new credential of this issuer carries (ADR 0010)."""
    return PURPOSES if issuer.suspendable else ("revocation",)


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
        "id": _subject_id(ctx, body, email),
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
        "@context": docs.OB3_CREDENTIAL_CONTEXT,
        "id": urls.credential(badge_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": version.content["name"],
        "issuer": docs.ob3_profile(urls, issuer_facts(issuer), with_context=False),
        "credentialSubject": subject,
        "evidence": evidence,
        "credentialSchema": [{"id": docs.OB3_SCHEMA, "type": docs.OB3_SCHEMA_VALIDATOR}],
        "credentialStatus": [docs.status_entry(urls, lists[p].id, indexes[p], p) for p in indexes],
    }
    # One entry is published as an object: the OB 3.0 schema types credentialStatus so.
    if len(indexes) == 1:
        credential["credentialStatus"] = credential["credentialStatus"][0]
    return docs.compact(credential)  # type: ignore[no-any-return]


def _subject_id(ctx: Context, body: BadgeCreate, email: str | None) -> str:
    """Every subject has an id: the OB 3.0 VC-JWT's required ``sub`` is ``credentialSubject.id``.
    The recipient's own DID or URL when given; else a stable pseudonym of the email (the hashed
    ``identifier`` still lets whoever knows the address match it)."""
    if body.recipient.id:
        return body.recipient.id
    assert email is not None, "BadgeCreate requires an email or an id"
    return ctx.signer.vault.subject_id(ctx.tenant_id, email)


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
    """The credential as a VC-JWT (OB 3.0 § JWT Payload Format): ``iss``, ``jti``, ``nbf``, ``sub``
    and (with a ``validUntil``) ``exp`` are the credential's own values, so a verifier's claim
    checks hold exactly; ``vc`` carries it."""
    credential = {k: v for k, v in signed.items() if k != "proof"}
    payload: dict[str, Any] = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": int(valid_from.timestamp()),
        "sub": credential["credentialSubject"]["id"],
        "iat": int(now.timestamp()),
        "vc": credential,
    }
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
