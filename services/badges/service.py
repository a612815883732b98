"""Domain logic of the badges service: async functions that flush and never commit.

Issuers hold keys; achievements hold versions; a badge is signed once, at issue, in every
representation (OB 3.0 Data Integrity, VC-JWT, OB 2.0 hosted and signed; ``issuing.py``), and
never re-signed.
Its status lives in ``Badge.status``; status lists and the OB 2.0 revocation list are derived
from it when served. The events this service consumes are handled here (``EVENT_HANDLERS``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges import documents as docs
from services.badges import proofs, statuslist
from services.badges.crypto import (
    KeyVault,
    ed25519_multibase,
    load_private,
    new_ed25519,
    new_rsa,
    private_der,
    rsa_pem,
)
from services.badges.errors import NoSigningKey, NotRepresentable, StatusTransition
from services.badges.images import default_image
from services.badges.jsonld import canonize
from services.badges.models import (
    Achievement,
    AchievementVersion,
    Badge,
    Issuer,
    IssuerKey,
    StatusList,
    status_slot,
)
from services.badges.rdfc import CanonicalizationError
from services.badges.schemas import (
    AchievementUpdate,
    AchievementWrite,
    IssuerUpdate,
    IssuerWrite,
)
from shared.db import utcnow
from shared.outbox import EventHandler
from shared.problems import Conflict, FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

EVENT_HANDLERS: dict[str, EventHandler] = {}

PURPOSES = ("revocation", "suspension")


def status_purposes(issuer: Issuer) -> tuple[str, ...]:
    """The status entries a new credential of this issuer carries (ADR 0010)."""
    return PURPOSES if issuer.suspendable else ("revocation",)


PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey


class Signer:
    """Unseals issuer keys once per process (AES-GCM + DER parsing cost more than signing)."""

    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault
        self._cache: dict[str, PrivateKey] = {}

    def seal(self, key_id: str, key: PrivateKey) -> bytes:
        return self.vault.seal(key_id, private_der(key))

    def private(self, key: IssuerKey) -> PrivateKey:
        cached = self._cache.get(key.id)
        if cached is None:
            cached = load_private(self.vault.open(key.id, key.sealed_private_key))
            self._cache[key.id] = cached
        return cached

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)


@dataclass(frozen=True)
class Context:
    """What every operation needs: the tenant, where documents live, and the signer."""

    tenant_id: str
    urls: docs.Urls
    signer: Signer


# --- issuers and keys -------------------------------------------------------------------------


def issuer_facts(issuer: Issuer) -> docs.IssuerFacts:
    return docs.IssuerFacts(
        id=issuer.id,
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        description=issuer.description,
        image_url=issuer.image_url,
        phone=issuer.phone,
        address=issuer.address,
    )


def _new_key(ctx: Context, issuer: Issuer, purpose: str, now: dt.datetime) -> IssuerKey:
    key_id = str(uuid.uuid4())
    if purpose == "data_integrity":
        ed = new_ed25519()
        public, sealed, algorithm = ed25519_multibase(ed.public_key()), ctx.signer.seal(key_id, ed), "Ed25519"
    else:
        rs = new_rsa()
        public, sealed, algorithm = rsa_pem(rs.public_key()), ctx.signer.seal(key_id, rs), "RSA-2048"
    return IssuerKey(
        id=key_id,
        tenant_id=ctx.tenant_id,
        issuer_id=issuer.id,
        purpose=purpose,
        algorithm=algorithm,
        state="active",
        public_key=public,
        sealed_private_key=sealed,
        created_at=now,
    )


async def create_issuer(
    session: AsyncSession, ctx: Context, body: IssuerWrite, *, issuer_id: str | None = None
) -> Issuer:
    """``issuer_id`` only for the dev seed's fixed ids; otherwise a new UUID."""
    now = utcnow()
    issuer = Issuer(
        id=issuer_id or str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        name=body.name,
        url=body.url,
        email=body.email,
        description=body.description,
        image_url=body.image_url,
        phone=body.phone,
        address=body.address.to_ob() if body.address else None,
        suspendable=body.suspendable,
        created_at=now,
        updated_at=now,
    )
    check_text({"name": body.name, "description": body.description}, "/body")
    session.add(issuer)
    await session.flush()
    session.add_all([_new_key(ctx, issuer, "data_integrity", now), _new_key(ctx, issuer, "jose", now)])
    await session.flush()
    return issuer


