"""HTTP routes of awards: your own or the tenant's, and revoking one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.credentials.awards import service
from services.credentials.deps import IdPath, Reader, Writer
from services.credentials.schemas import AwardRead, AwardRevocation
from shared.state import SessionDep

router = APIRouter()


@router.get("/v1/awards", response_model=list[AwardRead], summary="Awards: your own, or the tenant's")
async def list_awards(
    who: Reader,
    session: SessionDep,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    design_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AwardRead]:
    rows = await service.list_awards(session, who, educator_id=educator_id, design_id=design_id, limit=limit)
    return [AwardRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/v1/awards/{award_id}", response_model=AwardRead, summary="An award and its badge")
async def get_award(award_id: IdPath, who: Reader, session: SessionDep) -> AwardRead:
    return AwardRead.model_validate(await service.get_award(session, who, award_id), from_attributes=True)


@router.post(
    "/v1/awards/{award_id}/revoke",
    response_model=AwardRead,
    summary="Revoke an award (e.g. integrity): its badge is revoked, its unpaid stipend voided",
)
async def revoke_award(award_id: IdPath, body: AwardRevocation, who: Writer, session: SessionDep) -> AwardRead:
    award = await service.revoke(session, who, award_id, body.reason)
    return AwardRead.model_validate(award, from_attributes=True)
