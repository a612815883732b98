"""The public documents (no token, CORS-open): what anyone must be able to fetch to verify a badge
(``/ob/...``: issuer profiles, DID documents, keys, achievements, credentials, status lists, and
their Open Badges 2.0 forms), and the badge's page for people (``/ob/badges/{id}``).

Baked images are in ``baked_api.py``; the page's rendering in ``page.py``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.badges.deps import IdPath, SignerDep, UrlsDep, VerifierDep
from services.badges.issuers.service import issuer_facts
from services.badges.models import IssuerKey
from services.badges.openbadges import documents as docs
from services.badges.openbadges.keys import rsa_from_pem, rsa_jwk
from services.badges.public import page, service
from services.badges.schemas import VerifyRequest
from services.badges.verify.verifier import verify
from shared.problems import NotFound
from shared.state import SessionDep

router = APIRouter()

JSONLD = "application/ld+json"
VC_JSONLD = "application/vc+ld+json"
JWT = "application/jwt"
_CORS = {"Access-Control-Allow-Origin": "*"}

_BINARY = {"type": "string", "format": "binary"}


def _content(*media_types: str) -> dict[str, dict[str, Any]]:
    """What the OpenAPI document says a response's body is, for each type it may be served as."""
    content: dict[str, dict[str, Any]] = {}
    for media_type in media_types:
        if media_type.endswith("json"):
            content[media_type] = {"schema": {"type": "object"}}
        elif media_type.startswith("image/"):
            content[media_type] = {"schema": _BINARY}
        else:
            content[media_type] = {"schema": {"type": "string"}}
    return content


def _answers(
    description: str, *media_types: str, others: dict[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The documented 200 (and ``others``, by status) of a public document route: every media
    type it is really served as, never FastAPI's default ``application/json``."""
    return {200: {"description": description, "content": _content(*media_types)}, **(others or {})}


# A browser asking for a badge that does not exist gets an HTML page, anything else a problem.
_NOT_FOUND_PAGE = {
    "description": "No such badge: an HTML page for browsers, a problem otherwise",
    "content": _content("text/html"),
}


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


@router.get(
    "/ob/issuers/{issuer_id}",
    summary="OB 3.0 issuer profile (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The issuer profile (JSON-LD)", JSONLD, VC_JSONLD),
)
async def public_profile(issuer_id: IdPath, request: Request, session: SessionDep, urls: UrlsDep) -> Response:
    issuer = await service.issuer(session, issuer_id)
    return _json(docs.ob3_profile(urls, issuer_facts(issuer), with_context=True), _ld_type(request))


@router.get(
    "/ob/issuers/{issuer_id}/did.json",
    summary="did:web DID document (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The DID document", JSONLD, "application/did+ld+json"),
)
async def public_did(issuer_id: IdPath, request: Request, session: SessionDep, urls: UrlsDep) -> Response:
    issuer = await service.issuer(session, issuer_id)
    keys = await service.published_keys(session, issuer.id, "data_integrity")
    document = docs.did_document(urls, issuer.id, [(key.id, key.public_key) for key in keys])
    return _json(document, "application/did+ld+json" if "did+ld+json" in request.headers.get("accept", "") else JSONLD)


@router.get(
    "/ob/issuers/{issuer_id}/jwks.json",
    summary="The issuer's JOSE keys (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("A JWK set", "application/jwk-set+json"),
)
async def public_jwks(issuer_id: IdPath, session: SessionDep, urls: UrlsDep) -> Response:
    issuer = await service.issuer(session, issuer_id)
    keys = await service.published_keys(session, issuer.id, "jose")
    return _json({"keys": [_jwk(urls, key) for key in keys]}, "application/jwk-set+json")


def _jwk(urls: docs.Urls, key: IssuerKey) -> dict[str, Any]:
    return rsa_jwk(rsa_from_pem(key.public_key), urls.jwk(key.id))


@router.get(
    "/ob/keys/{key_id}",
    summary="A VC-JWT verification key as JWK (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The key as a JWK", "application/jwk+json"),
)
async def public_jwk(key_id: IdPath, session: SessionDep, urls: UrlsDep) -> Response:
    key = await service.jose_key(session, key_id)
    return _json(_jwk(urls, key), "application/jwk+json")


