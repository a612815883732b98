"""The catalog's typed state (what its app holds) and what its route modules ask FastAPI for: the
caller's scopes, the shape of an id in a path, the settings, the search index and the client of
the credentials service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request

from services.catalog.search.memory import SearchIndex
from services.catalog.settings import CatalogSettings
from services.credentials.client import CredentialsClient
from shared.auth import Principal, require_scopes
from shared.state import ServiceState, state_of


@dataclass(eq=False, kw_only=True)
class CatalogState(ServiceState):
    settings: CatalogSettings
    # One per app (so per process in production): each tenant's snapshot is read on its first
    # search here and kept in step with the database from then on (ADR 0016). None when
    # searches go to the database.
    search_index: SearchIndex | None
    # Whether the index reads every tenant in the background when the app starts.
    search_warm: bool
    # Asked on the caller's behalf whether a micro-credential offering's design exists and is
    # published (services/catalog/offerings/designs.py); made with the app, closed by its lifespan.
    credentials: CredentialsClient


def catalog_state(app: FastAPI) -> CatalogState:
    return state_of(app, CatalogState)


Reader = Annotated[Principal, Depends(require_scopes("catalog:read"))]
Writer = Annotated[Principal, Depends(require_scopes("catalog:write"))]
IdPath = Annotated[str, Path(min_length=1, max_length=36)]


def _settings(request: Request) -> CatalogSettings:
    return catalog_state(request.app).settings


def _search_index(request: Request) -> SearchIndex | None:
    """The app's in-memory search index, or None when searches go to the database."""
    return catalog_state(request.app).search_index


async def _credentials(request: Request) -> CredentialsClient:
    return catalog_state(request.app).credentials


SettingsDep = Annotated[CatalogSettings, Depends(_settings)]
CredentialsDep = Annotated[CredentialsClient, Depends(_credentials)]
SearchIndexDep = Annotated[SearchIndex | None, Depends(_search_index)]
