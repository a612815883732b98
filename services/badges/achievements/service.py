"""Achievements and their versions: an edit is a new version, which becomes current; badges
already issued keep the version they were issued under.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.context import Context, check_canonizable, check_text
from services.badges.images import default_image
from services.badges.models import Achievement, AchievementVersion, Issuer
from services.badges.openbadges import documents as docs
from services.badges.schemas import AchievementUpdate, AchievementWrite
from shared.db import utcnow
from shared.problems import Conflict, FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant


async def get_achievement(session: AsyncSession, tenant_id: str, achievement_id: str) -> Achievement:
    """The achievement in the caller's tenant (404 otherwise)."""
    return await get_in_tenant(session, Achievement, achievement_id, tenant_id, noun="achievement")


async def achievement_of(session: AsyncSession, version: AchievementVersion) -> Achievement:
    """The achievement a version (just written) belongs to."""
    achievement = await session.get(Achievement, version.achievement_id)
    assert achievement is not None
    return achievement


async def list_achievements(session: AsyncSession, tenant_id: str, *, issuer_id: str | None) -> list[Achievement]:
    """The tenant's achievements (at most 500), oldest first; of one issuer when given."""
    statement = in_tenant(select(Achievement), Achievement, tenant_id)
    if issuer_id:
        statement = statement.where(Achievement.issuer_id == issuer_id)
    return list(await session.scalars(statement.order_by(Achievement.created_at, Achievement.id).limit(500)))


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
    check_canonizable(document, "/body")
