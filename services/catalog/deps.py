"""What every catalog route module asks FastAPI for: the request's session, the caller's scopes,
the shape of an id in a path, and the search index."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.search_index import SearchIndex
from shared.state import get_session
from shared.auth import Principal, require_scopes

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
Reader = Annotated[Principal, Depends(require_scopes("catalog:read"))]
Writer = Annotated[Principal, Depends(require_scopes("catalog:write"))]
IdPath = Annotated[str, Path(min_length=1, max_length=36)]


def _search_index(request: Request) -> SearchIndex | None:
    """The app's in-memory search index, or None when searches go to the database."""
    index: SearchIndex | None = getattr(request.app.state, "search_index", None)
    return index


SearchIndexDep = Annotated[SearchIndex | None, Depends(_search_index)]
