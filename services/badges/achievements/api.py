"""Routes of achievements (``/v1/achievements``): create, list, read, edit (a new version each
time) and upload an image."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from services.badges.achievements import service
from services.badges.deps import IdPath, Issuing, Reader, SettingsDep, SignerDep, UrlsDep, context
from services.badges.images import validate_upload
from services.badges.models import Achievement, AchievementVersion
from services.badges.openbadges import documents as docs
from services.badges.schemas import AchievementRead, AchievementUpdate, AchievementWrite
from shared.state import SessionDep

router = APIRouter()


async def _achievement_read(
    session: SessionDep, urls: docs.Urls, achievement: Achievement, version: AchievementVersion | None = None
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
    body: AchievementWrite, response: Response, who: Issuing, session: SessionDep, urls: UrlsDep, signer: SignerDep
) -> AchievementRead:
    version = await service.create_achievement(session, context(who, urls, signer), body)
    achievement = await service.achievement_of(session, version)
    response.headers["Location"] = f"/v1/achievements/{achievement.id}"
    return await _achievement_read(session, urls, achievement, version)


@router.get("/v1/achievements", response_model=list[AchievementRead], summary="The tenant's achievements")
async def list_achievements(
    who: Reader,
    session: SessionDep,
    urls: UrlsDep,
    issuer_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[AchievementRead]:
    rows = await service.list_achievements(session, who.tenant_id, issuer_id=issuer_id)
    return [await _achievement_read(session, urls, row) for row in rows]


@router.get("/v1/achievements/{achievement_id}", response_model=AchievementRead, summary="One achievement (current)")
async def get_achievement(achievement_id: IdPath, who: Reader, session: SessionDep, urls: UrlsDep) -> AchievementRead:
    achievement = await service.get_achievement(session, who.tenant_id, achievement_id)
    return await _achievement_read(session, urls, achievement)


@router.patch(
    "/v1/achievements/{achievement_id}",
    response_model=AchievementRead,
    summary="Edit an achievement: a new version; badges already issued keep theirs",
)
async def update_achievement(
    achievement_id: IdPath,
    body: AchievementUpdate,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
) -> AchievementRead:
    version = await service.new_version(session, context(who, urls, signer), achievement_id, changes=body)
    achievement = await service.achievement_of(session, version)
    return await _achievement_read(session, urls, achievement, version)


@router.put(
    "/v1/achievements/{achievement_id}/image",
    response_model=AchievementRead,
    summary="Upload the image (PNG or SVG, checked by content): a new version",
)
async def put_achievement_image(
    achievement_id: IdPath,
    who: Issuing,
    session: SessionDep,
    urls: UrlsDep,
    signer: SignerDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="PNG or SVG")],
) -> AchievementRead:
    data = await image.read(settings.image_max_bytes + 1)
    stored = validate_upload(
        data, image.content_type, max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels
    )
    version = await service.new_version(session, context(who, urls, signer), achievement_id, image=stored)
    achievement = await service.achievement_of(session, version)
    return await _achievement_read(session, urls, achievement, version)