@router.get(
    "/ob/achievements/{achievement_id}/versions/{version}",
    summary="OB 3.0 achievement (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The achievement (JSON-LD)", JSONLD, VC_JSONLD),
)
async def public_achievement(
    achievement_id: IdPath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    request: Request,
    session: SessionDep,
    urls: UrlsDep,
) -> Response:
    achievement, row = await service.achievement_version(session, achievement_id, version)
    document = docs.ob3_achievement(urls, achievement.id, row.version, row.content)
    return _json({"@context": docs.OB3_CONTEXT, **document}, _ld_type(request))


@router.get(
    "/ob/achievements/{achievement_id}/versions/{version}/image",
    summary="Achievement image (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The image as uploaded (PNG, or sanitized SVG)", "image/png", "image/svg+xml"),
)
async def public_image(
    achievement_id: IdPath, version: Annotated[int, Path(ge=1, le=1_000_000)], session: SessionDep
) -> Response:
    _achievement, row = await service.achievement_version(session, achievement_id, version)
    headers = {**_CORS, "Cache-Control": "public, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"}
    if row.image_type == "image/svg+xml":
        # Sanitized at upload; the policy is a second wall if the SVG is opened on its own.
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(row.image, media_type=row.image_type, headers=headers)


async def _page(
    request: Request, session: SessionDep, urls: docs.Urls, verifier: VerifierDep, badge_id: str
) -> Response:
    """The page of a badge, its status computed on every request by the verifier."""
    badge = await service.find_badge(session, badge_id)
    if badge is None:
        return page.not_found(request.headers.get("accept", ""), urls, badge_id)
    report = await verify(session, verifier, VerifyRequest(credential=badge.credential))
    return page.badge_page(urls, badge, report)


@router.get(
    "/ob/credentials/{badge_id}",
    summary="OB 3.0 credential (public); a browser (HTML preferred to JSON) gets the badge's page",
    tags=["public"],
    response_class=Response,
    responses=_answers(
        "The credential: JSON-LD, its VC-JWT (Accept: application/jwt or text/plain), or its page (HTML)",
        VC_JSONLD,
        JSONLD,
        JWT,
        "text/plain",
        "text/html",
        others={404: _NOT_FOUND_PAGE},
    ),
)
async def public_credential(
    badge_id: IdPath,
    request: Request,
    session: SessionDep,
    urls: UrlsDep,
    verifier: VerifierDep,
    output: Annotated[
        Literal["json"] | None, Query(alias="format", description="json: the credential whatever Accept says")
    ] = None,
) -> Response:
    accept = request.headers.get("accept", "")
    if output is None and page.prefers_html(accept):
        return await _page(request, session, urls, verifier, badge_id)
    badge = await service.badge(session, badge_id)
    vary = {"Vary": "Accept"}  # one URL, several answers: caches must key on Accept
    if output is None and ("application/jwt" in accept or "text/plain" in accept) and "json" not in accept:
        media = "application/jwt" if "application/jwt" in accept else "text/plain"
        return Response(badge.credential_jwt, media_type=media, headers={**_CORS, **vary})
    return _json(badge.credential, _ld_type(request, VC_JSONLD), headers=vary)


@router.get(
    "/ob/credentials/{badge_id}/jwt",
    summary="OB 3.0 credential as VC-JWT (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The compact VC-JWT (text/plain when asked for)", JWT, "text/plain"),
)
async def public_credential_jwt(badge_id: IdPath, request: Request, session: SessionDep) -> Response:
    badge = await service.badge(session, badge_id)
    media = "text/plain" if "text/plain" in request.headers.get("accept", "") else "application/jwt"
    return Response(badge.credential_jwt, media_type=media, headers=_CORS)


@router.get(
    "/ob/status-lists/{list_id}",
    summary="Bitstring status list credential (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers(
        "The signed status list credential",
        VC_JSONLD,
        JSONLD,
        others={304: {"description": "Not modified (If-None-Match)"}},
    ),
)
async def public_status_list(
    list_id: IdPath, request: Request, session: SessionDep, urls: UrlsDep, signer: SignerDep
) -> Response:
    row = await service.status_list_credential(session, urls, signer, list_id)
    etag = f'"{row.signed_digest}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={**_CORS, **headers})
    return _json(row.signed_credential, _ld_type(request, VC_JSONLD), headers=headers)


# --- Open Badges 2.0 public documents ---------------------------------------------------------

OB2_JSON = "application/ld+json"


@router.get(
    "/ob/v2/issuers/{issuer_id}",
    summary="OB 2.0 issuer (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The OB 2.0 Issuer", OB2_JSON),
)
async def public_ob2_issuer(issuer_id: IdPath, session: SessionDep, urls: UrlsDep) -> Response:
    issuer = await service.issuer(session, issuer_id)
    keys = await service.published_keys(session, issuer.id, "jose")
    document = docs.ob2_issuer(urls, issuer_facts(issuer), [key.id for key in keys])
    return _json(document, OB2_JSON)