async def update_issuer(session: AsyncSession, ctx: Context, issuer_id: str, body: IssuerUpdate) -> Issuer:
    issuer = await get_in_tenant(session, Issuer, issuer_id, ctx.tenant_id, noun="issuer")
    given = body.model_fields_set
    for required in ("name", "url", "email", "suspendable"):
        if required in given and getattr(body, required) is None:
            raise UnprocessableContent(
                f"{required} cannot be removed",
                errors=[FieldError(pointer=f"/body/{required}", detail="may not be null")],
            )
    check_text({"name": body.name, "description": body.description}, "/body")
    for name in ("name", "url", "email", "description", "image_url", "phone", "suspendable"):
        if name in given:
            setattr(issuer, name, getattr(body, name))
    if "address" in given:
        issuer.address = body.address.to_ob() if body.address else None
    issuer.updated_at = utcnow()
    await session.flush()
    return issuer


async def issuer_keys(session: AsyncSession, issuer_id: str) -> list[IssuerKey]:
    rows = await session.scalars(
        select(IssuerKey).where(IssuerKey.issuer_id == issuer_id).order_by(IssuerKey.created_at.desc(), IssuerKey.id)
    )
    return list(rows)


async def rotate_key(session: AsyncSession, ctx: Context, issuer_id: str, purpose: str) -> IssuerKey:
    """A new active key; the previous active one retires but stays published."""
    issuer = await get_in_tenant(session, Issuer, issuer_id, ctx.tenant_id, noun="issuer")
    now = utcnow()
    await session.execute(
        update(IssuerKey)
        .where(IssuerKey.issuer_id == issuer.id, IssuerKey.purpose == purpose, IssuerKey.state == "active")
        .values(state="retired", retired_at=now)
    )
    key = _new_key(ctx, issuer, purpose, now)
    session.add(key)
    await session.flush()
    return key


async def revoke_key(session: AsyncSession, ctx: Context, issuer_id: str, key_id: str, reason: str) -> IssuerKey:
    """A compromised key: withdrawn from every public document, so nothing it signed verifies."""
    issuer = await get_in_tenant(session, Issuer, issuer_id, ctx.tenant_id, noun="issuer")
    key = await session.get(IssuerKey, key_id)
    if key is None or key.issuer_id != issuer.id:
        raise NotFound(f"no key {key_id} of this issuer")
    if key.state == "revoked":
        raise Conflict("the key is already revoked")
    key.state, key.revoked_at, key.revocation_reason = "revoked", utcnow(), reason
    ctx.signer.forget(key.id)
    await session.flush()
    return key


async def active_key(session: AsyncSession, issuer_id: str, purpose: str) -> IssuerKey:
    key = await session.scalar(
        select(IssuerKey)
        .where(IssuerKey.issuer_id == issuer_id, IssuerKey.purpose == purpose, IssuerKey.state == "active")
        .order_by(IssuerKey.created_at.desc())
        .limit(1)
    )
    if key is None:
        raise NoSigningKey(f"the issuer has no active {purpose} key: rotate one in before issuing")
    return key


# --- achievements -----------------------------------------------------------------------------


async def create_achievement(
    session: AsyncSession, ctx: Context, body: AchievementWrite, *, achievement_id: str | None = None
) -> AchievementVersion:
    """``achievement_id`` only for the dev seed's fixed ids; otherwise a new UUID."""
    await get_in_tenant(session, Issuer, body.issuer_id, ctx.tenant_id, noun="issuer")
    content = body.model_dump(exclude={"issuer_id"}, exclude_none=True)
    now = utcnow()
    achievement = Achievement(
        id=achievement_id or str(uuid.uuid4()),
        tenant_id=ctx.tenant_id,
        issuer_id=body.issuer_id,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    image, image_type = default_image(body.name, achievement.id)
    version = AchievementVersion(
        id=str(uuid.uuid4()),
        achievement_id=achievement.id,
        version=1,
        content=content,
        image=image,
        image_type=image_type,
        created_at=now,
    )
    _check_achievement(ctx, achievement.id, version)
    session.add(achievement)
    await session.flush()
    session.add(version)
    await session.flush()
    return version


async def current_version(session: AsyncSession, achievement: Achievement) -> AchievementVersion:
    version = await session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement.id,
            AchievementVersion.version == achievement.current_version,
        )
    )
    assert version is not None  # written together with the achievement
    return version


