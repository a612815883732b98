"""Routes of issued badges (``/v1/badges``): issue, list and read, change status (revoke,
suspend, reinstate), reissue, and choose what the badge's public page shows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from services.badges.deps import IdPath, Issuing, Reader, SettingsDep, SignerDep, UrlsDep, context
from services.badges.issuing import reissue, service
from services.badges.models import Badge
from services.badges.openbadges.documents import Urls
from services.badges.public import sharing
from services.badges.schemas import BadgeCreate, BadgePage, BadgeRead, BadgeReissue, SharingUpdate, StatusChange
from shared.problems import FieldError, UnprocessableContent
from shared.state import SessionDep

router = APIRouter()


def _badge_read(urls: Urls, badge: Badge) -> BadgeRead:
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
    response: Response,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(min_length=1, max_length=200, description="same key + same body → the original badge, nothing new"),
    ] = None,
) -> BadgeRead:
    ctx = context(who, urls, signer)
    if idempotency_key is not None:
        earlier = await service.replay(session, ctx, idempotency_key, body)
        if earlier is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return _badge_read(ctx.urls, earlier)
    badge = await service.issue_badge(
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


def _moment(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnprocessableContent(
            f"{name} is not a date-time", errors=[FieldError(pointer=f"/query/{name}", detail="not a valid date")]
        ) from exc


@router.get("/v1/badges", response_model=BadgePage, summary="Issued badges, newest first, with filters")
async def list_badges(
    who: Reader,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
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
    after, before = _moment("issued_after", issued_after), _moment("issued_before", issued_before)
    page, next_cursor = await service.list_badges(
        session,
        context(who, urls, signer),
        achievement_id=achievement_id,
        recipient=recipient,
        status=status,
        issued_after=after,
        issued_before=before,
        expiring_within=expiring_within,
        cursor=cursor,
        limit=limit,
    )
    return BadgePage(items=[_badge_read(urls, row) for row in page], next_cursor=next_cursor)


@router.get("/v1/badges/{badge_id}", response_model=BadgeRead, summary="One badge, with links to every form")
async def get_badge(badge_id: IdPath, who: Reader, session: SessionDep, urls: UrlsDep) -> BadgeRead:
    badge = await service.get_badge(session, who.tenant_id, badge_id)
    return _badge_read(urls, badge)


def _status_route(action: str, summary: str) -> None:
    async def change(
        badge_id: IdPath,
        who: Issuing,
        session: SessionDep,
        urls: UrlsDep,
        signer: SignerDep,
        body: StatusChange | None = None,
    ) -> BadgeRead:
        reason = body.reason if body is not None else None
        badge = await service.change_status(session, context(who, urls, signer), badge_id, action, reason)
        return _badge_read(urls, badge)

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
    badge_id: IdPath,
    body: BadgeReissue,
    response: Response,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> BadgeRead:
    ctx = context(who, urls, signer)
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
    badge_id: IdPath, body: SharingUpdate, who: Reader, session: SessionDep, urls: UrlsDep, signer: SignerDep
) -> BadgeRead:
    badge = await sharing.update(session, who, badge_id, body, lookup_digest=signer.vault.lookup_digest)
    return _badge_read(urls, badge)
