"""HTTP routes of the PD-minutes and stipend ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.credentials.deps import IdPath, Reader
from services.credentials.ledger import service
from services.credentials.schemas import LedgerEntryRead, LedgerPage, StipendChange
from shared.params import IsoDate
from shared.state import SessionDep

router = APIRouter()


@router.get("/v1/ledger", response_model=LedgerPage, summary="PD minutes and stipends: your own, or the tenant's")
async def list_ledger(
    who: Reader,
    session: SessionDep,
    educator_id: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(pattern="^(pd_minutes|stipend)$")] = None,
    occurred_from: Annotated[IsoDate | None, Query(description="on or after")] = None,
    occurred_to: Annotated[IsoDate | None, Query(description="on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> LedgerPage:
    rows, next_cursor = await service.list_entries(
        session,
        who,
        educator_id=educator_id,
        kind=kind,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        limit=limit,
        cursor=cursor,
    )
    return LedgerPage(
        items=[LedgerEntryRead.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor
    )


@router.post(
    "/v1/ledger/{entry_id}/status",
    response_model=LedgerEntryRead,
    summary="Move a stipend on: pending → approved → paid (coordinators and HR)",
)
async def change_stipend(entry_id: IdPath, body: StipendChange, who: Reader, session: SessionDep) -> LedgerEntryRead:
    entry = await service.change_stipend(session, who, entry_id, body.status)
    return LedgerEntryRead.model_validate(entry, from_attributes=True)
