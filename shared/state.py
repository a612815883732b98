"""The one place a service's app keeps what it made at start: a typed state object.

FastAPI's ``app.state`` is an untyped bag; reading ``app.state.signer`` in forty places hides
what a service holds and lets a typo become an ``AttributeError`` at request time. Instead,
``build_service_app`` makes one :class:`ServiceState` (or a service's subclass of it, declared
in that service's ``deps.py``) and stores it here; everything else reads it through
:func:`state_of` with the class it expects, so mypy knows every field. A test keeps
``app.state`` out of every other module.

The request's database session is declared here too (``SessionDep``), once for all services,
so route modules get a session without importing SQLAlchemy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

if TYPE_CHECKING:  # shared.auth reads the state to verify tokens: no import circle at run time
    from shared.auth import PublicKeyRing
    from shared.health import ReadinessCheck
    from shared.settings import ServiceSettings

_SLOT = "practicum"


@dataclass(eq=False, kw_only=True)
class ServiceState:
    """What every service app holds; a service with more declares a subclass in its deps.py."""

    settings: ServiceSettings
    key_ring: PublicKeyRing
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    database_check: ReadinessCheck
    # Every operation reachable without a verified principal (filled once the routes are in).
    public_routes: frozenset[tuple[str, str]] = frozenset()

    def fields(self) -> dict[str, Any]:
        """The base fields, to build a service's subclass from the state the kernel made."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(ServiceState)}


StateT = TypeVar("StateT", bound=ServiceState)


def attach_state(app: FastAPI, state: ServiceState) -> None:
    """Store (or replace, with a service's subclass) the app's state."""
    setattr(app.state, _SLOT, state)


def state_of(app: ASGIApp | FastAPI, kind: type[StateT]) -> StateT:
    """The app's state as ``kind``; a wrong kind is a wiring bug and fails loudly."""
    value = getattr(getattr(app, "state", None), _SLOT, None)
    if not isinstance(value, kind):
        raise RuntimeError(f"the app holds no {kind.__name__} (found {type(value).__name__})")
    return value


def request_state(request: Request) -> ServiceState:
    return state_of(request.app, ServiceState)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    Use as ``Depends(get_session, scope="function")`` (as ``SessionDep`` does) so the commit
    runs when the endpoint returns, not after the client already saw a success.
    """
    async with request_state(request).sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
