"""What every credentials route module asks FastAPI for: the request's session, the caller's
scopes, and the shape of an id in a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import get_session
from shared.auth import Principal, require_scopes

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
Reader = Annotated[Principal, Depends(require_scopes("credentials:read"))]
Writer = Annotated[Principal, Depends(require_scopes("credentials:write"))]
Reviewer = Annotated[Principal, Depends(require_scopes("reviews:write"))]
RecordsReader = Annotated[Principal, Depends(require_scopes("records:read"))]
IdPath = Annotated[str, Path(min_length=1, max_length=36)]
