"""Routes of issuer profiles and their keys (``/v1/issuers``): create, list, read, edit, rotate
and revoke keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.badges.deps import IdPath, Issuing, Reader, SignerDep, UrlsDep, context
from services.badges.issuers import service
from services.badges.models import Issuer, IssuerKey
from services.badges.openbadges.documents import Urls
from services.badges.schemas import IssuerRead, IssuerUpdate, IssuerWrite, KeyRead, KeyRevocation, KeyRotation
from shared.state import SessionDep

router = APIRouter()


def key_read(urls: Urls, key: IssuerKey) -> KeyRead:
    method = urls.verification_method(key.issuer_id, key.id) if key.purpose == "data_integrity" else urls.jwk(key.id)
    return KeyRead(
        id=key.id,
        purpose=key.purpose,
        algorithm=key.algorithm,
        state=key.state,
        verification_method=method,
        created_at=key.created_at,
        retired_at=key.retired_at,
        revoked_at=key.revoked_at,
    )


async def _issuer_read(session: SessionDep, urls: Urls, issuer: Issuer) -> IssuerRead:
    keys = await service.issuer_keys(session, issuer.id)
    return IssuerRead(
        id=issuer.id,
        did=urls.did(issuer.id),
        name=issuer.name,
        url=issuer.url,
        email=issuer.email,
        description=issuer.description,
        image_url=issuer.image_url,
        phone=issuer.phone,
        address=issuer.address,
        suspendable=issuer.suspendable,
        created_at=issuer.created_at,
        updated_at=issuer.updated_at,
        keys=[key_read(urls, key) for key in keys],
        links={
            "profile": urls.profile(issuer.id),
            "did_document": urls.did_document(issuer.id),
            "jwks": urls.jwks(issuer.id),
            "ob2_issuer": urls.ob2_issuer(issuer.id),
            "ob2_revocation_list": urls.ob2_revocations(issuer.id),
        },
    )


@router.post("/v1/issuers", response_model=IssuerRead, status_code=201, summary="Create an issuer profile with keys")
async def create_issuer(
    body: IssuerWrite, response: Response, who: Issuing, session: SessionDep, urls: UrlsDep, signer: SignerDep
) -> IssuerRead:
    issuer = await service.create_issuer(session, context(who, urls, signer), body)
    response.headers["Location"] = f"/v1/issuers/{issuer.id}"
    return await _issuer_read(session, urls, issuer)


@router.get("/v1/issuers", response_model=list[IssuerRead], summary="The tenant's issuer profiles")
async def list_issuers(who: Reader, session: SessionDep, urls: UrlsDep) -> list[IssuerRead]:
    rows = await service.list_issuers(session, who.tenant_id)
    return [await _issuer_read(session, urls, row) for row in rows]


@router.get("/v1/issuers/{issuer_id}", response_model=IssuerRead, summary="One issuer profile")
async def get_issuer(issuer_id: IdPath, who: Reader, session: SessionDep, urls: UrlsDep) -> IssuerRead:
    issuer = await service.get_issuer(session, who.tenant_id, issuer_id)
    return await _issuer_read(session, urls, issuer)


@router.patch("/v1/issuers/{issuer_id}", response_model=IssuerRead, summary="Edit an issuer profile")
async def update_issuer(
    issuer_id: IdPath, body: IssuerUpdate, who: Issuing, session: SessionDep, urls: UrlsDep, signer: SignerDep
) -> IssuerRead:
    issuer = await service.update_issuer(session, context(who, urls, signer), issuer_id, body)
    return await _issuer_read(session, urls, issuer)


@router.post(
    "/v1/issuers/{issuer_id}/keys",
    response_model=KeyRead,
    status_code=201,
    summary="Rotate: a new active key; the previous one retires and stays published",
)
async def rotate_key(
    issuer_id: IdPath,
    body: KeyRotation,
    response: Response,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
) -> KeyRead:
    key = await service.rotate_key(session, context(who, urls, signer), issuer_id, body.purpose)
    # The key's address in the API (its revoke route hangs below it).
    response.headers["Location"] = f"/v1/issuers/{issuer_id}/keys/{key.id}"
    return key_read(urls, key)


@router.post(
    "/v1/issuers/{issuer_id}/keys/{key_id}/revoke",
    response_model=KeyRead,
    summary="Mark a compromised key revoked: what it signed stops verifying",
)
async def revoke_key(
    issuer_id: IdPath,
    key_id: IdPath,
    body: KeyRevocation,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
) -> KeyRead:
    key = await service.revoke_key(session, context(who, urls, signer), issuer_id, key_id, body.reason)
    return key_read(urls, key)