@router.get(
    "/ob/v2/issuers/{issuer_id}/revocations",
    summary="OB 2.0 revocation list",
    tags=["public"],
    response_class=Response,
    responses=_answers("The OB 2.0 RevocationList", OB2_JSON),
)
async def public_ob2_revocations(issuer_id: IdPath, session: SessionDep, urls: UrlsDep) -> Response:
    issuer = await service.issuer(session, issuer_id)
    revoked = await service.ob2_revoked(session, issuer.id)
    # Suspended badges come and go on this list (ADR 0018): no cache may keep an old one.
    document = docs.ob2_revocation_list(urls, issuer.id, revoked)
    return _json(document, OB2_JSON, headers={"Cache-Control": "no-cache"})


@router.get(
    "/ob/v2/keys/{key_id}",
    summary="OB 2.0 CryptographicKey (public)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The OB 2.0 CryptographicKey", OB2_JSON),
)
async def public_ob2_key(key_id: IdPath, session: SessionDep, urls: UrlsDep) -> Response:
    key = await service.jose_key(session, key_id)
    return _json(docs.ob2_key(urls, key.issuer_id, key.id, key.public_key), OB2_JSON)


@router.get(
    "/ob/v2/badgeclasses/{achievement_id}/versions/{version}",
    summary="OB 2.0 BadgeClass",
    tags=["public"],
    response_class=Response,
    responses=_answers("The OB 2.0 BadgeClass", OB2_JSON),
)
async def public_ob2_badgeclass(
    achievement_id: IdPath, version: Annotated[int, Path(ge=1, le=1_000_000)], session: SessionDep, urls: UrlsDep
) -> Response:
    achievement, row = await service.achievement_version(session, achievement_id, version)
    document = docs.ob2_badgeclass(urls, achievement.issuer_id, achievement.id, row.version, row.content)
    return _json(document, OB2_JSON)


@router.get(
    "/ob/v2/assertions/{badge_id}",
    summary="OB 2.0 hosted assertion (410 while revoked or suspended)",
    tags=["public"],
    response_class=Response,
    responses=_answers(
        "The OB 2.0 hosted Assertion",
        OB2_JSON,
        others={
            410: {
                "description": "Revoked or suspended (ADR 0018): the assertion's id with revoked: true and the reason",
                "content": _content(OB2_JSON),
            }
        },
    ),
)
async def public_ob2_assertion(badge_id: IdPath, session: SessionDep) -> Response:
    badge = await service.badge(session, badge_id)
    if badge.ob2_assertion is None:
        raise NotFound(f"badge {badge_id} has no OB 2.0 form (its recipient has no email or URL)")
    # Status is live and a suspension ends: no cache may keep a 410 (heuristically cacheable) or a
    # 200 past a change (ADR 0018).
    headers = {"Cache-Control": "no-cache"}
    if badge.status in ("revoked", "suspended"):
        reason = docs.ob2_revocation_reason(badge.status, badge.status_reason)
        return _json(docs.ob2_gone(badge.ob2_assertion["id"], reason), OB2_JSON, status=410, headers=headers)
    return _json(badge.ob2_assertion, OB2_JSON, headers=headers)


@router.get(
    "/ob/v2/assertions/{badge_id}/jws",
    summary="OB 2.0 signed assertion (JWS)",
    tags=["public"],
    response_class=Response,
    responses=_answers("The compact JWS", "text/plain"),
)
async def public_ob2_jws(badge_id: IdPath, session: SessionDep) -> Response:
    badge = await service.badge(session, badge_id)
    if badge.ob2_jws is None:
        raise NotFound(f"badge {badge_id} has no OB 2.0 form (its recipient has no email or URL)")
    return Response(badge.ob2_jws, media_type="text/plain", headers=_CORS)


# --- the badge's page -------------------------------------------------------------------------


@router.get(
    "/ob/badges/{badge_id}",
    response_class=HTMLResponse,
    summary="The badge's public page (HTML): achievement, issuer, live status, downloads, sharing",
    tags=["public"],
    responses={404: _NOT_FOUND_PAGE},
)
async def badge_page(
    badge_id: Annotated[str, Path(min_length=1, max_length=200)],
    request: Request,
    session: SessionDep,
    urls: UrlsDep,
    verifier: VerifierDep,
) -> Response:
    return await _page(request, session, urls, verifier, badge_id)
