"""The badges service's typed state, and what its route modules ask FastAPI for: the caller's
scopes, the shape of an id in a path, and what the state holds (public URLs, signer, verifier,
settings). The request's session is ``shared.state.SessionDep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from starlette.types import ASGIApp

from services.badges.context import Context
from services.badges.openbadges.documents import Urls
from services.badges.settings import BadgesSettings
from services.badges.vault import Signer
from services.badges.verify.verifier import Verifier
from shared.auth import Principal, require_scopes
from shared.state import ServiceState, state_of


@dataclass(eq=False, kw_only=True)
class BadgesState(ServiceState):
    """What the badges app holds: where its public documents live, the signer of issuer keys,
    and the verifier's settings."""

    settings: BadgesSettings
    urls: Urls
    signer: Signer
    verifier: Verifier


def badges_state(app: ASGIApp | FastAPI) -> BadgesState:
    return state_of(app, BadgesState)


Reader = Annotated[Principal, Depends(require_scopes("badges:read"))]
Issuing = Annotated[Principal, Depends(require_scopes("badges:issue"))]
# Every id here is a UUID: a longer value is refused before any lookup.
IdPath = Annotated[str, Path(min_length=1, max_length=36)]


def _state(request: Request) -> BadgesState:
    return badges_state(request.app)


def _settings(request: Request) -> BadgesSettings:
    return _state(request).settings


def _urls(request: Request) -> Urls:
    return _state(request).urls


def _signer(request: Request) -> Signer:
    return _state(request).signer


def _verifier(request: Request) -> Verifier:
    return _state(request).verifier


SettingsDep = Annotated[BadgesSettings, Depends(_settings)]
UrlsDep = Annotated[Urls, Depends(_urls)]
SignerDep = Annotated[Signer, Depends(_signer)]
VerifierDep = Annotated[Verifier, Depends(_verifier)]


def context(who: Principal, urls: Urls, signer: Signer) -> Context:
    """What an operation of the caller's tenant needs."""
    return Context(tenant_id=who.tenant_id, urls=urls, signer=signer)
