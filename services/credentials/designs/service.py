"""Micro-credential designs: a draft working copy, frozen published versions, and the checks a
design must pass (the ones a field's own validation cannot express: keys that must be unique,
levels that must exist, prerequisites that must come earlier)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.errors import WrongState
from services.credentials.models import CredentialDesign, DesignVersion
from services.credentials.schemas import EVIDENCE_TYPES, DesignContent, Tier
from shared.db import utcnow
from shared.problems import FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant

# An upload may never be larger than this, whatever a design says (the request limit is 25 MiB).
MAX_EVIDENCE_BYTES = 25 * 1024 * 1024

# What the API adds to the checks below: the catalog's word on the competency alignments
# (services/credentials/references.py). Run after them and before anything is written.
ContentCheck = Callable[[DesignContent], Awaitable[None]]


def _duplicates(keys: list[str]) -> list[int]:
    seen: set[str] = set()
    found = []
    for index, key in enumerate(keys):
        if key in seen:
            found.append(index)
        seen.add(key)
    return found


def content_errors(content: DesignContent, *, publishing: bool = False) -> list[FieldError]:
    """Everything wrong with a design, each with its JSON pointer (empty when it is sound)."""
    errors: list[FieldError] = []

    def add(pointer: str, detail: str) -> None:
        errors.append(FieldError(pointer="/body" + pointer, detail=detail))

    for i in _duplicates(list(content.competency_ids)):
        add(f"/competency_ids/{i}", "this competency is already listed")
    for i in _duplicates([t.key for t in content.tiers]):
        add(f"/tiers/{i}/key", "another tier has this key")
    earlier: set[str] = set()
    for t, tier in enumerate(content.tiers):
        at = f"/tiers/{t}"
        for p, prerequisite in enumerate(tier.prerequisite_tiers):
            if prerequisite not in earlier:
                add(f"{at}/prerequisite_tiers/{p}", "must be the key of an earlier tier")
        earlier.add(tier.key)
        for i in _duplicates([e.key for e in tier.evidence]):
            add(f"{at}/evidence/{i}/key", "another requirement of this tier has this key")
        for e, requirement in enumerate(tier.evidence):
            where = f"{at}/evidence/{e}"
            words = requirement.min_words is not None or requirement.max_words is not None
            if requirement.kind == "reflection":
                if requirement.allowed_types or requirement.max_bytes:
                    add(where, "a reflection is text: no allowed_types or max_bytes")
                if requirement.min_words and requirement.max_words and requirement.min_words > requirement.max_words:
                    add(f"{where}/max_words", "must not be less than min_words")
            elif requirement.kind in ("file", "student_data"):
                if words:
                    add(where, "word limits apply to reflections only")
                if not requirement.allowed_types:
                    add(f"{where}/allowed_types", "name at least one file type")
                for a, media_type in enumerate(requirement.allowed_types):
                    if media_type not in EVIDENCE_TYPES:
                        add(f"{where}/allowed_types/{a}", f"not a type the upload check recognises: {media_type}")
                if requirement.max_bytes and requirement.max_bytes > MAX_EVIDENCE_BYTES:
                    add(f"{where}/max_bytes", f"at most {MAX_EVIDENCE_BYTES} bytes")
            elif words or requirement.allowed_types or requirement.max_bytes:
                add(where, "a link has no word limits, types or sizes")
        for i in _duplicates([c.key for c in tier.rubric.criteria]):
            add(f"{at}/rubric/criteria/{i}/key", "another criterion has this key")
        for c, criterion in enumerate(tier.rubric.criteria):
            levels = [level.key for level in criterion.levels]
            for i in _duplicates(levels):
                add(f"{at}/rubric/criteria/{c}/levels/{i}/key", "another level of this criterion has this key")
            if criterion.passing_level not in levels:
                add(f"{at}/rubric/criteria/{c}/passing_level", "must be the key of one of the criterion's levels")
        if publishing and not tier.achievement_id:
            add(f"{at}/achievement_id", "a published tier names the badges achievement it awards")
    return errors


def normalized(content: DesignContent) -> dict[str, Any]:
    """The content as stored: student-data evidence always carries the student-information flag."""
    for tier in content.tiers:
        for requirement in tier.evidence:
            if requirement.kind == "student_data":
                requirement.contains_student_information = True
    return content.model_dump(mode="json")


def _check(content: DesignContent, *, publishing: bool = False) -> None:
    errors = content_errors(content, publishing=publishing)
    if errors:
        verb = "published" if publishing else "saved"
        raise UnprocessableContent(f"the design cannot be {verb} ({len(errors)} problem(s))", errors=errors)


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
    _check(content)
    if check is not None:
        await check(content)
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
    _check(content)
    if check is not None:
        await check(content)
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
    _check(content, publishing=True)
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


def tier_of(content: DesignContent, tier_key: str, pointer: str = "/body/tier") -> Tier:
    for tier in content.tiers:
        if tier.key == tier_key:
            return tier
    raise UnprocessableContent(
        f"this design has no tier {tier_key!r}",
        errors=[FieldError(pointer=pointer, detail=f"one of: {', '.join(t.key for t in content.tiers)}")],
    )