async def new_version(
    session: AsyncSession,
    ctx: Context,
    achievement_id: str,
    *,
    changes: AchievementUpdate | None = None,
    image: tuple[bytes, str] | None = None,
) -> AchievementVersion:
    """Editing never changes what was issued: the edit is a new version, which becomes current."""
    achievement = await get_in_tenant(session, Achievement, achievement_id, ctx.tenant_id, noun="achievement")
    previous = await current_version(session, achievement)
    content = dict(previous.content)
    if changes is not None:
        for name in changes.model_fields_set:
            value = getattr(changes, name)
            if value is None and name in ("name", "description", "criteria"):
                raise UnprocessableContent(
                    f"{name} cannot be removed", errors=[FieldError(pointer=f"/body/{name}", detail="may not be null")]
                )
            if value is None:
                content.pop(name, None)
            else:
                content[name] = changes.model_dump(include={name}, exclude_none=True)[name]
    # Version numbers are taken with a conditional update: two concurrent edits cannot both
    # become version n+1 (the unique constraint would refuse the loser anyway).
    number = achievement.current_version + 1
    moved = await session.execute(
        update(Achievement)
        .where(Achievement.id == achievement.id, Achievement.current_version == achievement.current_version)
        .values(current_version=number, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the achievement was edited concurrently; fetch it and try again")
    version = AchievementVersion(
        id=str(uuid.uuid4()),
        achievement_id=achievement.id,
        version=number,
        content=content,
        image=image[0] if image else previous.image,
        image_type=image[1] if image else previous.image_type,
        created_at=utcnow(),
    )
    _check_achievement(ctx, achievement.id, version)
    session.add(version)
    await session.flush()
    await session.refresh(achievement)
    return version


def _check_achievement(ctx: Context, achievement_id: str, version: AchievementVersion) -> None:
    """Refuse (422) an achievement a credential could not carry to every verifier."""
    check_text(version.content, "/body")
    achievement = docs.ob3_achievement(ctx.urls, achievement_id, version.version, version.content)
    document = {"@context": docs.OB3_CONTEXT, **achievement}
    _canonizable(document, "/body")


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


# --- status -----------------------------------------------------------------------------------

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


async def count_badges(session: AsyncSession, tenant_id: str) -> int:
    return int(await session.scalar(in_tenant(select(func.count(Badge.id)), Badge, tenant_id)) or 0)


# --- text checks ------------------------------------------------------------------------------


def check_text(value: Any, pointer: str) -> None:
    """Refuse text a badge cannot carry everywhere it goes: C0 control characters other than tab,
    newline and carriage return (XML 1.0 — the baked SVG and OB 2.0 displayers — cannot hold
    them at all) and unpaired surrogates (not encodable in UTF-8). Everything else, DEL and
    non-ASCII included, is canonicalized exactly as RDFC-1.0 and the JS reference do."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_text(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{pointer}/{i}")
    elif isinstance(value, str):
        for char in value:
            code = ord(char)
            if (code < 0x20 and char not in "\t\n\r") or 0xD800 <= code <= 0xDFFF:
                raise NotRepresentable(
                    f"control character U+{code:04X} cannot be carried in a credential",
                    errors=[FieldError(pointer=pointer, detail=f"remove the control character U+{code:04X}")],
                )


def _canonizable(document: dict[str, Any], pointer: str) -> None:
    try:
        canonize(document)
    except CanonicalizationError as exc:
        raise NotRepresentable(str(exc), errors=[FieldError(pointer=pointer, detail=str(exc))]) from exc
