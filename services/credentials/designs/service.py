"""Micro-credential designs: a draft working copy and frozen published versions, and who sees
which (drafts and unpublished designs are the coordinators'). The checks of a design's content
are in ``content.py``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.client import CatalogClient
from services.credentials import references
from services.credentials.designs.content import check_content, normalized
from services.credentials.errors import WrongState
from services.credentials.models import CredentialDesign, DesignVersion
from services.credentials.roles import is_coordinator
from services.credentials.schemas import DesignContent
from shared.auth import Forbidden, Principal
from shared.db import utcnow
from shared.problems import NotFound
from shared.tenancy import get_in_tenant, in_tenant

# What the API adds to the checks below: the catalog's word on the competency alignments
# (services/credentials/references.py). Run after them and before anything is written; it
# answers the content as kept (alignments named by CASE identifier turned into catalog ids).
ContentCheck = Callable[[DesignContent], Awaitable[DesignContent]]


def catalog_check(catalog: CatalogClient, who: Principal) -> ContentCheck:
    """The catalog's word on a design's competency ids, asked as the caller; the design keeps
    the catalog's internal ids, whichever form (internal id or CASE identifier) was sent."""

    async def check(content: DesignContent) -> DesignContent:
        competency_ids = await references.check_alignments(catalog, who, content.competency_ids)
        return content.model_copy(update={"competency_ids": competency_ids})

    return check


def managed_by(who: Principal) -> Principal:
    """The caller, when they may create, edit, publish and retire designs: coordinators."""
    if not is_coordinator(who):
        raise Forbidden("designs are managed by coordinators")
    return who


def sees_drafts(who: Principal) -> bool:
    """Who sees a design's working copy, its unpublished versions and the designs never
    published: coordinators. Educators see what was published."""
    return is_coordinator(who)


async def visible_design(session: AsyncSession, who: Principal, design_id: str) -> CredentialDesign:
    design = await get_in_tenant(session, CredentialDesign, design_id, who.tenant_id, noun="credential design")
    if design.published_version is None and not sees_drafts(who):
        raise NotFound(f"no credential design {design_id}")
    return design


async def list_designs(
    session: AsyncSession, who: Principal, *, include_retired: bool
) -> list[tuple[CredentialDesign, bool]]:
    """The tenant's designs the caller sees, each with whether it has a draft they may see."""
    statement = in_tenant(select(CredentialDesign), CredentialDesign, who.tenant_id)
    if not include_retired:
        statement = statement.where(CredentialDesign.retired.is_(False))
    if not sees_drafts(who):
        statement = statement.where(CredentialDesign.published_version.is_not(None))
    rows = list(await session.scalars(statement.order_by(CredentialDesign.name, CredentialDesign.id)))
    drafts = set(
        await session.scalars(
            select(DesignVersion.design_id).where(
                DesignVersion.design_id.in_([r.id for r in rows] or ["-"]), DesignVersion.status == "draft"
            )
        )
    )
    return [(r, r.id in drafts and sees_drafts(who)) for r in rows]


async def visible_versions(session: AsyncSession, who: Principal, design: CredentialDesign) -> list[DesignVersion]:
    """Every version of the design the caller sees (educators: the published ones)."""
    return [r for r in await versions(session, design.id) if r.status == "published" or sees_drafts(who)]


async def versions(session: AsyncSession, design_id: str) -> list[DesignVersion]:
    return list(
        await session.scalars(
            select(DesignVersion).where(DesignVersion.design_id == design_id).order_by(DesignVersion.version)
        )
    )


async def draft_and_published(
    session: AsyncSession, design: CredentialDesign
) -> tuple[DesignVersion | None, DesignVersion | None]:
    rows = await versions(session, design.id)
    draft = next((v for v in rows if v.status == "draft"), None)
    published = next((v for v in reversed(rows) if v.status == "published"), None)
    return draft, published


