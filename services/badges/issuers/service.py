"""Issuer profiles and their keys: create, edit, rotate, revoke; the active key that signs.

Every issuer holds one active key per purpose (Ed25519 for Data Integrity, RSA for VC-JWT and
OB 2.0 JWS); a rotated key retires but stays published, a revoked one is withdrawn everywhere.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.context import Context, check_text
from services.badges.errors import NoSigningKey
from services.badges.models import Issuer, IssuerKey
from services.badges.openbadges import documents as docs
from services.badges.openbadges.keys import ed25519_multibase, new_ed25519, new_rsa, rsa_pem
from services.badges.schemas import IssuerUpdate, IssuerWrite
from shared.db import utcnow
from shared.problems import Conflict, FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant


async def get_issuer(session: AsyncSession, tenant_id: str, issuer_id: str) -> Issuer:
    """The issuer in the caller's tenant (404 otherwise)."""
    return await get_in_tenant(session, Issuer, issuer_id, tenant_id, noun="issuer")


async def list_issuers(session: AsyncSession, tenant_id: str) -> list[Issuer]:
    """The tenant's issuers by name."""
    return list(await session.scalars(in_tenant(select(Issuer), Issuer, tenant_id).order_by(Issuer.name, Issuer.id)))


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
