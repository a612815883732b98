"""What every credentials route module asks FastAPI for: the request's session, the caller's
scopes, the catalog client, and the shape of an id in a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.client import CatalogClient
from shared.auth import Principal, require_scopes
from shared.state import get_session

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
Reader = Annotated[Principal, Depends(require_scopes("credentials:read"))]
Writer = Annotated[Principal, Depends(require_scopes("credentials:write"))]
Reviewer = Annotated[Principal, Depends(require_scopes("reviews:write"))]
RecordsReader = Annotated[Principal, Depends(require_scopes("records:read"))]
IdPath = Annotated[str, Path(min_length=1, max_length=36)]


async def catalog_client(request: Request) -> CatalogClient:
    """The app's client of the catalog service (made and closed by the app's lifespan)."""
    client: CatalogClient = request.app.state.catalog
    return client


Catalog = Annotated[CatalogClient, Depends(catalog_client)]
