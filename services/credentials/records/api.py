"""HTTP route of the learning record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials import records
from services.credentials.schemas import LearningRecord
from shared.state import get_session
from shared.auth import Principal, require_scopes
from shared.db import utcnow

router = APIRouter()


@router.get(
    "/v1/educators/{educator_id}/record",
    response_model=LearningRecord,
    summary="An educator's learning record: pursuits, awards and badges, PD minutes per cycle, stipends, goals",
)
async def learning_record(
    educator_id: Annotated[str, Path(min_length=1, max_length=200)],
    who: Annotated[Principal, Depends(require_scopes("records:read"))],
    session: Annotated[AsyncSession, Depends(get_session, scope="function")],
) -> LearningRecord:
    found = await records.learning_record(session, who, educator_id, utcnow().date())
    return LearningRecord.model_validate(found)
