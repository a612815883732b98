"""Baked badge images (public, no token): the badge image with its signed credential inside.

``/ob/credentials/{id}/baked.png|svg`` carry the OB 3.0 credential (its JSON with the Data
Integrity proof, or with ``?proof=jwt`` its VC-JWT); ``/ob/v2/assertions/{id}/baked.png|svg``
carry the OB 2.0 signed assertion (JWS). Baked from the achievement version the badge was issued
under (openbadges/baking.py); the PNG of an achievement whose image is an SVG is the default
badge drawn as PNG (images.badge_png), and the SVG of one whose image is a PNG shows that PNG.

Status: a badge bakes whatever its status, as its JSON, VC-JWT and JWS are served whatever its
status: the image holds the same signed document, and a verifier learns of a revocation or
suspension from the status list (OB 3.0) or the issuer's revocation list (OB 2.0), so the image
of a revoked badge verifies as revoked. Only the OB 2.0 *hosted* assertion answers 410, because
there the URL itself is what a verifier checks.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from services.badges import images
from services.badges.deps import IdPath
from services.badges.errors import UnsupportedImage
from services.badges.models import AchievementVersion, Badge
from services.badges.openbadges import baking
from services.badges.openbadges.images import ImageRefused
from services.badges.public import service
from shared.problems import NotFound
from shared.state import SessionDep

router = APIRouter()

# Part of every ETag: raise it when the way images are baked or drawn changes.
_REVISION = "1"
_PROOFS = Literal["data-integrity", "jwt"]


def _image_response(media_type: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": "The badge image with its credential baked in (a download)",
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        304: {"description": "Not modified (If-None-Match)"},
    }


_PROOF_QUERY = Query(description="bake the JSON with its Data Integrity proof, or the VC-JWT")


def _route(path: str, version: baking.Version, media_type: str, summary: str, name: str) -> None:
    """Declare one baked-image route: OB 3.0 ones choose their proof, OB 2.0 ones carry the JWS."""
    declare = router.get(
        path, summary=summary, tags=["public"], response_class=Response, responses=_image_response(media_type)
    )
    if version == "ob3":

        async def ob3(
            badge_id: IdPath,
            request: Request,
            session: SessionDep,
            proof: Annotated[_PROOFS, _PROOF_QUERY] = "data-integrity",
        ) -> Response:
            return await _serve(request, session, badge_id, version, media_type, proof)

        ob3.__name__ = name  # the OpenAPI operation id
        declare(ob3)
    else:

        async def ob2(badge_id: IdPath, request: Request, session: SessionDep) -> Response:
            return await _serve(request, session, badge_id, version, media_type, "jws")

        ob2.__name__ = name
        declare(ob2)


_route(
    "/ob/credentials/{badge_id}/baked.png",
    "ob3",
    images.PNG,
    "OB 3.0 baked badge: PNG with the credential in an iTXt chunk (public)",
    "baked_png",
)
_route(
    "/ob/credentials/{badge_id}/baked.svg",
    "ob3",
    images.SVG,
    "OB 3.0 baked badge: SVG with an <openbadges:credential> element (public)",
    "baked_svg",
)
_route(
    "/ob/v2/assertions/{badge_id}/baked.png",
    "ob2",
    images.PNG,
    "OB 2.0 baked badge: PNG with the signed assertion in an iTXt chunk (public)",
    "ob2_baked_png",
)
_route(
    "/ob/v2/assertions/{badge_id}/baked.svg",
    "ob2",
    images.SVG,
    "OB 2.0 baked badge: SVG with an <openbadges:assertion> element (public)",
    "ob2_baked_svg",
)


async def _serve(
    request: Request, session: SessionDep, badge_id: str, version: baking.Version, media_type: str, proof: str
) -> Response:
    badge = await service.badge(session, badge_id)
    text = _payload(badge, version, proof)
    row = await service.issued_version(session, badge)
    name = str(row.content.get("name") or "badge")
    etag = _etag(version, media_type, text, row, name)
    extension = "png" if media_type == images.PNG else "svg"
    suffix = {"data-integrity": "", "jwt": "-jwt", "jws": "-ob2"}[proof]
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Content-Disposition, ETag",
        "ETag": etag,
        # no-transform: an image optimizer on the way would strip the chunk that is the point.
        "Cache-Control": "public, max-age=86400, no-transform",
        "Content-Disposition": f'attachment; filename="{_slug(name)}-{badge.id[:8]}{suffix}.{extension}"',
        "X-Content-Type-Options": "nosniff",
    }
    if media_type == images.SVG:
        # As for the achievement image: a second wall should the SVG be opened on its own.
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = await run_in_threadpool(_bake, row, name, version, media_type, text)
    return Response(body, media_type=media_type, headers=headers)


def _payload(badge: Badge, version: baking.Version, proof: str) -> str:
    if version == "ob2":
        if badge.ob2_jws is None:
            raise NotFound(f"badge {badge.id} has no OB 2.0 form (its recipient has no email or URL)")
        return badge.ob2_jws
    if proof == "jwt":
        return badge.credential_jwt
    return json.dumps(badge.credential, separators=(",", ":"), ensure_ascii=False)


def _bake(row: AchievementVersion, name: str, version: baking.Version, media_type: str, text: str) -> bytes:
    try:
        return _baked(row, name, version, media_type, text)
    except ImageRefused as exc:  # a stored image was sanitized at upload: not expected
        raise UnsupportedImage(str(exc)) from exc


def _baked(row: AchievementVersion, name: str, version: baking.Version, media_type: str, text: str) -> bytes:
    if media_type == images.PNG:
        source = row.image if row.image_type == images.PNG else images.badge_png(name, row.achievement_id)
        return baking.bake_png(source, version, text)
    if row.image_type == images.SVG:
        return baking.bake_svg(row.image, version, text)
    png = baking.clean_png(row.image)  # an uploaded PNG may itself have been someone's baked badge
    width, height = baking.png_size(png)
    return baking.bake_svg(images.svg_with_png(png, name, width, height), version, text)


def _etag(version: str, media_type: str, text: str, row: AchievementVersion, name: str) -> str:
    digest = hashlib.sha256()
    for part in (_REVISION, version, media_type, text, row.image_type, name, row.achievement_id):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(row.image)
    return f'"{digest.hexdigest()[:32]}"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:60].strip("-") or "badge"
