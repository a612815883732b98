"""The credentials service's typed state, and what every route module asks FastAPI for: the
caller's scopes, the shape of an id in a path, the catalog client, the evidence store, and the
sessionmaker for work that outlives the request (the request's own session is
``shared.state.SessionDep``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.catalog.client import CatalogClient
from services.credentials.evidence.storage import EvidenceStore
from services.credentials.settings import CredentialsSettings
from shared.auth import Principal, authenticated, require_scopes
from shared.problems import FieldError, UnprocessableContent
from shared.state import ServiceState, state_of


@dataclass(eq=False, kw_only=True)
class CredentialsState(ServiceState):
    settings: CredentialsSettings
    # Asked on the caller's behalf whether catalog ids exist (services/credentials/references.py);
    # made with the app, closed by its lifespan.
    catalog: CatalogClient
    evidence_store: EvidenceStore


def credentials_state(app: FastAPI) -> CredentialsState:
    return state_of(app, CredentialsState)


Reader = Annotated[Principal, Depends(require_scopes("credentials:read"))]
Writer = Annotated[Principal, Depends(require_scopes("credentials:write"))]
Reviewer = Annotated[Principal, Depends(require_scopes("reviews:write"))]
RecordsReader = Annotated[Principal, Depends(require_scopes("records:read"))]
IdPath = Annotated[str, Path(min_length=1, max_length=36)]
# Educators and assessors are named by the identity provider's subject, not by a UUID.
OWN_EDUCATOR_ID = "me"


async def _educator(
    educator_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=200,
            description="the educator's subject (`user:<id>`), or `me` for the signed-in person's own",
        ),
    ],
    who: Annotated[Principal, Depends(authenticated)],
) -> str:
    """The educator a path names: ``me`` is the calling person; an API client has no ``me``."""
    if educator_id != OWN_EDUCATOR_ID:
        return educator_id
    if who.kind != "user":
        raise UnprocessableContent(
            "`me` names the signed-in person, and an API client is not one: name the educator by id",
            errors=[FieldError(pointer="/path/educator_id", detail="`me` needs a person's token, not an API client's")],
        )
    return who.subject


# A path's educator, with `me` resolved to the caller's own subject.
Educator = Annotated[str, Depends(_educator)]


async def _catalog(request: Request) -> CatalogClient:
    return credentials_state(request.app).catalog


async def _evidence_store(request: Request) -> EvidenceStore:
    return credentials_state(request.app).evidence_store


async def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return credentials_state(request.app).sessionmaker


CatalogDep = Annotated[CatalogClient, Depends(_catalog)]
EvidenceStoreDep = Annotated[EvidenceStore, Depends(_evidence_store)]
# For a response body that streams after the route returns (and its session is closed).
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
