"""Routes for a tenant's org units (schools); its admin manages them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.gateway.deps import AdminDep
from services.gateway.models import OrgUnit
from services.gateway.org_units import service
from services.gateway.schemas import OrgUnitCreate, OrgUnitRead, OrgUnitUpdate
from shared.state import SessionDep

router = APIRouter(tags=["admin"])


def _org_unit(row: OrgUnit) -> OrgUnitRead:
    return OrgUnitRead(id=row.id, tenant_id=row.tenant_id, name=row.name, kind=row.kind, created_at=row.created_at)


@router.get("/v1/org-units", response_model=list[OrgUnitRead], summary="Org units (schools) of the tenant")
async def list_org_units(who: AdminDep, session: SessionDep) -> list[OrgUnitRead]:
    return [_org_unit(row) for row in await service.list_org_units(session, who.tenant_id)]


@router.post("/v1/org-units", response_model=OrgUnitRead, status_code=201, summary="Add an org unit")
async def create_org_unit(body: OrgUnitCreate, response: Response, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    unit = await service.create(session, who, body)
    response.headers["Location"] = f"/v1/org-units/{unit.id}"
    return _org_unit(unit)


@router.get("/v1/org-units/{org_unit_id}", response_model=OrgUnitRead, summary="One org unit")
async def get_org_unit(org_unit_id: str, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    return _org_unit(await service.get(session, who.tenant_id, org_unit_id))


@router.patch("/v1/org-units/{org_unit_id}", response_model=OrgUnitRead, summary="Rename or re-kind an org unit")
async def update_org_unit(org_unit_id: str, body: OrgUnitUpdate, who: AdminDep, session: SessionDep) -> OrgUnitRead:
    return _org_unit(await service.update(session, who, org_unit_id, body))


@router.delete("/v1/org-units/{org_unit_id}", status_code=204, summary="Remove an org unit (its people stay)")
async def delete_org_unit(org_unit_id: str, who: AdminDep, session: SessionDep) -> None:
    await service.delete(session, who, org_unit_id)
