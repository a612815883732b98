"""What the public documents are read from: lookups by id (no tenant: anyone may fetch what a
verifier needs), the keys an issuer publishes, and status lists signed when served.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.issuers.service import active_key, issuer_keys
from services.badges.models import Achievement, AchievementVersion, Badge, Issuer, IssuerKey, StatusList, status_slot
from services.badges.openbadges import documents as docs
from services.badges.openbadges import proofs, statuslist
from services.badges.vault import Signer
from shared.db import utcnow
from shared.problems import NotFound


async def issuer(session: AsyncSession, issuer_id: str) -> Issuer:
    found = await session.get(Issuer, issuer_id)
    if found is None:
        raise NotFound(f"no issuer {issuer_id}")
    return found


async def published_keys(session: AsyncSession, issuer_id: str, purpose: str) -> list[IssuerKey]:
    """The issuer's keys of this purpose, newest first. Retired keys stay published (what they
    signed keeps verifying); revoked keys never are."""
    keys = await issuer_keys(session, issuer_id)
    return [key for key in keys if key.purpose == purpose and key.state != "revoked"]


async def jose_key(session: AsyncSession, key_id: str) -> IssuerKey:
    """A published VC-JWT / OB 2.0 key (404 for a Data Integrity key or a revoked one)."""
    key = await session.get(IssuerKey, key_id)
    if key is None or key.purpose != "jose" or key.state == "revoked":
        raise NotFound(f"no key {key_id}")
    return key


async def achievement_version(
    session: AsyncSession, achievement_id: str, version: int
) -> tuple[Achievement, AchievementVersion]:
    row = await session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement_id, AchievementVersion.version == version
        )
    )
    achievement = await session.get(Achievement, achievement_id)
    if row is None or achievement is None:
        raise NotFound(f"no achievement {achievement_id} version {version}")
    return achievement, row


async def find_badge(session: AsyncSession, badge_id: str) -> Badge | None:
    return await session.get(Badge, badge_id)


async def badge(session: AsyncSession, badge_id: str) -> Badge:
    found = await session.get(Badge, badge_id)
    if found is None:
        raise NotFound(f"no credential {badge_id}")
    return found


async def issued_version(session: AsyncSession, badge: Badge) -> AchievementVersion:
    """The achievement version the badge was issued under."""
    row = await session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == badge.achievement_id,
            AchievementVersion.version == badge.achievement_version,
        )
    )
    assert row is not None, "a badge's achievement version is never deleted (RESTRICT)"
    return row


async def ob2_revoked(session: AsyncSession, issuer_id: str) -> list[tuple[str, str | None]]:
    """(signed assertion id, reason) of every badge of the issuer with an OB 2.0 form that OB 2.0
    must call revoked: the revoked ones, and the suspended ones while the hold lasts (ADR 0018)."""
    rows = await session.execute(
        select(Badge.ob2_signed_id, Badge.status, Badge.status_reason)
        .where(
            Badge.issuer_id == issuer_id,
            Badge.status.in_(("revoked", "suspended")),
            Badge.ob2_signed_id.is_not(None),
        )
        .order_by(Badge.ob2_signed_id)
    )
    return [(str(signed_id), docs.ob2_revocation_reason(status, reason)) for signed_id, status, reason in rows]


async def status_list_credential(session: AsyncSession, urls: docs.Urls, signer: Signer, list_id: str) -> StatusList:
    """The list with its signed credential up to date (signed again only when a bit changed)."""
    row = await session.get(StatusList, list_id)
    if row is None:
        raise NotFound(f"no status list {list_id}")
    list_column, index_column, wanted = status_slot(row.purpose)
    indexes = list(await session.scalars(select(index_column).where(list_column == row.id, Badge.status == wanted)))
    encoded = statuslist.encode(row.size, indexes)
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    if row.signed_digest == digest and row.signed_credential is not None:
        return row
    key = await active_key(session, row.issuer_id, "data_integrity")
    private = signer.private(key)
    assert isinstance(private, Ed25519PrivateKey)
    now = utcnow()
    document = docs.status_list_credential(urls, row.id, row.issuer_id, row.purpose, encoded, now)
    row.signed_credential = proofs.sign_data_integrity(
        document, private, verification_method=urls.verification_method(row.issuer_id, key.id), created=docs.iso(now)
    )
    row.signed_digest = digest
    await session.flush()
    return row
