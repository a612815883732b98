"""HTTP routes of the badges service: parse, authorise, call ``service``, return a schema.

Two routers: ``router`` (a verified principal with a badges scope; tenant-scoped) and
``public_router`` — the documents anyone must be able to fetch to verify a badge (``/ob/...``,
CORS-open, no token) and the verifier.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges import documents as docs
from services.badges import issuing, pages, reissue, service, sharing, verify_input
from services.badges.crypto import rsa_from_pem, rsa_jwk
from services.badges.images import validate_upload
from services.badges.models import Achievement, AchievementVersion, Badge, Issuer, IssuerKey, OutboxEvent
from services.badges.schemas import (
    AchievementRead,
    AchievementUpdate,
    AchievementWrite,
    BadgeCreate,
    BadgePage,
    BadgeRead,
    BadgeReissue,
    IssuerRead,
    IssuerUpdate,
    IssuerWrite,
    KeyRead,
    KeyRevocation,
    KeyRotation,
    SharingUpdate,
    StatusChange,
    VerifyReport,
)
from services.badges.settings import BadgesSettings
from services.badges.verifier import verify
from shared.state import get_session
from shared.auth import Principal, require_scopes, whoami_router
from shared.db import utcnow
from shared.outbox_ops import outbox_ops_router
from shared.paging import after_cursor, encode_cursor
from shared.problems import FieldError, NotFound, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

router = APIRouter()
router.include_router(outbox_ops_router(service="badges", model=OutboxEvent, session_dependency=get_session))
router.include_router(whoami_router("badges"))
public_router = APIRouter()

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# Every id here is a UUID: a longer value is refused before any lookup.
IdPath = Annotated[str, Path(min_length=1, max_length=36)]
Reader = Annotated[Principal, Depends(require_scopes("badges:read"))]
Issuing = Annotated[Principal, Depends(require_scopes("badges:issue"))]


def _ctx(request: Request, principal: Principal) -> service.Context:
    return service.Context(tenant_id=principal.tenant_id, urls=request.app.state.urls, signer=request.app.state.signer)


def _urls(request: Request) -> docs.Urls:
    urls: docs.Urls = request.app.state.urls
    return urls


def _settings(request: Request) -> BadgesSettings:
    settings: BadgesSettings = request.app.state.settings
    return settings


# --- issuers ----------------------------------------------------------------------------------


def _key_read(urls: docs.Urls, key: IssuerKey) -> KeyRead:
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


async def _issuer_read(session: AsyncSession, urls: docs.Urls, issuer: Issuer) -> IssuerRead:
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
        keys=[_key_read(urls, key) for key in keys],
        links={
            "profile": urls.profile(issuer.id),
            "did_document": urls.did_document(issuer.id),
            "jwks": urls.jwks(issuer.id),
            "ob2_issuer": urls.ob2_issuer(issuer.id),
            "ob2_revocation_list": urls.ob2_revocations(issuer.id),
        },
    )


@router.post("/v1/issuers", response_model=IssuerRead, status_code=201, summary="Create an issuer profile with keys")
async def create_issuer(body: IssuerWrite, request: Request, who: Issuing, session: SessionDep) -> IssuerRead:
    issuer = await service.create_issuer(session, _ctx(request, who), body)
    return await _issuer_read(session, _urls(request), issuer)


@router.get("/v1/issuers", response_model=list[IssuerRead], summary="The tenant's issuer profiles")
async def list_issuers(request: Request, who: Reader, session: SessionDep) -> list[IssuerRead]:
    rows = await session.scalars(in_tenant(select(Issuer), Issuer, who.tenant_id).order_by(Issuer.name, Issuer.id))
    return [await _issuer_read(session, _urls(request), row) for row in rows]


@router.get("/v1/issuers/{issuer_id}", response_model=IssuerRead, summary="One issuer profile")
async def get_issuer(issuer_id: IdPath, request: Request, who: Reader, session: SessionDep) -> IssuerRead:
    issuer = await get_in_tenant(session, Issuer, issuer_id, who.tenant_id, noun="issuer")
    return await _issuer_read(session, _urls(request), issuer)


@router.patch("/v1/issuers/{issuer_id}", response_model=IssuerRead, summary="Edit an issuer profile")
async def update_issuer(
    issuer_id: IdPath, body: IssuerUpdate, request: Request, who: Issuing, session: SessionDep
) -> IssuerRead:
    issuer = await service.update_issuer(session, _ctx(request, who), issuer_id, body)
    return await _issuer_read(session, _urls(request), issuer)


@router.post(
    "/v1/issuers/{issuer_id}/keys",
    response_model=KeyRead,
    status_code=201,
    summary="Rotate: a new active key; the previous one retires and stays published",
)
async def rotate_key(
    issuer_id: IdPath, body: KeyRotation, request: Request, who: Issuing, session: SessionDep
) -> KeyRead:
    key = await service.rotate_key(session, _ctx(request, who), issuer_id, body.purpose)
    return _key_read(_urls(request), key)


@router.post(
    "/v1/issuers/{issuer_id}/keys/{key_id}/revoke",
    response_model=KeyRead,
    summary="Mark a compromised key revoked: what it signed stops verifying",
)
async def revoke_key(
    issuer_id: IdPath, key_id: IdPath, body: KeyRevocation, request: Request, who: Issuing, session: SessionDep
) -> KeyRead:
    key = await service.revoke_key(session, _ctx(request, who), issuer_id, key_id, body.reason)
    return _key_read(_urls(request), key)


# --- achievements -----------------------------------------------------------------------------


async def _achievement_read(
    session: AsyncSession, urls: docs.Urls, achievement: Achievement, version: AchievementVersion | None = None
) -> AchievementRead:
    version = version or await service.current_version(session, achievement)
    return AchievementRead(
        id=achievement.id,
        issuer_id=achievement.issuer_id,
        version=version.version,
        content=version.content,
        image_type=version.image_type,
        achievement=docs.ob3_achievement(urls, achievement.id, version.version, version.content),
        created_at=achievement.created_at,
        updated_at=achievement.updated_at,
        links={
            "achievement": urls.achievement(achievement.id, version.version),
            "image": urls.achievement_image(achievement.id, version.version),
            "ob2_badgeclass": urls.ob2_badgeclass(achievement.id, version.version),
        },
    )


@router.post("/v1/achievements", response_model=AchievementRead, status_code=201, summary="Create an achievement")
async def create_achievement(
    body: AchievementWrite, request: Request, who: Issuing, session: SessionDep
) -> AchievementRead:
    version = await service.create_achievement(session, _ctx(request, who), body)
    achievement = await session.get(Achievement, version.achievement_id)
    assert achievement is not None
    return await _achievement_read(session, _urls(request), achievement, version)


@router.get("/v1/achievements", response_model=list[AchievementRead], summary="The tenant's achievements")
async def list_achievements(
    request: Request,
    who: Reader,
    session: SessionDep,
    issuer_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[AchievementRead]:
    statement = in_tenant(select(Achievement), Achievement, who.tenant_id)
    if issuer_id:
        statement = statement.where(Achievement.issuer_id == issuer_id)
    rows = await session.scalars(statement.order_by(Achievement.created_at, Achievement.id).limit(500))
    return [await _achievement_read(session, _urls(request), row) for row in rows]


@router.get("/v1/achievements/{achievement_id}", response_model=AchievementRead, summary="One achievement (current)")
async def get_achievement(
    achievement_id: IdPath, request: Request, who: Reader, session: SessionDep
) -> AchievementRead:
    achievement = await get_in_tenant(session, Achievement, achievement_id, who.tenant_id, noun="achievement")
    return await _achievement_read(session, _urls(request), achievement)


@router.patch(
    "/v1/achievements/{achievement_id}",
    response_model=AchievementRead,
    summary="Edit an achievement: a new version; badges already issued keep theirs",
)
async def update_achievement(
    achievement_id: IdPath, body: AchievementUpdate, request: Request, who: Issuing, session: SessionDep
) -> AchievementRead:
    version = await service.new_version(session, _ctx(request, who), achievement_id, changes=body)
    achievement = await session.get(Achievement, achievement_id)
    assert achievement is not None
    return await _achievement_read(session, _urls(request), achievement, version)


@router.put(
    "/v1/achievements/{achievement_id}/image",
    response_model=AchievementRead,
    summary="Upload the image (PNG or SVG, checked by content): a new version",
)
async def put_achievement_image(
    achievement_id: IdPath,
    request: Request,
    who: Issuing,
    session: SessionDep,
    image: Annotated[UploadFile, File(description="PNG or SVG")],
) -> AchievementRead:
    settings = _settings(request)
    data = await image.read(settings.image_max_bytes + 1)
    stored = validate_upload(
        data, image.content_type, max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels
    )
    version = await service.new_version(session, _ctx(request, who), achievement_id, image=stored)
    achievement = await session.get(Achievement, achievement_id)
    assert achievement is not None
    return await _achievement_read(session, _urls(request), achievement, version)


# --- badges -----------------------------------------------------------------------------------


def _badge_read(urls: docs.Urls, badge: Badge) -> BadgeRead:
    links = service.badge_links(urls, badge)
    return BadgeRead(
        id=badge.id,
        achievement_id=badge.achievement_id,
        achievement_version=badge.achievement_version,
        issuer_id=badge.issuer_id,
        status=badge.status,
        status_reason=badge.status_reason,
        issued_at=badge.issued_at,
        valid_from=badge.valid_from,
        valid_until=badge.valid_until,
        credential=badge.credential,
        sharing=sharing.read(badge),
        lineage=reissue.lineage(badge),
        links=links,
    )


@router.post(
    "/v1/badges",
    response_model=BadgeRead,
    status_code=201,
    summary="Issue a badge: OB 3.0 (Data Integrity and VC-JWT) and OB 2.0 (hosted and signed)",
)
async def issue_badge(
    body: BadgeCreate,
    request: Request,
    response: Response,
    who: Issuing,
    session: SessionDep,
    idempotency_key: Annotated[
        str | None,
        Header(min_length=1, max_length=200, description="same key + same body → the original badge, nothing new"),
    ] = None,
) -> BadgeRead:
    ctx = _ctx(request, who)
    if idempotency_key is not None:
        earlier = await issuing.replay(session, ctx, idempotency_key, body)
        if earlier is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return _badge_read(ctx.urls, earlier)
    settings = _settings(request)
    badge = await issuing.issue_badge(
        session,
        ctx,
        body,
        list_size=settings.status_list_size,
        list_fill=settings.status_list_fill,
        idempotency_key=idempotency_key,
        max_bytes=settings.max_credential_bytes,
    )
    response.headers["Location"] = f"/v1/badges/{badge.id}"
    return _badge_read(ctx.urls, badge)


RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"


def _moment(name: str, value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnprocessableContent(
            f"{name} is not a date-time", errors=[FieldError(pointer=f"/query/{name}", detail="not a valid date")]
        ) from exc


@router.get("/v1/badges", response_model=BadgePage, summary="Issued badges, newest first, with filters")
async def list_badges(
    request: Request,
    who: Reader,
    session: SessionDep,
    achievement_id: Annotated[str | None, Query(max_length=36)] = None,
    recipient: Annotated[str | None, Query(max_length=500, description="email, DID or URL")] = None,
    status: Annotated[str | None, Query(pattern="^(active|suspended|revoked)$")] = None,
    issued_after: Annotated[str | None, Query(pattern=RFC3339, description="RFC 3339 date-time")] = None,
    issued_before: Annotated[str | None, Query(pattern=RFC3339, description="RFC 3339 date-time")] = None,
    expiring_within: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9][0-9]{0,3}d$",
            description="e.g. 30d: active badges whose validity ends within that many days (to remind earners)",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BadgePage:
    statement = in_tenant(select(Badge), Badge, who.tenant_id)
    if achievement_id:
        statement = statement.where(Badge.achievement_id == achievement_id)
    if recipient:
        if "@" in recipient and ":" not in recipient:
            lookup = request.app.state.signer.vault.lookup_digest(recipient.strip().lower())
            statement = statement.where(Badge.recipient_lookup == lookup)
        else:
            statement = statement.where(Badge.recipient_id == recipient)
    if status:
        statement = statement.where(Badge.status == status)
    if issued_after is not None:
        statement = statement.where(Badge.issued_at >= _moment("issued_after", issued_after))
    if issued_before is not None:
        statement = statement.where(Badge.issued_at < _moment("issued_before", issued_before))
    if expiring_within is not None:
        start, end = reissue.expiring_window(expiring_within, utcnow())
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
    return BadgePage(items=[_badge_read(_urls(request), row) for row in page], next_cursor=next_cursor)


@router.get("/v1/badges/{badge_id}", response_model=BadgeRead, summary="One badge, with links to every form")
async def get_badge(badge_id: IdPath, request: Request, who: Reader, session: SessionDep) -> BadgeRead:
    badge = await get_in_tenant(session, Badge, badge_id, who.tenant_id, noun="badge")
    return _badge_read(_urls(request), badge)


def _status_route(action: str, summary: str) -> None:
    async def change(
        badge_id: IdPath, request: Request, who: Issuing, session: SessionDep, body: StatusChange | None = None
    ) -> BadgeRead:
        reason = body.reason if body is not None else None
        badge = await service.change_status(session, _ctx(request, who), badge_id, action, reason)
        return _badge_read(_urls(request), badge)

    change.__name__ = f"{action}_badge"
    router.add_api_route(
        f"/v1/badges/{{badge_id}}/{action}", change, methods=["POST"], response_model=BadgeRead, summary=summary
    )


_status_route("revoke", "Revoke a badge (permanent)")
_status_route("suspend", "Suspend a badge (reversible)")
_status_route("reinstate", "Reinstate a suspended badge")


@router.post(
    "/v1/badges/{badge_id}/reissue",
    response_model=BadgeRead,
    status_code=201,
    summary="Reissue a badge (renewal or correction): a new badge linked to this one, which is revoked or superseded",
)
async def reissue_badge(
    badge_id: IdPath, body: BadgeReissue, request: Request, response: Response, who: Issuing, session: SessionDep
) -> BadgeRead:
    ctx = _ctx(request, who)
    settings = _settings(request)
    new, _old = await reissue.reissue(
        session,
        ctx,
        badge_id,
        body,
        list_size=settings.status_list_size,
        list_fill=settings.status_list_fill,
        max_bytes=settings.max_credential_bytes,
    )
    response.headers["Location"] = f"/v1/badges/{new.id}"
    return _badge_read(ctx.urls, new)


@router.patch(
    "/v1/badges/{badge_id}/sharing",
    response_model=BadgeRead,
    summary="Choose what the badge's public page shows: name, results, evidence (its earner, or an issuer)",
)
async def update_sharing(
    badge_id: IdPath, body: SharingUpdate, request: Request, who: Reader, session: SessionDep
) -> BadgeRead:
    lookup = request.app.state.signer.vault.lookup_digest
    badge = await sharing.update(session, who, badge_id, body, lookup_digest=lookup)
    return _badge_read(_urls(request), badge)


# --- public documents (no token) --------------------------------------------------------------

JSONLD = "application/ld+json"
VC_JSONLD = "application/vc+ld+json"
_CORS = {"Access-Control-Allow-Origin": "*"}


def _json(
    document: Any, media_type: str = JSONLD, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=media_type, headers={**_CORS, **(headers or {})})


def _ld_type(request: Request, default: str = JSONLD) -> str:
    accept = request.headers.get("accept", "")
    if VC_JSONLD in accept:
        return VC_JSONLD
    if JSONLD in accept:
        return JSONLD
    return default


async def _public_issuer(session: AsyncSession, issuer_id: str) -> Issuer:
    issuer = await session.get(Issuer, issuer_id)
    if issuer is None:
        raise NotFound(f"no issuer {issuer_id}")
    return issuer


def _published(keys: list[IssuerKey], purpose: str) -> list[IssuerKey]:
    # Retired keys stay published (what they signed keeps verifying); revoked keys never are.
    return [key for key in keys if key.purpose == purpose and key.state != "revoked"]


@public_router.get("/ob/issuers/{issuer_id}", summary="OB 3.0 issuer profile (public)", tags=["public"])
async def public_profile(issuer_id: IdPath, request: Request, session: SessionDep) -> Response:
    issuer = await _public_issuer(session, issuer_id)
    return _json(docs.ob3_profile(_urls(request), service.issuer_facts(issuer), with_context=True), _ld_type(request))


@public_router.get("/ob/issuers/{issuer_id}/did.json", summary="did:web DID document (public)", tags=["public"])
async def public_did(issuer_id: IdPath, request: Request, session: SessionDep) -> Response:
    issuer = await _public_issuer(session, issuer_id)
    keys = _published(await service.issuer_keys(session, issuer.id), "data_integrity")
    document = docs.did_document(_urls(request), issuer.id, [(key.id, key.public_key) for key in keys])
    return _json(document, "application/did+ld+json" if "did+ld+json" in request.headers.get("accept", "") else JSONLD)


@public_router.get("/ob/issuers/{issuer_id}/jwks.json", summary="The issuer's JOSE keys (public)", tags=["public"])
async def public_jwks(issuer_id: IdPath, request: Request, session: SessionDep) -> Response:
    issuer = await _public_issuer(session, issuer_id)
    keys = _published(await service.issuer_keys(session, issuer.id), "jose")
    return _json({"keys": [_jwk(request, key) for key in keys]}, "application/jwk-set+json")


def _jwk(request: Request, key: IssuerKey) -> dict[str, Any]:
    return rsa_jwk(rsa_from_pem(key.public_key), _urls(request).jwk(key.id))


@public_router.get("/ob/keys/{key_id}", summary="A VC-JWT verification key as JWK (public)", tags=["public"])
async def public_jwk(key_id: IdPath, request: Request, session: SessionDep) -> Response:
    key = await session.get(IssuerKey, key_id)
    if key is None or key.purpose != "jose" or key.state == "revoked":
        raise NotFound(f"no key {key_id}")
    return _json(_jwk(request, key), "application/jwk+json")


async def _version(session: AsyncSession, achievement_id: str, version: int) -> tuple[Achievement, AchievementVersion]:
    row = await session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement_id, AchievementVersion.version == version
        )
    )
    achievement = await session.get(Achievement, achievement_id)
    if row is None or achievement is None:
        raise NotFound(f"no achievement {achievement_id} version {version}")
    return achievement, row


@public_router.get(
    "/ob/achievements/{achievement_id}/versions/{version}", summary="OB 3.0 achievement (public)", tags=["public"]
)
async def public_achievement(
    achievement_id: IdPath, version: Annotated[int, Path(ge=1, le=1_000_000)], request: Request, session: SessionDep
) -> Response:
    achievement, row = await _version(session, achievement_id, version)
    document = docs.ob3_achievement(_urls(request), achievement.id, row.version, row.content)
    return _json({"@context": docs.OB3_CONTEXT, **document}, _ld_type(request))


@public_router.get(
    "/ob/achievements/{achievement_id}/versions/{version}/image", summary="Achievement image (public)", tags=["public"]
)
async def public_image(
    achievement_id: IdPath, version: Annotated[int, Path(ge=1, le=1_000_000)], session: SessionDep
) -> Response:
    _achievement, row = await _version(session, achievement_id, version)
    headers = {**_CORS, "Cache-Control": "public, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"}
    if row.image_type == "image/svg+xml":
        # Sanitized at upload; the policy is a second wall if the SVG is opened on its own.
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(row.image, media_type=row.image_type, headers=headers)


async def _public_badge(session: AsyncSession, badge_id: str) -> Badge:
    badge = await session.get(Badge, badge_id)
    if badge is None:
        raise NotFound(f"no credential {badge_id}")
    return badge


@public_router.get(
    "/ob/credentials/{badge_id}",
    summary="OB 3.0 credential (public); a browser (HTML preferred to JSON) gets the badge's page",
    tags=["public"],
    responses={200: {"content": {VC_JSONLD: {}, JSONLD: {}, "application/jwt": {}, "text/html": {}}}},
)
async def public_credential(
    badge_id: IdPath,
    request: Request,
    session: SessionDep,
    output: Annotated[
        Literal["json"] | None, Query(alias="format", description="json: the credential whatever Accept says")
    ] = None,
) -> Response:
    accept = request.headers.get("accept", "")
    if output is None and pages.prefers_html(accept):
        return await pages.page_response(request, session, badge_id)
    badge = await _public_badge(session, badge_id)
    vary = {"Vary": "Accept"}  # one URL, several answers: caches must key on Accept
    if output is None and ("application/jwt" in accept or "text/plain" in accept) and "json" not in accept:
        media = "application/jwt" if "application/jwt" in accept else "text/plain"
        return Response(badge.credential_jwt, media_type=media, headers={**_CORS, **vary})
    return _json(badge.credential, _ld_type(request, VC_JSONLD), headers=vary)


@public_router.get("/ob/credentials/{badge_id}/jwt", summary="OB 3.0 credential as VC-JWT (public)", tags=["public"])
async def public_credential_jwt(badge_id: IdPath, request: Request, session: SessionDep) -> Response:
    badge = await _public_badge(session, badge_id)
    media = "text/plain" if "text/plain" in request.headers.get("accept", "") else "application/jwt"
    return Response(badge.credential_jwt, media_type=media, headers=_CORS)


@public_router.get("/ob/status-lists/{list_id}", summary="Bitstring status list credential (public)", tags=["public"])
async def public_status_list(list_id: IdPath, request: Request, session: SessionDep) -> Response:
    row = await service.status_list_credential(session, _urls(request), request.app.state.signer, list_id)
    etag = f'"{row.signed_digest}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={**_CORS, **headers})
    return _json(row.signed_credential, _ld_type(request, VC_JSONLD), headers=headers)


# --- Open Badges 2.0 public documents ---------------------------------------------------------

OB2_JSON = "application/ld+json"


@public_router.get("/ob/v2/issuers/{issuer_id}", summary="OB 2.0 issuer (public)", tags=["public"])
async def public_ob2_issuer(issuer_id: IdPath, request: Request, session: SessionDep) -> Response:
    issuer = await _public_issuer(session, issuer_id)
    keys = _published(await service.issuer_keys(session, issuer.id), "jose")
    document = docs.ob2_issuer(_urls(request), service.issuer_facts(issuer), [key.id for key in keys])
    return _json(document, OB2_JSON)


@public_router.get("/ob/v2/issuers/{issuer_id}/revocations", summary="OB 2.0 revocation list", tags=["public"])
async def public_ob2_revocations(issuer_id: IdPath, request: Request, session: SessionDep) -> Response:
    issuer = await _public_issuer(session, issuer_id)
    rows = await session.execute(
        select(Badge.ob2_signed_id, Badge.status_reason).where(
            Badge.issuer_id == issuer.id, Badge.status == "revoked", Badge.ob2_signed_id.is_not(None)
        )
    )
    revoked = [(str(signed_id), reason) for signed_id, reason in rows]
    return _json(docs.ob2_revocation_list(_urls(request), issuer.id, revoked), OB2_JSON)


@public_router.get("/ob/v2/keys/{key_id}", summary="OB 2.0 CryptographicKey (public)", tags=["public"])
async def public_ob2_key(key_id: IdPath, request: Request, session: SessionDep) -> Response:
    key = await session.get(IssuerKey, key_id)
    if key is None or key.purpose != "jose" or key.state == "revoked":
        raise NotFound(f"no key {key_id}")
    return _json(docs.ob2_key(_urls(request), key.issuer_id, key.id, key.public_key), OB2_JSON)


@public_router.get(
    "/ob/v2/badgeclasses/{achievement_id}/versions/{version}", summary="OB 2.0 BadgeClass", tags=["public"]
)
async def public_ob2_badgeclass(
    achievement_id: IdPath, version: Annotated[int, Path(ge=1, le=1_000_000)], request: Request, session: SessionDep
) -> Response:
    achievement, row = await _version(session, achievement_id, version)
    document = docs.ob2_badgeclass(_urls(request), achievement.issuer_id, achievement.id, row.version, row.content)
    return _json(document, OB2_JSON)


@public_router.get(
    "/ob/v2/assertions/{badge_id}", summary="OB 2.0 hosted assertion (410 once revoked)", tags=["public"]
)
async def public_ob2_assertion(badge_id: IdPath, request: Request, session: SessionDep) -> Response:
    badge = await _public_badge(session, badge_id)
    if badge.ob2_assertion is None:
        raise NotFound(f"badge {badge_id} has no OB 2.0 form (its recipient has no email or URL)")
    if badge.status == "revoked":
        gone = docs.compact(
            {
                "@context": docs.OB2_CONTEXT,
                "id": badge.ob2_assertion["id"],
                "revoked": True,
                "revocationReason": badge.status_reason,
            }
        )
        return _json(gone, OB2_JSON, status=410)
    return _json(badge.ob2_assertion, OB2_JSON)


@public_router.get("/ob/v2/assertions/{badge_id}/jws", summary="OB 2.0 signed assertion (JWS)", tags=["public"])
async def public_ob2_jws(badge_id: IdPath, session: SessionDep) -> Response:
    badge = await _public_badge(session, badge_id)
    if badge.ob2_jws is None:
        raise NotFound(f"badge {badge_id} has no OB 2.0 form (its recipient has no email or URL)")
    return Response(badge.ob2_jws, media_type="text/plain", headers=_CORS)


# --- verifier ---------------------------------------------------------------------------------


@public_router.post(
    "/v1/verify",
    response_model=VerifyReport,
    summary=(
        "Verify an OB 3.0 credential (JSON-LD or VC-JWT) or OB 2.0 assertion (JSON, JWS or URL), "
        "sent as JSON, or a baked badge image (PNG or SVG) uploaded as multipart/form-data"
    ),
    tags=["public"],
    openapi_extra=verify_input.OPENAPI,
)
async def verify_credential(request: Request, session: SessionDep) -> VerifyReport:
    body, baked = await verify_input.read(request, upload_max_bytes=_settings(request).verify_upload_max_bytes)
    report = await verify(session, request.app.state.verifier, body)
    return verify_input.annotate(report, baked) if baked is not None else report


@public_router.options("/v1/verify", include_in_schema=False)
async def verify_preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type",
            "Access-Control-Max-Age": "600",
        },
    )


# Everything a client can reach without a token, beyond the standard health checks and the
# internal event inbox (shared.app.STANDARD_PUBLIC_ROUTES): what a verifier must fetch, and the
# verifier itself. tests/test_auth.py holds this list equal to what the app serves unauthenticated.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/ob/issuers/{issuer_id}"),
        ("GET", "/ob/issuers/{issuer_id}/did.json"),
        ("GET", "/ob/issuers/{issuer_id}/jwks.json"),
        ("GET", "/ob/keys/{key_id}"),
        ("GET", "/ob/achievements/{achievement_id}/versions/{version}"),
        ("GET", "/ob/achievements/{achievement_id}/versions/{version}/image"),
        ("GET", "/ob/credentials/{badge_id}"),
        ("GET", "/ob/badges/{badge_id}"),
        ("GET", "/ob/credentials/{badge_id}/jwt"),
        ("GET", "/ob/credentials/{badge_id}/baked.png"),
        ("GET", "/ob/credentials/{badge_id}/baked.svg"),
        ("GET", "/ob/status-lists/{list_id}"),
        ("GET", "/ob/v2/issuers/{issuer_id}"),
        ("GET", "/ob/v2/issuers/{issuer_id}/revocations"),
        ("GET", "/ob/v2/keys/{key_id}"),
        ("GET", "/ob/v2/badgeclasses/{achievement_id}/versions/{version}"),
        ("GET", "/ob/v2/assertions/{badge_id}"),
        ("GET", "/ob/v2/assertions/{badge_id}/jws"),
        ("GET", "/ob/v2/assertions/{badge_id}/baked.png"),
        ("GET", "/ob/v2/assertions/{badge_id}/baked.svg"),
        ("POST", "/v1/verify"),
        ("OPTIONS", "/v1/verify"),
    }
)
