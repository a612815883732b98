"""HTTP routes of credential designs: drafts, publishing, retiring, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.credentials.deps import CatalogDep, IdPath, Reader, Writer
from services.credentials.designs import service
from services.credentials.models import CredentialDesign, DesignVersion
from services.credentials.schemas import (
    DesignContent,
    DesignLookup,
    DesignRead,
    DesignReferences,
    DesignSummary,
    DesignVersionRead,
    ReferencedDesign,
)
from shared.auth import Principal
from shared.problems import NotFound
from shared.state import SessionDep

router = APIRouter()


def _version_read(row: DesignVersion) -> DesignVersionRead:
    return DesignVersionRead(
        version=row.version,
        status=row.status,
        content=DesignContent.model_validate(row.content),
        created_at=row.created_at,
        published_at=row.published_at,
    )


async def _design_read(session: SessionDep, design: CredentialDesign, who: Principal) -> DesignRead:
    draft, published = await service.draft_and_published(session, design)
    return DesignRead(
        id=design.id,
        name=design.name,
        published_version=design.published_version,
        retired=design.retired,
        # The working copy is the coordinators' business; educators see what was published.
        draft=_version_read(draft) if draft and service.sees_drafts(who) else None,
        published=_version_read(published) if published else None,
        created_at=design.created_at,
        updated_at=design.updated_at,
    )


@router.post(
    "/v1/credential-designs", response_model=DesignRead, status_code=201, summary="Create a design (its first draft)"
)
async def create_design(
    body: DesignContent, response: Response, who: Writer, session: SessionDep, catalog: CatalogDep
) -> DesignRead:
    design = await service.create_design(
        session, service.managed_by(who).tenant_id, body, check=service.catalog_check(catalog, who)
    )
    response.headers["Location"] = f"/v1/credential-designs/{design.id}"
    return await _design_read(session, design, who)


@router.get("/v1/credential-designs", response_model=list[DesignSummary], summary="The tenant's designs")
async def list_designs(
    who: Reader,
    session: SessionDep,
    include_retired: Annotated[bool, Query()] = False,
) -> list[DesignSummary]:
    return [
        DesignSummary(
            id=r.id,
            name=r.name,
            published_version=r.published_version,
            has_draft=has_draft,
            retired=r.retired,
            updated_at=r.updated_at,
        )
        for r, has_draft in await service.list_designs(session, who, include_retired=include_retired)
    ]


@router.get("/v1/credential-designs/{design_id}", response_model=DesignRead, summary="A design: draft and published")
async def get_design(design_id: IdPath, who: Reader, session: SessionDep) -> DesignRead:
    return await _design_read(session, await service.visible_design(session, who, design_id), who)


@router.put(
    "/v1/credential-designs/{design_id}",
    response_model=DesignRead,
    summary="Save the draft (after a publish, this starts the next version)",
)
async def save_design(
    design_id: IdPath, body: DesignContent, who: Writer, session: SessionDep, catalog: CatalogDep
) -> DesignRead:
    design = await service.save_draft(
        session, service.managed_by(who).tenant_id, design_id, body, check=service.catalog_check(catalog, who)
    )
    return await _design_read(session, design, who)


@router.post(
    "/v1/credential-designs/{design_id}/publish",
    response_model=DesignRead,
    summary="Publish the draft as a frozen version; new pursuits use it",
)
async def publish_design(design_id: IdPath, who: Writer, session: SessionDep, catalog: CatalogDep) -> DesignRead:
    design = await service.publish(
        session, service.managed_by(who).tenant_id, design_id, who.subject, check=service.catalog_check(catalog, who)
    )
    return await _design_read(session, design, who)


@router.post(
    "/v1/credential-designs/{design_id}/retire",
    response_model=DesignRead,
    summary="Retire a design: no new pursuits; those under way continue",
)
async def retire_design(design_id: IdPath, who: Writer, session: SessionDep) -> DesignRead:
    design = await service.retire(session, service.managed_by(who).tenant_id, design_id)
    return await _design_read(session, design, who)


@router.get(
    "/v1/credential-designs/{design_id}/versions",
    response_model=list[DesignVersionRead],
    summary="Every version of a design (educators: the published ones)",
)
async def list_versions(design_id: IdPath, who: Reader, session: SessionDep) -> list[DesignVersionRead]:
    design = await service.visible_design(session, who, design_id)
    return [_version_read(r) for r in await service.visible_versions(session, who, design)]


@router.get(
    "/v1/credential-designs/{design_id}/versions/{version}",
    response_model=DesignVersionRead,
    summary="One version of a design",
)
async def get_version(
    design_id: IdPath, version: Annotated[int, Path(ge=1)], who: Reader, session: SessionDep
) -> DesignVersionRead:
    design = await service.visible_design(session, who, design_id)
    for row in await service.visible_versions(session, who, design):
        if row.version == version:
            return _version_read(row)
    raise NotFound(f"no version {version} of this design")


@router.post(
    "/internal/credentials/references",
    response_model=DesignReferences,
    tags=["service-to-service"],
    summary="Which of these credential designs exist in the caller's tenant (for other services)",
)
async def design_references(body: DesignLookup, who: Reader, session: SessionDep) -> DesignReferences:
    """Asked by the catalog on the caller's behalf before an offering names a design (ADR 0013):
    the caller's own token, so the tenant and ``credentials:read`` are the caller's. Not routed by
    the gateway (``/internal/*``)."""
    asked = list(dict.fromkeys(body.design_ids))
    found = {row.id: row for row in await service.find_designs(session, who.tenant_id, asked)}
    return DesignReferences(
        designs=[
            ReferencedDesign(id=row.id, name=row.name, published_version=row.published_version, retired=row.retired)
            for row in (found[i] for i in asked if i in found)
        ],
        unknown_design_ids=[i for i in asked if i not in found],
    )
