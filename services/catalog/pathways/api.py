"""HTTP routes for pathways: parse, authorise, call the pathways service, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.catalog.deps import IdPath, Reader, Writer
from services.catalog.models import Pathway
from services.catalog.pathways import service
from services.catalog.schemas import (
    PathwayProgress,
    PathwayProgressRequest,
    PathwayRead,
    PathwayStatus,
    PathwayWrite,
)
from shared.state import SessionDep

router = APIRouter()


def _read(row: Pathway) -> PathwayRead:
    return PathwayRead.model_validate(row, from_attributes=True)


@router.post("/v1/pathways", response_model=PathwayRead, status_code=201, summary="Create a pathway")
async def create_pathway(body: PathwayWrite, response: Response, who: Writer, session: SessionDep) -> PathwayRead:
    row = await service.create_pathway(session, tenant_id=who.tenant_id, data=body)
    response.headers["Location"] = f"/v1/pathways/{row.id}"
    return _read(row)


@router.get("/v1/pathways", response_model=list[PathwayRead], summary="The tenant's pathways, by name")
async def list_pathways(
    who: Reader, session: SessionDep, status: Annotated[PathwayStatus | None, Query()] = None
) -> list[PathwayRead]:
    return [_read(row) for row in await service.list_pathways(session, tenant_id=who.tenant_id, status=status)]


@router.get("/v1/pathways/{pathway_id}", response_model=PathwayRead, summary="A pathway")
async def get_pathway(pathway_id: IdPath, who: Reader, session: SessionDep) -> PathwayRead:
    return _read(await service.get_pathway(session, tenant_id=who.tenant_id, pathway_id=pathway_id))


@router.put(
    "/v1/pathways/{pathway_id}", response_model=PathwayRead, summary="Replace a pathway (checked again, no cycles)"
)
async def replace_pathway(pathway_id: IdPath, body: PathwayWrite, who: Writer, session: SessionDep) -> PathwayRead:
    row = await service.replace_pathway(session, tenant_id=who.tenant_id, pathway_id=pathway_id, data=body)
    return _read(row)


@router.delete(
    "/v1/pathways/{pathway_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a pathway (409 while another pathway contains it)",
)
async def delete_pathway(pathway_id: IdPath, who: Writer, session: SessionDep) -> Response:
    await service.delete_pathway(session, tenant_id=who.tenant_id, pathway_id=pathway_id)
    return Response(status_code=204)


@router.post(
    "/v1/pathways/{pathway_id}/progress",
    response_model=PathwayProgress,
    summary="Which steps these completed offerings satisfy, and which offerings remain",
)
async def pathway_progress(
    pathway_id: IdPath, body: PathwayProgressRequest, who: Reader, session: SessionDep
) -> PathwayProgress:
    return await service.pathway_progress(
        session, tenant_id=who.tenant_id, pathway_id=pathway_id, completed_offering_ids=body.completed_offering_ids
    )