async def create_design(
    session: AsyncSession,
    tenant_id: str,
    content: DesignContent,
    *,
    design_id: str | None = None,
    check: ContentCheck | None = None,
) -> CredentialDesign:
    """``design_id`` only for the dev seed's fixed id; otherwise a new UUID."""
    check_content(content)
    if check is not None:
        content = await check(content)
    now = utcnow()
    design = CredentialDesign(
        id=design_id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        name=content.name,
        retired=False,
        created_at=now,
        updated_at=now,
    )
    session.add(design)
    await session.flush()
    session.add(
        DesignVersion(
            id=str(uuid.uuid4()),
            design_id=design.id,
            version=1,
            status="draft",
            content=normalized(content),
            created_at=now,
        )
    )
    await session.flush()
    return design


async def save_draft(
    session: AsyncSession,
    tenant_id: str,
    design_id: str,
    content: DesignContent,
    *,
    check: ContentCheck | None = None,
) -> CredentialDesign:
    """Replace the working copy; after a publish this starts the next version's draft."""
    design = await get_in_tenant(session, CredentialDesign, design_id, tenant_id, noun="credential design")
    if design.retired:
        raise WrongState("a retired design cannot be edited", current_state="retired", allowed_actions=[])
    check_content(content)
    if check is not None:
        content = await check(content)
    draft, published = await draft_and_published(session, design)
    now = utcnow()
    if draft is None:
        draft = DesignVersion(
            id=str(uuid.uuid4()),
            design_id=design.id,
            version=(published.version if published else 0) + 1,
            status="draft",
            created_at=now,
        )
        session.add(draft)
    draft.content = normalized(content)
    design.name = content.name
    design.updated_at = now
    await session.flush()
    return design


async def publish(
    session: AsyncSession, tenant_id: str, design_id: str, actor: str, *, check: ContentCheck | None = None
) -> CredentialDesign:
    """Freeze the draft as a published version (pursuits started from now on use it).

    ``check`` runs again here: a framework re-import may have dropped an aligned item since the
    draft was saved, and a frozen version must not keep a dangling alignment."""
    design = await get_in_tenant(session, CredentialDesign, design_id, tenant_id, noun="credential design")
    draft, _published = await draft_and_published(session, design)
    if design.retired or draft is None:
        raise WrongState(
            "nothing to publish: " + ("the design is retired" if design.retired else "there is no draft"),
            current_state="retired" if design.retired else "published",
            allowed_actions=[] if design.retired else ["edit", "retire"],
        )
    content = DesignContent.model_validate(draft.content)
    check_content(content, publishing=True)
    if check is not None:
        await check(content)
    now = utcnow()
    draft.status = "published"
    draft.published_at = now
    draft.published_by = actor
    design.published_version = draft.version
    design.updated_at = now
    await session.flush()
    return design


async def retire(session: AsyncSession, tenant_id: str, design_id: str) -> CredentialDesign:
    """No new pursuits; the ones under way go on under their version."""
    design = await get_in_tenant(session, CredentialDesign, design_id, tenant_id, noun="credential design")
    if design.retired:
        raise WrongState("the design is already retired", current_state="retired", allowed_actions=[])
    design.retired = True
    design.updated_at = utcnow()
    await session.flush()
    return design


async def published_version(session: AsyncSession, design: CredentialDesign, version: int) -> DesignVersion | None:
    return await session.scalar(
        select(DesignVersion).where(
            DesignVersion.design_id == design.id, DesignVersion.version == version, DesignVersion.status == "published"
        )
    )


async def find_designs(session: AsyncSession, tenant_id: str, design_ids: list[str]) -> list[CredentialDesign]:
    """The tenant's designs among these ids, published or not (the caller decides what a draft
    means to it); another tenant's are simply not found."""
    rows = await session.scalars(
        in_tenant(select(CredentialDesign), CredentialDesign, tenant_id).where(
            CredentialDesign.id.in_(design_ids or ["-"])
        )
    )
    return list(rows)
